"""The stock-flow model: accounting, closed forms, levers and parameters."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.growth import models as growth_models
from pipeline.analysis.growth import series as growth_series
from pipeline.analysis.retention import model as retention
from pipeline.analysis.supply import model as supply
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check

PARAMS = DEFAULTS["supply"]
BANDS = supply.BANDS
DEFINITION = dict(
    base_year=2013,
    grades=["specialist", "trainee"],
    specialties=["psychiatry", "child_adolescent_psychiatry"],
)


@pytest.fixture(scope="module")
def demo_inputs(demo_tables) -> supply.Inputs:
    """Inputs built from the demo data and the growth and retention estimators."""
    tables = demo_tables
    series = growth_series.build_series(tables, DEFINITION["grades"], DEFINITION["specialties"])
    projection, _ = growth_models.project(
        growth_series.modelled_series(series), "log_linear", 2035, k=3, damped=True
    )
    doctors = retention.prepare(tables["trainees"], 3, [2010, 2015, 2020])
    conversion = retention.incidence_at(doctors, 3, "track")
    return supply.build_inputs(tables, series, projection, conversion, PARAMS, **DEFINITION)


def national_gap(inputs, levers, year=2035, draws=None):
    run = supply.project(
        inputs, draws or supply.central(inputs), {**supply.NO_CHANGE, **levers}, 2035
    )
    return run.gap[:, list(run.years).index(year), 0]


# --- accounting ------------------------------------------------------------------------------
def test_accounting_identity_holds_in_every_band_and_year(demo_inputs):
    draws = supply.draw(demo_inputs, 3, np.random.default_rng(1))
    run = supply.project(
        demo_inputs, draws, dict(PARAMS["scenarios"]["all_levers"]), 2035, ledger=True
    )
    ledger = run.ledger
    rebuilt = (
        ledger["stock_start"]
        - ledger["exits"]
        - ledger["ageing_out"]
        + ledger["ageing_in"]
        + ledger["inflow"]
    )
    assert np.abs(rebuilt - ledger["stock_end"]).max() < 1e-9
    # Nobody is created or lost in ageing: what leaves one band arrives in the next.
    by_year = ledger.groupby(["year", "region", "specialty"])[["ageing_out", "ageing_in"]].sum()
    assert np.allclose(by_year["ageing_out"], by_year["ageing_in"], rtol=0, atol=1e-9)
    assert (ledger.loc[ledger["age_band"] == "70+", "ageing_out"] == 0).all()
    # Each year starts where the last one ended, and the ledger matches the projected stock.
    key = ["region", "specialty", "age_band"]
    for year in range(ledger["year"].min(), ledger["year"].max()):
        end = ledger[ledger["year"] == year].set_index(key)["stock_end"]
        start = ledger[ledger["year"] == year + 1].set_index(key)["stock_start"]
        assert np.abs(end - start).max() < 1e-9
    final = run.specialists[0, -1].reshape(-1)
    assert np.abs(final - ledger[ledger["year"] == 2035]["stock_end"].to_numpy()).max() < 1e-9
    assert (ledger[["exits", "stock_end"]] >= 0).all().all()


def cohort_inputs(demo_inputs, stock: np.ndarray, exit_rates: np.ndarray) -> supply.Inputs:
    """The demo inputs with a given stock, fixed exit rates and no arrivals at all."""
    rates = demo_inputs.exit_rates.assign(exit_rate=exit_rates, se=0.0)
    zero = np.zeros_like(demo_inputs.h_advertised)
    return replace(
        demo_inputs,
        stock=stock,
        exit_rates=rates,
        h_started={},
        h_advertised=zero,
        i_filled=zero,
        trainees=zero,
    )


def test_zero_inflow_uniform_exit_is_geometric_decay(demo_inputs):
    stock = np.zeros_like(demo_inputs.stock)
    stock[..., :] = 10.0
    inputs = cohort_inputs(demo_inputs, stock, np.full(len(BANDS), 0.07))
    run = supply.project(inputs, supply.central(inputs), dict(supply.NO_CHANGE), 2035)
    totals = run.specialists[0].sum(axis=(1, 2, 3))
    years = np.arange(len(totals))
    assert np.allclose(totals, stock.sum() * 0.93**years, rtol=1e-12)


def test_zero_inflow_cohort_matches_closed_form_survival(demo_inputs):
    """A cohort of 100 aged 65-69: four fifths stay each year, a fifth moves to 70+."""
    e1, e2 = 0.04, 0.15
    rates = np.zeros(len(BANDS))
    rates[BANDS.index("65-69")], rates[BANDS.index("70+")] = e1, e2
    stock = np.zeros_like(demo_inputs.stock)
    stock[0, 0, BANDS.index("65-69")] = 100.0
    inputs = cohort_inputs(demo_inputs, stock, rates)
    run = supply.project(inputs, supply.central(inputs), dict(supply.NO_CHANGE), 2035)
    stay, move = 0.8 * (1 - e1), 0.2 * (1 - e1)
    for t in range(1, len(run.years)):
        young = run.specialists[0, t, 0, 0, BANDS.index("65-69")]
        old = run.specialists[0, t, 0, 0, BANDS.index("70+")]
        expected_old = 100 * sum(stay**k * move * (1 - e2) ** (t - 1 - k) for k in range(t))
        assert young == pytest.approx(100 * stay**t, rel=1e-12)
        assert old == pytest.approx(expected_old, rel=1e-12)


def test_exit_rates_recovered_from_data_made_by_the_model(demo_inputs):
    """Headcounts generated by the model's own ageing and exits give back the exit rates."""
    truth = np.array([0.02, 0.02, 0.015, 0.015, 0.01, 0.01, 0.015, 0.03, 0.06, 0.18])
    rng = np.random.default_rng(3)
    stock = rng.uniform(5, 60, size=demo_inputs.stock.shape)
    rows = []
    for year in range(2010, 2021):
        for r, region in enumerate(supply.REGIONS):
            for s, specialty in enumerate(supply.SPECIALTIES):
                for b, band in enumerate(BANDS):
                    rows.append(
                        {
                            "year": year,
                            "region": region,
                            "specialty": specialty,
                            "grade": "specialist",
                            "age_band": band,
                            "headcount": stock[r, s, b],
                        }
                    )
        inflow = np.zeros_like(stock)
        inflow[..., :3] = rng.uniform(0, 10, size=(*stock.shape[:2], 3))  # arrivals only when young
        stock, _ = supply.step(stock, truth, inflow)
    assumed = dict(zip(BANDS[:7], truth[:7], strict=True))
    estimated = supply.estimate_exit_rates(pd.DataFrame(rows), "60-64", assumed)
    assert estimated["exit_rate"].to_numpy() == pytest.approx(truth, abs=1e-9)
    assert (estimated["source"] == ["assumed"] * 7 + ["estimated"] * 3).all()


# --- levers ----------------------------------------------------------------------------------
def test_no_change_reproduces_the_baseline_exactly(demo_inputs):
    draws = supply.draw(demo_inputs, 50, np.random.default_rng(2))
    base = supply.project(demo_inputs, draws, dict(supply.NO_CHANGE), 2035)
    same = {
        "extra_h_posts": 0,
        "combined_track_share": demo_inputs.combined_share_now,
        "foreign_per_year": 0,
        "exit_reduction_over_65": 0,
    }
    again = supply.project(demo_inputs, draws, same, 2035)
    assert np.array_equal(base.gap, again.gap)
    assert np.array_equal(base.specialists, again.specialists)


@pytest.mark.parametrize(
    ("lever", "values"),
    [
        ("extra_h_posts", [0, 10, 40]),
        ("combined_track_share", [0.0, 0.5, 1.0]),
        ("foreign_per_year", [0, 10, 30]),
        ("exit_reduction_over_65", [0.0, 0.25, 0.75]),
    ],
)
def test_levers_move_the_gap_the_right_way(demo_inputs, lever, values):
    draws = supply.draw(demo_inputs, 200, np.random.default_rng(4))
    gaps = [national_gap(demo_inputs, {lever: v}, draws=draws) for v in values]
    for smaller, larger in zip(gaps[1:], gaps[:-1], strict=True):
        assert (smaller <= larger + 1e-9).all(), lever  # in every draw, not only on average
        assert smaller.mean() < larger.mean()


def test_scenarios_share_draws_so_differences_are_precise(demo_inputs):
    summary, runs = supply.run_scenarios(demo_inputs, ["baseline", "more_h_posts"], 2035, 300, 7)
    comparison = supply.compare(summary, runs, [2030, 2035]).set_index(["scenario", "year"])
    row = comparison.loc[("more_h_posts", 2035)]
    assert row["change_high"] < 0
    assert (row["change_high"] - row["change_low"]) < (row["gap_high"] - row["gap_low"]) / 5
    assert supply.scenario_levers(PARAMS, "more_h_posts")["extra_h_posts"] == 20


def test_tornado_changes_match_single_lever_runs(demo_inputs):
    moves = {"extra_h_posts": 20, "foreign_per_year": 15}
    table = supply.tornado(demo_inputs, moves, 2035, 100, 3, 2035).set_index("lever")
    base = national_gap(demo_inputs, {})[0]
    for lever, amount in moves.items():
        expected = national_gap(demo_inputs, {lever: amount})[0] - base
        assert table.loc[lever, "change"] == pytest.approx(expected)
        assert (
            table.loc[lever, "change_low"]
            <= table.loc[lever, "change"]
            <= table.loc[lever, "change_high"]
        )


# --- parameters --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scenario": "moonshot"}, "supply.scenario: 'moonshot' is not 'all' nor a scenario"),
        (
            {"scenarios": {"baseline": {}, "cuts": {"extra_h_posts": -5}}},
            "supply.scenarios.cuts.extra_h_posts: -5 is negative",
        ),
        (
            {"scenarios": {"baseline": {}, "x": {"combined_track_share": 1.5}}},
            "supply.scenarios.x.combined_track_share: 1.5 is a share",
        ),
        (
            {"scenarios": {"baseline": {}, "x": {"more_money": 1}}},
            "supply.scenarios.x.more_money: unknown lever",
        ),
        ({"scenarios": {"x": {}}}, "a scenario called 'baseline' is needed"),
        ({"h_completion": 1.2}, "supply.h_completion: 1.2 is a probability"),
        ({"tornado": {"foreign_per_year": -1}}, "supply.tornado.foreign_per_year: -1 is negative"),
        ({"exit_rates_assumed": {"25-29": 0.02}}, "give rates for 30-34"),
        ({"new_specialist_age_band": "35-40"}, "'35-40' is not an age band"),
    ],
)
def test_bad_params_fail_clearly(change, message):
    with pytest.raises(ParamError) as info:
        check({**DEFAULTS, "supply": {**PARAMS, **change}})
    assert any(message in line for line in info.value.problems), info.value.problems


def test_one_scenario_runs_beside_the_baseline():
    assert supply.selected_scenarios({**PARAMS, "scenario": "foreign_recruitment"}) == [
        "baseline",
        "foreign_recruitment",
    ]
    assert supply.selected_scenarios(PARAMS) == list(PARAMS["scenarios"])
