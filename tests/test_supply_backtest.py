"""The out-of-sample backtest: only what was known at its start year, intervals and coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_supply_world import (  # noqa: F401
    DEFINITION,
    _long_only_when_asked,
    make_world,
    supply_params,
)

from pipeline.analysis.supply import backtest, tables

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
START = 2018


def run(world, **changes) -> pd.DataFrame:
    return backtest.backtest(
        world["tables"],
        world["series"],
        world["projection"],
        supply_params(**changes),
        start_year=START,
        horizon_years=3,
        simulations=200,
        seed=5,
        **DEFINITION,
    )


def later_changed(world) -> dict:
    """The world with every table changed after the start year (what was not known then)."""
    tables_ = dict(world["tables"])
    phys = tables_["physicians"].copy()
    phys.loc[phys["year"] > START, "headcount"] *= 2
    posts = tables_["training_posts"].copy()
    posts.loc[posts["year"] > START, ["advertised", "filled"]] = 0
    trainees = tables_["trainees"].copy()
    late = trainees["i_start"].dt.year > START - 3
    trainees.loc[late, "h_start"] = pd.NaT
    trainees.loc[late, "h_specialty"] = None
    tables_.update(physicians=phys, training_posts=posts, trainees=trainees)
    return {**world, "tables": tables_}


def test_conversion_is_counted_among_doctors_whose_horizon_had_ended():
    trainees = make_world(seed=81)["tables"]["trainees"]
    known = backtest.conversion_known_at(trainees, START, 3)
    cutoff = pd.Timestamp(year=START, month=12, day=31) - pd.Timedelta(days=3 * 365.25)
    assert known.set_index("group")["n"].sum() == (trainees["i_start"] <= cutoff).sum()
    row = known.set_index("group").loc["regular"]
    assert row["ci_low"] <= row["cif"] <= row["ci_high"]
    assert row["cif"] == pytest.approx(0.55, abs=0.05)  # the world's truth
    # What happened to later cohorts does not change it.
    changed = later_changed(make_world(seed=81))["tables"]["trainees"]
    pd.testing.assert_frame_equal(backtest.conversion_known_at(changed, START, 3), known)


def test_the_projection_uses_only_data_known_at_the_start():
    world = make_world(seed=82)
    result, changed = run(world), run(later_changed(world))
    columns = ["projected", "low80", "high80", "low95", "high95"]
    pd.testing.assert_frame_equal(result[columns], changed[columns])
    assert not result["observed"].equals(changed["observed"])


def test_errors_and_coverage_are_reported():
    world = make_world(seed=83)
    result = run(world)
    assert set(result["year"]) == set(range(START, 2026))
    national = result[result["geography"] == "Danmark"]
    first = national[national["year"] == START]
    assert (first["projected"] == first["observed"]).all()  # the start year is data
    after = backtest.summary(result)
    for grade in ("specialist", "trainee"):
        assert 0 <= after[grade]["coverage80"] <= after[grade]["coverage95"] <= 1
        assert after[grade]["years"] == 2025 - START
    assert after["specialist"]["mape"] < 5
    text = tables.backtest_text(result)
    assert "80 %-intervallet" in text and "95 %-intervallet" in text
    shown = tables.backtest_table(result)
    assert (shown[shown["År"] == START]["95 %-interval"] == "målt i data").all()
    assert np.isfinite(result["ape"]).all()
