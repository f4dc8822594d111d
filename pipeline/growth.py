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
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline import contract
from pipeline.errors import InputError, ParamError
from pipeline.fmt import interval, number, percent

log = logging.getLogger(__name__)

MODELS = ("average_growth", "log_linear", "count_glm", "ets")
MODEL_LABELS = {
    "average_growth": "Gennemsnitlig vækst (regionernes metode)",
    "log_linear": "Log-lineær trend",
    "count_glm": "Poisson-regression med spredningsestimat",
    "ets": "Eksponentiel udglatning (ETS)",
}
MEASURE_LABELS = {"patients": "Patienter", "physicians": "Læger"}
GROUP_LABELS = {"total": "I alt", "adult": "Voksne", "child_adolescent": "Børn og unge"}
NATIONAL, GEOGRAPHIES = contract.NATIONAL, contract.GEOGRAPHIES
# Physicians are grouped by specialty the way patients are grouped by age.
SPECIALTY_GROUP = {"psychiatry": "adult", "child_adolescent_psychiatry": "child_adolescent"}
LEVELS = (0.80, 0.95)
ETS_MIN_YEARS = 10  # statsmodels' heuristic initialisation needs ten observations


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def check_params(params: dict[str, Any], years: Sequence[int]) -> None:
    """Stop with one line per problem before anything is fitted.

    ``years`` are the years present in the data.
    """
    first, last = min(years), max(years)
    fit_from = max(params["fit_from_year"], first)
    n_fit = last - fit_from + 1
    problems = []

    def bad(key: str, text: str) -> None:
        problems.append(f"params.yaml: growth.{key}: {text}")

    unknown = [m for m in params["models"] if m not in MODELS]
    if unknown or not params["models"]:
        bad(
            "models",
            f"unknown model {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(MODELS)}",
        )
    if params["projection_model"] != "auto" and params["projection_model"] not in params["models"]:
        bad(
            "projection_model",
            f"{params['projection_model']!r} is not 'auto' nor one of the "
            f"models ({', '.join(params['models'])})",
        )
    if not first <= params["base_year"] <= last:
        bad("base_year", f"{params['base_year']} is outside the data ({first}–{last})")
    if params["horizon_year"] <= last:
        bad("horizon_year", f"{params['horizon_year']} is not after the last data year {last}")
    for year in params["target_years"]:
        if not params["base_year"] <= year <= params["horizon_year"]:
            bad(
                "target_years",
                f"{year} is not between base_year {params['base_year']} and "
                f"horizon_year {params['horizon_year']}",
            )
    if not 2 <= params["seed_k_years"] < n_fit:
        bad(
            "seed_k_years",
            f"{params['seed_k_years']} must be at least 2 and less than the "
            f"{n_fit} years in the fit window",
        )
    min_years = ETS_MIN_YEARS if "ets" in params["models"] else 3
    if params["backtest_min_years"] < min_years:
        bad(
            "backtest_min_years",
            f"{params['backtest_min_years']} is below {min_years}"
            + (" (ETS needs ten years to start)" if min_years == ETS_MIN_YEARS else ""),
        )
    if n_fit < params["backtest_min_years"] + 1:
        bad(
            "fit_from_year",
            f"the fit window {fit_from}–{last} has {n_fit} years; the backtest "
            f"needs at least backtest_min_years + 1 = "
            f"{params['backtest_min_years'] + 1}",
        )
    if params["backtest_max_horizon"] < 1:
        bad("backtest_max_horizon", "must be at least 1")
    if not 0 < params["min_coverage_95"] <= 1:
        bad("min_coverage_95", "must be a share between 0 and 1")
    for key, codes in (
        ("physician_grades", contract.GRADES),
        ("physician_specialties", contract.SPECIALTIES),
    ):
        wrong = [v for v in params[key] if v not in codes]
        if wrong or not params[key]:
            bad(key, f"use one or more of {', '.join(codes)}")
    if params["simulations"] < 1000:
        bad("simulations", "use at least 1000 draws for stable interval ends")
    if "ets" in params["models"] and params["ets_bootstrap"] < 50:
        bad("ets_bootstrap", "use at least 50 bootstrap refits")
    if params["ets_bootstrap_scope"] not in ("national", "all"):
        bad("ets_bootstrap_scope", "use 'national' or 'all'")
    if problems:
        raise ParamError(problems)


# --------------------------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------------------------
def build_series(
    tables: dict[str, pd.DataFrame],
    grades: Iterable[str],
    specialties: Iterable[str],
    fit_from_year: int = 0,
) -> pd.DataFrame:
    """Patients and physicians per year, nationally and per region, in total and by group.

    Physicians are those of ``grades``; the ``total`` group counts the ``specialties`` (and
    patients of the matching age groups), which is the definition the gap uses.

    Returns
    -------
    DataFrame
        Long: ``measure``, ``geography``, ``group``, ``year``, ``value``.
    """
    grades, specialties = list(grades), list(specialties)
    patients = tables["patients"].rename(columns={"patients": "value"})
    patients = patients.assign(group=patients["age_group"].astype(str))
    physicians = tables["physicians"]
    physicians = physicians[physicians["grade"].isin(grades)].rename(columns={"headcount": "value"})
    physicians = physicians.assign(group=physicians["specialty"].astype(str).map(SPECIALTY_GROUP))
    total_groups = [SPECIALTY_GROUP[s] for s in specialties]
    frames = []
    for measure, df in (("patients", patients), ("physicians", physicians)):
        df = df.assign(region=df["region"].astype(str))
        by_group = df.groupby(["region", "group", "year"], as_index=False)["value"].sum()
        total = (
            by_group[by_group["group"].isin(total_groups)]
            .groupby(["region", "year"], as_index=False)["value"]
            .sum()
            .assign(group="total")
        )
        regional = pd.concat([by_group, total], ignore_index=True)
        national = regional.groupby(["group", "year"], as_index=False)["value"].sum()
        national["region"] = NATIONAL
        both = pd.concat([national, regional], ignore_index=True)
        frames.append(both.rename(columns={"region": "geography"}).assign(measure=measure))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["year"] >= fit_from_year]
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES, ordered=True)
    out["group"] = pd.Categorical(out["group"], list(GROUP_LABELS), ordered=True)
    out["value"] = out["value"].astype(float)
    cols = ["measure", "geography", "group", "year", "value"]
    return out[cols].sort_values(cols[:4]).reset_index(drop=True)


def modelled_series(series: pd.DataFrame) -> pd.DataFrame:
    """The series the models are fitted to: every group nationally, the totals per region."""
    keep = (series["geography"] == NATIONAL) | (series["group"] == "total")
    return series[keep]


def index_series(series: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Each series as an index with ``base_year`` = 100 (the regions' chart)."""
    base = series[series["year"] == base_year].set_index(["measure", "geography", "group"])
    keys = ["measure", "geography", "group"]
    merged = series.join(base["value"].rename("base"), on=keys)
    return merged.assign(index=100 * merged["value"] / merged["base"]).drop(columns="base")


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


HAC_TABLE = Path(__file__).with_name("hac_critical_values.csv")


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


def choose_model(scores: pd.DataFrame, requested: str, min_coverage_95: float) -> tuple[str, str]:
    """The projection model and, in Danish, why it was chosen.

    ``auto`` takes the model with the smallest backtest MAPE among those whose 95 % intervals
    covered at least ``min_coverage_95`` of the actual values; when none did, the best covering.
    """
    table = scores.set_index("model")
    if requested != "auto":
        row = table.loc[requested]
        return requested, (
            f"{MODEL_LABELS[requested]} er valgt i params.yaml (growth.projection_model). "
            f"I backtesten var dens gennemsnitlige fejl {percent(row['mape'] / 100)}, og 95 %-"
            f"intervallerne dækkede {percent(row['coverage95'])} af de faktiske værdier."
        )
    ok = table[table["coverage95"] >= min_coverage_95]
    if len(ok):
        best = ok["mape"].idxmin()
        row = table.loc[best]
        others = table.drop(index=best)
        excluded = [MODEL_LABELS[m] for m in table.index if m not in ok.index]
        reason = (
            f"{MODEL_LABELS[best]} er valgt, fordi den i backtesten havde den mindste "
            f"gennemsnitlige fejl ({percent(row['mape'] / 100)}) blandt modellerne, hvis 95 %-"
            f"intervaller dækkede mindst {percent(min_coverage_95, 0)} af de faktiske værdier "
            f"(den dækkede {percent(row['coverage95'])})."
        )
        if excluded:
            reason += f" {_join(excluded)} dækkede for sjældent og kom derfor ikke i betragtning."
        elif len(others):
            reason += (
                f" Næstbedst var {MODEL_LABELS[others['mape'].idxmin()]} "
                f"({percent(others['mape'].min() / 100)})."
            )
        return str(best), reason
    best = table["coverage95"].idxmax()
    row = table.loc[best]
    return str(best), (
        f"Ingen model havde 95 %-intervaller, der dækkede mindst {percent(min_coverage_95, 0)} af "
        f"de faktiske værdier i backtesten; {MODEL_LABELS[best]} dækkede bedst "
        f"({percent(row['coverage95'])}) og er valgt. Intervallerne er derfor for smalle."
    )


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1]


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


def gap(
    series: pd.DataFrame,
    fits: dict[tuple, GrowthResult],
    *,
    base_year: int,
    target_years: Sequence[int],
    simulations: int,
    seed: int,
) -> pd.DataFrame:
    """Physicians needed to keep the base year's patients per physician, minus the supply.

    needed(t) = physicians(base) × patients(t) / patients(base); gap = needed − physicians(t).
    Years in the data use the observed counts. Later years draw patients and physicians
    independently from their projections (seeded), so the interval reflects both; the point is
    the gap between the two point forecasts.

    Returns
    -------
    DataFrame
        Per geography and target year: needed, supply, gap and its 95 % interval.
    """
    totals = series[series["group"] == "total"]
    rows = []
    for position, geography in enumerate(totals["geography"].cat.categories):
        geo = totals[totals["geography"] == geography]
        if geo.empty:
            continue
        pat = geo[geo["measure"] == "patients"].set_index("year")["value"]
        phys = geo[geo["measure"] == "physicians"].set_index("year")["value"]
        ratio = phys[base_year] / pat[base_year]
        for year in target_years:
            if year in pat.index and year in phys.index:
                needed, supply = ratio * pat[year], phys[year]
                low = high = needed - supply
                observed = True
            else:
                fit_p = fits[("patients", geography, "total")]
                fit_f = fits[("physicians", geography, "total")]
                needed = ratio * fit_p.forecast([year])["forecast"].iloc[0]
                supply = fit_f.forecast([year])["forecast"].iloc[0]
                # Draws seeded per geography and year, so a year's interval does not depend on
                # which other years were asked for (the chart's path and the table agree).
                rng = np.random.default_rng([seed, position, int(year)])
                draws = (
                    ratio * fit_p.sample([year], simulations, rng)[:, 0]
                    - fit_f.sample([year], simulations, rng)[:, 0]
                )
                low, high = np.quantile(draws, [0.025, 0.975])
                observed = False
            rows.append(
                {
                    "geography": geography,
                    "year": int(year),
                    "needed": needed,
                    "supply": supply,
                    "gap": needed - supply,
                    "pi_low": low,
                    "pi_high": high,
                    "observed": observed,
                }
            )
    out = pd.DataFrame(rows)
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES, ordered=True)
    return out


def seed_gap(stock: float, patient_growth: float, physician_growth: float, years: int) -> float:
    """The paper's forecast: a stock growing at the physicians' rate falls behind one growing at
    the patients' rate; both start at ``stock`` and grow for ``years`` years."""
    return stock * ((1 + patient_growth) ** years - (1 + physician_growth) ** years)


def seed_comparison(
    series: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    base_year: int,
    k: int,
) -> dict[str, float]:
    """The paper's forecast with its own numbers, and the same method applied to the data.

    The paper averaged the growth of the three years up to its time of writing (2016-2018 in
    ``data/reference``) and forecast the shortage in 2022.
    """
    ref = reference.set_index("measure")
    target = int(ref.loc["specialist_shortage_forecast", "year"])
    as_of = int(str(ref.loc["patient_growth_rate", "year"]).split("-")[-1])
    published_stock = float(ref.loc["specialists_psychiatry", "value"]) + float(
        ref.loc["specialists_child_adolescent_psychiatry", "value"]
    )
    paper = seed_gap(
        published_stock,
        float(ref.loc["patient_growth_rate", "value"]),
        float(ref.loc["physician_growth_rate", "value"]),
        target - base_year,
    )
    national = series[(series["geography"] == NATIONAL) & (series["group"] == "total")]
    out = {
        "target_year": target,
        "as_of_year": as_of,
        "paper_stock": published_stock,
        "paper_patient_growth": float(ref.loc["patient_growth_rate", "value"]),
        "paper_physician_growth": float(ref.loc["physician_growth_rate", "value"]),
        "paper_claim": float(ref.loc["specialist_shortage_forecast", "value"]),
        "paper_gap": paper,
    }
    values = {
        m: national[national["measure"] == m].set_index("year")["value"]
        for m in ("patients", "physicians")
    }
    if all(as_of in v.index and base_year in v.index for v in values.values()):
        growth = {
            m: fit_growth(v[v.index <= as_of], "average_growth", k=k).rate
            for m, v in values.items()
        }
        out["data_patient_growth"] = growth["patients"]
        out["data_physician_growth"] = growth["physicians"]
        out["data_stock"] = float(values["physicians"][base_year])
        out["data_method_gap"] = seed_gap(
            out["data_stock"], growth["patients"], growth["physicians"], target - base_year
        )
        if target in values["patients"].index:
            ratio = values["physicians"][base_year] / values["patients"][base_year]
            out["data_observed_gap"] = float(
                ratio * values["patients"][target] - values["physicians"][target]
            )
    return out


def metrics(
    rates: pd.DataFrame,
    gaps: pd.DataFrame,
    model: str,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The growth section of ``reports/metrics.json``."""
    national = rates[
        (rates["geography"] == NATIONAL)
        & (rates["group"] == "total")
        & (rates["model"] == "log_linear")
    ].set_index("measure")
    out: dict[str, Any] = {
        "projection_model": model,
        "base_year": params["base_year"],
        "horizon_year": params["horizon_year"],
    }
    for measure in ("patients", "physicians"):
        if measure in national.index:
            row = national.loc[measure]
            out[f"{measure}_growth_rate"] = row["rate"]
            out[f"{measure}_growth_rate_ci_low"] = row["ci_low"]
            out[f"{measure}_growth_rate_ci_high"] = row["ci_high"]
    for row in gaps[gaps["geography"] == NATIONAL].itertuples():
        out[f"gap_{row.year}"] = row.gap
        out[f"gap_{row.year}_pi_low"] = row.pi_low
        out[f"gap_{row.year}_pi_high"] = row.pi_high
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def plot_index(
    index: pd.DataFrame, geographies: Sequence[str], groups: Sequence[str], base_year: int
):
    """Patients and physicians as an index (base year = 100), one panel per geography/group."""
    from pipeline.plotting import COLORS, danish_axis, panel_grid, year_axis

    panels = [(g, grp) for g in geographies for grp in groups]
    fig, axes = panel_grid(len(panels), 3, (4.2, 3.4), sharey=True)
    for ax, (geography, group) in zip(axes, panels, strict=True):
        for measure, color, marker in (
            ("patients", COLORS[0], "o"),
            ("physicians", COLORS[1], "s"),
        ):
            df = index[
                (index["geography"] == geography)
                & (index["group"] == group)
                & (index["measure"] == measure)
            ]
            ax.plot(
                df["year"],
                df["index"],
                color=color,
                marker=marker,
                linestyle="-" if measure == "patients" else "--",
                label=MEASURE_LABELS[measure],
            )
        ax.axhline(100, color="#555555", linewidth=0.8)
        title = geography if len(groups) == 1 else f"{geography}: {GROUP_LABELS[group]}"
        ax.set(title=title, xlabel="År")
        danish_axis(ax)
        year_axis(ax)
    axes[0].set_ylabel(f"Indeks ({base_year} = 100)")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return fig


def plot_projection(
    projection: pd.DataFrame,
    panels: Sequence[tuple[str, str, str]],
    reference: pd.DataFrame | None = None,
):
    """Observed values, the forecast and its 80 % and 95 % intervals (a fan chart).

    ``panels`` are (measure, geography, group). Published reference points for national patients
    are drawn where ``reference`` is given.
    """
    from pipeline.plotting import COLORS, danish_axis, panel_grid, year_axis

    fig, axes = panel_grid(len(panels), 2, (5.6, 3.8))
    for ax, (measure, geography, group) in zip(axes, panels, strict=True):
        df = projection[
            (projection["measure"] == measure)
            & (projection["geography"] == geography)
            & (projection["group"] == group)
        ]
        fc = df[df["forecast"].notna()]
        ax.fill_between(
            fc["year"],
            fc["lo95"],
            fc["hi95"],
            color=COLORS[0],
            alpha=0.15,
            linewidth=0,
            label="95 %-interval",
        )
        ax.fill_between(
            fc["year"],
            fc["lo80"],
            fc["hi80"],
            color=COLORS[0],
            alpha=0.30,
            linewidth=0,
            label="80 %-interval",
        )
        ax.plot(
            fc["year"],
            fc["forecast"],
            color=COLORS[0],
            linestyle="--",
            marker="",
            label="Fremskrivning",
        )
        ob = df[df["observed"].notna()]
        ax.plot(ob["year"], ob["observed"], color="black", marker="o", linestyle="-", label="Data")
        if reference is not None and measure == "patients" and geography == NATIONAL:
            ref = reference_points(reference, group)
            if len(ref):
                ax.scatter(
                    ref["year"],
                    ref["value"],
                    marker="D",
                    s=50,
                    facecolor="white",
                    edgecolor=COLORS[1],
                    linewidth=1.8,
                    zorder=5,
                    label="Publiceret tal",
                )
        ax.set(
            title=f"{MEASURE_LABELS[measure]}, {geography}"
            + ("" if group == "total" else f" ({GROUP_LABELS[group].lower()})"),
            xlabel="År",
            ylabel="Personer",
        )
        ax.set_ylim(bottom=0)
        danish_axis(ax)
        year_axis(ax)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def reference_points(reference: pd.DataFrame, group: str) -> pd.DataFrame:
    """Published national patient counts comparable to a patient series (for the charts)."""
    measure = {
        "total": "patients_regional_psychiatry",
        "child_adolescent": "patients_child_adolescent",
    }.get(group)
    ref = reference[(reference["measure"] == measure) & (reference["scope"] == "Denmark")]
    return pd.DataFrame(
        {
            "year": ref["year"].astype(int),
            "value": ref["value"].astype(float),
            "source": ref["source"],
        }
    )


def plot_gap(path: pd.DataFrame, geographies: Sequence[str]):
    """The gap over time with its 95 % interval, one panel per geography."""
    from pipeline.plotting import COLORS, danish_axis, panel_grid, year_axis

    fig, axes = panel_grid(len(geographies), 3, (4.2, 3.4))
    for ax, geography in zip(axes, geographies, strict=True):
        df = path[path["geography"] == geography]
        ax.fill_between(
            df["year"],
            df["pi_low"],
            df["pi_high"],
            color=COLORS[1],
            alpha=0.2,
            linewidth=0,
            label="95 %-interval",
        )
        ax.plot(df["year"], df["gap"], color=COLORS[1], marker="", label="Manglende læger")
        observed = df[df["observed"]]
        ax.plot(
            observed["year"],
            observed["gap"],
            color="black",
            marker="o",
            linestyle="",
            label="Ud fra data",
        )
        ax.axhline(0, color="#555555", linewidth=0.8)
        ax.set(title=geography, xlabel="År", ylabel="Læger")
        danish_axis(ax)
        year_axis(ax)
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_backtest(by_horizon: pd.DataFrame):
    """Forecast error and 95 % coverage by years ahead, one line per model."""
    import matplotlib.pyplot as plt

    from pipeline.plotting import danish_axis

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for model, df in by_horizon.groupby("model", sort=False):
        left.plot(df["horizon"], df["mape"] / 100, label=MODEL_LABELS[model])
        right.plot(df["horizon"], df["coverage95"], label=MODEL_LABELS[model])
    right.axhline(0.95, color="#555555", linewidth=0.8, linestyle=":")
    left.set(title="Gennemsnitlig fejl (MAPE)", xlabel="År frem", ylabel="Fejl")
    right.set(title="Andel inden for 95 %-intervallet", xlabel="År frem", ylabel="Andel")
    right.set_ylim(0, 1.02)
    for ax in (left, right):
        danish_axis(ax, percent=True, decimals=0)
        ax.set_xticks(sorted(by_horizon["horizon"].unique()))
    left.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Tables for display (Danish)
# --------------------------------------------------------------------------------------------
def rates_table(rates: pd.DataFrame, geography: str = NATIONAL) -> pd.DataFrame:
    """Growth rates of one geography: series, model, rate and 95 % interval."""
    df = rates[rates["geography"] == geography]
    return pd.DataFrame(
        {
            "Serie": [
                f"{MEASURE_LABELS[m]}, {GROUP_LABELS[g].lower()}"
                for m, g in zip(df["measure"], df["group"], strict=True)
            ],
            "Model": df["model"].map(MODEL_LABELS),
            "Vækst pr. år": [percent(r, 2) for r in df["rate"]],
            "95 %-interval": [
                interval(lo, hi, lambda v: percent(v, 2))
                for lo, hi in zip(df["ci_low"], df["ci_high"], strict=True)
            ],
        }
    )


def regional_rates_table(rates: pd.DataFrame, model: str = "log_linear") -> pd.DataFrame:
    """One model's growth of patients and physicians (totals) per geography."""
    df = rates[(rates["model"] == model) & (rates["group"] == "total")]
    rows = []
    for geography in GEOGRAPHIES:
        geo = df[df["geography"] == geography]
        if geo.empty:
            continue
        row = {"Område": geography}
        for measure, r in geo.set_index("measure").iterrows():
            row[f"{MEASURE_LABELS[measure]}: vækst pr. år"] = percent(r["rate"], 2)
            row[f"{MEASURE_LABELS[measure]}: 95 %-interval"] = interval(
                r["ci_low"], r["ci_high"], lambda v: percent(v, 2)
            )
        rows.append(row)
    return pd.DataFrame(rows)


def scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": scores["model"].map(MODEL_LABELS),
            "Gennemsnitlig fejl (MAPE)": [percent(v / 100) for v in scores["mape"]],
            "Inden for 80 %-interval": [percent(v) for v in scores["coverage80"]],
            "Inden for 95 %-interval": [percent(v) for v in scores["coverage95"]],
            "Antal prognoser": scores["forecasts"],
        }
    )


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Område": gaps["geography"].astype(str),
            "År": gaps["year"],
            "Læger nødvendige": [number(v) for v in gaps["needed"]],
            "Læger": [number(v) for v in gaps["supply"]],
            "Manglende læger": [number(v) for v in gaps["gap"]],
            "95 %-interval": [
                "(data)" if obs else interval(lo, hi)
                for lo, hi, obs in zip(
                    gaps["pi_low"], gaps["pi_high"], gaps["observed"], strict=True
                )
            ],
        }
    )


def seed_comparison_text(claim: dict[str, float], base_year: int) -> str:
    """The paper's claim next to what the same method and the data say, in Danish."""
    target, as_of = int(claim["target_year"]), int(claim["as_of_year"])
    verdict = "mere end" if claim["paper_gap"] > claim["paper_claim"] else "færre end"
    text = (
        f"Med udspillets egne tal – patienter {percent(claim['paper_patient_growth'])} og læger "
        f"{percent(claim['paper_physician_growth'])} om året fra {base_year} og en bestand på "
        f"{number(claim['paper_stock'])} speciallæger (det publicerede antal i 2020) – giver "
        f"metoden et underskud på {number(claim['paper_gap'])} læger i {target}, altså "
        f"{verdict} de {number(claim['paper_claim'])}, udspillet nævner."
    )
    if "data_method_gap" in claim:
        text += (
            f" I data var den gennemsnitlige vækst de sidste år op til {as_of} "
            f"{percent(claim['data_patient_growth'])} for patienter og "
            f"{percent(claim['data_physician_growth'])} for læger; med datas "
            f"{number(claim['data_stock'])} læger i {base_year} giver samme metode "
            f"{number(claim['data_method_gap'])} manglende læger i {target}."
        )
    if "data_observed_gap" in claim:
        text += (
            f" Målt direkte i data manglede der {number(claim['data_observed_gap'])} læger i "
            f"{target} for at have lige så mange patienter pr. læge som i {base_year}."
        )
    return text


def gap_text(gaps: pd.DataFrame, base_year: int, model: str) -> str:
    """The national gap in the target years, in Danish."""
    national = gaps[gaps["geography"] == NATIONAL]
    parts = []
    for row in national.itertuples():
        if row.observed:
            parts.append(f"{number(row.gap)} i {row.year} (målt i data)")
        else:
            parts.append(
                f"{number(row.gap)} i {row.year} "
                f"(95 %-interval {interval(row.pi_low, row.pi_high)})"
            )
    return (
        f"For at have lige så mange patienter pr. læge som i {base_year} mangler der på landsplan "
        f"{_join(parts)} læger. Fremskrivningen bygger på {MODEL_LABELS[model].lower()}."
    )
