"""The vectorised Cox fit (Efron's ties) against statsmodels, lifelines and known truth."""

from __future__ import annotations

import math
import subprocess
import sys
import time as clock
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import stats

from pipeline.analysis.retention.cox import CoxFit, fit_cox_efron

TERMS = ["combined", "foreign", "female", "age", "region1", "region2", "region3", "region4"]
EFFECTS = np.array([0.7, -0.2, 0.1, 0.03, 0.15, -0.1, 0.2, 0.0])


def simulate(rng, n=2000, months=True, p=8):
    """Doctors like the retention model's: indicators, age and a five-level region, constant
    hazards, staggered starts censored at the extract date. With ``months`` times are whole
    months (H-posts start on the 1st), so nearly every event time is tied."""
    region = rng.integers(0, 5, n)
    x = np.column_stack(
        [
            rng.random(n) < 0.3,
            rng.random(n) < 0.15,
            rng.random(n) < 0.5,
            rng.integers(26, 36, n),
            *(region == k for k in range(1, 5)),
        ]
    ).astype(float)[:, :p]
    rate = 0.45 * np.exp((x - x.mean(axis=0)) @ EFFECTS[:p])
    event_time, followed = rng.exponential(1 / rate), rng.uniform(0.2, 14, n)
    time = np.minimum(event_time, followed)
    if months:
        time = np.ceil(time * 12) / 12
    return time, (event_time <= followed).astype(int), x


def grambsch_therneau(fit: CoxFit, time: np.ndarray) -> tuple[np.ndarray, float]:
    """The test of ``retention.model._ph_test`` on a ``CoxFit``: correlation of the scaled
    Schoenfeld residuals with the rank of the event times, over the terms with a finite SE;
    (chi2 per such term, global chi2)."""
    ok = np.isfinite(fit.bse)
    resid, cov = fit.schoenfeld_residuals[:, ok], fit.cov_params[np.ix_(ok, ok)]
    d = fit.n_events
    g = stats.rankdata(time[fit.event_index])
    g = g - g.mean()
    u = g @ resid
    denom = (g**2).sum()
    return d * (cov @ u) ** 2 / (np.diag(cov) * denom), float(d * u @ cov @ u / denom)


def relative(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) / np.asarray(b) - 1)))


def lifelines_fit(time, event, x):
    from lifelines import CoxPHFitter

    frame = pd.DataFrame(x, columns=TERMS[: x.shape[1]]).assign(time=time, status=event)
    # Tighter than lifelines' defaults, which stop once the log likelihood changes by < 1e-9.
    options = {"precision": 1e-12, "r_precision": 1e-15}
    return CoxPHFitter().fit(frame, "time", "status", fit_options=options), frame


# --- independent implementations ------------------------------------------------------------------
@pytest.mark.parametrize("months", [True, False], ids=["monthly ties", "no ties"])
def test_matches_statsmodels(months):
    from statsmodels.duration.hazard_regression import PHReg

    time, event, x = simulate(np.random.default_rng(1), months=months)
    assert (len(np.unique(time[event == 1])) < event.sum() / 10) == months
    ours = fit_cox_efron(time, event, x)
    theirs = PHReg(time, x, status=event, ties="efron").fit()
    assert ours.converged and ours.estimable.all()
    assert relative(ours.params, theirs.params) < 1e-6
    assert relative(ours.bse, theirs.bse) < 1e-6
    assert np.allclose(ours.cov_params, theirs.cov_params(), rtol=1e-6, atol=1e-12)
    assert ours.loglike == pytest.approx(theirs.llf, rel=1e-9)


@pytest.mark.parametrize("months", [True, False], ids=["monthly ties", "no ties"])
def test_matches_lifelines(months):
    time, event, x = simulate(np.random.default_rng(2), months=months)
    ours = fit_cox_efron(time, event, x)
    theirs, _ = lifelines_fit(time, event, x)
    assert relative(ours.params, theirs.params_) < 1e-6
    assert relative(ours.bse, theirs.standard_errors_) < 1e-6
    assert ours.loglike == pytest.approx(theirs.log_likelihood_, rel=1e-9)


def test_schoenfeld_residuals_match_lifelines_with_ties():
    """With ties the expected covariate is averaged over Efron's weights (R, lifelines), not the
    plain risk-set mean statsmodels uses."""
    time, event, x = simulate(np.random.default_rng(3), n=2000)
    ours = fit_cox_efron(time, event, x)
    cph, frame = lifelines_fit(time, event, x)
    theirs = cph.compute_residuals(frame, "schoenfeld")
    assert np.array_equal(ours.event_index, np.flatnonzero(event))
    mine = pd.DataFrame(ours.schoenfeld_residuals, index=ours.event_index, columns=TERMS)
    assert np.allclose(mine.loc[theirs.index].to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-9)


def average_rank(durations, events, weights):
    """Rank of the event times with ties averaged, as ``_ph_test`` (``rankdata``) and R's
    ``rank`` do; lifelines' own "rank" numbers tied events one after another."""
    return pd.Series(stats.rankdata(np.where(events, durations, np.inf)), index=durations.index)


@pytest.mark.parametrize("months", [True, False], ids=["monthly ties", "no ties"])
def test_proportional_hazards_test_matches_lifelines(months):
    from lifelines.statistics import proportional_hazard_test

    time, event, x = simulate(np.random.default_rng(4), n=2000, months=months)
    chi2, global_chi2 = grambsch_therneau(fit_cox_efron(time, event, x), time)
    cph, frame = lifelines_fit(time, event, x)
    rank = average_rank if months else "rank"  # the same thing without ties
    theirs = proportional_hazard_test(cph, frame, time_transform=rank).summary["test_statistic"]
    assert np.allclose(chi2, theirs[TERMS].to_numpy(), rtol=1e-4, atol=1e-9)  # ~1e-9 seen
    assert global_chi2 > 0 and np.isfinite(global_chi2)


# --- known truth ----------------------------------------------------------------------------------
def hazard_ratio_replicates(replicates: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Log hazard ratio and its SE from ``replicates`` cohorts of 2,000 doctors: a binary
    covariate doubles a constant hazard of 0.45 a year, uniform censoring over six years, times
    in whole months (ties)."""
    rng = np.random.default_rng(seed)
    estimates, errors = [], []
    for _ in range(replicates):
        x = (rng.random(2000) < 0.5).astype(float)
        event_time, followed = rng.exponential(1 / (0.45 * 2.0**x)), rng.uniform(0, 6, 2000)
        time = np.ceil(np.minimum(event_time, followed) * 12) / 12
        fit = fit_cox_efron(time, event_time <= followed, x)
        assert fit.converged
        estimates.append(fit.params[0])
        errors.append(fit.bse[0])
    return np.array(estimates), np.array(errors)


def check_known_truth(estimates: np.ndarray, errors: np.ndarray, low: float, high: float) -> None:
    assert math.exp(estimates.mean()) == pytest.approx(2.0, rel=0.05)
    covered = np.abs(estimates - math.log(2.0)) <= stats.norm.ppf(0.975) * errors
    assert low <= covered.mean() <= high, f"coverage {covered.mean():.1%}"


def test_known_hazard_ratio_quick():
    """40 replicates: with true 95 % coverage, fewer than 34 hits has probability 0.3 %, while a
    coverage of 80 % (SEs 35 % too small) passes with probability 29 %; the spread of the
    estimates matches the mean SE within 1/3 (the ratio's own SE is about 0.11 here)."""
    estimates, errors = hazard_ratio_replicates(40, seed=2024)
    check_known_truth(estimates, errors, 34 / 40, 1.0)
    assert estimates.std(ddof=1) / errors.mean() == pytest.approx(1.0, abs=1 / 3)


@pytest.mark.long
def test_known_hazard_ratio():
    """200 replicates: coverage in 91-99 % (each bound fails with probability < 0.6 %)."""
    estimates, errors = hazard_ratio_replicates(200, seed=2025)
    check_known_truth(estimates, errors, 0.91, 0.99)
    assert estimates.std(ddof=1) / errors.mean() == pytest.approx(1.0, abs=0.15)


# --- properties -----------------------------------------------------------------------------------
def test_row_order_shifts_and_scales_do_not_matter():
    rng = np.random.default_rng(5)
    time, event, x = simulate(rng, n=1500)
    base = fit_cox_efron(time, event, x)
    order = rng.permutation(len(time))
    shuffled = fit_cox_efron(time[order], event[order], x[order])
    assert np.allclose(shuffled.params, base.params, rtol=1e-10)
    assert np.allclose(shuffled.bse, base.bse, rtol=1e-10)
    # The same events' residuals, wherever they now are.
    where = np.argsort(order)[base.event_index]
    moved = pd.DataFrame(shuffled.schoenfeld_residuals, index=shuffled.event_index)
    assert np.allclose(moved.loc[where].to_numpy(), base.schoenfeld_residuals, atol=1e-12)
    rescaled = fit_cox_efron(time, event, x * 10 + 1000)
    assert np.allclose(rescaled.params * 10, base.params, rtol=1e-9)
    assert np.allclose(rescaled.schoenfeld_residuals, base.schoenfeld_residuals * 10, atol=1e-8)
    assert rescaled.loglike == pytest.approx(base.loglike, rel=1e-12)


def test_everyone_tied_at_one_time():
    """The risk set at the last time is all tied events: Efron's correction matters most."""
    from statsmodels.duration.hazard_regression import PHReg

    _, event, x = simulate(np.random.default_rng(6), n=400, p=3)
    time = np.ones(len(event))
    ours = fit_cox_efron(time, event, x)
    theirs = PHReg(time, x, status=event, ties="efron").fit()
    assert relative(ours.params, theirs.params) < 1e-6
    assert relative(ours.bse, theirs.bse) < 1e-6


def test_one_covariate_as_a_vector_and_no_covariates():
    from statsmodels.duration.hazard_regression import PHReg

    time, event, x = simulate(np.random.default_rng(7), n=500, p=1)
    assert fit_cox_efron(time, event, x[:, 0]).params == pytest.approx(
        fit_cox_efron(time, event, x).params, rel=1e-12
    )
    empty = fit_cox_efron(time, event, np.zeros((len(time), 0)))
    null = PHReg(time, x, status=event, ties="efron").loglike(np.zeros(1))
    assert empty.params.shape == (0,) and empty.converged and empty.iterations == 0
    assert empty.loglike == pytest.approx(null, rel=1e-12)
    assert empty.schoenfeld_residuals.shape == (event.sum(), 0)


# --- degenerate cases: no exceptions, no warnings -------------------------------------------------
no_warnings = pytest.mark.filterwarnings("error")  # RuntimeWarnings would reach a page


@no_warnings
def test_no_events():
    time, event, x = simulate(np.random.default_rng(8), n=300, p=3)
    fit = fit_cox_efron(time, np.zeros_like(event), x)
    assert np.isnan(fit.params).all() and np.isnan(fit.bse).all()
    assert not fit.estimable.any() and fit.loglike == 0.0 and fit.n_events == 0
    assert fit.schoenfeld_residuals.shape == (0, 3)


@no_warnings
@pytest.mark.parametrize("position", [0, 3])
def test_a_covariate_without_variation_is_not_estimable(position):
    time, event, x = simulate(np.random.default_rng(9), n=800, p=3)
    base = fit_cox_efron(time, event, x)
    fit = fit_cox_efron(time, event, np.insert(x, position, 0.1, axis=1))
    others = np.arange(4) != position
    assert np.isnan(fit.params[position]) and np.isnan(fit.bse[position])
    assert not fit.estimable[position] and fit.converged
    assert np.allclose(fit.params[others], base.params, rtol=1e-10)
    assert np.allclose(fit.bse[others], base.bse, rtol=1e-10)
    assert np.isnan(fit.cov_params[position]).all()


@no_warnings
def test_collinear_covariates():
    """A covariate that is a combination of earlier ones is dropped, as R's coxph does."""
    time, event, x = simulate(np.random.default_rng(10), n=800, p=3)
    base = fit_cox_efron(time, event, x)
    fit = fit_cox_efron(time, event, np.column_stack([x, 2 * x[:, 0] - x[:, 2] + 5]))
    assert fit.estimable.tolist() == [True, True, True, False]
    assert np.allclose(fit.params[:3], base.params, rtol=1e-10)


@no_warnings
def test_variation_only_outside_the_risk_sets_is_not_estimable():
    """Values that differ only among doctors censored before the first event identify nothing."""
    time, event, x = simulate(np.random.default_rng(11), n=500, p=2)
    early = np.argsort(time)[:3]
    time[early], event[early] = time.min() / 10, 0
    z = np.zeros(len(time))
    z[early] = [1.0, 2.0, 3.0]
    fit = fit_cox_efron(time, event, np.column_stack([x, z]))
    assert fit.estimable.tolist() == [True, True, False] and fit.converged


@no_warnings
@pytest.mark.parametrize("side", [1, 0])
def test_separation_runs_off_and_is_flagged(side):
    """All events on one side of an indicator: its coefficient runs off to infinity. The fit
    stops without converging, and the other coefficient is the limit model's: a fit among those
    on the events' side."""
    time, event, x = simulate(np.random.default_rng(12), n=800, p=4)
    event = event * (x[:, 0] == side)
    fit = fit_cox_efron(time, event, x, max_iter=50)
    assert not fit.converged and fit.iterations <= 50
    assert np.sign(fit.params[0]) == (1 if side else -1) and abs(fit.params[0]) > 15
    assert np.isinf(fit.bse[0]) and np.isfinite(fit.bse[1:]).all()
    side_only = fit_cox_efron(time[x[:, 0] == side], event[x[:, 0] == side], x[x[:, 0] == side])
    assert np.allclose(fit.params[1:], side_only.params[1:], rtol=1e-5)
    chi2, global_chi2 = grambsch_therneau(fit, time)  # the others can still be tested
    assert len(chi2) == 3 and np.isfinite(chi2).all() and np.isfinite(global_chi2)


@no_warnings
def test_stops_at_max_iter():
    time, event, x = simulate(np.random.default_rng(13), n=800, p=3)
    fit = fit_cox_efron(time, event, x, max_iter=1)
    assert not fit.converged and fit.iterations == 1 and np.isfinite(fit.bse).all()


@no_warnings
@pytest.mark.parametrize("event", [0, 1])
def test_one_doctor(event):
    fit = fit_cox_efron([2.5], [event], [[1.0, 34.0]])
    assert np.isnan(fit.params).all() and fit.loglike == 0.0
    assert fit.schoenfeld_residuals.shape == (event, 2)


@no_warnings
def test_no_doctors():
    fit = fit_cox_efron(np.zeros(0), np.zeros(0), np.zeros((0, 2)))
    assert np.isnan(fit.params).all() and fit.n_events == 0


def test_invalid_input_is_an_error():
    with pytest.raises(ValueError, match="finite"):
        fit_cox_efron([1.0, np.nan], [1, 0], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="0 or 1"):
        fit_cox_efron([1.0, 2.0], [2, 0], [[0.0], [1.0]])
    with pytest.raises(ValueError, match="expected"):
        fit_cox_efron([1.0, 2.0], [1, 0], [[0.0], [1.0], [2.0]])


def test_the_module_needs_neither_statsmodels_nor_lifelines():
    code = (
        "import sys, pipeline.analysis.retention.cox; "
        "print(sorted({'statsmodels', 'lifelines', 'pandas'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


# --- size -----------------------------------------------------------------------------------------
@pytest.mark.long
def test_a_million_doctors_in_seconds():
    """10^6 rows, 8 covariates, monthly ties (benchmarks/cox.py compares with statsmodels)."""
    time, event, x = simulate(np.random.default_rng(14), n=1_000_000)
    start = clock.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_cox_efron(time, event, x)
    seconds = clock.perf_counter() - start
    assert fit.converged and seconds < 30, f"{seconds:.1f} s"
    assert np.allclose(fit.params, EFFECTS, atol=0.02)
