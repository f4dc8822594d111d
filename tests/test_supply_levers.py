"""Levers bounded by the pipeline: H-starts capped by the I-doctors able to start them, and the
gap in specialists with the trainees shown apart.

The issue: +20 H-posts needed 91.4 H-starts a year while the I-pool converted 76.8 within three
years (nothing capped starts at applicants), and 69 of that lever's -156 in 2035 were the new
trainees themselves counted as physicians.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_supply_world import _long_only_when_asked, make_world, world_inputs  # noqa: F401

from pipeline.analysis.supply import model

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")


@pytest.fixture(scope="module")
def inputs() -> model.Inputs:
    return world_inputs(make_world(seed=41))


def starts_by_specialty(run: model.Projection) -> np.ndarray:
    return run.h_starts.sum(axis=2)  # draws x years x specialty


def test_extra_posts_fill_only_as_far_as_the_pool_reaches(inputs):
    """With a pool of I-doctors just above today's starts, 40 extra posts add at most the
    pool's headroom, in every draw and year."""
    draws = model.draw(inputs, 300, np.random.default_rng(1))
    base = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    more = model.project(inputs, draws, {**model.NO_CHANGE, "extra_h_posts": 40}, 2035)
    for t, year in enumerate(more.years):
        if year <= inputs.start_year:
            continue
        parts = model.start_parts(inputs, draws, model.NO_CHANGE, int(year))
        pool = parts.pool
        capped = starts_by_specialty(more)[:, t]
        assert (capped <= np.maximum(pool, starts_by_specialty(base)[:, t]) + 1e-9).all()
    assert more.pool_binds[:, -1].any(axis=-1).mean() > 0.5


def test_the_pool_does_not_cut_the_baseline(inputs):
    """Without extra posts the starts are posts x fill rate as before (they happened)."""
    draws = model.draw(inputs, 100, np.random.default_rng(2))
    run = model.project(inputs, draws, dict(model.NO_CHANGE), 2035)
    assert not run.pool_binds.any()
    t = list(run.years).index(inputs.start_year + 1)
    parts = model.start_parts(inputs, draws, model.NO_CHANGE, inputs.start_year + 1)
    assert np.allclose(run.h_starts[:, t], parts.uncapped)


def test_with_a_large_pool_extra_posts_add_posts_times_fill(inputs):
    large = replace(inputs, i_filled=inputs.i_filled * 10)
    draws = model.draw(large, 100, np.random.default_rng(3))
    base = model.project(large, draws, dict(model.NO_CHANGE), 2035)
    more = model.project(large, draws, {**model.NO_CHANGE, "extra_h_posts": 20}, 2035)
    t = list(base.years).index(large.start_year + 1)
    added = (more.h_starts[:, t] - base.h_starts[:, t]).sum(axis=(1, 2))
    shares = large.h_advertised / large.h_advertised.sum()
    expected = (20 * shares[None] * np.minimum(draws.h_fill, 1)).sum(axis=(1, 2))
    assert np.allclose(added, expected)
    assert not more.pool_binds.any()


def test_the_combined_track_raises_the_pool(inputs):
    draws = model.draw(inputs, 50, np.random.default_rng(4))
    year = inputs.start_year + 3
    now = model.start_parts(inputs, draws, model.NO_CHANGE, year)
    everyone = model.start_parts(
        inputs, draws, {**model.NO_CHANGE, "combined_track_share": 1.0}, year
    )
    assert (everyone.pool > now.pool).all()


def test_the_specialist_gap_leaves_the_new_trainees_out(inputs):
    """Extra posts fill training posts years before they give specialists: the physicians gap
    (specialists and trainees) counts those trainees, the specialist gap does not."""
    large = replace(inputs, i_filled=inputs.i_filled * 10)
    draws = model.draw(large, 100, np.random.default_rng(5))
    base = model.project(large, draws, dict(model.NO_CHANGE), 2035)
    more = model.project(large, draws, {**model.NO_CHANGE, "extra_h_posts": 20}, 2035)
    t = list(base.years).index(2035)
    trainees = (more.trainees - base.trainees)[:, t].sum(axis=(1, 2))
    specialists = (more.specialists - base.specialists)[:, t].sum(axis=(1, 2))
    physicians = (base.gap - more.gap)[:, t, 0]
    assert (trainees > 1).all()
    assert np.allclose(physicians, specialists + trainees)
    # Before the first extra H-course ends nobody is a specialist yet: the lever's effect on
    # the specialist gap is zero, all of the physicians' change is trainees.
    early = list(base.years).index(large.start_year + 3)
    assert np.allclose(more.specialists[:, early], base.specialists[:, early])
    assert (base.gap - more.gap)[:, early, 0].min() > 0
