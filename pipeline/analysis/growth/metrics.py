"""The growth stage's metrics (``reports/metrics.json``: ``growth``)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pipeline.analysis.growth.models import ModelChoice
from pipeline.data.contract import NATIONAL

# The growth rates reported as the headline (patients vs physicians) come from this model in
# every run, whichever model projects: the key's meaning must not change between runs.
RATE_MODEL = "log_linear"


def growth_metrics(
    rates: pd.DataFrame,
    gaps: pd.DataFrame,
    choice: ModelChoice,
    by_model: pd.DataFrame,
    base_year: int,
    horizon_year: int,
) -> dict[str, Any]:
    """The growth section of ``reports/metrics.json``.

    ``growth_rate_difference`` is patients' minus physicians' yearly growth with a 95 % interval
    from the two independent fits (half-widths added in quadrature), the basis of the page's
    "faster / slower / no clear difference".
    """
    national = rates[
        (rates["geography"] == NATIONAL)
        & (rates["group"] == "total")
        & (rates["model"] == RATE_MODEL)
    ].set_index("measure")
    out: dict[str, Any] = {
        "projection_model": choice.model,
        "base_year": base_year,
        "horizon_year": horizon_year,
        "choice_score": choice.score,
        "choice_score_value": choice.value,
        "choice_runner_up": choice.runner_up,
        "choice_relative_difference": choice.relative_difference,
        "choice_requested": choice.requested,
    }
    for measure in ("patients", "physicians"):
        if measure in national.index:
            row = national.loc[measure]
            out[f"{measure}_growth_rate"] = row["rate"]
            out[f"{measure}_growth_rate_ci_low"] = row["ci_low"]
            out[f"{measure}_growth_rate_ci_high"] = row["ci_high"]
    if {"patients", "physicians"} <= set(national.index):
        p, f = national.loc["patients"], national.loc["physicians"]
        half = math.hypot((p["ci_high"] - p["ci_low"]) / 2, (f["ci_high"] - f["ci_low"]) / 2)
        difference = p["rate"] - f["rate"]
        out["growth_rate_difference"] = difference
        out["growth_rate_difference_ci_low"] = difference - half
        out["growth_rate_difference_ci_high"] = difference + half
    for row in gaps[gaps["geography"] == NATIONAL].itertuples():
        out[f"gap_{row.year}"] = row.gap
        out[f"gap_{row.year}_pi_low"] = row.pi_low
        out[f"gap_{row.year}_pi_high"] = row.pi_high
    national_by_model = by_model[by_model["geography"] == NATIONAL]
    out["gap_by_model"] = {
        model: {f"gap_{r.year}": r.gap for r in df.itertuples()}
        for model, df in national_by_model.groupby("model", sort=True)
    }
    return out
