"""The demand definitions side by side: base year, measured vacancies, targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_supply_world import (  # noqa: F401
    _long_only_when_asked,
    make_world,
    supply_params,
    with_vacancies,
    world_inputs,
)

from pipeline.analysis.supply import demand, model, tables
from pipeline.data.contract import GEOGRAPHIES, SPECIALTIES

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")
TARGETS = [
    {"specialty": "psychiatry", "year": 2035, "value": 600, "source": "test"},
    {"specialty": "child_adolescent_psychiatry", "year": 2030, "value": 200, "source": "test"},
    {"specialty": "child_adolescent_psychiatry", "year": 2035, "value": 250, "source": "test"},
]


_SETUPS: dict[int, tuple] = {}
VACANCIES = with_vacancies(make_world(seed=53), 3.0)


def setup(world):
    """Inputs, draws, the baseline run and the definitions of a world (kept per world)."""
    if id(world) in _SETUPS:
        return _SETUPS[id(world)]
    inputs = world_inputs(world, supply_params(targets=TARGETS))
    draws = model.draw(inputs, 200, np.random.default_rng(1))
    run = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    years = np.arange(inputs.start_year, 2036)
    defs = demand.definitions(inputs, draws, years, demand.targets_from_params(inputs.params))
    _SETUPS[id(world)] = inputs, draws, run, defs
    return _SETUPS[id(world)]


@pytest.mark.parametrize(("vacancies", "locum"), [(3.0, None), (0.0, None), (2.0, 1.0)])
def test_measured_vacancies_are_the_starting_gap_exactly(vacancies, locum):
    """V vacancies (funded - filled, plus locums) in the start year: a starting gap of exactly
    V, nationally, in every region and specialty, in every draw (0 for V = 0)."""
    inputs, _, run, defs = setup(with_vacancies(make_world(seed=53), vacancies, locum))
    per_cell = vacancies + (locum or 0.0)
    d = defs["vacancies"]
    assert d.available and d.anchor_year == inputs.start_year
    gap = d.gap(run)[:, 0]
    cells = len(SPECIALTIES)
    assert gap[:, 0] == pytest.approx(np.full(len(gap), per_cell * cells * 5), abs=1e-9)
    assert gap[:, 1:] == pytest.approx(np.full((len(gap), 5), per_cell * cells), abs=1e-9)
    assert d.gap_specialty(run)[:, 0] == pytest.approx(np.full((len(gap), 2), per_cell * 5))


def test_vacancies_grow_with_patients_after_the_start():
    inputs, draws, run, defs = setup(VACANCIES)
    d = defs["vacancies"]
    patients = model.patient_draws(inputs, draws, run.years)[(GEOGRAPHIES[0], "total")]
    start = inputs.specialists_by_year[inputs.start_year].sum() + 3.0 * 10
    needed = start * patients / patients[:, :1]
    assert np.allclose(d.needed[..., 0], needed)


def test_without_the_file_the_headline_falls_back_and_says_why():
    _, _, run, defs = setup(make_world(seed=53))
    assert not defs["vacancies"].available
    assert defs["vacancies"].notes == (demand.NOTE_NO_VACANCIES,)
    assert demand.headline(defs, "vacancies") == ("base_ratio", demand.NOTE_FALLBACK)
    assert demand.headline(defs, "target") == ("target", None)
    side = demand.side_by_side(defs, run, 2035, "base_ratio")
    text = tables.headline_text(side, "vacancies", "base_ratio", demand.NOTE_FALLBACK, "baseline")
    assert "specialist_posts.csv" in text and "basisåret var i balance" in text


def test_the_target_gap_is_the_target_minus_the_specialists():
    _, _, run, defs = setup(make_world(seed=53))
    d = defs["target"]
    t = list(run.years).index(2035)
    specialists = run.specialists[:, t].sum(axis=1)  # draws x specialty
    assert np.allclose(d.gap_specialty(run)[:, t], np.array([600, 250]) - specialists)
    assert np.allclose(d.gap(run)[:, t, 0], 850 - specialists.sum(axis=1))
    assert np.isnan(d.gap(run)[:, t, 1:]).all()  # targets are national
    # 2030 has a target for one specialty only: no national total that year.
    t30 = list(run.years).index(2030)
    assert np.isnan(d.gap(run)[:, t30, 0]).all()
    assert np.isfinite(d.gap_specialty(run)[:, t30, 1]).all()


def test_the_base_ratio_is_the_growth_stages_definition_for_specialists():
    inputs, draws, run, defs = setup(make_world(seed=53))
    d = defs["base_ratio"]
    base = inputs.base_year
    patients = model.patient_draws(inputs, draws, run.years)[(GEOGRAPHIES[0], "total")]
    then = model.patient_draws(inputs, draws, np.array([base]))[(GEOGRAPHIES[0], "total")]
    needed = inputs.specialists_by_year[base].sum() * patients / then
    assert np.allclose(d.needed[..., 0], needed)
    # Regions and specialties split the nation in every draw.
    assert np.allclose(d.needed[..., 1:].sum(-1), d.needed[..., 0])
    assert np.allclose(d.needed_specialty.sum(-1), d.needed[..., 0])


def test_the_gap_by_base_year_covers_every_data_year():
    inputs, draws, run, defs = setup(make_world(seed=53))
    table = demand.base_year_gaps(inputs, draws, run, 2035)
    assert list(table["base_year"]) == list(range(2008, 2026))
    chosen = table[table["is_base_year"]].iloc[0]
    gap = defs["base_ratio"].gap(run)[:, -1, 0]
    assert chosen["gap"] == pytest.approx(np.median(gap))
    # The start year as base year: no gap in the start year (it is balanced by definition).
    assert table.iloc[-1]["gap_start"] == pytest.approx(0, abs=1e-9)
    text = tables.base_year_text(table)
    assert "Valget af basisår flytter" in text


def test_side_by_side_marks_the_headline_and_what_is_missing():
    inputs, _, run, defs = setup(VACANCIES)
    side = demand.side_by_side(defs, run, 2035, "vacancies")
    total = side[side["scope"] == "total"].set_index("definition")
    assert total.loc["vacancies", "headline"] and not total.loc["base_ratio", "headline"]
    assert total["available"].all()
    assert total.loc["target", "year"] == 2035
    shown = tables.demand_table(side, inputs, demand.targets_from_params(inputs.params))
    assert len(shown) == 3 and shown["Definition"].str.contains("overskriften").sum() == 1
    assert isinstance(shown, pd.DataFrame)
