"""Growth of patients and physicians: four models, backtests, projections and the specialist gap.

The regions' own paper ("Stærke kompetencer og attraktive arbejdspladser i fremtidens psykiatri")
extrapolated the average growth of the last three years: patients +2 % and physicians +0.6 % a year,
hence "more than 100 specialists short in 2022". This module answers the same question with models
whose uncertainty is stated and tested:

``average_growth``
    The paper's method: the mean of the last ``k`` annual growth rates, with a t-interval; its
    forecasts treat growth as a random walk with that drift.
``log_linear``
    OLS of log counts on the year with HAC (Newey-West) standard errors.
``count_glm``
    Poisson regression of counts on the year with the dispersion estimated from the Pearson
    statistic (quasi-Poisson), which allows counts to vary more or less than Poisson.
``ets``
    Exponential smoothing (``ETSModel``) of log counts with an additive, optionally damped trend.
    Its growth rate is next year's trend; the interval is a seeded parametric bootstrap, because
    ETS's own intervals ignore parameter uncertainty.

Every model predicts on the log scale: a centre, a spread and a reference distribution, from which
the intervals, the fan charts and the simulated gap are all derived.

statsmodels is imported inside the functions that fit: it takes seconds to import.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.data import contract
from pipeline.errors import InputError, ParamError

log = logging.getLogger(__name__)

MODELS = ("average_growth", "log_linear", "count_glm", "ets")
NATIONAL, GEOGRAPHIES = contract.NATIONAL, contract.GEOGRAPHIES
LEVELS = (0.80, 0.95)
ETS_MIN_YEARS = 10  # statsmodels' heuristic initialisation needs ten observations


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------------------------


def _as_series(values: pd.DataFrame | pd.Series) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        values = values.set_index("year")["value"]
    values = values.astype(float).sort_index()
    years = values.index.to_numpy()
    if len(years) > 1 and not np.array_equal(np.diff(years), np.ones(len(years) - 1)):
        missing = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        raise InputError(
            f"growth: years {missing} are missing from a series; the models need consecutive years"
        )
    if (values <= 0).any():
        raise InputError(
            f"growth: a series is zero in {list(values.index[values <= 0])}; growth "
            "cannot be modelled on a log scale"
        )
    return values


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------
@dataclass
class GrowthResult:
    """A fitted growth model of one series.

    ``rate`` is the annual growth as a decimal (0.02 is 2 % a year) with its 95 % interval
    ``ci_low``–``ci_high``. Predictions are on the log scale: centre, spread and the degrees of
    freedom of the t reference distribution (``inf`` for normal).
    """

    model: str
    rate: float
    ci_low: float
    ci_high: float
    last_year: int
    interval: str = "confidence"
    converged: bool = True
    _log_predict: Any = field(default=None, repr=False)

    def predict_log(self, years: Sequence[int]) -> tuple[np.ndarray, np.ndarray, float]:
        """Centre, spread and t degrees of freedom of log(count) in each of ``years``."""
        h = np.asarray(years, dtype=int) - self.last_year
        if (h < 1).any():
            raise ValueError("forecast years must follow the last fitted year")
        return self._log_predict(h)

    def intervals(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> dict:
        """Point forecast (the median) and prediction intervals as arrays, with the log-scale
        distribution they come from."""
        centre, spread, df = self.predict_log(years)
        out = {
            "year": np.asarray(years, dtype=int),
            "forecast": np.exp(centre),
            "log_centre": centre,
            "log_spread": spread,
            "df": np.full(len(centre), df),
        }
        for level in levels:
            q = (
                stats.t.ppf(0.5 + level / 2, df)
                if np.isfinite(df)
                else stats.norm.ppf(0.5 + level / 2)
            )
            pct = round(level * 100)
            out[f"lo{pct}"] = np.exp(centre - q * spread)
            out[f"hi{pct}"] = np.exp(centre + q * spread)
        return out

    def forecast(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> pd.DataFrame:
        """Point forecast (the median) and prediction intervals for ``years``."""
        return pd.DataFrame(self.intervals(years, levels))

    def sample(self, years: Sequence[int], n: int, rng: np.random.Generator) -> np.ndarray:
        """Draws from the predictive distribution: shape ``(n, len(years))``."""
        centre, spread, df = self.predict_log(years)
        z = (
            rng.standard_t(df, size=(n, len(centre)))
            if np.isfinite(df)
            else rng.standard_normal((n, len(centre)))
        )
        return np.exp(centre + z * spread)


def fit_growth(
    values: pd.DataFrame | pd.Series,
    model: str,
    *,
    k: int = 3,
    damped: bool = True,
    bootstrap: int = 0,
    rng: np.random.Generator | None = None,
) -> GrowthResult:
    """Fit one growth model to one series of yearly counts.

    Parameters
    ----------
    values
        Counts indexed by consecutive years (or a frame with ``year`` and ``value``).
    model
        One of ``MODELS``.
    k
        Years averaged by ``average_growth``.
    damped
        Damped trend for ``ets``.
    bootstrap
        Parametric bootstrap refits for the ``ets`` growth interval (0: no interval).
    rng
        Random generator for the bootstrap.
    """
    y = _as_series(values)
    with warnings.catch_warnings():
        # Convergence problems are recorded in the result, not printed into a report.
        warnings.simplefilter("ignore")
        if model == "average_growth":
            return _fit_average_growth(y, k)
        if model == "log_linear":
            return _fit_log_linear(y)
        if model == "count_glm":
            return _fit_count_glm(y)
        if model == "ets":
            return _fit_ets(y, damped, bootstrap, rng or np.random.default_rng(0))
    raise ParamError(f"growth: unknown model {model!r}; choose from {', '.join(MODELS)}")


def _fit_average_growth(y: pd.Series, k: int) -> GrowthResult:
    from statsmodels.stats.weightstats import DescrStatsW

    if len(y) < k + 1:
        raise InputError(f"growth: average_growth needs {k + 1} years, the series has {len(y)}")
    recent = y.iloc[-(k + 1) :].to_numpy()
    simple = recent[1:] / recent[:-1] - 1  # the paper's "average annual growth"
    rate = float(simple.mean())
    low, high = DescrStatsW(simple).tconfint_mean(alpha=0.05)
    log_growth = np.diff(np.log(recent))
    sd = float(log_growth.std(ddof=1))
    log_last = math.log(y.iloc[-1])

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        # A random walk with drift log(1 + rate): noise of h years plus uncertainty of the drift.
        return log_last + h * math.log1p(rate), sd * np.sqrt(h + h**2 / k), float(k - 1)

    return GrowthResult(
        "average_growth",
        rate,
        float(low),
        float(high),
        int(y.index[-1]),
        _log_predict=predict,
    )


def _design(years: np.ndarray, origin: int) -> np.ndarray:
    return np.column_stack([np.ones(len(years)), years - origin]).astype(float)


def newey_west_lags(n: int) -> int:
    """Newey and West's rule for the HAC lag length."""
    return math.floor(4 * (n / 100) ** (2 / 9))


RESOURCES = ("hac_critical_values.csv",)
HAC_TABLE = Path(__file__).with_name(RESOURCES[0])


@lru_cache(maxsize=1)
def _hac_table() -> dict[int, float]:
    table = pd.read_csv(HAC_TABLE)
    return dict(zip(table["n"], table["critical_value"], strict=True))


def hac_critical_value(n: int) -> float:
    """97.5 % quantile of the HAC t-statistic of a trend slope fitted to ``n`` years.

    HAC standard errors are too small in short series, so the usual t quantile gives intervals
    that cover far less than 95 % (about 84 % at n = 16). The quantile is tabulated for each
    n (``python -m pipeline hac-table``), by simulation under independent normal errors, for the
    design used here (constant and trend, Bartlett kernel, Newey-West lags, small-sample
    correction): the finite-sample analogue of fixed-b critical values. Beyond the table, the
    asymptotic fixed-b approximation of Kiefer and Vogelsang (2005) is used.
    """
    table = _hac_table()
    if n in table:
        return table[n]
    if n < min(table):
        raise InputError(f"growth: the log-linear trend needs at least {min(table)} years")
    b = (newey_west_lags(n) + 1) / n
    return 1.96 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3


def simulate_hac_critical_value(n: int, replicates: int, seed: int) -> float:
    """The quantile behind ``hac_critical_value``, by simulation with statsmodels."""
    import statsmodels.api as sm

    rng = np.random.default_rng(seed)
    x = _design(np.arange(n), 0)
    lags = newey_west_lags(n)
    t_stats = np.empty(replicates)
    for r in range(replicates):
        # The t-statistic does not depend on the slope or the noise level: standard normal noise.
        res = sm.OLS(rng.standard_normal(n), x).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
        )
        t_stats[r] = abs(res.params[1] / res.bse[1])
    return float(np.quantile(t_stats, 0.95))


def _fit_log_linear(y: pd.Series) -> GrowthResult:
    import statsmodels.api as sm

    years = y.index.to_numpy()
    origin = int(years[0])
    n = len(y)
    maxlags = newey_west_lags(n)
    res = sm.OLS(np.log(y.to_numpy()), _design(years, origin)).fit(
        cov_type="HAC", cov_kwds={"maxlags": maxlags, "use_correction": True}, use_t=True
    )
    slope, half_width = res.params[1], hac_critical_value(n) * res.bse[1]
    low, high = slope - half_width, slope + half_width
    last = int(years[-1])

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        pred = res.get_prediction(_design(last + h, origin))
        spread = np.sqrt(pred.se_mean**2 + res.scale)
        return pred.predicted_mean, spread, float(res.df_resid)

    return GrowthResult(
        "log_linear",
        math.expm1(res.params[1]),
        math.expm1(low),
        math.expm1(high),
        last,
        _log_predict=predict,
    )


def _fit_count_glm(y: pd.Series) -> GrowthResult:
    import statsmodels.api as sm

    years = y.index.to_numpy()
    origin = int(years[0])
    counts = np.rint(y.to_numpy())
    # Quasi-Poisson: the Pearson dispersion scales the variance up or down. Physician counts
    # vary less than a Poisson count would, which drives a negative binomial's alpha to its
    # boundary at zero; the quasi-likelihood handles both directions.
    res = sm.GLM(counts, _design(years, origin), family=sm.families.Poisson()).fit(scale="X2")
    beta, cov, dispersion = res.params, np.asarray(res.cov_params()), float(res.scale)
    low, high = res.conf_int(alpha=0.05)[1]
    last = int(years[-1])

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        x = _design(last + h, origin)
        centre = x @ beta
        var_mean = np.einsum("ij,jk,ik->i", x, cov, x)
        # Var(log Y) is about dispersion / mu for a quasi-Poisson count (delta method).
        return centre, np.sqrt(var_mean + dispersion * np.exp(-centre)), float(res.df_resid)

    converged = bool(getattr(res, "converged", True))
    return GrowthResult(
        "count_glm",
        math.expm1(beta[1]),
        math.expm1(low),
        math.expm1(high),
        last,
        converged=converged,
        _log_predict=predict,
    )


def _ets_model(log_y: pd.Series, damped: bool) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    return ETSModel(
        log_y, error="add", trend="add", damped_trend=damped, initialization_method="heuristic"
    )


def _ets_growth(res: Any) -> float:
    return float(res.states.iloc[-1]["trend"] * res.params.get("damping_trend", 1.0))


def _ets_refit_growth(log_y: pd.Series, damped: bool, start: Any) -> float:
    """Next year's trend of a bootstrap series. Only the estimates and the raw states are
    computed: building a full results object would cost ten times the smoothing."""
    model = _ets_model(log_y, damped)
    params = model.fit(disp=False, start_params=start, return_params=True)
    states = model.smooth(params, return_raw=True)[1]
    damping = params[model.param_names.index("damping_trend")] if damped else 1.0
    return float(states["trend"].iloc[-1] * damping)


def _fit_ets(y: pd.Series, damped: bool, bootstrap: int, rng: np.random.Generator) -> GrowthResult:
    if len(y) < ETS_MIN_YEARS:
        raise InputError(f"growth: ETS needs {ETS_MIN_YEARS} years, the series has {len(y)}")
    log_y = pd.Series(
        np.log(y.to_numpy()), index=pd.RangeIndex(int(y.index[0]), int(y.index[-1]) + 1)
    )
    res = _ets_model(log_y, damped).fit(disp=False)
    growth = _ets_growth(res)
    low = high = float("nan")
    if bootstrap:
        # Parametric bootstrap: series simulated from the fitted model, refitted from its
        # estimates; the spread of their growth is the interval ETS itself does not give.
        sims = res.simulate(nsimulations=len(log_y), repetitions=bootstrap, anchor="start", rng=rng)
        draws = np.array(
            [
                _ets_refit_growth(
                    pd.Series(np.asarray(sims.iloc[:, j]), index=log_y.index), damped, res.params
                )
                for j in range(bootstrap)
            ]
        )
        low, high = np.quantile(draws, [0.025, 0.975])
    last = int(y.index[-1])
    n = len(log_y)

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        frame = res.get_prediction(start=n, end=n + int(h.max()) - 1).summary_frame(alpha=0.05)
        centre = frame["mean"].to_numpy()[h - 1]
        spread = (frame["pi_upper"].to_numpy()[h - 1] - centre) / stats.norm.ppf(0.975)
        return centre, spread, math.inf

    converged = (
        bool(res.mle_retvals.get("converged", True)) if hasattr(res, "mle_retvals") else True
    )
    return GrowthResult(
        "ets",
        math.expm1(growth),
        math.expm1(low),
        math.expm1(high),
        last,
        interval="bootstrap" if bootstrap else "none",
        converged=converged,
        _log_predict=predict,
    )


# --------------------------------------------------------------------------------------------
# Rates, backtest, choice of model
# --------------------------------------------------------------------------------------------
SERIES_KEYS = ["measure", "geography", "group"]


def _groups(series: pd.DataFrame):
    for keys, df in series.groupby(SERIES_KEYS, observed=True, sort=True):
        yield dict(zip(SERIES_KEYS, keys, strict=True)), df.set_index("year")["value"]


def growth_rates(
    series: pd.DataFrame,
    models: Sequence[str],
    *,
    k: int,
    damped: bool,
    bootstrap: int,
    seed: int,
    bootstrap_scope: str = "national",
) -> pd.DataFrame:
    """Every model's annual growth rate with its 95 % interval, for every series.

    ETS has no interval of its own; ``bootstrap`` refits give it one for the national series,
    or for every series with ``bootstrap_scope="all"``.
    """
    rows = []
    groups = list(_groups(series))
    rngs = np.random.SeedSequence(seed).spawn(len(groups))
    for (keys, values), seq in zip(groups, rngs, strict=True):
        # ETS intervals are bootstrapped where they are reported (the national comparison of
        # models) unless asked for everywhere: the refits are most of this stage's work.
        draws = bootstrap if bootstrap_scope == "all" or keys["geography"] == NATIONAL else 0
        for model in models:
            res = fit_growth(
                values,
                model,
                k=k,
                damped=damped,
                bootstrap=draws,
                rng=np.random.default_rng(seq),
            )
            rows.append(
                {
                    **keys,
                    "model": model,
                    "rate": res.rate,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "interval": res.interval,
                    "converged": res.converged,
                    "first_year": int(values.index[0]),
                    "last_year": res.last_year,
                }
            )
        log.info("growth: rates for %s", " / ".join(map(str, keys.values())))
    return pd.DataFrame(rows)


def backtest(
    series: pd.DataFrame,
    models: Sequence[str],
    *,
    min_years: int,
    max_horizon: int,
    k: int,
    damped: bool,
) -> pd.DataFrame:
    """Rolling-origin evaluation: refit on the years up to each origin, forecast 1..H years.

    Returns
    -------
    DataFrame
        One row per series, model, origin and horizon with the actual value, the forecast, the
        80 % and 95 % prediction intervals, the absolute percentage error and whether each
        interval covered the actual value.
    """
    rows = []
    groups = list(_groups(series))
    for position, (keys, values) in enumerate(groups, start=1):
        log.info(
            "growth: backtest of %s (%d of %d)",
            " / ".join(map(str, keys.values())),
            position,
            len(groups),
        )
        years = values.index.to_numpy()
        for origin in years[min_years - 1 : -1]:
            train = values[values.index <= origin]
            future = values[(values.index > origin) & (values.index <= origin + max_horizon)]
            future_years = future.index.to_numpy()
            for model in models:
                res = fit_growth(train, model, k=k, damped=damped)
                fc = res.intervals(future_years)
                rows.append(
                    {
                        **{
                            key: np.full(len(future_years), value, dtype=object)
                            for key, value in keys.items()
                        },
                        "model": np.full(len(future_years), model, dtype=object),
                        "origin": np.full(len(future_years), int(origin)),
                        "horizon": future_years - int(origin),
                        "year": future_years,
                        "actual": future.to_numpy(),
                        **{c: fc[c] for c in ("forecast", "lo80", "hi80", "lo95", "hi95")},
                    }
                )
    out = pd.DataFrame({c: np.concatenate([r[c] for r in rows]) for c in rows[0]})
    out["ape"] = (out["actual"] - out["forecast"]).abs() / out["actual"]
    out["covered80"] = out["actual"].between(out["lo80"], out["hi80"])
    out["covered95"] = out["actual"].between(out["lo95"], out["hi95"])
    return out


def backtest_scores(results: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """MAPE (in percent) and the share of actual values inside the 80 % and 95 % intervals."""
    grouped = results.groupby(list(by), observed=True, sort=True)
    return grouped.agg(
        mape=("ape", lambda s: 100 * s.mean()),
        coverage80=("covered80", "mean"),
        coverage95=("covered95", "mean"),
        forecasts=("ape", "size"),
    ).reset_index()


def choose_model(scores: pd.DataFrame, requested: str, min_coverage_95: float) -> str:
    """The projection model: ``requested``, or for ``auto`` the model with the smallest backtest
    MAPE among those whose 95 % intervals covered at least ``min_coverage_95`` of the actual
    values; when none did, the best covering."""
    table = scores.set_index("model")
    if requested != "auto":
        return requested
    ok = table[table["coverage95"] >= min_coverage_95]
    if len(ok):
        return str(ok["mape"].idxmin())
    return str(table["coverage95"].idxmax())


# --------------------------------------------------------------------------------------------
# Projection and the gap
# --------------------------------------------------------------------------------------------
def project(
    series: pd.DataFrame, model: str, horizon_year: int, *, k: int, damped: bool
) -> tuple[pd.DataFrame, dict[tuple, GrowthResult]]:
    """Forecasts from the last data year to ``horizon_year`` for every series.

    Returns the forecast table (with the observed years for the charts, and each year's
    predictive distribution on the log scale) and the fitted models, which the gap simulation
    draws from.
    """
    rows, fits = [], {}
    for keys, values in _groups(series):
        res = fit_growth(values, model, k=k, damped=damped)
        fits[tuple(keys.values())] = res
        years = np.arange(res.last_year + 1, horizon_year + 1)
        fc = res.forecast(years)
        observed = pd.DataFrame({"year": values.index.to_numpy(), "observed": values.to_numpy()})
        rows.append(pd.concat([observed, fc], ignore_index=True).assign(**keys, model=model))
    out = pd.concat(rows, ignore_index=True)
    # The predictive distribution (log centre, spread, t degrees of freedom) travels with the
    # table so later stages can draw from it.
    columns = ["observed", "forecast", "lo80", "hi80", "lo95", "hi95", "log_centre", "log_spread"]
    return out[[*SERIES_KEYS, "model", "year", *columns, "df"]], fits


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Tables for display (Danish)
# --------------------------------------------------------------------------------------------
