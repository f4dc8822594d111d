"""Honest uncertainty: every uncertain input drawn, points inside their intervals, no crashes.

The issue's cases: fill rates were drawn with binomial noise only (the national H fill rate
ranged 0.65-0.92 over ten years); posts, the assumed exit rates, foreign completion and the
durations were not drawn; a dataset where every H-post was filled crashed the lever chart
(a point estimate outside its own interval); nobody on a combined track left the combined
conversion missing.
"""

from __future__ import annotations

import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from test_supply_world import (
    _long_only_when_asked,  # noqa: F401
    make_world,
    run_flow,
    supply_params,
    world_inputs,
)

from pipeline.analysis.supply import figures, model, tables
from pipeline.data.contract import GEOGRAPHIES, REGIONS, SPECIALTIES
from pipeline.publish.labels import INPUT_LABELS

matplotlib.use("Agg")
pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
PARAMS = supply_params(simulations=120)


@pytest.fixture(scope="module")
def flows() -> dict[str, object]:
    """The notebook's calls on three worlds: ordinary, every H-post filled, nobody combined."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return {
            "ordinary": run_flow(make_world(seed=31, vacancies=2.0, with_fte=True), PARAMS),
            "all_filled": run_flow(make_world(seed=32, fill_all=True), PARAMS, backtest=False),
            "nobody_combined": run_flow(
                make_world(seed=33, nobody_combined=True), PARAMS, backtest=False
            ),
        }


# --- the inputs' spread ----------------------------------------------------------------------
def test_the_year_to_year_spread_of_the_fill_rate_is_estimated():
    """Yearly national fill rates alternating around 0.75 by +-0.6 on the logit scale, with
    counts so large that sampling noise is negligible: the spread is 0.6 (times the n-1
    correction of an alternating series)."""
    rows = []
    for t, year in enumerate(range(2010, 2020)):
        logit = np.log(0.75 / 0.25) + (0.6 if t % 2 else -0.6)
        rate = 1 / (1 + np.exp(-logit))
        for region in REGIONS:
            for specialty in SPECIALTIES:
                rows.append((year, region, specialty, "H", 100000, round(100000 * rate)))
    posts = pd.DataFrame(
        rows, columns=["year", "region", "specialty", "post_type", "advertised", "filled"]
    )
    fill, level, note = model.year_to_year_spread(posts)
    expected = 0.6 * np.sqrt(10 / 9)
    assert fill == pytest.approx([expected, expected], rel=0.01)
    assert level == pytest.approx([0, 0], abs=1e-9)  # the same posts every year
    assert note is None


def test_every_uncertain_input_is_drawn():
    inputs = world_inputs(make_world(seed=34))
    draws = model.draw(inputs, 400, np.random.default_rng(1))
    p = inputs.params
    assert draws.h_fill.std(axis=0).min() > 0
    # The fill level moves together across regions (the year-to-year level), not only apart.
    national = draws.h_fill.mean(axis=1)
    assert national.std(axis=0).max() > 0.03
    assert draws.posts_factor.std(axis=0).max() > 0
    assumed = (inputs.exit_rates["source"] == "assumed").to_numpy()
    ratio = draws.exit_rate[:, assumed] / inputs.exit_rates["exit_rate"].to_numpy()[assumed]
    low, high = p["exit_rates_assumed_range"]
    assert ratio.min() >= low - 1e-12 and ratio.max() <= high + 1e-12
    assert ratio.max() - ratio.min() > 0.8 * (high - low)
    assert draws.foreign_completion.std() > 0.05
    assert draws.h_delay.min() >= p["h_delay_share"][0] and draws.h_delay.max() <= 0.3
    assert draws.h_delay.std() > 0 and draws.foreign_delay.std() > 0


def test_the_foreign_lever_now_has_an_interval(flows):
    """Its interval was +-0 (completion and the pathway were fixed)."""
    row = flows["ordinary"].levers.set_index("lever").loc["foreign_per_year"]
    assert row["specialist_change_high"] - row["specialist_change_low"] > 5


def test_the_supply_interval_is_wider_than_binomial_noise(flows):
    """The issue: a +-3 % supply interval. With every input drawn it is wider."""
    summary = flows["ordinary"].summary
    row = summary[
        (summary["scenario"] == "baseline")
        & (summary["geography"] == GEOGRAPHIES[0])
        & (summary["year"] == 2035)
    ].iloc[0]
    assert (row["specialists_high"] - row["specialists_low"]) / row["specialists"] > 0.08


# --- points inside their intervals --------------------------------------------------------------
def interval_triples(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    out = []
    for column in df.columns:
        for low, high in (("_low", "_high"), ("_low80", "_high80")):
            if f"{column}{low}" in df.columns and f"{column}{high}" in df.columns:
                out.append((column, f"{column}{low}", f"{column}{high}"))
    if {"low95", "high95", "projected"} <= set(df.columns):
        out += [("projected", "low95", "high95"), ("projected", "low80", "high80")]
    return out


def metric_triples(metrics: dict, path: str = "") -> list[tuple[str, float, float, float]]:
    out = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            out += metric_triples(value, f"{path}{key}.")
        elif f"{key}_pi_low" in metrics and value is not None:
            out.append((path + key, metrics[f"{key}_pi_low"], value, metrics[f"{key}_pi_high"]))
    return out


@pytest.mark.parametrize("world", ["ordinary", "all_filled", "nobody_combined"])
def test_every_interval_contains_its_point(flows, world):
    flow = flows[world]
    frames = {
        "summary": flow.summary,
        "comparison": flow.comparison,
        "levers": flow.levers,
        "sensitivity": flow.sensitivity,
        "side": flow.side,
        "base_years": flow.base_years,
        "targets": flow.target_table,
        "backtest": flow.backtest,
    }
    checked = 0
    for name, df in frames.items():
        for value, low, high in interval_triples(df):
            ok = df[value].isna() | ((df[low] <= df[value] + 1e-9) & (df[value] <= df[high] + 1e-9))
            assert ok.all(), (name, value, df.loc[~ok, [value, low, high]])
            checked += 1
    assert checked > 20
    for key, low, value, high in metric_triples(flow.metrics):
        assert low <= value + 1e-9 <= high + 2e-9, key


def test_every_h_post_filled_does_not_crash_the_lever_chart(flows):
    """The crash: "'xerr' must not contain negative values" (the point outside its interval)."""
    flow = flows["all_filled"]
    figure = figures.plot_levers_and_uncertainty(flow.levers, flow.sensitivity)
    assert figure is not None
    assert (flow.levers["specialist_change_low"] <= flow.levers["specialist_change"]).all()


def test_nobody_on_a_combined_track_says_so_and_the_lever_does_nothing(flows):
    flow = flows["nobody_combined"]
    assert model.NOTE_COMBINED_MISSING in flow.inputs.notes
    row = flow.levers.set_index("lever").loc["combined_track_share"]
    assert row["notes"] == model.NOTE_COMBINED_MISSING
    assert row["change"] == row["change_low"] == row["change_high"] == 0
    assert model.NOTE_COMBINED_MISSING in flow.metrics["levers"]["combined_track_share"]["notes"]
    text = tables.tornado_table(flow.levers)
    shown = text[text["Tiltag"] == "Sammenhængende forløb"].iloc[0]
    assert "ikke estimeret" in shown["Ændring i manglende speciallæger"]
    assert "Ingen læger er fulgt på sammenhængende forløb" in shown["Bemærkning"]


def test_no_table_shows_a_zero_width_interval(flows):
    """An estimated quantity with no spread says 'ikke estimeret' (or 'målt i data')."""
    flow = flows["nobody_combined"]
    shown = [
        tables.tornado_table(flow.levers),
        tables.comparison_table(
            flow.comparison, flow.inputs.params, 2035, flow.summary, flow.target_table, flow.extra
        ),
        tables.regional_table(flow.summary, "baseline", [2025, 2030, 2035], 2025),
        tables.backtest_table(flow.backtest),
        tables.sensitivity_table(flow.sensitivity),
    ]
    same_ends = re.compile(r"(?<![\d.,−])(−?[\d.]+(?:,\d+)?) til \1(?![\d.,])")
    for table in shown:
        for cell in table.astype(str).to_numpy().ravel():
            assert not same_ends.search(cell), cell


def test_a_scenario_that_changes_no_heads_says_so(flows):
    """Zero in every simulation is "no change", not "not estimated"; a real change keeps its
    interval."""
    for name, scenario, expected in (
        ("nobody_combined", "Sammenhængende forløb for alle", "0 (ingen ændring i antallet)"),
        ("ordinary", "Rekruttering af udenlandske læger", "95"),
    ):
        flow = flows[name]
        table = tables.comparison_table(
            flow.comparison, flow.inputs.params, 2035, flow.summary, flow.target_table, flow.extra
        )
        row = table.set_index("Scenarie").loc[scenario]
        cell = row["Ændring i 2035"]
        if expected == "95":
            assert "til" in cell and "ingen ændring" not in cell, cell
        else:
            assert cell == expected


# --- regions and the nation --------------------------------------------------------------------
def test_regions_add_up_to_the_nation_in_every_draw(flows):
    flow = flows["ordinary"]
    run = flow.runs["baseline"]
    for values in (
        run.demand,
        run.supply,
        run.gap,
        flow.definitions["base_ratio"].gap(run),
        flow.definitions["vacancies"].gap(run),
    ):
        assert np.allclose(values[..., 1:].sum(-1), values[..., 0])
    text = tables.regional_sum_text(flow.summary, "baseline", 2035)
    assert "summer" in text


def test_the_sum_sentence_explains_a_difference_of_medians():
    summary = pd.DataFrame(
        {
            "scenario": "baseline",
            "year": 2035,
            "geography": list(GEOGRAPHIES),
            "specialist_gap": [100.0, 10, 10, 10, 10, 50],
        }
    )
    assert "forskellen på 10" in tables.regional_sum_text(summary, "baseline", 2035)
    summary.loc[0, "specialist_gap"] = 90.0
    assert tables.regional_sum_text(summary, "baseline", 2035).endswith("summer til landstallet.")


def test_the_sensitivity_chart_separates_each_inputs_uncertainty(flows):
    """One row per uncertain input and one for all together; an input that is drawn moves the
    gap, all together move it most; the chart draws."""
    table = flows["ordinary"].sensitivity.set_index("input")
    assert set(table.index) == {"all", *model.INPUT_GROUPS}
    assert table.index[0] == "all"
    for group in ("patients", "fill", "exits_assumed", "completion", "process"):
        assert table.loc[group, "width"] > 0, group
    assert table.loc["foreign_completion", "width"] == 0  # no recruits in the baseline
    assert table.loc["all", "width"] >= table.drop(index="all")["width"].max()
    text = tables.sensitivity_text(flows["ordinary"].sensitivity)
    assert text.startswith(INPUT_LABELS[table.drop(index="all")["width"].idxmax()])
