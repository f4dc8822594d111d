"""Exit rates without the ageing bias, tested on data generated person by person.

The world (``test_supply_world``) ages people one year at a time from continuous ages, with a
bulge of 1980s cohorts in their sixties: more than a fifth of the 60-64 band turns 65 each year.
The old estimator (a fifth ages up) found 0.003 for a true 0.02 here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_supply_world import TRUE_EXITS, _long_only_when_asked, make_world  # noqa: F401

from pipeline.analysis.supply import exits
from pipeline.errors import ParamError

BANDS = exits.BANDS
ASSUMED = {b: TRUE_EXITS[b] for b in BANDS[:7]}
TRUTH = np.array([TRUE_EXITS[b] for b in BANDS[7:]])
# Absolute error allowed for 60-64, 65-69 and 70+ (about three standard errors of the mean of
# three worlds; the old estimator missed by 0.017, 0.022 and 0.018).
TOLERANCE = np.array([0.006, 0.012, 0.015])


def specialists(world) -> pd.DataFrame:
    return world["tables"]["physicians"]


def test_exit_rates_are_recovered_from_person_level_data():
    estimates = []
    for seed in (21, 22, 23):
        fit = exits.estimate_exit_rates(specialists(make_world(seed=seed)), "60-64", ASSUMED)
        assert list(fit.rates["source"]) == ["assumed"] * 7 + ["estimated"] * 3
        assert fit.method == "cohort_5y"
        estimates.append(fit.rates["exit_rate"].to_numpy()[7:])
    mean = np.mean(estimates, axis=0)
    assert (np.abs(mean - TRUTH) < TOLERANCE).all(), mean


def test_the_estimate_does_not_depend_on_where_the_bulge_is():
    """With no bulge at all the old rule was right; the new estimator is right either way."""
    flat = exits.estimate_exit_rates(specialists(make_world(seed=24, bulge=0.0)), "60-64", ASSUMED)
    assert (np.abs(flat.rates["exit_rate"].to_numpy()[7:] - TRUTH) < 2 * TOLERANCE).all()


def test_standard_errors_are_positive_and_rates_within_bounds():
    fit = exits.estimate_exit_rates(specialists(make_world(seed=25)), "60-64", ASSUMED)
    estimated = fit.rates[fit.rates["source"] == "estimated"]
    assert (estimated["se"] > 0).all()
    assert fit.covariance.shape == (3, 3)
    assert ((estimated["exit_rate"] >= 0) & (estimated["exit_rate"] <= 0.95)).all()


def test_six_consecutive_years_are_needed():
    phys = specialists(make_world(seed=26))
    with pytest.raises(ParamError, match="at least 6 consecutive years"):
        exits.estimate_exit_rates(phys[phys["year"] >= 2021], "60-64", ASSUMED)
    # Up to a year: only the data known then.
    early = exits.estimate_exit_rates(phys, "60-64", ASSUMED, up_to_year=2014)
    assert early.rates["exit_rate"].notna().all()


def test_the_split_into_single_years_keeps_every_band():
    rng = np.random.default_rng(5)
    bands = rng.integers(0, 80, size=(7, 10)).astype(float)
    single = exits.split_bands(bands)
    assert single.shape == (7, exits.N_AGES)
    assert (single >= 0).all()
    assert np.allclose(exits.to_bands(single), bands)


def test_single_years_follow_the_cohorts():
    """Without exits and arrivals above 45, a cohort's single years move up one a year: the
    reconstruction knows that the 60-64 band's 64-year-olds were its 63-year-olds."""
    true = np.zeros((8, exits.N_AGES))
    true[0, exits.AGES.index(46) :: 7] = 50.0  # lumps at 46, 53, 60, 67 (ages not at edges)
    for t in range(1, 8):
        true[t] = exits.age_one_year(true[t - 1])
    rebuilt = exits.reconstruct_single_years(exits.to_bands(true))
    assert np.allclose(exits.to_bands(rebuilt), exits.to_bands(true))
    # Once the first year's interpolated shape has aged, the lumps sit where they are.
    lump = exits.AGES.index(60) + 7
    assert rebuilt[7, lump] == pytest.approx(true[7, lump], rel=0.35)
    assert rebuilt[7, lump] > rebuilt[7, lump - 2]


@pytest.mark.long
def test_exit_rate_intervals_cover_the_truth():
    """Over many worlds the 95 % intervals of the estimated rates cover the truth about as
    often as they say (the draws use them)."""
    hits = []
    for seed in range(100, 160):
        fit = exits.estimate_exit_rates(specialists(make_world(seed=seed)), "60-64", ASSUMED)
        rows = fit.rates[fit.rates["source"] == "estimated"]
        hits.append(np.abs(rows["exit_rate"].to_numpy() - TRUTH) <= 1.96 * rows["se"].to_numpy())
    coverage = np.mean(hits, axis=0)
    assert (coverage >= 0.85).all(), coverage
