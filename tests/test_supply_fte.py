"""Working time: FTE per head by sex and age band from the data, and FTE beside headcount."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_supply_world import (  # noqa: F401
    _long_only_when_asked,
    make_world,
    run_flow,
    supply_params,
    world_inputs,
)

from pipeline.analysis.supply import fte, model, tables
from pipeline.data.contract import AGE_BANDS

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
PATTERN = {("F", 30, 44): 0.8, ("F", 65, 200): 0.6, ("M", 65, 200): 0.6}


@pytest.fixture(scope="module")
def worlds():
    common = dict(seed=71, with_sex=True, fte_pattern=PATTERN, fte_default=0.95)
    return make_world(with_fte=True, **common), make_world(with_fte=False, **common)


def test_a_planted_fte_pattern_is_recovered_within_one_percent(worlds):
    with_fte, _ = worlds
    table = fte.estimate_fte_per_head(with_fte["tables"]["physicians"], 2025, 3)
    table = table[table["headcount"] > 0].set_index(["grade", "sex", "age_band"])
    checked = 0
    for (grade, sex, band), row in table.iterrows():
        low = 70 if band == "70+" else int(band.split("-")[0])
        if sex == "F" and 30 <= low <= 40:
            truth = 0.8
        elif low >= 65:
            truth = 0.6
        elif low in (45, 50, 55, 60) or (sex == "M" and 30 <= low <= 40):
            truth = 0.95
        else:
            continue  # 25-29 straddles nothing planted, but has few heads
        assert row["fte_per_head"] == pytest.approx(truth, rel=0.01), (grade, sex, band)
        checked += 1
    assert checked >= 12


def test_supply_and_gap_are_given_in_fte_beside_headcount(worlds):
    with_fte, _ = worlds
    inputs = world_inputs(with_fte)
    assert inputs.fte is not None and inputs.fte.by_sex
    draws = model.draw(inputs, 100, np.random.default_rng(1))
    run = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    observed = inputs.fte_by_year[inputs.start_year].sum()
    # The start year's FTE from heads x FTE per head is the data's (the ratios are from the
    # last three years, so within a few percent).
    assert run.specialists_fte[:, 0].sum(axis=(1, 2)) == pytest.approx(observed, rel=0.03)
    assert (run.specialists_fte < run.specialists + 1e-9).all()
    more = model.project(inputs, draws, {**model.NO_CHANGE, "fte_per_head": 0.1}, 2035)
    assert np.array_equal(more.specialists, run.specialists)  # heads do not move
    assert np.allclose(more.specialists_fte[:, 1:], run.specialists_fte[:, 1:] * 1.1)


def test_without_fte_every_output_is_unchanged_and_says_so(worlds):
    with_fte, without = worlds
    a = run_flow(with_fte, supply_params(simulations=60), backtest=False)
    b = run_flow(without, supply_params(simulations=60), backtest=False)
    heads = [c for c in b.summary.columns if "fte" not in c]
    assert a.summary[heads].equals(b.summary[heads])
    assert "specialists_fte" not in b.summary.columns
    assert b.metrics["fte"] == {"given": False}
    assert a.metrics["fte"]["given"] and "specialist_gap_2035" in a.metrics["fte"]
    assert model.NOTE_FTE_MISSING in b.inputs.notes
    assert tables.fte_table(b.inputs).iloc[0, 0] == "FTE ikke leveret"
    lever = tables.tornado_table(b.levers).set_index("Tiltag").loc["Mere arbejdstid pr. læge"]
    assert "FTE ikke leveret" in lever["Bemærkning"]
    shown = tables.tornado_table(a.levers).set_index("Tiltag").loc["Mere arbejdstid pr. læge"]
    assert shown["Ændring i manglende årsværk"].startswith("−")
    assert set(AGE_BANDS) >= set(tables.fte_table(a.inputs)["Aldersgruppe"])


def test_an_empty_sex_column_is_no_sex_column(worlds):
    """Ingest keeps an optional column the extract left out as an empty column."""
    with_fte, _ = worlds
    phys = with_fte["tables"]["physicians"]
    pooled = phys.groupby(
        ["year", "region", "specialty", "grade", "age_band"], observed=True, as_index=False
    )[["headcount", "fte"]].sum()
    empty = pooled.assign(sex=pd.Categorical([None] * len(pooled), ["F", "M"]))
    a = fte.fte_inputs(pooled, 2025, 3)
    b = fte.fte_inputs(empty, 2025, 3)
    assert not b.by_sex and not a.by_sex
    assert np.allclose(a.specialist, b.specialist) and np.allclose(a.trainee, b.trainee)
    assert set(b.per_head["sex"]) == {"all"}
