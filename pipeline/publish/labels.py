"""Danish labels for the codes the analyses use, in one place.

Tables between stages carry codes (``"psychiatry"``, ``"combined"``, ``"log_linear"``); labels are
applied only where a table, figure or sentence is shown. Region names are codes and labels alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.publish.fmt import number, percent

# --- growth ---------------------------------------------------------------------------------
MODEL_LABELS = {
    "average_growth": "Gennemsnitlig vækst (regionernes metode)",
    "log_linear": "Log-lineær trend",
    "count_glm": "Poisson-regression med spredningsestimat",
    "ets": "Eksponentiel udglatning (ETS)",
}
MEASURE_LABELS = {"patients": "Patienter", "physicians": "Læger"}
GROUP_LABELS = {"total": "I alt", "adult": "Voksne", "child_adolescent": "Børn og unge"}

# --- retention ------------------------------------------------------------------------------
OUTCOME_LABELS = {
    "h_psychiatry": "H-forløb i psykiatrien",
    "h_other": "H-forløb i et andet speciale",
    "exit": "Stoppet uden H-forløb",
}
SPECIALTY_LABELS = {
    "psychiatry": "Psykiatri",
    "child_adolescent_psychiatry": "Børne- og ungdomspsykiatri",
}
TRACK_LABELS = {"combined": "Sammenhængende forløb", "regular": "Almindelig I-stilling"}
GROUPING_LABELS = {
    "cohort": "Startår",
    "region": "Region",
    "specialty": "Speciale",
    "track": "Forløb",
    "cohort_period": "Startperiode",
}
COVARIATE_LABELS = {
    "combined_track": "Sammenhængende forløb (ja vs. nej)",
    "foreign_graduate": "Uddannet i udlandet (ja vs. nej)",
    "female": "Kvinde (vs. mand)",
    "age": "Alder ved start (pr. år)",
    "region": "Region",
    "cohort_period": "Startperiode",
}
POST_TYPE_LABELS = {"I": "I-stilling", "H": "H-forløb"}

# --- supply ---------------------------------------------------------------------------------
LEVER_LABELS = {
    "extra_h_posts": "Flere H-forløb",
    "combined_track_share": "Sammenhængende forløb",
    "foreign_per_year": "Udenlandske læger",
    "exit_reduction_over_65": "Fasthold læger over 65",
    "fte_per_head": "Mere arbejdstid pr. læge",
}
SCENARIO_LABELS = {
    "baseline": "Uændret",
    "more_h_posts": "Flere H-forløb",
    "combined_track_for_all": "Sammenhængende forløb for alle",
    "foreign_recruitment": "Rekruttering af udenlandske læger",
    "retain_over_65": "Fasthold læger over 65",
    "more_working_time": "Mere arbejdstid pr. læge",
    "all_levers": "Alle tiltag",
    "required_posts": "De nødvendige H-forløb",
}
GRADE_LABELS = {"specialist": "Speciallæger", "trainee": "Læger under uddannelse"}
DEMAND_LABELS = {
    "base_ratio": "Basisåret var i balance",
    "vacancies": "Målte ubesatte stillinger",
    "target": "Nationale mål",
}
# The uncertain inputs of the supply model (the sensitivity chart).
INPUT_LABELS = {
    "all": "Alle usikkerheder samlet",
    "patients": "Patienttallets vækst (behovet)",
    "fill": "Andel af H-forløb, der besættes",
    "posts": "Antal opslåede H-forløb og besatte I-stillinger",
    "exits_estimated": "Afgang over 60 år (estimeret)",
    "exits_assumed": "Afgang under 60 år (antaget)",
    "conversion": "Overgang fra I- til H-forløb",
    "completion": "Gennemførte H-forløb",
    "foreign_completion": "Udenlandske læger, der bliver",
    "durations": "Forsinkede forløb",
    "process": "Tilfældige udsving i afgang og gennemførelse",
}
SEX_LABELS = {"F": "Kvinder", "M": "Mænd", "all": "Begge køn"}


# What a lever changes, with its amount (in tables, figures and on the leadership page alike).
LEVER_UNITS = {
    "extra_h_posts": "{count} {more} H-forløb om året",
    "combined_track_share": "{pct} af I-lægerne på sammenhængende forløb",
    "foreign_per_year": "{count} udenlandske læger om året",
    "exit_reduction_over_65": "{pct} færre afgange blandt læger over 65 år",
    "fte_per_head": "{pct} {more} arbejdstid pr. læge",
}


def lever_amount(lever: str, amount: float | None) -> str:
    """A lever and its amount in words: ``"20 flere H-forløb om året"``,
    ``"5 % mere arbejdstid pr. læge"``; ``"som i data"`` when it is not changed."""
    if amount is None:
        return "som i data"
    more = {"extra_h_posts": ("flere", "færre"), "fte_per_head": ("mere", "mindre")}
    words = more.get(lever, ("", ""))[0 if amount >= 0 else 1]
    text = LEVER_UNITS[lever].format(
        count=number(abs(amount), 0 if float(amount).is_integer() else 1),
        pct=percent(abs(amount), 0),
        more=words,
    )
    return text


# Words that keep their capital inside a sentence: proper nouns and names of methods.
PROPER_NOUNS = (
    "Poisson",
    "Cox",
    "Region",
    "Aalen",
    "Kaplan",
    "Wilson",
    "Danmark",
    "Sundhedsstyrelsen",
)


def lower_first(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, except where the first word
    is an abbreviation ("H-forløb", "I-stilling", "ETS") or a proper noun ("Poisson-regression",
    "Region Sjælland")."""
    if len(label) > 1 and (label[1] == "-" or label[1].isupper()):
        return label
    if label.split(" ")[0].split("-")[0] in PROPER_NOUNS:
        return label
    return label[:1].lower() + label[1:]


# --- initiatives ----------------------------------------------------------------------------
# The outcomes an initiative may target (contract.INITIATIVE_OUTCOMES).
INITIATIVE_OUTCOME_LABELS = {
    "h_fill_rate": "Besatte H-forløb (andel af opslåede)",
    "i_fill_rate": "Besatte I-stillinger (andel af opslåede)",
    "conversion": "Overgang fra I-stilling til H-forløb i psykiatrien",
    "specialist_exits": "Afgang af speciallæger på 60 år og derover (pr. år)",
    "specialists": "Antal speciallæger",
}


def label_of(labels: Mapping[Any, str], code: Any) -> str:
    """The label of ``code``, or the code itself when it has none (a user-named scenario)."""
    return labels.get(code, str(code))
