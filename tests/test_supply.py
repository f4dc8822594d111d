"""The stock-flow model: accounting, closed forms, levers, parameters and reproducibility."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from test_supply_world import make_world, run_flow, supply_params, world_inputs

from pipeline.analysis.supply import exits
from pipeline.analysis.supply import model as supply
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check

PARAMS = DEFAULTS["supply"]
BANDS = supply.BANDS
AGES = exits.AGES


@pytest.fixture(scope="module")
def inputs() -> supply.Inputs:
    return world_inputs(make_world(seed=11))


def national_gap(inputs, levers, year=2035, draws=None):
    run = supply.project(
        inputs, draws or supply.central(inputs), {**supply.NO_CHANGE, **levers}, 2035
    )
    return run.gap[:, list(run.years).index(year), 0]


def specialists(run: supply.Projection, year: int = 2035) -> np.ndarray:
    return run.specialists[:, list(run.years).index(year)].sum(axis=(1, 2))


# --- accounting ------------------------------------------------------------------------------
def test_accounting_identity_holds_in_every_band_and_year(inputs):
    draws = supply.draw(inputs, 3, np.random.default_rng(1))
    run = supply.project(
        inputs, draws, dict(PARAMS["scenarios"]["all_levers"]), 2035, ledger=True, bands=True
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
    key = ["region", "specialty", "age_band"]
    for year in range(ledger["year"].min(), ledger["year"].max()):
        end = ledger[ledger["year"] == year].set_index(key)["stock_end"]
        start = ledger[ledger["year"] == year + 1].set_index(key)["stock_start"]
        assert np.abs(end - start).max() < 1e-9
    final = run.bands[0, -1].reshape(-1)
    assert np.abs(final - ledger[ledger["year"] == 2035]["stock_end"].to_numpy()).max() < 1e-9
    assert (ledger[["exits", "stock_end"]] >= 0).all().all()
    assert np.allclose(run.bands.sum(-1), run.specialists)


def cohort_inputs(inputs, single: np.ndarray, rates: np.ndarray) -> supply.Inputs:
    """The inputs with a given single-year stock, fixed exit rates and no arrivals at all."""
    zero = np.zeros_like(inputs.h_advertised)
    return replace(
        inputs,
        stock=exits.to_bands(single),
        stock_single=single,
        exit_rates=inputs.exit_rates.assign(exit_rate=rates, se=0.0),
        h_started={},
        h_advertised=zero,
        i_filled=zero,
        trainees=zero,
    )


def test_zero_inflow_uniform_exit_is_geometric_decay(inputs):
    single = np.full_like(inputs.stock_single, 10.0)
    cohort = cohort_inputs(inputs, single, np.full(len(BANDS), 0.07))
    run = supply.project(cohort, supply.central(cohort), dict(supply.NO_CHANGE), 2035)
    totals = run.specialists[0].sum(axis=(1, 2))
    assert np.allclose(totals, single.sum() * 0.93 ** np.arange(len(totals)), rtol=1e-12)


def test_a_cohort_ages_one_year_at_a_time():
    """100 specialists aged 65: five years at the 65-69 rate, then the 70+ rate (closed form).

    With the old rule a fifth of the band moved up every year, so some reached 70+ (and its
    higher exit rate) after one year instead of five.
    """
    inputs = world_inputs(make_world(seed=11))
    e1, e2 = 0.04, 0.15
    rates = np.zeros(len(BANDS))
    rates[BANDS.index("65-69")], rates[BANDS.index("70+")] = e1, e2
    single = np.zeros_like(inputs.stock_single)
    single[0, 0, AGES.index(65)] = 100.0
    cohort = cohort_inputs(inputs, single, rates)
    run = supply.project(cohort, supply.central(cohort), dict(supply.NO_CHANGE), 2035, bands=True)
    young, old = BANDS.index("65-69"), BANDS.index("70+")
    for t in range(1, len(run.years)):
        if t < 5:
            assert run.bands[0, t, 0, 0, young] == pytest.approx(100 * (1 - e1) ** t, rel=1e-12)
            assert run.bands[0, t, 0, 0, old] == 0
        else:
            expected = 100 * (1 - e1) ** 5 * (1 - e2) ** (t - 5)
            assert run.bands[0, t, 0, 0, young] == 0
            assert run.bands[0, t, 0, 0, old] == pytest.approx(expected, rel=1e-12)


def test_the_share_ageing_out_of_a_band_follows_its_single_years(inputs):
    """A band whose members are all at its top age moves up whole in one year (the old rule
    moved a fifth)."""
    single = np.zeros_like(inputs.stock_single)
    single[..., AGES.index(64)] = 10.0
    cohort = cohort_inputs(inputs, single, np.zeros(len(BANDS)))
    run = supply.project(cohort, supply.central(cohort), dict(supply.NO_CHANGE), 2026, bands=True)
    assert run.bands[0, 1, ..., BANDS.index("60-64")].sum() == 0
    assert run.bands[0, 1, ..., BANDS.index("65-69")].sum() == pytest.approx(single.sum())


def test_the_start_state_matches_the_data_in_every_band(inputs):
    assert np.allclose(exits.to_bands(inputs.stock_single), inputs.stock)
    assert (inputs.stock_single >= 0).all()


# --- levers ----------------------------------------------------------------------------------
def test_no_change_reproduces_the_baseline_exactly(inputs):
    draws = supply.draw(inputs, 50, np.random.default_rng(2))
    base = supply.project(inputs, draws, dict(supply.NO_CHANGE), 2035)
    same = {
        "extra_h_posts": 0,
        "combined_track_share": inputs.combined_share_now,
        "foreign_per_year": 0,
        "exit_reduction_over_65": 0,
        "fte_per_head": 0,
    }
    again = supply.project(inputs, draws, same, 2035)
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
def test_levers_move_the_gap_the_right_way(inputs, lever, values):
    draws = supply.draw(inputs, 200, np.random.default_rng(4))
    gaps = [national_gap(inputs, {lever: v}, draws=draws) for v in values]
    for smaller, larger in zip(gaps[1:], gaps[:-1], strict=True):
        assert (smaller <= larger + 1e-9).all(), lever  # in every draw, not only on average
        assert smaller.mean() < larger.mean()


def test_scenarios_share_draws_so_differences_are_precise(inputs):
    draws = supply.draw(inputs, 300, np.random.default_rng(7))
    runs = supply.run_scenarios(inputs, draws, ["baseline", "foreign_recruitment"], 2035)
    comparison = supply.compare(runs, [2030, 2035]).set_index(["scenario", "year"])
    row = comparison.loc[("foreign_recruitment", 2035)]
    assert row["change_high"] < 0
    assert (row["change_high"] - row["change_low"]) < (row["gap_high"] - row["gap_low"]) / 5
    assert supply.scenario_levers(PARAMS, "more_h_posts")["extra_h_posts"] == 20


def test_tornado_changes_are_medians_of_the_paired_single_lever_runs(inputs):
    draws = supply.draw(inputs, 100, np.random.default_rng(3))
    moves = {"extra_h_posts": 20, "foreign_per_year": 15}
    table = supply.tornado(inputs, draws, moves, 2035, 2035).set_index("lever")
    base = national_gap(inputs, {}, draws=draws)
    for lever, amount in moves.items():
        change = national_gap(inputs, {lever: amount}, draws=draws) - base
        assert table.loc[lever, "change"] == pytest.approx(np.median(change))
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
        (
            {"scenarios": {"baseline": {}, "x": {"fte_per_head": 0.8}}},
            "supply.scenarios.x.fte_per_head: 0.8 is a relative change",
        ),
        ({"scenarios": {"x": {}}}, "a scenario called 'baseline' is needed"),
        (
            {"scenarios": {**PARAMS["scenarios"], "required_posts": {}}},
            "supply.scenarios.required_posts: this name is the stage's own",
        ),
        ({"h_completion": 1.2}, "supply.h_completion: 1.2 is a probability"),
        ({"tornado": {"foreign_per_year": -1}}, "supply.tornado.foreign_per_year: -1 is negative"),
        ({"exit_rates_assumed": {"25-29": 0.02}}, "give rates for 30-34"),
        ({"new_specialist_age_band": "35-40"}, "'35-40' is not an age band"),
        ({"exit_rates_assumed_range": [1.2, 2.0]}, "must contain 1"),
        ({"h_delay_share": [0.3, 0.1]}, "give [low, high] with low <= high"),
        ({"foreign_delay_share": [0.0, 1.5]}, "1.5 is above 1.0"),
        ({"demand": "wishes"}, "supply.demand: 'wishes'; choose from base_ratio"),
        ({"required_probability": 1.0}, "supply.required_probability: 1.0 is a probability"),
        ({"required_with_scenario": "nope"}, "'nope' is not a scenario"),
        (
            {"targets": [{"specialty": "surgery", "year": 2035, "value": 1, "source": "x"}]},
            "supply.targets[0].specialty: 'surgery'",
        ),
        (
            {"targets": [{"specialty": "psychiatry", "year": 2035, "value": 1400}]},
            "supply.targets[0].source: say where the target comes from",
        ),
        (
            {"targets": [{"specialty": "psychiatry", "year": 2035, "value": -3, "source": "x"}]},
            "supply.targets[0].value: -3",
        ),
    ],
)
def test_bad_params_fail_clearly(change, message):
    with pytest.raises(ParamError) as info:
        check({**DEFAULTS, "supply": {**PARAMS, **change}})
    assert any(message in line for line in info.value.problems), info.value.problems


def test_the_default_targets_are_the_ministrys_with_their_source():
    targets = {t["specialty"]: t for t in PARAMS["targets"]}
    assert targets["psychiatry"]["value"] == 1400 and targets["psychiatry"]["year"] == 2035
    assert targets["child_adolescent_psychiatry"]["value"] == 500
    assert all("ugeskriftet.dk" in t["source"] for t in targets.values())


def test_one_scenario_runs_beside_the_baseline():
    assert supply.selected_scenarios({**PARAMS, "scenario": "foreign_recruitment"}) == [
        "baseline",
        "foreign_recruitment",
    ]
    assert supply.selected_scenarios(PARAMS) == list(PARAMS["scenarios"])


# --- reproducibility ----------------------------------------------------------------------------
def test_same_inputs_give_the_same_outputs_byte_for_byte():
    world = make_world(seed=12)
    params = supply_params(simulations=60)
    first, second = run_flow(world, params), run_flow(world, params)
    dump = lambda m: json.dumps(m, sort_keys=True, default=str)  # noqa: E731
    assert dump(first.metrics) == dump(second.metrics)
    for a, b in (
        (first.summary, second.summary),
        (first.levers, second.levers),
        (first.backtest, second.backtest),
        (first.sensitivity, second.sensitivity),
    ):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    # The seed is what makes them the same.
    other = supply.draw(first.inputs, 60, np.random.default_rng(params["seed"] + 1))
    assert not np.array_equal(other.h_fill, first.draws.h_fill)


def test_the_demo_flow_runs_on_the_growth_and_retention_estimators(demo_tables):
    """The demo data through the growth and retention stages' own estimators, as dvc runs it
    (no numbers of the demo are assumed: it is regenerated with other calibrations)."""
    from pipeline.analysis.growth import models as growth_models
    from pipeline.analysis.growth import series as growth_series
    from pipeline.analysis.retention import model as retention

    definition = dict(
        base_year=2013,
        grades=["specialist", "trainee"],
        specialties=["psychiatry", "child_adolescent_psychiatry"],
    )
    series = growth_series.build_series(
        demo_tables, definition["grades"], definition["specialties"]
    )
    projection, _ = growth_models.project(
        growth_series.modelled_series(series), "log_linear", 2035, k=3, damped=True
    )
    doctors = retention.prepare(demo_tables["trainees"], 3, [2010, 2015, 2020])
    conversion = retention.incidence_at(doctors, 3, "track")
    inputs = supply.build_inputs(
        demo_tables, series, projection, conversion, supply_params(), **definition
    )
    draws = supply.draw(inputs, 100, np.random.default_rng(1))
    run = supply.project(inputs, draws, dict(supply.NO_CHANGE), 2035)
    assert np.isfinite(run.gap).all() and (run.specialists > 0).any()
    assert run.specialists[:, 0].sum(axis=(1, 2)) == pytest.approx(inputs.stock.sum())
