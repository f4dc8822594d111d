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
}
SCENARIO_LABELS = {
    "baseline": "Uændret",
    "more_h_posts": "Flere H-forløb",
    "combined_track_for_all": "Sammenhængende forløb for alle",
    "foreign_recruitment": "Rekruttering af udenlandske læger",
    "retain_over_65": "Fasthold læger over 65",
    "all_levers": "Alle tiltag",
}
GRADE_LABELS = {"specialist": "Speciallæger", "trainee": "Læger under uddannelse"}

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
