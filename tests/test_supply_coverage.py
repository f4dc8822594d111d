"""Supply-interval coverage on a process with known parameters (not the model's ageing rule).

Each world is drawn from the model's own stated uncertainty (the assumed exit rates times a
factor in ``exit_rates_assumed_range``, completion from its mean and sd, the share of late
H-courses from its range) and generated person by person (``test_supply_world``). The model is
started in 2018 with only the data known then and projects the specialists to 2025; the observed
national headcounts should fall inside the 80 % and 95 % intervals about as often as they say.
Before every input was drawn (and the process noise of who leaves and who completes), the 95 %
interval covered about two years in three.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_supply_world import (  # noqa: F401
    BANDS,
    DEFINITION,
    TRUE_EXITS,
    WorldConfig,
    _long_only_when_asked,
    make_world,
    supply_params,
)

from pipeline.analysis.supply import backtest

START = 2018


def world_from_the_prior(seed: int) -> dict:
    params = supply_params()
    rng = np.random.default_rng(10_000 + seed)
    factor = rng.uniform(*params["exit_rates_assumed_range"])
    exits = {b: TRUE_EXITS[b] * (factor if i < 7 else 1.0) for i, b in enumerate(BANDS)}
    mean, sd = params["h_completion"], params["h_completion_sd"]
    k = mean * (1 - mean) / sd**2 - 1
    return make_world(
        WorldConfig(
            seed=20_000 + seed,
            exits=exits,
            completion=rng.beta(mean * k, (1 - mean) * k),
            late_share=rng.uniform(*params["h_delay_share"]),
        )
    )


def coverage(worlds: int, simulations: int) -> pd.DataFrame:
    rows = []
    for seed in range(worlds):
        world = world_from_the_prior(seed)
        result = backtest.backtest(
            world["tables"],
            world["series"],
            world["projection"],
            supply_params(),
            start_year=START,
            horizon_years=3,
            simulations=simulations,
            seed=seed,
            **DEFINITION,
        )
        keep = (
            (result["geography"] == "Danmark")
            & (result["grade"] == "specialist")
            & (result["year"] > START)
        )
        rows.append(result[keep].assign(world=seed))
    return pd.concat(rows, ignore_index=True)


def test_supply_intervals_cover_the_observed_specialists():
    """Four worlds, seven years each: a coarse check that runs by default."""
    result = coverage(4, 150)
    assert result["inside95"].mean() >= 0.75
    assert result["inside80"].mean() >= 0.55
    width = (result["high95"] - result["low95"]) / result["projected"]
    assert width.max() < 0.25  # honest, not vacuous


@pytest.mark.long
def test_supply_intervals_are_calibrated_over_many_worlds():
    result = coverage(120, 400)
    at_80, at_95 = result["inside80"].mean(), result["inside95"].mean()
    assert 0.70 <= at_80 <= 0.92, at_80
    assert 0.88 <= at_95 <= 0.995, at_95
    # Also at the longest horizon alone (one observation per world).
    last = result[result["year"] == result["year"].max()]
    assert last["inside95"].mean() >= 0.85
