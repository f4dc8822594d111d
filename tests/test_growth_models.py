"""Growth models against known truth: recovery, interval coverage under AR(1) errors, ETS's damped
trend, proper scores, the choice of model, stacking and the projection under every model.

Coverage tests are seeded simulations. The default run uses few replicates with bounds three
binomial standard errors below the nominal level, sqrt(p (1 - p) / R): with R = 150 that is 89.7 %
for 95 % intervals and 70.2 % for 80 % ones (R = 80 for ETS: 87.7 % and 66.6 %), which still
fails the old intervals (95 % slope intervals covered 86 % at rho = 0.5 and 77 % at rho = 0.7;
5-year prediction intervals 85 % and 79 %; the ETS growth interval 52 %). ``-m long`` (make
test-long, CI) runs the full-size versions (R = 2000; ETS 1000): no more than three standard
errors below nominal (93.5 % and 77.3 %), and no more than three standard errors plus two points
above it (98.5 % and 84.7 %): the 80 % prediction intervals of the trend models are up to three
points conservative at 10 years (a property of reading critical values at an estimated rho), which
is safe; falling short is what the review found and what these bounds exclude.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from benchmarks import growth_coverage as worlds
from pipeline.analysis.growth import models
from pipeline.analysis.growth import series as growth_series
from pipeline.analysis.growth.models import GrowthResult, fit_growth

YEARS = np.arange(2010, 2026)  # sixteen years, as in the demo data


def binomial_bounds(nominal: float, reps: int, two_sided: bool) -> tuple[float, float]:
    """Nominal level minus three binomial standard errors; two-sided, also at most three standard
    errors plus two points above it (the calibration may be slightly conservative, never
    anti-conservative)."""
    se = math.sqrt(nominal * (1 - nominal) / reps)
    return nominal - 3 * se, (nominal + 3 * se + 0.02 if two_sided else 1.0)


def series(values, years=YEARS) -> pd.Series:
    return pd.Series(np.asarray(values, float), index=years[: len(values)])


# --- fitting ------------------------------------------------------------------------------------
def test_average_growth_reproduces_the_papers_arithmetic():
    values = series(100 * 1.02 ** np.arange(8))
    res = fit_growth(values, "average_growth", k=3)
    assert res.rate == pytest.approx(0.02, abs=1e-12)
    last = values.iloc[-1]
    assert res.forecast([2018, 2021])["forecast"].tolist() == pytest.approx(
        [last * 1.02, last * 1.02**4]
    )


def test_log_linear_matches_an_independent_least_squares_fit():
    values = series(worlds.trend_stationary(np.random.default_rng(1), 0.5, g=0.025)[0][:16])
    slope = np.polyfit(YEARS, np.log(values.to_numpy()), 1)[0]
    assert fit_growth(values, "log_linear").rate == pytest.approx(math.expm1(slope), rel=1e-10)


def test_count_model_matches_statsmodels_poisson_regression():
    import statsmodels.api as sm

    values = series(worlds.underdispersed_counts(np.random.default_rng(2), 0.3)[0][:16])
    design = sm.add_constant(np.arange(16.0))
    oracle = sm.GLM(values.to_numpy(), design, family=sm.families.Poisson()).fit()
    res = fit_growth(values, "count_glm")
    assert res.rate == pytest.approx(math.expm1(oracle.params[1]), rel=1e-8)
    assert res.converged
    # Pearson dispersion as statsmodels reports it: physicians vary less than Poisson.
    assert res.params["dispersion"] == pytest.approx(oracle.pearson_chi2 / 14, rel=1e-6)
    assert res.params["dispersion"] < 1


def test_forecast_intervals_nest_and_widen():
    values = series(worlds.trend_stationary(np.random.default_rng(3), 0.5)[0][:16])
    for model in models.MODELS:
        fc = fit_growth(values, model).forecast([2026, 2030, 2035])
        assert (fc["lo95"] < fc["lo80"]).all() and (fc["lo80"] < fc["forecast"]).all(), model
        assert (fc["forecast"] < fc["hi80"]).all() and (fc["hi80"] < fc["hi95"]).all(), model
        assert np.log(fc["hi95"] / fc["lo95"]).is_monotonic_increasing, model
        assert (fc["df"] >= models.MIN_DF).all(), model


def test_bad_series_are_rejected_clearly():
    gap_year = pd.Series([1.0, 2.0, 3.0], index=[2010, 2011, 2013])
    with pytest.raises(Exception, match=r"years \[2012\] are missing"):
        fit_growth(gap_year, "log_linear")
    with pytest.raises(Exception, match="zero in"):
        fit_growth(series([3.0, 0.0, 2.0]), "log_linear")
    with pytest.raises(Exception, match="ets needs 8 years"):
        fit_growth(series(np.arange(1.0, 8.0)), "ets")
    with pytest.raises(Exception, match="unknown model 'arima'"):
        fit_growth(series(np.arange(1.0, 17.0)), "arima")


# --- the AR(1) machinery ------------------------------------------------------------------------
def test_exact_variance_factors_match_simulation():
    """The slope's and the 5-year prediction error's variances under AR(1) (rho = 0.7) are the
    exact finite-sample ones: a Monte Carlo of 40,000 paths agrees within 3 %."""
    rho, n = 0.7, 16
    paths = models.simulate_ar1(np.random.default_rng(4), 40_000, n + 5, rho)
    x = np.column_stack([np.ones(n), np.arange(n)])
    beta = np.linalg.lstsq(x, paths[:, :n].T, rcond=None)[0].T
    resid = paths[:, :n] - beta @ x.T
    factors = models._trend_factors(n, rho, 5)
    assert beta[:, 1].var() == pytest.approx(factors["rate"], rel=0.03)
    error = beta[:, 0] + beta[:, 1] * (n - 1 + 5) + rho**5 * resid[:, -1] - paths[:, n + 4]
    assert error.var() == pytest.approx(factors["pred"][4], rel=0.03)
    assert (resid**2).sum(1).mean() == pytest.approx(factors["trace"], rel=0.03)


def test_autocorrelation_is_estimated_median_unbiasedly():
    """With 16 years the raw lag-1 autocorrelation of trend residuals at rho = 0.5 has a median
    near 0.2; the inverted estimate's median is 0.5 (Andrews 1993)."""
    rng = np.random.default_rng(5)
    raw, corrected = [], []
    for _ in range(250):
        values = series(worlds.trend_stationary(rng, 0.5)[0][:16])
        res = fit_growth(values, "log_linear")
        raw.append(res.params["rho_hat"])
        corrected.append(res.rho)
    assert np.median(raw) < 0.3
    assert np.median(corrected) == pytest.approx(0.5, abs=0.06)


def test_calibration_table_matches_a_fresh_simulation():
    """The shipped table (40,000 paths per rho) is what a fresh, independently seeded simulation
    of 4,000 paths gives, within its Monte Carlo error: the 95 % quantile of the studentised slope
    is heavy-tailed at rho = 0.7 (Monte Carlo SD about 5 % with 4,000 paths), so the tolerance
    grows with rho."""
    shipped = models.calibration("trend", 16)
    fresh = models.simulate_calibration("trend", 16, 0, reps=4000, seed=99)
    assert models.CALIBRATION_TABLE.exists()
    for rho, tolerance in ((0.0, 0.06), (0.5, 0.08), (0.7, 0.15)):
        i = int(np.argmin(np.abs(shipped.rho - rho)))
        assert fresh.rho_hat_q[0.5][i] == pytest.approx(shipped.rho_hat_q[0.5][i], abs=0.02)
        assert fresh.rate95[i] == pytest.approx(shipped.rate95[i], rel=tolerance)
        assert fresh.pred95[i] == pytest.approx(shipped.pred95[i], rel=tolerance)
    # Far above the t quantile a plug-in interval would use, where autocorrelation is strong.
    assert shipped.critical(0.3, 0.95)[0] > stats.t.ppf(0.975, 13) + 0.5


def test_t_fitted_to_two_interval_ends_reproduces_them():
    spread, df = models.t_from_quantiles(np.array([1.0, 1.0, 1.0]), np.array([1.52, 1.9, 5.0]))
    half80 = spread * models.t_quantile(0.90, df)
    half95 = spread * models.t_quantile(0.975, df)
    assert np.isinf(df[0]) and half95[0] == pytest.approx(1.52)
    assert half80[1] == pytest.approx(1.0, rel=1e-3) and half95[1] == pytest.approx(1.9, rel=1e-3)
    assert df[2] == models.MIN_DF and half95[2] == pytest.approx(5.0)


# --- known-truth coverage -----------------------------------------------------------------------
AR_WORLDS = [
    "average_growth",
    "log_linear",
    "count_glm (overdispersed)",
    "count_glm (underdispersed)",
]


def check_coverage(world: str, rho: float, reps: int, two_sided: bool) -> None:
    model, process, options = worlds.WORLDS[world]
    result = worlds.coverage(model, process, rho, reps, seed=2026, **options)
    problems = []
    for key, share in result.items():
        if key == "width95":
            continue
        nominal = 0.80 if key.startswith("pi80") else 0.95
        low, high = binomial_bounds(nominal, reps, two_sided)
        if not low <= share <= high:
            problems.append(f"{key} {share:.1%} outside {low:.1%}-{high:.1%}")
    assert not problems, f"{world}, rho = {rho}: " + "; ".join(problems)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.7])
@pytest.mark.parametrize("world", AR_WORLDS)
def test_intervals_keep_coverage_under_autocorrelation(world, rho):
    """Growth-rate (95 %) and 1-, 5- and 10-year prediction intervals (80 %, 95 %) cover as
    promised on 16-year series from each model's own process with AR(1) errors."""
    check_coverage(world, rho, reps=150, two_sided=False)


@pytest.mark.long
@pytest.mark.parametrize("rho", [0.0, 0.5, 0.7])
@pytest.mark.parametrize("world", AR_WORLDS)
def test_intervals_keep_coverage_under_autocorrelation_full(world, rho):
    check_coverage(world, rho, reps=2000, two_sided=True)


ETS_WORLDS = ["ets (phi 0.9)", "ets (phi 0.97)", "ets (undamped)"]


def check_ets(world: str, reps: int) -> None:
    """ETS's interval for today's damped trend covers it at least as often as promised; it is
    conservative (97-99 %: the smoothing parameters are barely identified in 16 years and the
    bootstrap integrates over them), and its prediction intervals hold with independent
    innovations."""
    model, process, options = worlds.WORLDS[world]
    result = worlds.coverage(model, process, 0.0, reps, seed=2026, **options)
    low95, _ = binomial_bounds(0.95, reps, two_sided=False)
    low80, high80 = binomial_bounds(0.80, reps, two_sided=True)
    assert result["rate95"] >= low95, result
    for h in worlds.HORIZONS:
        assert result[f"pi95_h{h}"] >= low95, (h, result)
        assert low80 - 0.02 <= result[f"pi80_h{h}"] <= high80, (h, result)


@pytest.mark.parametrize("world", ETS_WORLDS)
def test_ets_trend_interval_covers_todays_damped_trend(world):
    check_ets(world, reps=80)


@pytest.mark.long
@pytest.mark.parametrize("world", ETS_WORLDS)
def test_ets_trend_interval_covers_todays_damped_trend_full(world):
    check_ets(world, reps=1000)


# --- ETS ----------------------------------------------------------------------------------------
def damped_series(seed: int = 6, phi: float = 0.9) -> pd.Series:
    counts, _ = worlds.ets_process(np.random.default_rng(seed), 0.0, phi=phi, alpha=0.3)
    return series(counts[:16])


def test_ets_rate_is_the_damped_next_year_trend_read_by_name():
    """The rate is phi * b_n, with phi, the smoothing parameters and the seed states passed to
    statsmodels' ETSModel by name: its smoothed last trend state times the damping (read by name
    from ``param_names``) is our rate, and its one-step forecast our first forecast."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    values = damped_series()
    res = fit_growth(values, "ets")
    p = res.params
    assert p["phi"] < 1
    system = models._ets_system(16, True, models.H_MAX)
    grid = [tuple(g) for g in system["grid"]]
    g = grid.index((p["alpha"], p["beta"], p["phi"]))
    level0, trend0 = system["seed"][g] @ np.log(values.to_numpy())
    model = ETSModel(
        pd.Series(np.log(values.to_numpy())),
        error="add",
        trend="add",
        damped_trend=True,
        initialization_method="known",
        initial_level=level0,
        initial_trend=trend0,
    )
    named = {"smoothing_level": p["alpha"], "smoothing_trend": p["beta"], "damping_trend": p["phi"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.smooth([named[name] for name in model.param_names])
    phi = fit.params[fit.param_names.index("damping_trend")]
    assert phi == p["phi"]
    assert res.rate == pytest.approx(math.expm1(phi * fit.states.iloc[-1]["trend"]), rel=1e-8)
    forecast = float(fit.forecast(1).iloc[0])
    assert res.forecast([2026])["log_centre"].iloc[0] == pytest.approx(forecast, rel=1e-10)


def test_ets_is_at_least_as_good_a_least_squares_fit_as_statsmodels():
    """The grid fit's criterion is the marginal likelihood, yet its sum of squares is close to
    statsmodels' own optimum (which often stops at a corner of the parameter space)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    log_y = np.log(damped_series(7).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oracle = ETSModel(pd.Series(log_y), error="add", trend="add", damped_trend=True).fit(
            disp=False
        )
    system = models._ets_system(16, True, models.H_MAX)
    crit, sse = models._ets_criterion(system, log_y[None, :])
    assert sse[0, crit[0].argmin()] <= 1.25 * oracle.sse


def test_ets_bootstrap_repeats_with_the_seed_and_undamped_is_undamped():
    values = damped_series(8, phi=1.0)
    a = fit_growth(values, "ets", rng=np.random.default_rng(1))
    b = fit_growth(values, "ets", rng=np.random.default_rng(1))
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    undamped = fit_growth(values, "ets", damped=False)
    assert undamped.params["phi"] == 1.0 and undamped.params["bootstrap"] == 500


# --- proper scores ------------------------------------------------------------------------------
def test_interval_score_is_width_plus_penalties():
    score = models.interval_score([0, 0, 0], [1, 1, 1], [0.5, -0.5, 2.0], 0.8)
    assert score.tolist() == pytest.approx([1.0, 1 + 10 * 0.5, 1 + 10 * 1.0])


@pytest.mark.parametrize("df", [2.5, 4.0, 30.0, math.inf])
def test_crps_closed_form_matches_the_integral(df):
    centre, spread, actual = 0.3, 0.7, 1.1
    dist = stats.norm(centre, spread) if math.isinf(df) else stats.t(df, centre, spread)
    below = integrate.quad(lambda x: dist.cdf(x) ** 2, -np.inf, actual)[0]
    above = integrate.quad(lambda x: (1 - dist.cdf(x)) ** 2, actual, np.inf)[0]
    assert models.crps_t(actual, centre, spread, df) == pytest.approx(below + above, rel=1e-6)


def fake_results(spec: dict[str, tuple[float, float, float]], seed: int = 0) -> pd.DataFrame:
    """Backtest rows of 16 series x origins x horizons 1-5 whose log errors are N(0, s_h),
    s_h = 0.01 sqrt(h); each model predicts with (centre error sd, spread factor, df)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(16):
        for origin in range(2017, 2025):
            for h in range(1, min(5, 2025 - origin) + 1):
                sd = 0.01 * math.sqrt(h)
                truth = rng.normal(0, sd)
                noise = rng.standard_normal()
                for model, (centre_sd, factor, df) in spec.items():
                    centre = centre_sd * sd * noise
                    rows.append(
                        {
                            "measure": "patients",
                            "geography": f"g{s}",
                            "group": "total",
                            "model": model,
                            "origin": origin,
                            "horizon": h,
                            "year": origin + h,
                            "log_actual": truth,
                            "log_centre": centre,
                            "log_spread": factor * sd,
                            "df": df,
                        }
                    )
    out = pd.DataFrame(rows)
    q = {lv: models.t_quantile(0.5 + lv / 2, out["df"]) for lv in models.LEVELS}
    out["actual"] = np.exp(out["log_actual"])
    out["forecast"] = np.exp(out["log_centre"])
    for lv, pct in ((0.80, 80), (0.95, 95)):
        out[f"lo{pct}"] = np.exp(out["log_centre"] - q[lv] * out["log_spread"])
        out[f"hi{pct}"] = np.exp(out["log_centre"] + q[lv] * out["log_spread"])
        out[f"covered{pct}"] = out["actual"].between(out[f"lo{pct}"], out[f"hi{pct}"])
        out[f"is{pct}"] = models.interval_score(
            np.log(out[f"lo{pct}"]), np.log(out[f"hi{pct}"]), out["log_actual"], lv
        )
    out["ape"] = (out["actual"] - out["forecast"]).abs() / out["actual"]
    out["crps"] = models.crps_t(out["log_actual"], out["log_centre"], out["log_spread"], out["df"])
    return out


def test_choice_does_not_reward_intervals_far_wider_than_needed():
    """The review's situation: average growth over 3 years with t(2) intervals about 2.8 times
    wider than needed, slightly closer point forecasts and 95 % coverage near 100 %, against a
    model whose intervals are right. The old rule (lowest MAPE among models covering >= 80 %)
    took average growth; every proper score prefers the calibrated model."""
    results = fake_results({"average_growth": (0.0, 2.8, 2.0), "log_linear": (0.3, 1.0, math.inf)})
    scores = models.backtest_scores(results).set_index("model")
    assert scores["coverage95"].min() >= 0.8
    assert scores.loc["average_growth", "mape"] < scores.loc["log_linear", "mape"]  # old rule
    for score in models.SCORES:
        choice = models.choose_model(results, score=score)
        assert choice.model == "log_linear", score
        assert choice.runner_up == "average_growth" and choice.relative_difference > 0.3
    assert scores.loc["average_growth", "is95"] > 2 * scores.loc["log_linear", "is95"]


def test_choice_penalises_intervals_that_are_too_narrow():
    results = fake_results({"narrow": (0.0, 0.3, math.inf), "right": (0.0, 1.0, math.inf)})
    assert models.choose_model(results).model == "right"
    assert models.choose_model(results, score="is95").model == "right"


def test_choice_reports_its_numbers():
    results = fake_results(
        {"log_linear": (0.0, 1.0, math.inf), "count_glm": (0.5, 1.5, 5.0), "ets": (0.0, 1.0, 50)}
    )
    scores = models.backtest_scores(results).set_index("model")
    choice = models.choose_model(results)
    assert choice.model == "log_linear" and not choice.requested
    assert choice.value == pytest.approx(scores.loc["log_linear", "crps"])
    # ETS is comparison-only: ranked, but never the choice or the runner-up by itself.
    assert choice.runner_up == "count_glm"
    assert choice.relative_difference == pytest.approx(
        scores.loc["count_glm", "crps"] / scores.loc["log_linear", "crps"] - 1
    )
    assert 0 <= choice.series_better <= choice.series_total == 16
    assert not choice.ranking.set_index("model").loc["ets", "eligible"]
    named = models.choose_model(results, requested="count_glm")
    assert named.model == "count_glm" and named.requested and named.runner_up == "log_linear"


def test_scores_weight_every_series_equally():
    """A series with many forecasts counts as much as one with few: per series the horizons are
    averaged (each horizon's origins first), then the series."""
    results = fake_results({"a": (0.0, 1.0, math.inf)})
    few = results[(results["geography"] == "g0") & (results["origin"] == 2024)]
    many = results[results["geography"] == "g1"]
    both = pd.concat([few, many], ignore_index=True)
    by_series = [
        df.groupby("horizon")["crps"].mean().mean() for df in (few, many)
    ]  # per-series means
    score = models.backtest_scores(both).set_index("model").loc["a"]
    assert score["crps"] == pytest.approx(np.mean(by_series))
    assert score["series"] == 2 and score["forecasts"] == len(both)
    per_horizon = models.backtest_scores(both, by=("model", "horizon"))
    assert set(per_horizon["horizon"]) == set(range(1, 6))


# --- stacking and the combination ---------------------------------------------------------------
def test_stacking_weights_favour_the_calibrated_model():
    results = fake_results(
        {"log_linear": (0.0, 1.0, math.inf), "average_growth": (0.0, 3.0, 2.0), "ets": (0, 1, 9)}
    )
    weights = models.stacking_weights(results)
    assert list(weights.index) == ["average_growth", "log_linear"]  # ETS is comparison-only
    assert weights.sum() == pytest.approx(1) and weights["log_linear"] > 0.9
    twins = fake_results({"x": (0.0, 1.0, math.inf), "y": (0.0, 1.0, math.inf)})
    assert models.stacking_weights(twins).to_numpy() == pytest.approx([0.5, 0.5], abs=0.01)


def stub(centre: float, spread: float, df: float = math.inf) -> GrowthResult:
    """A fitted model whose predictive distribution is known exactly."""
    return GrowthResult(
        "stub",
        0.0,
        0.0,
        0.0,
        2025,
        _log_predict=lambda h: (np.full(len(h), centre), np.full(len(h), spread), df),
    )


def test_a_pool_of_one_model_is_that_model_and_draws_follow_the_weights():
    alone = models.Combination({"a": stub(5.0, 0.1, 4.0)}, {"a": 1.0})
    fc = alone.forecast([2030])
    expected = stub(5.0, 0.1, 4.0).forecast([2030])
    for column in ("forecast", "lo80", "hi80", "lo95", "hi95"):
        assert fc[column].iloc[0] == pytest.approx(expected[column].iloc[0], rel=1e-9)
    pool = models.Combination({"a": stub(0.0, 0.01), "b": stub(1.0, 0.01)}, {"a": 0.25, "b": 0.75})
    draws = np.log(pool.sample([2030], 20_000, np.random.default_rng(1))[:, 0])
    assert (draws > 0.5).mean() == pytest.approx(0.75, abs=0.015)
    assert np.exp(pool.quantiles([2030], [0.5])[0, 0]) == pytest.approx(math.e, rel=0.05)


# --- the stage on the demo data -----------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_series(demo_tables):
    built = growth_series.build_series(
        demo_tables, ["specialist", "trainee"], ["psychiatry", "child_adolescent_psychiatry"]
    )
    return growth_series.modelled_series(built)


def test_demo_stage_is_fast_and_quiet(demo_series):
    """Four models fitted to the 16 demo series, the rolling-origin backtest, its scores, the
    choice and the stacking weights: a few seconds of CPU, and no warning escapes."""
    start = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates = models.growth_rates(demo_series, models.MODELS, seed=1)
        results = models.backtest(demo_series, models.MODELS, seed=1)
        scores = models.backtest_scores(results)
        choice = models.choose_model(results)
        weights = models.stacking_weights(results)
    cpu = time.process_time() - start
    assert cpu < 15, f"{cpu:.1f} s of CPU"  # about 4 s on an unloaded core
    assert len(rates) == 16 * 4 and rates["converged"].all()
    assert set(scores["model"]) == set(models.MODELS) and (scores["series"] == 16).all()
    assert results["horizon"].max() == 8 and choice.model in models.MODELS
    assert choice.model not in models.COMPARISON_ONLY
    assert weights.sum() == pytest.approx(1)


def test_projection_under_every_model(demo_series):
    """The projection, and so the gap, under every model: the page can show the range."""
    table, fits = models.project_all(demo_series, models.MODELS, 2035, seed=1)
    assert set(table["model"]) == set(models.MODELS) and set(fits) == set(models.MODELS)
    future = table[table["forecast"].notna()]
    assert set(future["year"]) == set(range(2026, 2036))
    assert future[["log_centre", "log_spread", "df"]].notna().all().all()
    assert (future["lo95"] < future["forecast"]).all() and (
        future["forecast"] < future["hi95"]
    ).all()
    national = future[
        (future["measure"] == "patients")
        & (future["geography"] == "Danmark")
        & (future["group"] == "total")
        & (future["year"] == 2035)
    ]
    assert len(national) == 4 and national["forecast"].max() / national["forecast"].min() < 2
    pooled = models.combine(fits, {"log_linear": 0.5, "average_growth": 0.5})
    key = ("patients", "Danmark", "total")
    assert pooled[key].forecast([2035])["forecast"].iloc[0] == pytest.approx(
        np.sqrt(
            fits["log_linear"][key].forecast([2035])["forecast"].iloc[0]
            * fits["average_growth"][key].forecast([2035])["forecast"].iloc[0]
        ),
        rel=0.05,
    )


def test_degenerate_series_fit_without_warnings():
    exact = series(1000 * 1.05 ** np.arange(16))
    flat = series(np.full(16, 500.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for values in (exact, flat):
            for model in models.MODELS:
                res = fit_growth(values, model)
                fc = res.forecast([2026, 2035])
                assert np.isfinite(fc["forecast"]).all(), model
                assert res.ci_low <= res.rate <= res.ci_high, model
