"""Growth models against known truth: recovery, interval coverage, backtests, the gap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from pipeline.analysis.growth import gap, models, series, tables
from pipeline.analysis.growth.models import GrowthResult, fit_growth
from pipeline.data.contract import GEOGRAPHIES
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check

YEARS = np.arange(2010, 2026)  # sixteen years, as in the demo data


def trend_stationary(rng, g, sigma=0.02, level=20_000.0) -> pd.Series:
    """log y = a + log(1+g)·t + noise: the world of the log-linear and count models."""
    t = np.arange(len(YEARS))
    return pd.Series(
        np.rint(level * np.exp(np.log1p(g) * t + rng.normal(0, sigma, len(t)))), index=YEARS
    )


def random_walk(rng, g, sigma=0.02, level=20_000.0) -> pd.Series:
    """Growth rates drawn independently with mean g: the world of the average-growth method."""
    log_growth = rng.normal(np.log1p(g) - sigma**2 / 2, sigma, len(YEARS))
    return pd.Series(level * np.exp(np.cumsum(log_growth)), index=YEARS)


def ets_process(rng, g, sigma=0.02, alpha=0.5) -> pd.Series:
    """An additive-trend ETS process on logs with a constant trend log(1+g)."""
    level, trend, out = 9.0, np.log1p(g), []
    for shock in rng.normal(0, sigma, len(YEARS)):
        out.append(level + trend + shock)
        level += trend + alpha * shock
    return pd.Series(np.exp(out), index=YEARS)


@pytest.mark.parametrize(
    ("model", "simulate", "replicates", "options"),
    [
        ("average_growth", random_walk, 400, {"k": 3}),
        ("log_linear", trend_stationary, 400, {}),
        ("count_glm", trend_stationary, 400, {}),
        ("ets", ets_process, 80, {"damped": False, "bootstrap": 50}),
    ],
)
def test_recovers_the_rate_and_intervals_cover_it(model, simulate, replicates, options):
    """Each model, on data from the process it assumes, recovers a known 3 % growth and its
    95 % interval covers 3 % in roughly 95 % of seeded replicates."""
    true_rate = 0.03
    rng = np.random.default_rng(2026)
    estimates, covered = [], []
    for rep in range(replicates):
        res = fit_growth(simulate(rng, true_rate), model, rng=np.random.default_rng(rep), **options)
        estimates.append(res.rate)
        covered.append(res.ci_low <= true_rate <= res.ci_high)
    assert np.mean(estimates) == pytest.approx(true_rate, abs=0.0015)
    coverage = np.mean(covered)
    low = 0.90 if replicates >= 400 else 0.85  # three binomial standard errors below 95 %
    assert low <= coverage <= 0.995, f"{model}: 95 % intervals covered {coverage:.1%}"


def test_average_growth_reproduces_the_papers_arithmetic():
    values = pd.Series([100.0, 102.0, 104.04, 106.1208, 108.243216], index=range(2014, 2019))
    res = fit_growth(values, "average_growth", k=3)
    assert res.rate == pytest.approx(0.02, abs=1e-12)
    assert res.forecast([2019, 2022])["forecast"].tolist() == pytest.approx(
        [108.243216 * 1.02, 108.243216 * 1.02**4]
    )


def test_log_linear_matches_an_independent_least_squares_fit():
    values = trend_stationary(np.random.default_rng(1), 0.025)
    slope = np.polyfit(values.index.to_numpy(), np.log(values.to_numpy()), 1)[0]
    assert fit_growth(values, "log_linear").rate == pytest.approx(math.expm1(slope), rel=1e-10)


def test_forecast_intervals_nest_and_widen():
    values = trend_stationary(np.random.default_rng(3), 0.03)
    for model in models.MODELS:
        fc = fit_growth(values, model).forecast([2026, 2030, 2035])
        assert (fc["lo95"] < fc["lo80"]).all() and (fc["lo80"] < fc["forecast"]).all()
        assert (fc["forecast"] < fc["hi80"]).all() and (fc["hi80"] < fc["hi95"]).all()
        width = np.log(fc["hi95"] / fc["lo95"])
        assert width.is_monotonic_increasing, model


def test_bad_series_are_rejected_clearly():
    gap_year = pd.Series([1.0, 2.0, 3.0], index=[2010, 2011, 2013])
    with pytest.raises(Exception, match=r"years \[2012\] are missing"):
        fit_growth(gap_year, "log_linear")
    with pytest.raises(Exception, match="zero in"):
        fit_growth(pd.Series([3.0, 0.0, 2.0], index=[2010, 2011, 2012]), "log_linear")


# --- backtest ----------------------------------------------------------------------------------
def exact_series(growth_rate=0.05) -> pd.DataFrame:
    values = 1000 * (1 + growth_rate) ** np.arange(len(YEARS))
    return pd.DataFrame(
        {
            "measure": "patients",
            "geography": "Danmark",
            "group": "total",
            "year": YEARS,
            "value": values,
        }
    )


def test_backtest_on_a_series_with_a_known_answer():
    """Exact 5 % growth: trend models forecast it perfectly at every origin and horizon."""
    results = models.backtest(
        exact_series(),
        ["average_growth", "log_linear"],
        min_years=10,
        max_horizon=5,
        k=3,
        damped=True,
    )
    expected_rows = sum(min(5, len(YEARS) - m) for m in range(10, len(YEARS)))
    assert len(results) == 2 * expected_rows
    assert (results["year"] == results["origin"] + results["horizon"]).all()
    assert results["origin"].min() == 2019 and results["year"].max() == 2025
    assert results["ape"].max() < 1e-9
    scores = models.backtest_scores(results)
    assert scores["mape"].max() < 1e-7


def test_backtest_never_sees_the_future():
    series = exact_series()
    series.loc[series["year"] == 2025, "value"] *= 10  # a shock in the last year
    results = models.backtest(series, ["log_linear"], min_years=10, max_horizon=5, k=3, damped=True)
    before_shock = results[results["year"] < 2025]
    assert before_shock["ape"].max() < 1e-9
    hit = results[results["year"] == 2025]
    assert (hit["ape"] > 0.8).all() and not hit["covered95"].any()


def test_scores_are_the_plain_averages():
    frame = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "ape": [0.1, 0.3, 0.0, 0.2],
            "covered80": [True, False, True, True],
            "covered95": [True, True, False, True],
        }
    )
    scores = models.backtest_scores(frame).set_index("model")
    assert scores.loc["a", "mape"] == pytest.approx(20.0)
    assert scores.loc["b", "coverage80"] == 1.0 and scores.loc["b", "coverage95"] == 0.5


def test_model_choice_follows_the_evidence():
    scores = pd.DataFrame(
        {
            "model": ["average_growth", "log_linear", "ets"],
            "mape": [5.0, 4.0, 3.0],
            "coverage80": [0.8, 0.6, 0.5],
            "coverage95": [0.93, 0.85, 0.6],
            "forecasts": [10, 10, 10],
        }
    )
    model = models.choose_model(scores, "auto", 0.8)
    assert model == "log_linear"  # best error among those whose intervals cover often enough
    assert "Eksponentiel udglatning (ETS) dækkede for sjældent" in tables.choice_text(
        scores, "auto", 0.8
    )
    assert models.choose_model(scores, "ets", 0.8) == "ets"
    assert models.choose_model(scores, "auto", 0.99) == "average_growth"
    assert "Ingen model" in tables.choice_text(scores, "auto", 0.99)


# --- the gap -----------------------------------------------------------------------------------
def stub(centre: float, spread: float, last_year: int = 2025) -> GrowthResult:
    """A fitted model whose predictive distribution is known exactly (lognormal)."""
    return GrowthResult(
        "stub",
        0.0,
        0.0,
        0.0,
        last_year,
        _log_predict=lambda h: (np.full(len(h), centre), np.full(len(h), spread), math.inf),
    )


def gap_series() -> pd.DataFrame:
    rows = []
    for measure, base, now in (("patients", 1000.0, 1500.0), ("physicians", 100.0, 110.0)):
        for year, value in ((2013, base), (2025, now)):
            rows.append(
                {
                    "measure": measure,
                    "geography": "Danmark",
                    "group": "total",
                    "year": year,
                    "value": value,
                }
            )
    out = pd.DataFrame(rows)
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES)
    return out


def test_gap_from_data_is_the_closed_form():
    gaps = gap.gap(gap_series(), {}, base_year=2013, target_years=[2025], simulations=1000, seed=1)
    row = gaps.iloc[0]
    assert row["needed"] == pytest.approx(100 * 1500 / 1000)
    assert row["gap"] == pytest.approx(150 - 110) and row["observed"]


def test_gap_interval_propagates_both_projections_by_simulation():
    fits = {
        ("patients", "Danmark", "total"): stub(math.log(2000), 0.10),
        ("physicians", "Danmark", "total"): stub(math.log(120), 0.0),
    }
    row = gap.gap(
        gap_series(), fits, base_year=2013, target_years=[2030], simulations=200_000, seed=3
    ).iloc[0]
    ratio = 100 / 1000
    # With the physicians certain, the gap's quantiles are the patients' quantiles, shifted.
    assert row["pi_low"] == pytest.approx(ratio * 2000 * math.exp(-1.96 * 0.10) - 120, rel=0.01)
    assert row["pi_high"] == pytest.approx(ratio * 2000 * math.exp(1.96 * 0.10) - 120, rel=0.01)
    assert row["gap"] == pytest.approx(ratio * 2000 - 120)

    fits[("physicians", "Danmark", "total")] = stub(math.log(120), 0.10)
    row = gap.gap(
        gap_series(), fits, base_year=2013, target_years=[2030], simulations=200_000, seed=3
    ).iloc[0]
    endpoints = (
        ratio * 2000 * math.exp(-1.96 * 0.1) - 120 * math.exp(1.96 * 0.1),
        ratio * 2000 * math.exp(1.96 * 0.1) - 120 * math.exp(-1.96 * 0.1),
    )
    assert endpoints[0] < row["pi_low"] and row["pi_high"] < endpoints[1], (
        "independent draws give a narrower interval than adding the interval ends"
    )


def test_a_years_gap_interval_does_not_depend_on_the_other_years_asked_for():
    fits = {
        ("patients", "Danmark", "total"): stub(math.log(2000), 0.10),
        ("physicians", "Danmark", "total"): stub(math.log(120), 0.05),
    }
    kwargs = {"base_year": 2013, "simulations": 2000, "seed": 7}
    alone = gap.gap(gap_series(), fits, target_years=[2030], **kwargs).iloc[0]
    path = gap.gap(gap_series(), fits, target_years=range(2025, 2036), **kwargs)
    in_path = path[path["year"] == 2030].iloc[0]
    assert (alone["pi_low"], alone["pi_high"]) == (in_path["pi_low"], in_path["pi_high"])


def test_the_papers_claim_reproduced():
    """2 % and 0.6 % a year from the paper's base (2013 = 100) with the published specialist
    stock (977 + 259 in 2020) give a 2022 gap above 100."""
    assert gap.seed_gap(977 + 259, 0.02, 0.006, 2022 - 2013) > 100
    reference = pd.read_csv(ROOT / "data" / "reference" / "published_figures.csv")
    claim = gap.seed_comparison(
        pd.DataFrame(columns=["measure", "geography", "group", "year", "value"]),
        reference,
        base_year=2013,
        k=3,
    )
    assert claim["paper_stock"] == 1236 and claim["target_year"] == 2022
    assert claim["paper_gap"] == pytest.approx(172.77, abs=0.01)
    assert claim["paper_gap"] > claim["paper_claim"] == 100


# --- series and parameters ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_series(demo_tables):
    return series.build_series(
        demo_tables, ["specialist", "trainee"], ["psychiatry", "child_adolescent_psychiatry"]
    )


def test_series_add_up(demo_series):
    s = demo_series.set_index(["measure", "geography", "group", "year"])["value"]
    for measure in ("patients", "physicians"):
        national = s.loc[measure, "Danmark", "total"]
        regions = sum(s.loc[measure, r, "total"] for r in GEOGRAPHIES[1:])
        parts = s.loc[measure, "Danmark", "adult"] + s.loc[measure, "Danmark", "child_adolescent"]
        pd.testing.assert_series_equal(national, regions, check_names=False)
        pd.testing.assert_series_equal(national, parts, check_names=False)


def test_index_is_100_in_the_base_year(demo_series):
    index = series.index_series(demo_series, 2013)
    assert np.allclose(index.loc[index["year"] == 2013, "index"], 100)


def test_modelled_series_are_every_national_group_and_regional_totals(demo_series):
    keys = series.modelled_series(demo_series).groupby(models.SERIES_KEYS, observed=True).ngroups
    assert keys == 2 * (3 + 5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"horizon_year": 2020}, "growth.horizon_year: 2020 is not after the last data year 2025"),
        ({"base_year": 2005}, "growth.base_year: 2005 is outside the data (2010–2025)"),
        ({"models": ["log_linear", "arima"]}, "growth.models: unknown model 'arima'"),
        ({"projection_model": "ets", "models": ["log_linear"]}, "growth.projection_model"),
        ({"target_years": [2040]}, "growth.target_years: 2040 is not between"),
        ({"backtest_min_years": 5}, "below 10 (ETS needs ten years to start)"),
        ({"physician_grades": ["consultant"]}, "growth.physician_grades"),
    ],
)
def test_bad_params_fail_clearly(change, message):
    params = {**DEFAULTS["growth"], **change}
    with pytest.raises(ParamError) as info:
        check({**DEFAULTS, "growth": params}, list(range(2010, 2026)))
    assert any(message in line for line in info.value.problems), info.value.problems


def test_hac_table_matches_a_fresh_simulation():
    """The shipped small-sample critical value for 16 years is what simulation gives (within
    Monte Carlo error of 4,000 replicates), and far above the t quantile it replaces."""
    fresh = models.simulate_hac_critical_value(16, replicates=4000, seed=99)
    assert models.hac_critical_value(16) == pytest.approx(fresh, abs=0.15)
    assert models.hac_critical_value(16) > 2.5 > 2.145  # t(14) would be 2.145
    assert models.hac_critical_value(500) == pytest.approx(1.96, abs=0.1)
