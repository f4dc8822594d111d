"""P(target) and the H-posts needed for a chosen probability, against known truths."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_supply_world import (  # noqa: F401
    _long_only_when_asked,
    make_world,
    supply_params,
    world_inputs,
)

from pipeline.analysis.supply import model, tables
from pipeline.analysis.supply import targets as solver
from pipeline.analysis.supply.demand import Target

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
PSYCHIATRY = "psychiatry"


@pytest.fixture(scope="module")
def world_case():
    """A world with a pool of I-doctors large enough for extra posts to be filled."""
    inputs = world_inputs(make_world(seed=61, i_filled=30.0))
    draws = model.draw(inputs, 1000, np.random.default_rng(2))
    base = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    return inputs, draws, base


def target(value: float, specialty: str = PSYCHIATRY, year: int = 2035) -> Target:
    return Target(specialty, year, float(value), "test", "")


def test_a_central_path_ending_on_the_target_has_an_even_chance(world_case):
    inputs, _, base = world_case
    point = model.project(inputs, model.central(inputs), dict(model.NO_CHANGE), 2035)
    on_path = solver.specialists_in(point, PSYCHIATRY, 2035)[0]
    p = solver.p_reach(base, target(on_path))
    assert 0.45 <= p <= 0.55, p


def test_supply_ten_percent_above_a_target_without_uncertainty_reaches_it(world_case):
    inputs, draws, _ = world_case
    point = model.central(inputs)
    fixed = model.only(draws, point, "patients", inputs)  # every supply input at its centre
    run = model.project(inputs, fixed, dict(model.NO_CHANGE), 2035)
    supply = solver.specialists_in(run, PSYCHIATRY, 2035)
    assert np.ptp(supply) < 1e-9
    assert solver.p_reach(run, target(supply[0] / 1.1)) >= 0.99


def test_the_solver_is_the_projection(world_case):
    """S(x) from the solver equals the projection with x extra posts, draw by draw."""
    inputs, draws, base = world_case
    response = solver.response(inputs, draws, model.NO_CHANGE, PSYCHIATRY, 2035, base)
    for x in (0.0, 3.0, 12.0, 60.0):
        levers = {**model.NO_CHANGE, "extra_h_posts_by_specialty": {PSYCHIATRY: x}}
        run = model.project(inputs, draws, levers, 2035)
        assert np.allclose(response.supply(x), solver.specialists_in(run, PSYCHIATRY, 2035))


def required(inputs, draws, value, probability=0.8, specialty=PSYCHIATRY):
    table = solver.required_posts(
        inputs, draws, [target(value, specialty)], probability, model.NO_CHANGE
    )
    return table.iloc[0]


def test_rerunning_with_the_required_posts_gives_the_probability(world_case):
    inputs, draws, base = world_case
    value = float(np.median(solver.specialists_in(base, PSYCHIATRY, 2035))) + 25
    for probability in (0.5, 0.8, 0.9):
        row = required(inputs, draws, value, probability)
        assert row["status"] == solver.STATUS_POSTS and row["posts"] > 0
        levers = solver.required_levers(row.to_frame().T.assign(posts=float(row["posts"])))
        run = model.project(inputs, draws, levers, 2035)
        p = solver.p_reach(run, target(value))
        assert probability <= p <= probability + 0.02, (probability, p)


def test_the_required_posts_never_fall_as_probability_or_target_rise(world_case):
    inputs, draws, base = world_case
    middle = float(np.median(solver.specialists_in(base, PSYCHIATRY, 2035)))
    by_probability = [required(inputs, draws, middle + 20, q)["posts"] for q in (0.5, 0.7, 0.9)]
    assert by_probability == sorted(by_probability)
    by_target = [required(inputs, draws, middle + d, 0.8)["posts"] for d in (0, 10, 20, 30)]
    assert by_target == sorted(by_target)
    # A target the baseline already reaches needs none.
    assert required(inputs, draws, middle * 0.8)["status"] == solver.STATUS_REACHED


def test_when_posts_alone_cannot_the_result_says_so_and_what_would():
    """A small pool of I-doctors: extra posts stay empty. The solver reports it, and the
    combination it proposes (the other levers, posts and recruits) reaches the probability."""
    inputs = world_inputs(make_world(seed=62))
    draws = model.draw(inputs, 400, np.random.default_rng(3))
    base = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    value = float(np.median(solver.specialists_in(base, PSYCHIATRY, 2035))) * 1.3
    with_levers = model.scenario_levers(supply_params(), "all_levers")
    row = solver.required_posts(inputs, draws, [target(value)], 0.8, with_levers).iloc[0]
    assert np.isnan(row["posts"]) and row["p_max_posts"] < 0.8
    assert row["status"] in (solver.STATUS_WITH_LEVERS, solver.STATUS_WITH_FOREIGN)
    levers = {
        **with_levers,
        "extra_h_posts": 0.0,
        "extra_h_posts_by_specialty": {PSYCHIATRY: row["posts_with_levers"]},
        "foreign_per_year_by_specialty": {PSYCHIATRY: row.get("foreign_per_year", 0.0)},
    }
    run = model.project(inputs, draws, levers, 2035)
    assert solver.p_reach(run, target(value)) >= 0.8 - 0.02
    text = tables.required_text(row.to_frame().T, 0.8, "all_levers", inputs.start_year)
    assert "ikke nok" in text and "introduktionsstillinger" in text


def test_a_target_before_the_first_new_specialists_says_posts_come_too_late(world_case):
    inputs, draws, base = world_case
    value = float(np.median(solver.specialists_in(base, PSYCHIATRY, 2028))) * 1.5
    row = solver.required_posts(
        inputs, draws, [target(value, year=2028)], 0.8, model.NO_CHANGE
    ).iloc[0]
    assert row["status"] == solver.STATUS_TOO_LATE


def test_p_reach_per_scenario_and_the_required_posts_scenario(world_case):
    inputs, draws, base = world_case
    value = float(np.median(solver.specialists_in(base, PSYCHIATRY, 2035))) + 15
    targets = [target(value), target(1.0, "child_adolescent_psychiatry")]
    table = solver.required_posts(inputs, draws, targets, 0.8, model.NO_CHANGE)
    levers = solver.required_levers(table)
    runs = model.run_scenarios(inputs, draws, ["baseline"], 2035, {"required_posts": levers})
    result = solver.target_table(runs, targets).set_index(["scenario", "specialty"])
    assert result.loc[("baseline", PSYCHIATRY), "p_reach"] < 0.8
    assert 0.8 <= result.loc[("required_posts", PSYCHIATRY), "p_reach"] <= 0.82
    assert result.loc[("baseline", "child_adolescent_psychiatry"), "p_reach"] == 1.0
    split = table.set_index("specialty").loc[PSYCHIATRY, "by_region"]
    assert sum(split.values()) == pytest.approx(
        table.set_index("specialty").loc[PSYCHIATRY, "posts"]
    )
    assert replace(targets[0], value=2.0).key == "psychiatry_2035"


def test_a_target_outside_the_projection_is_not_solved(world_case):
    inputs, draws, _ = world_case
    table = solver.required_posts(
        inputs,
        draws,
        [target(100.0, year=2040), target(100.0, year=2024)],
        0.8,
        model.NO_CHANGE,
        horizon_year=2035,
    )
    assert (table["status"] == solver.STATUS_OUTSIDE).all()
    assert solver.required_levers(table)["extra_h_posts_by_specialty"] == {}
    assert "uden for fremskrivningen" in tables.required_text(table, 0.8, "all_levers", 2025)
    assert tables.required_table(table).empty
