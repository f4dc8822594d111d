"""The growth stage's metrics (``reports/metrics.json``: ``growth``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline.data.contract import NATIONAL


def growth_metrics(
    rates: pd.DataFrame,
    gaps: pd.DataFrame,
    model: str,
    base_year: int,
    horizon_year: int,
) -> dict[str, Any]:
    """The growth section of ``reports/metrics.json``."""
    national = rates[
        (rates["geography"] == NATIONAL)
        & (rates["group"] == "total")
        & (rates["model"] == "log_linear")
    ].set_index("measure")
    out: dict[str, Any] = {
        "projection_model": model,
        "base_year": base_year,
        "horizon_year": horizon_year,
    }
    for measure in ("patients", "physicians"):
        if measure in national.index:
            row = national.loc[measure]
            out[f"{measure}_growth_rate"] = row["rate"]
            out[f"{measure}_growth_rate_ci_low"] = row["ci_low"]
            out[f"{measure}_growth_rate_ci_high"] = row["ci_high"]
    for row in gaps[gaps["geography"] == NATIONAL].itertuples():
        out[f"gap_{row.year}"] = row.gap
        out[f"gap_{row.year}_pi_low"] = row.pi_low
        out[f"gap_{row.year}_pi_high"] = row.pi_high
    return out
