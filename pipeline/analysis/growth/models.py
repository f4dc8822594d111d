"""Growth models of yearly counts with intervals that keep their coverage in short, autocorrelated
series; the rolling-origin backtest, proper scores, the choice of model and the projection.

Every model works on log counts and predicts each future year as a location-scale t distribution
(log centre, log spread, degrees of freedom), which is what later stages draw from.

``average_growth``
    The regions' method: the mean of the last ``k`` annual growth rates, forecast as a random walk
    with that drift. The growth rates are modelled as an AR(1) process around their mean; its
    autocorrelation and scale are estimated from every growth rate of the series, not only the
    last ``k``.
``log_linear``
    Least squares trend of log counts (the slope is the OLS slope) with AR(1) errors; forecasts
    add the decaying AR(1) part of the last residual.
``count_glm``
    Poisson quasi-likelihood trend of the counts (consistent whatever their variance). Its
    uncertainty comes from the working residuals, i.e. the log counts about the trend, with a
    free scale (under- or over-dispersed counts alike) and an AR(1) working correlation
    (Zeger 1988), calibrated like ``log_linear``.
``ets``
    Exponential smoothing with an additive, optionally damped trend (ETS(A,Ad,N)) of log counts.
    The smoothing parameters are estimated on a grid by the marginal likelihood, the seed states
    integrated out (Tunnicliffe Wilson 1989; de Jong 1991); profiling them out instead makes 16
    years look like a deterministic trend (Shephard & Harvey 1990). The growth rate is the damped
    trend of next year, phi * b_n, with phi read by name. Its interval and the prediction
    intervals come from a parametric bootstrap of the estimation error (theta* - b*, 500
    replicates, Pfeffermann & Tiller 2005; Rodriguez & Ruiz 2009, 2012) whose replicates draw
    their parameters from the normalised likelihood, because a bootstrap from the estimate alone
    covered 80-88 %. The trend interval is conservative (97-99 %); with autocorrelated
    innovations the intervals fall short (~85 % and ~70 % at rho = 0.7), so ETS is
    comparison-only (``COMPARISON_ONLY``): fitted, scored and projected, never chosen or pooled
    automatically.

Small-sample inference under AR(1) errors (the first three models)
    With 16 years the lag-1 autocorrelation of residuals is biased down by about (2 + 4 rho) / n,
    and intervals computed with the estimate are too narrow (coverage 86 % at rho = 0.7 for a
    plain plug-in). Here the autocorrelation is estimated median-unbiasedly by inverting the
    simulated median of the residual autocorrelation (Andrews 1993); standard errors are the exact
    finite-sample ones under AR(1) at that estimate. The critical values are those of the same
    studentised statistic under AR(1) errors (a parametric bootstrap-t, tabulated once by
    simulation, ``ar1_calibration.csv``) read at an upper confidence bound for rho instead of at the
    estimate. The confidence of that bound (85 % for 95 % intervals, 60 % for 80 % intervals) is
    the one calibration constant, chosen by simulation so that coverage is nominal for
    0 <= rho <= 0.7 (Loh 1987 calibrates the level of a bootstrap interval the same way; Berger &
    Boos 1994 for maximising over a confidence set of a nuisance parameter).

Backtest, scores and choice
    Rolling origin (Tashman 2000) with every model refitted at the same origins; each forecast
    is scored on log counts by the interval score at 80 % and 95 % and the CRPS (Gneiting &
    Raftery 2007; closed form for the t, Jordan et al. 2019). Scores are averaged over origins
    per series and horizon, over horizons per series, then over series with equal weight. The
    model with the lowest mean CRPS is chosen; :func:`stacking_weights` gives the CRPS-optimal
    weights of a linear pool (stacking, Yao et al. 2018) and :func:`combine` the pool itself.

References
----------
Andrews, D. W. K. (1993). Exactly median-unbiased estimation of first order autoregressive/unit
root models. Econometrica 61, 139-165.
Berger, R. L. & Boos, D. D. (1994). P values maximized over a confidence set for the nuisance
parameter. JASA 89, 1012-1016.
de Jong, P. (1991). The diffuse Kalman filter. Annals of Statistics 19, 1073-1083.
Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and estimation.
JASA 102, 359-378.
Hyndman, R. J., Koehler, A. B., Ord, J. K. & Snyder, R. D. (2008). Forecasting with Exponential
Smoothing: The State Space Approach. Springer.
Jordan, A., Krüger, F. & Lerch, S. (2019). Evaluating probabilistic forecasts with scoringRules.
Journal of Statistical Software 90(12).
Loh, W.-Y. (1987). Calibrating confidence coefficients. JASA 82, 155-162.
Pfeffermann, D. & Tiller, R. (2005). Bootstrap approximation to prediction MSE for state-space
models with estimated parameters. Journal of Time Series Analysis 26, 893-916.
Rodriguez, A. & Ruiz, E. (2009). Bootstrap prediction intervals in state-space models. Journal of
Time Series Analysis 30, 167-178.
Rodriguez, A. & Ruiz, E. (2012). Bootstrap prediction mean squared errors of unobserved states
based on the Kalman filter with estimated parameters. CSDA 56, 62-74.
Shephard, N. G. & Harvey, A. C. (1990). On the probability of estimating a deterministic
component in the local level model. Journal of Time Series Analysis 11, 339-347.
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
International Journal of Forecasting 16, 437-450.
Tunnicliffe Wilson, G. (1989). On the use of marginal likelihood in time series model estimation.
JRSS B 51, 15-27.
Yao, Y., Vehtari, A., Simpson, D. & Gelman, A. (2018). Using stacking to average Bayesian
predictive distributions. Bayesian Analysis 13, 917-1007.
Zeger, S. L. (1988). A regression model for time series of counts. Biometrika 75, 621-629.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from pipeline.errors import InputError, ParamError

MODELS = ("average_growth", "log_linear", "count_glm", "ets")
# Fitted, backtested, scored and projected, but not chosen or pooled automatically: ETS's
# intervals do not keep their coverage when its innovations are autocorrelated (at rho = 0.7 the
# 95 % trend interval covered ~85 %, 80 % prediction intervals ~70 %), and its smoothing
# parameters are barely identified in 16 years; see the module docstring.
COMPARISON_ONLY = frozenset({"ets"})
LEVELS = (0.80, 0.95)
SERIES_KEYS = ["measure", "geography", "group"]
H_MAX = 10  # horizons tabulated by the calibration and bootstrapped by ETS by default

# AR(1) coefficients are kept in [RHO_MIN, RHO_MAX]: beyond 0.95 a trend-stationary model of 16
# years is indistinguishable from a random walk and the result says so (``rho_at_bound``).
RHO_MIN, RHO_MAX = -0.5, 0.95
RHO_GRID = np.round(np.r_[np.arange(-0.5, 0.81, 0.1), 0.85, 0.9, 0.95], 2)
# Confidence of the upper bound for rho at which the critical values are read, per interval level
# (calibrated by simulation, see the module docstring and benchmarks/growth_calibration.py).
UPPER_BOUND_CONFIDENCE = {0.80: 0.60, 0.95: 0.85}
RESOURCES = ("ar1_calibration.csv",)  # read below; a stage dependency like the code
CALIBRATION_TABLE = Path(__file__).with_name(RESOURCES[0])
CALIBRATION_N = range(6, 26)  # series lengths in the shipped table
CALIBRATION_K = (2, 3, 4, 5)  # average_growth windows in the shipped table
MIN_YEARS = {"average_growth": 6, "log_linear": 6, "count_glm": 6, "ets": 8}
MIN_DF = 2.0  # the predictive t keeps a finite mean (and a finite CRPS)


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------
def as_series(values: pd.DataFrame | pd.Series) -> pd.Series:
    """Counts indexed by consecutive years, checked: positive and without gaps."""
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
# AR(1) algebra
# --------------------------------------------------------------------------------------------
def ar1_correlation(m: int, rho: float) -> np.ndarray:
    """Correlation matrix rho^|i-j| of ``m`` consecutive values of a stationary AR(1)."""
    powers = float(rho) ** np.arange(m, dtype=float)
    i = np.arange(m)
    return powers[np.abs(i[:, None] - i[None, :])]


def simulate_ar1(rng: np.random.Generator, reps: int, m: int, rho: float) -> np.ndarray:
    """``reps`` stationary AR(1) paths of length ``m`` with unit marginal variance."""
    # Time-major so that each step reads and writes contiguous memory.
    out = rng.standard_normal((m, reps))
    innovation_sd = math.sqrt(1 - rho**2)
    for t in range(1, m):
        out[t] = rho * out[t - 1] + innovation_sd * out[t]
    return out.T


def lag1(resid: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of residuals (along the last axis), sum e_t e_t-1 / sum e_t^2."""
    num = (resid[..., 1:] * resid[..., :-1]).sum(-1)
    den = (resid * resid).sum(-1)
    return num / np.where(den > 0, den, 1.0)


def _trend_design(n: int) -> np.ndarray:
    return np.column_stack([np.ones(n), np.arange(n, dtype=float)])


def _trend_factors(
    n: int, rho: float, horizons: int, weights: np.ndarray | None = None
) -> dict[str, Any]:
    """Exact finite-sample variance factors of a trend fit to log counts with AR(1) errors.

    The model is ``log y = X beta + e`` with ``Cov(e) = scale * R(rho)``, and ``beta`` is
    estimated by weighted least squares with ``weights`` (ones: OLS; the fitted means: the
    Poisson score equations of the count model, to first order). Returns the slope's variance
    factor, ``tr(M R M')`` (so that ``scale = e'e / tr(M R M')`` is unbiased), and the
    prediction-error variance factors for horizons 1..``horizons`` of the predictor
    ``X_f beta_hat + rho^h e_n``; all are multiplied by ``scale``.
    """
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    x = _trend_design(n)
    a = np.linalg.solve(x.T @ (w[:, None] * x), (w[:, None] * x).T)  # beta_hat - beta = a @ e
    resid_maker = np.eye(n) - x @ a
    r = ar1_correlation(n + horizons, rho)
    r_obs = r[:n, :n]
    h = np.arange(1, horizons + 1)
    xf = np.column_stack([np.ones(horizons), n - 1 + h])
    pred_weights = xf @ a + (rho**h)[:, None] * resid_maker[n - 1][None, :]
    cross = r[:n, n:].T  # (horizons, n): correlation of each future error with the observed
    pred = (
        np.einsum("hi,ij,hj->h", pred_weights, r_obs, pred_weights)
        - 2 * np.einsum("hi,hi->h", pred_weights, cross)
        + 1
    )
    return {
        "rate": float((a @ r_obs @ a.T)[1, 1]),
        "trace": float(np.trace(resid_maker @ r_obs @ resid_maker.T)),
        "pred": pred,
    }


def _drift_factors(m: int, k: int, rho: float, horizons: int) -> dict[str, Any]:
    """Exact variance factors of the mean of the last ``k`` of ``m`` AR(1) increments, and of
    the error of ``h`` times that mean as a forecast of the sum of the next ``h`` increments."""
    r = ar1_correlation(m + horizons, rho)
    a = np.zeros(m)
    a[-k:] = 1 / k
    r_obs = r[:m, :m]
    aa = float(a @ r_obs @ a)
    ar_future = a @ r[:m, m:]  # (horizons,) covariance of the mean with each future increment
    future = r[m:, m:]
    h = np.arange(1, horizons + 1)
    pred = (
        h**2 * aa - 2 * h * np.cumsum(ar_future) + np.cumsum(np.cumsum(future, 0), 1)[h - 1, h - 1]
    )
    demean = np.eye(m) - 1 / m
    return {"rate": aa, "trace": float(np.trace(demean @ r_obs)), "pred": pred}


# --------------------------------------------------------------------------------------------
# Calibration: median-unbiased rho and critical values of the studentised statistics
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Distribution of the residual autocorrelation and critical values, per true rho.

    ``kind`` is ``"trend"`` (``log_linear``, ``count_glm``) or ``"drift"`` (``average_growth``
    with window ``k``), for series of ``n`` years. On ``rho`` (the grid of true values):
    ``rho_hat_q`` maps a probability (``RHO_HAT_PROBS``) to the quantiles of the residual lag-1
    autocorrelation, ``rate95`` is the 95 % quantile of |t| of the rate, ``pred80`` and
    ``pred95`` (grid x horizon) those of the studentised prediction errors.
    """

    kind: str
    n: int
    k: int
    rho: np.ndarray
    rho_hat_q: dict[float, np.ndarray]
    rate95: np.ndarray
    pred80: np.ndarray
    pred95: np.ndarray

    def invert(self, rho_hat: float | np.ndarray, prob: float) -> np.ndarray:
        """The true rho whose ``prob`` quantile of the estimate equals ``rho_hat`` (clipped).

        ``prob = 0.5`` is the median-unbiased estimate (Andrews 1993); ``prob = 1 - c`` an upper
        confidence bound of confidence ``c``.
        """
        q = np.maximum.accumulate(self.rho_hat_q[prob])  # monotone against simulation noise
        return np.clip(np.interp(rho_hat, q, self.rho), RHO_MIN, RHO_MAX)

    def critical(self, rho_hat: float, level: float) -> tuple[float, np.ndarray]:
        """Critical values of the rate (95 % only; NaN otherwise) and of the prediction errors
        at ``level``, read at the calibrated upper confidence bound for rho."""
        upper = float(self.invert(rho_hat, round(1 - UPPER_BOUND_CONFIDENCE[level], 2)))
        # Linear interpolation between the two grid rows around the bound, for every horizon.
        i = int(np.clip(np.searchsorted(self.rho, upper) - 1, 0, len(self.rho) - 2))
        frac = (upper - self.rho[i]) / (self.rho[i + 1] - self.rho[i])
        table = {0.80: self.pred80, 0.95: self.pred95}[level]
        pred = (1 - frac) * table[i] + frac * table[i + 1]
        rate = (1 - frac) * self.rate95[i] + frac * self.rate95[i + 1]
        return (float(rate) if level == 0.95 else math.nan), pred


RHO_HAT_PROBS = (0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)


def simulate_calibration(kind: str, n: int, k: int, reps: int, seed: int) -> Calibration:
    """Simulate a :class:`Calibration` (the table behind the AR(1) intervals).

    For each true rho on ``RHO_GRID``: ``reps`` AR(1) error paths of ``n`` years plus ``H_MAX``
    future years, the residual autocorrelation, its median-unbiased inversion (from the same
    simulation), the exact standard errors at that estimate and the studentised rate and
    prediction errors. The statistics do not depend on the level, trend or scale of the series
    (they are invariant), so the table is exact up to Monte Carlo error.
    """
    rng = np.random.default_rng([seed, n, k, 0 if kind == "trend" else 1])
    m = n if kind == "trend" else n - 1  # observations the residuals come from
    paths = {r: simulate_ar1(rng, reps, m + H_MAX, float(r)) for r in RHO_GRID}
    if kind == "trend":
        x = _trend_design(n)
        hat = np.linalg.solve(x.T @ x, x.T)  # (2, n)
        resid = {r: p[:, :n] - (p[:, :n] @ hat.T) @ x.T for r, p in paths.items()}
    elif kind == "drift":
        resid = {r: p[:, :m] - p[:, :m].mean(1, keepdims=True) for r, p in paths.items()}
    else:
        raise ValueError(f"unknown calibration kind {kind!r}")
    rho_hat = {r: lag1(e) for r, e in resid.items()}
    quantiles = {p: np.array([np.quantile(rho_hat[r], p) for r in RHO_GRID]) for p in RHO_HAT_PROBS}
    median = np.maximum.accumulate(quantiles[0.5])
    # Exact factors on a fine grid of rho, interpolated at each replicate's estimate.
    fine = np.linspace(RHO_MIN, RHO_MAX, 146)
    factors = [
        _trend_factors(n, float(r), H_MAX) if kind == "trend" else _drift_factors(m, k, r, H_MAX)
        for r in fine
    ]
    table = np.array([[f["rate"], f["trace"], *f["pred"]] for f in factors])
    h = np.arange(1, H_MAX + 1)
    rate95, pred80, pred95 = [], [], []
    for r in RHO_GRID:
        p, e = paths[r], resid[r]
        rho_tilde = np.clip(np.interp(rho_hat[r], median, RHO_GRID), RHO_MIN, RHO_MAX)
        f = np.column_stack(
            [np.interp(rho_tilde, fine, table[:, j]) for j in range(table.shape[1])]
        )
        scale = (e * e).sum(1) / f[:, 1]
        if kind == "trend":
            beta = p[:, :n] @ hat.T
            rate_err = beta[:, 1]
            centre = (
                beta[:, [0]] + beta[:, [1]] * (n - 1 + h) + rho_tilde[:, None] ** h * e[:, [-1]]
            )
            target = p[:, n : n + H_MAX]
        else:
            mean_k = p[:, m - k : m].mean(1)
            rate_err = mean_k
            centre = mean_k[:, None] * h
            target = np.cumsum(p[:, m : m + H_MAX], 1)
        t_rate = np.abs(rate_err) / np.sqrt(scale * f[:, 0])
        t_pred = np.abs(centre - target) / np.sqrt(scale[:, None] * f[:, 2:])
        rate95.append(np.quantile(t_rate, 0.95))
        pred80.append(np.quantile(t_pred, 0.80, axis=0))
        pred95.append(np.quantile(t_pred, 0.95, axis=0))
    return Calibration(
        kind,
        n,
        k,
        RHO_GRID.astype(float),
        quantiles,
        np.array(rate95),
        np.array(pred80),
        np.array(pred95),
    )


def calibration_frame(cal: Calibration) -> pd.DataFrame:
    """A calibration as rows of the shipped table (one row per true rho)."""
    out = pd.DataFrame({"kind": cal.kind, "n": cal.n, "k": cal.k, "rho": cal.rho})
    for p in RHO_HAT_PROBS:
        out[f"rho_hat_q{round(p * 100):02d}"] = cal.rho_hat_q[p]
    out["rate95"] = cal.rate95
    for j in range(H_MAX):
        out[f"pred80_h{j + 1}"] = cal.pred80[:, j]
    for j in range(H_MAX):
        out[f"pred95_h{j + 1}"] = cal.pred95[:, j]
    return out


@lru_cache(maxsize=1)
def _calibration_table() -> pd.DataFrame | None:
    return pd.read_csv(CALIBRATION_TABLE) if CALIBRATION_TABLE.exists() else None


@lru_cache(maxsize=64)
def calibration(kind: str, n: int, k: int = 0) -> Calibration:
    """The calibration for ``kind``, ``n`` years and window ``k``: from the shipped table
    (40,000 paths per rho) when it has it, otherwise simulated now (20,000 paths per rho, a
    second or two, then kept for the session). Both are deterministic."""
    table = _calibration_table()
    if table is not None:
        rows = table[(table["kind"] == kind) & (table["n"] == n) & (table["k"] == k)]
        if len(rows) == len(RHO_GRID):
            rows = rows.sort_values("rho")
            return Calibration(
                kind,
                n,
                k,
                rows["rho"].to_numpy(float),
                {p: rows[f"rho_hat_q{round(p * 100):02d}"].to_numpy(float) for p in RHO_HAT_PROBS},
                rows["rate95"].to_numpy(float),
                rows[[f"pred80_h{j + 1}" for j in range(H_MAX)]].to_numpy(float),
                rows[[f"pred95_h{j + 1}" for j in range(H_MAX)]].to_numpy(float),
            )
    return simulate_calibration(kind, n, k, reps=20_000, seed=2013)


# --------------------------------------------------------------------------------------------
# Predictive distributions
# --------------------------------------------------------------------------------------------
_DF_GRID = np.geomspace(MIN_DF, 1e5, 400)
_T_RATIO = special.stdtrit(_DF_GRID, 0.975) / special.stdtrit(_DF_GRID, 0.90)
_NORMAL_RATIO = special.ndtri(0.975) / special.ndtri(0.90)


def t_from_quantiles(half80: np.ndarray, half95: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The location-scale t whose central 80 % and 95 % intervals have half-widths ``half80``
    and ``half95``: returns (spread, df).

    Ratios at or below the normal's give ``df = inf`` (the 95 % end is kept, the 80 % one comes
    out slightly wider); above that of t(2) the df is floored at 2 and again the 95 % end is kept.
    """
    half80, half95 = np.asarray(half80, float), np.asarray(half95, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half80 > 0, half95 / half80, _NORMAL_RATIO)
    # _T_RATIO falls with df: interpolate log df against the reversed ratio.
    df = np.exp(np.interp(ratio, _T_RATIO[::-1], np.log(_DF_GRID)[::-1]))
    df = np.where(ratio <= _NORMAL_RATIO * (1 + 1e-9), np.inf, df)
    return half95 / t_quantile(0.975, df), df


def t_quantile(prob: float, df: np.ndarray) -> np.ndarray:
    """Quantile of the standard t with ``df`` (``inf``: the normal), elementwise."""
    df = np.asarray(df, float)
    finite = np.isfinite(df)
    return np.where(finite, special.stdtrit(np.where(finite, df, 1.0), prob), special.ndtri(prob))


@dataclass
class GrowthResult:
    """A fitted growth model of one series.

    ``rate`` is the annual growth as a decimal (0.02 is 2 % a year) with its 95 % interval
    ``ci_low``-``ci_high``: the trend slope (``log_linear``, ``count_glm``), the mean growth of the
    last ``k`` years (``average_growth``) or the damped trend of next year (``ets``). Predictions
    are on the log scale: per year a centre, a spread and the degrees of freedom of a t reference
    distribution (``inf`` for normal); the df may differ between years.

    New against ``pipeline.growth``: ``rho`` (median-unbiased AR(1) coefficient of the residuals,
    NaN for ETS), ``rho_at_bound`` (the estimate hit ``RHO_MAX``: the series behaves like a random
    walk and the trend models' intervals rest on the bound), ``scale`` (residual standard deviation
    on the log scale, or the square root of the count model's dispersion), ``n_years`` and
    ``params`` (model-specific estimates: ETS smoothing parameters, the count model's
    dispersion, ...).
    """

    model: str
    rate: float
    ci_low: float
    ci_high: float
    last_year: int
    interval: str = "confidence"
    converged: bool = True
    rho: float = math.nan
    rho_at_bound: bool = False
    scale: float = math.nan
    n_years: int = 0
    params: dict[str, float] = field(default_factory=dict)
    _log_predict: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]] | None = field(
        default=None, repr=False
    )

    def predict_log(self, years: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre, spread and t degrees of freedom of log(count) in each of ``years``."""
        h = np.asarray(years, dtype=int) - self.last_year
        if (h < 1).any():
            raise ValueError("forecast years must follow the last fitted year")
        centre, spread, df = self._log_predict(h)
        return (
            np.asarray(centre, float),
            np.asarray(spread, float),
            np.broadcast_to(np.asarray(df, float), np.shape(centre)).copy(),
        )

    def intervals(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> dict:
        """Point forecast (the median) and prediction intervals as arrays, with the log-scale
        distribution they come from."""
        centre, spread, df = self.predict_log(years)
        out = {
            "year": np.asarray(years, dtype=int),
            "forecast": np.exp(centre),
            "log_centre": centre,
            "log_spread": spread,
            "df": df,
        }
        for level in levels:
            q = t_quantile(0.5 + level / 2, df)
            pct = round(level * 100)
            out[f"lo{pct}"] = np.exp(centre - q * spread)
            out[f"hi{pct}"] = np.exp(centre + q * spread)
        return out

    def forecast(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> pd.DataFrame:
        """Point forecast (the median) and prediction intervals for ``years``."""
        return pd.DataFrame(self.intervals(years, levels))

    def sample(self, years: Sequence[int], n: int, rng: np.random.Generator) -> np.ndarray:
        """Draws from the predictive distribution: shape ``(n, len(years))``.

        One draw per year independently, as before; a path model (one z for all years, as the
        supply stage does) is the caller's choice.
        """
        centre, spread, df = self.predict_log(years)
        finite = np.isfinite(df)
        z = rng.standard_normal((n, len(centre)))
        if finite.any():
            z[:, finite] = rng.standard_t(df[finite], size=(n, int(finite.sum())))
        return np.exp(centre + z * spread)


def fit_growth(
    values: pd.DataFrame | pd.Series,
    model: str,
    *,
    k: int = 3,
    damped: bool = True,
    bootstrap: int = 500,
    rng: np.random.Generator | None = None,
    horizon: int = H_MAX,
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
        Parametric bootstrap replicates behind the ``ets`` growth and prediction intervals
        (at least 100; 500 by default). Ignored by the other models, whose intervals are
        analytic with tabulated critical values.
    rng
        Random generator for the ``ets`` bootstrap (default: seeded with 0, so results repeat).
    horizon
        Years ahead the ``ets`` bootstrap simulates (later years reuse the last one's critical
        values; the other models are exact at any horizon up to ``H_MAX`` and reuse ``H_MAX``'s
        critical values beyond).

    Returns
    -------
    GrowthResult
    """
    y = as_series(values)
    return _fit(y.to_numpy(), int(y.index[-1]), model, k, damped, bootstrap, rng, horizon)


def _fit(
    counts: np.ndarray,
    last_year: int,
    model: str,
    k: int,
    damped: bool,
    bootstrap: int,
    rng: np.random.Generator | None,
    horizon: int,
) -> GrowthResult:
    """:func:`fit_growth` on checked counts of consecutive years ending in ``last_year``."""
    if model not in MODELS:
        raise ParamError(f"growth: unknown model {model!r}; choose from {', '.join(MODELS)}")
    need = max(MIN_YEARS[model], k + 3) if model == "average_growth" else MIN_YEARS[model]
    if len(counts) < need:
        raise InputError(f"growth: {model} needs {need} years, the series has {len(counts)}")
    with np.errstate(all="ignore"):
        # Floating-point warnings from degenerate (exact) series must not reach a report; their
        # results are handled explicitly.
        if model == "average_growth":
            return _fit_average_growth(counts, last_year, k)
        if model == "log_linear":
            return _fit_log_linear(counts, last_year)
        if model == "count_glm":
            return _fit_count_glm(counts, last_year)
        if bootstrap < 100:
            raise ParamError("growth: the ETS bootstrap needs at least 100 replicates")
        return _fit_ets(
            counts, last_year, damped, bootstrap, rng or np.random.default_rng(0), horizon
        )


def _ar1_predict(
    centre: Callable[[np.ndarray], np.ndarray],
    pred_factor: Callable[[int], np.ndarray],
    scale: float,
    cal: Calibration,
    rho_hat: float,
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Predictive t per horizon from exact standard errors and calibrated critical values."""
    _, c80 = cal.critical(rho_hat, 0.80)
    _, c95 = cal.critical(rho_hat, 0.95)

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        se = np.sqrt(scale * pred_factor(int(h.max()))[h - 1])
        col = np.minimum(h, H_MAX) - 1  # beyond the table: the last horizon's critical values
        spread, df = t_from_quantiles(c80[col] * se, c95[col] * se)
        return centre(h), spread, df

    return predict


def _fit_log_linear(counts: np.ndarray, last_year: int) -> GrowthResult:
    n = len(counts)
    log_y = np.log(counts)
    x = _trend_design(n)
    beta = np.linalg.lstsq(x, log_y, rcond=None)[0]  # the OLS slope (efficient for trends)
    resid = log_y - x @ beta
    cal = calibration("trend", n)
    rho_hat = float(lag1(resid))
    rho = float(cal.invert(rho_hat, 0.5))
    factors = _trend_factors(n, rho, H_MAX)
    scale = float(resid @ resid / factors["trace"])
    c_rate, _ = cal.critical(rho_hat, 0.95)
    half = c_rate * math.sqrt(scale * factors["rate"])

    def centre(h: np.ndarray) -> np.ndarray:
        return beta[0] + beta[1] * (n - 1 + h) + rho**h * resid[-1]

    def pred_factor(horizons: int) -> np.ndarray:
        if horizons <= H_MAX:
            return factors["pred"]
        return _trend_factors(n, rho, horizons)["pred"]

    return GrowthResult(
        "log_linear",
        math.expm1(beta[1]),
        math.expm1(beta[1] - half),
        math.expm1(beta[1] + half),
        last_year,
        rho=rho,
        rho_at_bound=rho >= RHO_MAX,
        scale=math.sqrt(scale),
        n_years=n,
        params={"rho_hat": rho_hat},
        _log_predict=_ar1_predict(centre, pred_factor, scale, cal, rho_hat),
    )


def _poisson_irls(counts: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Poisson quasi-likelihood estimates by iteratively reweighted least squares."""
    beta = np.linalg.lstsq(x, np.log(counts), rcond=None)[0]
    for _ in range(100):
        eta = x @ beta
        mu = np.exp(eta)
        z = eta + (counts - mu) / mu
        step = np.linalg.solve(x.T @ (mu[:, None] * x), x.T @ (mu * z))
        if np.max(np.abs(step - beta)) < 1e-12 * (1 + np.max(np.abs(beta))):
            return step, True
        beta = step
    return beta, False


def _fit_count_glm(counts: np.ndarray, last_year: int) -> GrowthResult:
    n = len(counts)
    x = _trend_design(n)
    # The trend is estimated from the Poisson (quasi-likelihood) score equations, which are
    # consistent whatever the variance of the counts. Its uncertainty is not taken from the
    # Poisson variance function: patient counts vary far more than Poisson (dispersion ~1,500
    # in the demo) and physician counts less (~0.2), and with lognormal-like noise a variance
    # proportional to the mean would shrink the log-scale spread as the series grows (80 %
    # intervals covered 75 % in simulation). The working residuals (y - mu) / mu, i.e. log
    # counts about the trend, get a free scale and an AR(1) correlation (Zeger 1988), with the
    # same small-sample calibration as the log-linear trend.
    beta, converged = _poisson_irls(counts, x)
    mu = np.exp(x @ beta)
    working = (counts - mu) / mu
    cal = calibration("trend", n)  # the mu-weighted statistic is close to the unweighted pivot
    rho_hat = float(lag1(working))
    rho = float(cal.invert(rho_hat, 0.5))

    @lru_cache(maxsize=4)
    def factors(horizons: int) -> dict[str, Any]:
        return _trend_factors(n, rho, max(horizons, H_MAX), mu / mu.mean())

    scale = float(working @ working / factors(H_MAX)["trace"])
    c_rate, _ = cal.critical(rho_hat, 0.95)
    half = c_rate * math.sqrt(scale * factors(H_MAX)["rate"])
    pearson = (counts - mu) / np.sqrt(mu)
    dispersion = float(pearson @ pearson / (n - 2))  # < 1: under-, > 1: over-dispersed

    def centre(h: np.ndarray) -> np.ndarray:
        return beta[0] + beta[1] * (n - 1 + h) + rho**h * working[-1]

    return GrowthResult(
        "count_glm",
        math.expm1(beta[1]),
        math.expm1(beta[1] - half),
        math.expm1(beta[1] + half),
        last_year,
        converged=converged,
        rho=rho,
        rho_at_bound=rho >= RHO_MAX,
        scale=math.sqrt(scale),
        n_years=n,
        params={"rho_hat": rho_hat, "dispersion": dispersion},
        _log_predict=_ar1_predict(centre, lambda hz: factors(hz)["pred"], scale, cal, rho_hat),
    )


def _drift_inference(
    increments: np.ndarray, k: int, cal: Calibration
) -> tuple[float, float, float, dict[str, Any]]:
    """rho_hat, median-unbiased rho, scale and variance factors of AR(1) increments."""
    resid = increments - increments.mean()
    rho_hat = float(lag1(resid))
    rho = float(cal.invert(rho_hat, 0.5))
    factors = _drift_factors(len(increments), k, rho, H_MAX)
    return rho_hat, rho, float(resid @ resid / factors["trace"]), factors


def _fit_average_growth(counts: np.ndarray, last_year: int, k: int) -> GrowthResult:
    n = len(counts)
    log_y = np.log(counts)
    log_growth = np.diff(log_y)
    simple = np.expm1(log_growth)  # the paper's "average annual growth" averages these
    rate = float(simple[-k:].mean())
    cal = calibration("drift", n, k)
    # The rate's interval: the last k simple growth rates as AR(1) around their mean, with the
    # autocorrelation and scale estimated from every year of the series.
    rho_hat_s, _, scale_s, factors_s = _drift_inference(simple, k, cal)
    c_rate, _ = cal.critical(rho_hat_s, 0.95)
    half = c_rate * math.sqrt(scale_s * factors_s["rate"])
    # Forecasts: a random walk with the mean log growth of the last k years as drift.
    rho_hat, rho, scale, factors = _drift_inference(log_growth, k, cal)
    drift = float(log_growth[-k:].mean())

    def centre(h: np.ndarray) -> np.ndarray:
        return log_y[-1] + h * drift

    def pred_factor(horizons: int) -> np.ndarray:
        if horizons <= H_MAX:
            return factors["pred"]
        return _drift_factors(n - 1, k, rho, horizons)["pred"]

    return GrowthResult(
        "average_growth",
        rate,
        rate - half,
        rate + half,
        last_year,
        rho=rho,
        rho_at_bound=rho >= RHO_MAX,
        scale=math.sqrt(scale),
        n_years=n,
        params={"rho_hat": rho_hat, "k": float(k)},
        _log_predict=_ar1_predict(centre, pred_factor, scale, cal, rho_hat),
    )


# --------------------------------------------------------------------------------------------
# ETS(A,Ad,N) by least squares on a grid, vectorised so that the bootstrap can refit cheaply
# --------------------------------------------------------------------------------------------
ETS_ALPHA = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99)
ETS_BETA_SHARE = (0.01, 0.1, 0.25, 0.5, 1.0)  # beta as a share of alpha (beta <= alpha)
ETS_PHI = (0.8, 0.85, 0.9, 0.94, 0.97, 0.98)  # statsmodels' bounds for the damping are 0.8-0.98


@lru_cache(maxsize=32)
def _ets_system(n: int, damped: bool, horizons: int) -> dict[str, np.ndarray]:
    """Linear operators of ETS(A,Ad,N) for every grid point of (alpha, beta, phi).

    For fixed smoothing parameters the model is linear in the data and the seed states
    (Hyndman et al. 2008, ch. 3 and 5): the one-step errors are ``e = L y - Z x0``, so the least
    squares seed is ``x0 = K y`` and the errors ``E y``, ``E = L - Z K``. The sum of squares is
    ``y' E'E y``, the last states ``S y`` and the forecasts ``F y``: fitting a series (or a
    thousand bootstrap series at once) is a matrix product per grid point.
    """
    phis = ETS_PHI if damped else (1.0,)
    grid = np.array([(a, a * s, p) for a in ETS_ALPHA for s in ETS_BETA_SHARE for p in phis])
    alpha, beta, phi = grid.T
    g_count = len(grid)
    w = np.column_stack([np.ones(g_count), phi])
    d = np.empty((g_count, 2, 2))  # x_t = D x_t-1 + g y_t with D = F - g w'
    d[:, 0, 0], d[:, 0, 1] = 1 - alpha, phi * (1 - alpha)
    d[:, 1, 0], d[:, 1, 1] = -beta, phi * (1 - beta)
    a = np.broadcast_to(np.eye(2), (g_count, 2, 2)).copy()
    b = np.zeros((g_count, 2, n))
    el = np.zeros((g_count, n, n))
    z = np.zeros((g_count, n, 2))
    for t in range(n):
        z[:, t] = np.einsum("gi,gij->gj", w, a)
        el[:, t] = -np.einsum("gi,gij->gj", w, b)
        el[:, t, t] += 1
        a = d @ a
        b = d @ b
        b[:, 0, t] += alpha
        b[:, 1, t] += beta
    zt = z.transpose(0, 2, 1)
    seed = np.linalg.solve(zt @ z, zt @ el)  # (G, 2, n)
    errors = el - z @ seed
    states = a @ seed + b  # (G, 2, n): the states after the last year
    h = np.arange(1, horizons + 1)
    phi_h = np.cumsum(phi[:, None] ** h[None, :], axis=1)  # phi + ... + phi^h
    forecast = states[:, [0], :] + phi_h[:, :, None] * states[:, [1], :]  # (G, H, n)
    c = alpha[:, None] + beta[:, None] * phi_h  # innovation weights c_j, j = 1..H
    innovation_var = 1 + np.concatenate(
        [np.zeros((g_count, 1)), np.cumsum(c[:, :-1] ** 2, axis=1)], axis=1
    )
    return {
        "grid": grid,
        "sse": _vech_weights(errors.transpose(0, 2, 1) @ errors),
        "seed": seed,
        "trend": phi[:, None] * states[:, 1, :],  # next year's damped trend
        "forecast": forecast,
        "innovation_var": innovation_var,
        "logdet": np.linalg.slogdet(zt @ z)[1],
        "n_params": np.array(2 + (3 if damped else 2)),
    }


def _vech_weights(quadratic: np.ndarray) -> np.ndarray:
    """(n(n+1)/2, G) weights such that ``vech(y y') @ w`` is ``y' Q_g y`` for every g: one
    matrix product evaluates the sum of squares of many series at every grid point."""
    i, j = np.triu_indices(quadratic.shape[-1])
    return (quadratic[:, i, j] * np.where(i == j, 1.0, 2.0)).T


def _ets_criterion(system: dict[str, np.ndarray], y: np.ndarray) -> np.ndarray:
    """-2 log marginal likelihood (up to a constant) of every grid point for each row of ``y``.

    The seed states are integrated out under a flat prior (the diffuse or marginal likelihood,
    Tunnicliffe Wilson 1989; de Jong 1991) instead of being profiled out: with the seeds
    estimated freely, 16 years are fitted best by a deterministic trend and the smoothing
    parameters pile up at zero (Shephard & Harvey 1990), which makes every interval too narrow.
    """
    n = y.shape[-1]
    i, j = np.triu_indices(n)
    sse = np.maximum((y[:, i] * y[:, j]) @ system["sse"], 1e-300)
    return (n - 2) * np.log(sse) + system["logdet"][None, :], sse


def _ets_select(system: dict[str, np.ndarray], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Marginal-likelihood grid point and its sum of squares for each row of ``y``."""
    crit, sse = _ets_criterion(system, y)
    best = crit.argmin(1)
    return best, sse[np.arange(len(y)), best]


def _fit_ets(
    counts: np.ndarray,
    last_year: int,
    damped: bool,
    reps: int,
    rng: np.random.Generator,
    horizon: int,
) -> GrowthResult:
    n = len(counts)
    horizons = max(horizon, H_MAX)
    log_y = np.log(counts)
    system = _ets_system(n, damped, horizons)
    crit, sse = (v[0] for v in _ets_criterion(system, log_y[None, :]))
    g = int(crit.argmin())
    alpha, beta, phi = system["grid"][g]
    dof = n - int(system["n_params"])
    sigma = math.sqrt(sse[g] / dof)
    trend = float(system["trend"][g] @ log_y)  # phi * b_n: the damped trend of next year
    level_n = float(system["forecast"][g, 0] @ log_y) - trend

    # Parametric bootstrap of the estimation error of today's trend and of the forecasts
    # (Pfeffermann & Tiller 2005; Rodriguez & Ruiz 2009, 2012): series are simulated, their true
    # trend phi * b_n and future values recorded, and each is refitted by the same estimator;
    # the interval is the estimate minus the quantiles of theta* - b* (a basic bootstrap interval
    # for a random target). Simulating from the estimate alone understates the error badly with
    # 16 years (coverage 80-88 %): the smoothing parameters are barely identified, and a world
    # with a near-deterministic trend has little estimation error. Each replicate's parameters
    # are therefore drawn from the normalised marginal likelihood over the grid (the parameter
    # uncertainty integrated as in a posterior predictive with a flat prior on the grid), with
    # that grid point's seed states and residual scale.
    weight = np.exp(-0.5 * (crit - crit.min()))
    draw = rng.choice(len(weight), size=reps, p=weight / weight.sum())
    a_b, b_b, p_b = system["grid"][draw].T
    level, slope = np.einsum("bij,j->ib", system["seed"][draw], log_y)
    shocks = rng.standard_normal((n + horizons, reps)) * np.sqrt(sse[draw] / dof)
    sim = np.empty((reps, n + horizons))
    true_trend = np.empty(reps)
    for t in range(n + horizons):
        if t == n:
            true_trend = p_b * slope
        sim[:, t] = level + p_b * slope + shocks[t]
        level, slope = level + p_b * slope + a_b * shocks[t], p_b * slope + b_b * shocks[t]
    boot_best, _ = _ets_select(system, sim[:, :n])
    error = np.einsum("bi,bi->b", system["trend"][boot_best], sim[:, :n]) - true_trend
    low, high = trend - np.quantile(error, 0.975), trend - np.quantile(error, 0.025)
    boot_fc = np.einsum("bhi,bi->bh", system["forecast"][boot_best], sim[:, :n])
    abs_error = np.abs(boot_fc - sim[:, n:])
    half80, half95 = np.quantile(abs_error, 0.80, axis=0), np.quantile(abs_error, 0.95, axis=0)

    def predict(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        steps = np.cumsum(phi ** np.arange(1, int(h.max()) + 1))  # phi + ... + phi^h
        col = np.minimum(h, horizons) - 1  # beyond the bootstrap: its last horizon's spread
        spread, df = t_from_quantiles(half80[col], half95[col])
        return level_n + steps[h - 1] * trend / phi, spread, df

    return GrowthResult(
        "ets",
        math.expm1(trend),
        math.expm1(low),
        math.expm1(high),
        last_year,
        interval="bootstrap",
        scale=sigma,
        n_years=n,
        params={
            "alpha": float(alpha),
            "beta": float(beta),
            "phi": float(phi),
            "bootstrap": float(reps),
        },
        _log_predict=predict,
    )


# --------------------------------------------------------------------------------------------
# Proper scores (on the log scale)
# --------------------------------------------------------------------------------------------
def interval_score(
    low: np.ndarray, high: np.ndarray, actual: np.ndarray, level: float
) -> np.ndarray:
    """Interval score of central ``level`` intervals (Gneiting & Raftery 2007, eq. 43).

    Width plus 2/alpha times the distance by which the actual value falls outside; lower is
    better, and it is minimised in expectation by the true quantiles, so wide-but-safe intervals
    do not win.
    """
    alpha = 1 - level
    low, high, actual = (np.asarray(v, float) for v in (low, high, actual))
    return (
        (high - low)
        + (2 / alpha) * np.maximum(low - actual, 0)
        + (2 / alpha) * np.maximum(actual - high, 0)
    )


def crps_t(
    actual: np.ndarray, centre: np.ndarray, spread: np.ndarray, df: np.ndarray
) -> np.ndarray:
    """Continuous ranked probability score of a location-scale t (``df = inf``: normal).

    Closed forms from Jordan, Krüger & Lerch (2019, scoringRules), valid for df > 1; lower is
    better. On log counts the CRPS is in the units of a relative error.
    """
    actual, centre, spread, df = np.broadcast_arrays(
        *(np.asarray(v, float) for v in (actual, centre, spread, df))
    )
    safe_spread = np.where(spread > 0, spread, 1.0)
    z = (actual - centre) / safe_spread
    finite = np.isfinite(df)
    nu = np.where(finite, df, 3.0)
    t_part = (
        z * (2 * special.stdtr(nu, z) - 1)
        + 2 * stats.t.pdf(z, nu) * (nu + z**2) / (nu - 1)
        - 2
        * np.sqrt(nu)
        * special.beta(0.5, nu - 0.5)
        / ((nu - 1) * special.beta(0.5, nu / 2) ** 2)
    )
    normal_part = z * (2 * special.ndtr(z) - 1) + 2 * stats.norm.pdf(z) - 1 / math.sqrt(math.pi)
    score = safe_spread * np.where(finite, t_part, normal_part)
    return np.where(spread > 0, score, np.abs(actual - centre))


# --------------------------------------------------------------------------------------------
# Series, rates, backtest
# --------------------------------------------------------------------------------------------
def series_groups(series: pd.DataFrame) -> Iterator[tuple[dict[str, Any], pd.Series]]:
    """Each series of a long table (``measure``, ``geography``, ``group``, ``year``, ``value``)."""
    for keys, df in series.groupby(SERIES_KEYS, observed=True, sort=True):
        yield dict(zip(SERIES_KEYS, keys, strict=True)), df.set_index("year")["value"]


def _series_rngs(seed: int, count: int) -> list[np.random.Generator]:
    """One generator per series, from the seed: a series' ETS bootstrap does not depend on
    which other series are fitted."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


def growth_rates(
    series: pd.DataFrame,
    models: Sequence[str],
    *,
    k: int = 3,
    damped: bool = True,
    bootstrap: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Every model's annual growth rate with its 95 % interval, for every series.

    Every ETS fit is bootstrapped (the refits are vectorised), so there is no longer a
    ``bootstrap_scope``. Besides the rate: ``rho`` and ``rho_at_bound`` (AR(1) models),
    ``scale`` and the years used.
    """
    rows = []
    groups = list(series_groups(series))
    for (keys, values), rng in zip(groups, _series_rngs(seed, len(groups)), strict=True):
        for model in models:
            res = fit_growth(values, model, k=k, damped=damped, bootstrap=bootstrap, rng=rng)
            rows.append(
                {
                    **keys,
                    "model": model,
                    "rate": res.rate,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "interval": res.interval,
                    "converged": res.converged,
                    "rho": res.rho,
                    "rho_at_bound": res.rho_at_bound,
                    "scale": res.scale,
                    "first_year": int(values.index[0]),
                    "last_year": res.last_year,
                }
            )
    return pd.DataFrame(rows)


def check_backtest(models: Sequence[str], min_years: int, k: int) -> None:
    """Stop when a backtest window is too short for one of the models."""
    need = max(max(MIN_YEARS[m], k + 3) if m == "average_growth" else MIN_YEARS[m] for m in models)
    if min_years < need:
        raise ParamError(
            f"growth.backtest_min_years: {min_years} is below {need}, the shortest series the "
            f"models ({', '.join(models)}) can be fitted to"
        )


def backtest(
    series: pd.DataFrame,
    models: Sequence[str],
    *,
    min_years: int = 8,
    max_horizon: int = 10,
    k: int = 3,
    damped: bool = True,
    bootstrap: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Rolling-origin evaluation: refit on the years up to each origin, forecast 1..H years.

    Every model is fitted at the same origins (from the ``min_years``-th year to the last but one)
    so that the scores compare like with like (Tashman 2000). With 16 years and
    ``min_years = 8`` the horizons reach 8 years, but horizon h is scored at only
    ``16 - 8 - h + 1`` origins per series: the long horizons that matter for a 10-year projection
    rest on few, overlapping forecasts. A shorter window gives more long-horizon forecasts from
    models fitted to fewer years; ETS needs at least 8.

    Returns
    -------
    DataFrame
        One row per series, model, origin and horizon: the actual value, the forecast (median),
        the 80 % and 95 % prediction intervals, the predictive distribution on the log scale
        (``log_centre``, ``log_spread``, ``df``), whether each interval covered, the absolute
        percentage error ``ape`` and the proper scores ``is80``, ``is95`` and ``crps`` of log
        counts.
    """
    check_backtest(models, min_years, k)
    rows = []
    groups = list(series_groups(series))
    for (keys, values), rng in zip(groups, _series_rngs(seed, len(groups)), strict=True):
        values = as_series(values)
        years, counts = values.index.to_numpy(), values.to_numpy()
        for end in range(min_years, len(years)):
            origin = int(years[end - 1])
            future_years = years[end : end + max_horizon]
            actual = counts[end : end + max_horizon]
            for model in models:
                res = _fit(counts[:end], origin, model, k, damped, bootstrap, rng, max_horizon)
                fc = res.intervals(future_years)
                rows.append(
                    {
                        **{key: [value] * len(future_years) for key, value in keys.items()},
                        "model": [model] * len(future_years),
                        "origin": np.full(len(future_years), origin),
                        "horizon": future_years - origin,
                        "year": future_years,
                        "actual": actual,
                        **{
                            c: fc[c]
                            for c in (
                                "forecast",
                                "lo80",
                                "hi80",
                                "lo95",
                                "hi95",
                                "log_centre",
                                "log_spread",
                                "df",
                            )
                        },
                    }
                )
    if not rows:
        raise InputError(
            f"growth: no series is longer than backtest_min_years = {min_years}; the backtest "
            "has no origin"
        )
    out = pd.DataFrame({c: np.concatenate([r[c] for r in rows]) for c in rows[0]})
    log_actual = np.log(out["actual"].to_numpy())
    out["ape"] = (out["actual"] - out["forecast"]).abs() / out["actual"]
    out["covered80"] = out["actual"].between(out["lo80"], out["hi80"])
    out["covered95"] = out["actual"].between(out["lo95"], out["hi95"])
    for level in LEVELS:
        pct = round(level * 100)
        out[f"is{pct}"] = interval_score(
            np.log(out[f"lo{pct}"]), np.log(out[f"hi{pct}"]), log_actual, level
        )
    out["crps"] = crps_t(log_actual, out["log_centre"], out["log_spread"], out["df"])
    return out


SCORES = ("crps", "is80", "is95")
_SUMMARY = {
    "crps": "crps",
    "is80": "is80",
    "is95": "is95",
    "coverage80": "covered80",
    "coverage95": "covered95",
    "mape": "ape",
}


def series_scores(results: pd.DataFrame) -> pd.DataFrame:
    """Scores per series and model: the mean over origins at each horizon, then the mean over
    horizons (each horizon counts once, however many origins scored it)."""
    keys = [*SERIES_KEYS, "model"]
    cells = results.groupby([*keys, "horizon"], observed=True, sort=True)[
        list(_SUMMARY.values())
    ].mean()
    out = cells.groupby(level=keys, observed=True, sort=True).mean()
    out = out.rename(columns={v: k for k, v in _SUMMARY.items()})
    out["mape"] *= 100
    counts = results.groupby(keys, observed=True, sort=True).size().rename("forecasts")
    return out.join(counts).reset_index()


def backtest_scores(results: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Mean proper scores, coverage and MAPE (in percent), every series weighted equally.

    Within a series each (horizon) cell is the mean over its origins; ``by=("model",)`` then
    averages the horizons within each series and the series with equal weight, so that the 16
    correlated series (national totals and their regional parts) are not pooled row by row and
    short horizons, which have more origins, do not dominate. ``by=("model", "horizon")`` gives
    the same per horizon. ``series`` is the number of series averaged.
    """
    by = list(by)
    if "horizon" in by:
        keys = [*SERIES_KEYS, "model", "horizon"]
        cells = results.groupby(keys, observed=True, sort=True)[list(_SUMMARY.values())].mean()
        cells = cells.rename(columns={v: k for k, v in _SUMMARY.items()}).reset_index()
        cells["mape"] *= 100
        cells["forecasts"] = results.groupby(keys, observed=True, sort=True).size().to_numpy()
    else:
        cells = series_scores(results)
    grouped = cells.groupby(by, observed=True, sort=True)
    out = grouped[list(_SUMMARY)].mean()
    out["forecasts"] = grouped["forecasts"].sum()
    out["series"] = grouped.size()
    return out.reset_index()


@dataclass(frozen=True)
class ModelChoice:
    """The projection model and the numbers that explain the choice.

    ``score`` names the criterion (mean ``crps``, ``is80`` or ``is95`` of log counts, lower is
    better). ``value`` is the chosen model's, ``runner_up``/``runner_up_value`` the next best,
    ``relative_difference`` = runner_up_value / value - 1 (0.10: the runner-up's score is 10 %
    worse), ``series_better`` of ``series_total`` the series on which the chosen model scored
    better than the runner-up. ``requested`` is True when the model was named in params rather
    than chosen. ``ranking`` has every model's scores, best first.
    """

    model: str
    score: str
    value: float
    runner_up: str | None
    runner_up_value: float
    relative_difference: float
    series_better: int
    series_total: int
    requested: bool
    ranking: pd.DataFrame = field(repr=False)


def eligible_models(models: Sequence[str]) -> list[str]:
    """The models that may be chosen or pooled automatically (all if only comparison-only)."""
    ok = [m for m in models if m not in COMPARISON_ONLY]
    return ok or list(models)


def choose_model(
    results: pd.DataFrame,
    requested: str = "auto",
    score: str = "crps",
    eligible: Sequence[str] | None = None,
) -> ModelChoice:
    """Choose the projection model by its mean proper score in the backtest.

    ``auto`` takes the lowest mean ``score`` (series weighted equally, see
    :func:`backtest_scores`) among ``eligible`` models (default: all backtested models but those
    in ``COMPARISON_ONLY``). The CRPS is the default because later stages draw from the whole
    predictive distribution; it rewards sharpness subject to calibration, so a model whose
    intervals are far wider than needed loses to one whose intervals are right, and a model whose
    intervals are too narrow is penalised too. A named model is reported with the same numbers;
    the runner-up is the best other eligible model. To choose per measure (patients and
    physicians behave differently), pass the results of one measure at a time.
    """
    if score not in SCORES:
        raise ParamError(f"growth: unknown score {score!r}; choose from {', '.join(SCORES)}")
    ranking = backtest_scores(results).sort_values(score).reset_index(drop=True)
    models = list(ranking["model"])
    eligible = eligible_models(models) if eligible is None else list(eligible)
    ranking["eligible"] = ranking["model"].isin(eligible)
    if requested != "auto" and requested not in models:
        raise ParamError(f"growth: {requested!r} is not among the backtested models")
    candidates = ranking[ranking["eligible"]]
    best = str(candidates["model"].iloc[0]) if requested == "auto" else requested
    others = candidates[candidates["model"] != best]
    value = float(ranking.set_index("model").loc[best, score])
    if others.empty:
        return ModelChoice(
            best, score, value, None, math.nan, math.nan, 0, 0, requested != "auto", ranking
        )
    runner_up = str(others["model"].iloc[0])
    runner_value = float(others[score].iloc[0])
    per_series = series_scores(results).pivot_table(
        index=SERIES_KEYS, columns="model", values=score, observed=True
    )
    better = int((per_series[best] < per_series[runner_up]).sum())
    return ModelChoice(
        best,
        score,
        value,
        runner_up,
        runner_value,
        runner_value / value - 1 if value > 0 else math.inf,
        better,
        len(per_series),
        requested != "auto",
        ranking,
    )


# --------------------------------------------------------------------------------------------
# Combination of models: CRPS-optimal weights of a linear pool, and the pool itself
# --------------------------------------------------------------------------------------------
def _t_cdf(x: np.ndarray, centre: np.ndarray, spread: np.ndarray, df: np.ndarray) -> np.ndarray:
    z = (x - centre) / spread
    finite = np.isfinite(df)
    return np.where(finite, special.stdtr(np.where(finite, df, 1.0), z), special.ndtr(z))


def stacking_weights(
    results: pd.DataFrame, models: Sequence[str] | None = None, points: int = 801
) -> pd.Series:
    """Weights of the linear pool of the models' predictive distributions that minimise the
    backtest's mean CRPS (stacking, Yao et al. 2018, with the CRPS as the score).

    The CRPS of a pool ``sum w_m F_m`` is ``integral (sum w_m F_m(x) - 1{x >= y})^2 dx``, a
    quadratic form in the weights, so the optimum over the simplex is a small quadratic
    programme. Each forecast is weighted as in :func:`backtest_scores` (series equally, then
    horizons, then origins). Only forecasts that every model made are used; ``models``
    defaults to the eligible ones (see :func:`eligible_models`).

    Returns
    -------
    Series
        Weight per model, summing to one.
    """
    keys = [*SERIES_KEYS, "origin", "horizon"]
    models = eligible_models(sorted(results["model"].unique())) if models is None else models
    results = results[results["model"].isin(models)]
    wide = results.pivot_table(
        index=keys,
        columns="model",
        values=["log_centre", "log_spread", "df", "actual"],
        observed=True,
        aggfunc="first",
    ).dropna()
    models = list(wide["log_centre"].columns)
    centre = wide["log_centre"][models].to_numpy()
    spread = np.maximum(wide["log_spread"][models].to_numpy(), 1e-12)
    df = wide["df"][models].to_numpy()
    actual = np.log(wide["actual"].iloc[:, 0].to_numpy())
    index = wide.index.to_frame(index=False)
    series_id = index[SERIES_KEYS].astype(str).agg("|".join, axis=1)
    per_cell = index.assign(s=series_id).groupby(["s", "horizon"])["origin"].transform("size")
    per_series = index.assign(s=series_id).groupby("s")["horizon"].transform("nunique")
    weight = 1 / (per_cell * per_series * series_id.nunique()).to_numpy()
    low = np.minimum((centre - 30 * spread).min(1), actual)
    high = np.maximum((centre + 30 * spread).max(1), actual)
    x = low[:, None] + (high - low)[:, None] * np.linspace(0, 1, points)[None, :]
    step = ((high - low) / (points - 1))[:, None]
    cdf = _t_cdf(x[:, None, :], centre[..., None], spread[..., None], df[..., None])  # (c, m, x)
    trapezoid = np.full(points, 1.0)
    trapezoid[[0, -1]] = 0.5
    dx = step * trapezoid[None, :]
    # Quadrature weights folded into the distribution functions: one matrix product each.
    root = np.sqrt(weight[:, None] * dx)[:, None, :]  # (c, 1, x)
    scaled = (cdf * root).transpose(1, 0, 2).reshape(len(models), -1)
    quad = scaled @ scaled.T
    above = ((x >= actual[:, None]) * root[:, 0, :]).reshape(-1)
    lin = scaled @ above

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        return float(w @ quad @ w - 2 * lin @ w), 2 * quad @ w - 2 * lin

    m = len(models)
    fit = optimize.minimize(
        objective,
        np.full(m, 1 / m),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * m,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1, "jac": lambda w: np.ones(m)}],
    )
    w = np.clip(fit.x, 0, None)
    return pd.Series(w / w.sum(), index=pd.Index(models, name="model"), name="weight")


@dataclass
class Combination:
    """A linear pool of fitted models of one series: the predictive distribution of each year is
    ``sum weight_m * F_m``. It has the interface of :class:`GrowthResult` that the gap uses
    (``forecast``, ``intervals``, ``sample``) but no single (centre, spread, df): later stages
    that draw per year from a t must draw the model first (``sample`` does)."""

    components: dict[str, GrowthResult]
    weights: dict[str, float]
    model: str = "combination"

    @property
    def last_year(self) -> int:
        return next(iter(self.components.values())).last_year

    def _parts(self, years: Sequence[int]) -> tuple[np.ndarray, ...]:
        names = [m for m, w in self.weights.items() if w > 0]
        parts = [self.components[m].predict_log(years) for m in names]
        w = np.array([self.weights[m] for m in names])
        centre, spread, df = (np.array([p[i] for p in parts]) for i in range(3))
        return w / w.sum(), centre, spread, df

    def quantiles(self, years: Sequence[int], probs: Sequence[float]) -> np.ndarray:
        """Quantiles of log(count), shape ``(len(probs), len(years))``, by bisection."""
        w, centre, spread, df = self._parts(years)
        low = (centre - 200 * spread).min(0)
        high = (centre + 200 * spread).max(0)
        out = []
        for p in probs:
            a, b = low.copy(), high.copy()
            for _ in range(80):
                mid = (a + b) / 2
                below = (w[:, None] * _t_cdf(mid[None], centre, spread, df)).sum(0) < p
                a, b = np.where(below, mid, a), np.where(below, b, mid)
            out.append((a + b) / 2)
        return np.array(out)

    def intervals(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> dict:
        """Median and central intervals of the pool (counts)."""
        probs = [0.5] + [q for lv in levels for q in (0.5 - lv / 2, 0.5 + lv / 2)]
        q = np.exp(self.quantiles(years, probs))
        out = {"year": np.asarray(years, dtype=int), "forecast": q[0]}
        for i, level in enumerate(levels):
            pct = round(level * 100)
            out[f"lo{pct}"], out[f"hi{pct}"] = q[1 + 2 * i], q[2 + 2 * i]
        return out

    def forecast(self, years: Sequence[int], levels: Sequence[float] = LEVELS) -> pd.DataFrame:
        return pd.DataFrame(self.intervals(years, levels))

    def sample(self, years: Sequence[int], n: int, rng: np.random.Generator) -> np.ndarray:
        """Draws from the pool: a model per draw (by weight), then a value from that model."""
        names = [m for m, w in self.weights.items() if w > 0]
        w = np.array([self.weights[m] for m in names])
        which = rng.choice(len(names), size=n, p=w / w.sum())
        out = np.empty((n, len(years)))
        for i, name in enumerate(names):
            rows = which == i
            if rows.any():
                out[rows] = self.components[name].sample(years, int(rows.sum()), rng)
        return out


def combine(
    fits: dict[str, dict[tuple, GrowthResult]], weights: pd.Series | dict[str, float]
) -> dict[tuple, Combination]:
    """The linear pool of every series' fits (``fits[model][series key]``) with ``weights``."""
    weights = {str(m): float(w) for m, w in dict(weights).items()}
    keys = next(iter(fits.values())).keys()
    return {
        key: Combination({m: fits[m][key] for m in weights if m in fits}, weights) for key in keys
    }


# --------------------------------------------------------------------------------------------
# Projection
# --------------------------------------------------------------------------------------------
PROJECTION_COLUMNS = [
    "observed",
    "forecast",
    "lo80",
    "hi80",
    "lo95",
    "hi95",
    "log_centre",
    "log_spread",
    "df",
]


def project(
    series: pd.DataFrame,
    model: str,
    horizon_year: int,
    *,
    k: int = 3,
    damped: bool = True,
    bootstrap: int = 500,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[tuple, GrowthResult]]:
    """Forecasts from the last data year to ``horizon_year`` for every series with one model.

    Returns the forecast table (with the observed years for the charts, and each year's
    predictive distribution on the log scale: ``log_centre``, ``log_spread``, ``df``) and the
    fitted models keyed by (measure, geography, group), which the gap simulation draws from.
    """
    rows, fits = [], {}
    groups = list(series_groups(series))
    for (keys, values), rng in zip(groups, _series_rngs(seed, len(groups)), strict=True):
        last = int(values.index[-1])
        res = fit_growth(
            values,
            model,
            k=k,
            damped=damped,
            bootstrap=bootstrap,
            rng=rng,
            horizon=max(horizon_year - last, 1),
        )
        fits[tuple(keys.values())] = res
        fc = res.forecast(np.arange(last + 1, horizon_year + 1))
        observed = pd.DataFrame({"year": values.index.to_numpy(), "observed": values.to_numpy()})
        rows.append(pd.concat([observed, fc], ignore_index=True).assign(**keys, model=model))
    out = pd.concat(rows, ignore_index=True)
    return out[[*SERIES_KEYS, "model", "year", *PROJECTION_COLUMNS]], fits


def project_all(
    series: pd.DataFrame,
    models: Sequence[str],
    horizon_year: int,
    **options: Any,
) -> tuple[pd.DataFrame, dict[str, dict[tuple, GrowthResult]]]:
    """:func:`project` under every model: the table stacked (``model`` column) and the fits per
    model, so that the page can show the projection and the gap under each model and the range
    across them (model uncertainty), or pool them with :func:`combine`."""
    tables, fits = [], {}
    for model in models:
        table, fits[model] = project(series, model, horizon_year, **options)
        tables.append(table)
    return pd.concat(tables, ignore_index=True), fits
