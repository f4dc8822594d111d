"""Danish labels for the codes the analyses use, in one place.

Tables between stages carry codes (``"psychiatry"``, ``"combined"``, ``"log_linear"``); labels are
applied only where a table, figure or sentence is shown. Region names are codes and labels alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def label_of(labels: Mapping[Any, str], code: Any) -> str:
    """The label of ``code``, or the code itself when it has none (a user-named scenario)."""
    return labels.get(code, str(code))
