"""From introduction post (I-stilling) to main specialist training (H-forløb): who continues.

Time runs from ``i_start``. Each doctor has one of three competing outcomes, or is censored at
``extract_date``:

1. an H-post in psychiatry or child & adolescent psychiatry (``h_psychiatry``, the success);
2. an H-post in another specialty (``h_other``);
3. leaving the data without an H-post (``exit``).

Cumulative incidence is estimated with Aalen-Johansen (statsmodels ``CumIncidenceRight``), the
determinants of an H-post in psychiatry with a cause-specific Cox model (``PHReg``, Breslow ties),
and, as a robustness check, a logistic model of conversion within the horizon among doctors
followed that long. Every table and curve meant for a page passes the disclosure rule here.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline import contract
from pipeline.disclosure import SUPPRESSED, suppress_counts
from pipeline.errors import ParamError
from pipeline.fmt import interval, number, percent
from pipeline.fmt import table as styled_table

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

log = logging.getLogger(__name__)

OUTCOMES = {1: "h_psychiatry", 2: "h_other", 3: "exit"}
OUTCOME_LABELS = {
    "h_psychiatry": "H-forløb i psykiatrien",
    "h_other": "H-forløb i et andet speciale",
    "exit": "Stoppet uden H-forløb",
}
PSYCHIATRY = ("psychiatry", "child_adolescent_psychiatry")
SPECIALTY_LABELS = {
    "psychiatry": "Psykiatri",
    "child_adolescent_psychiatry": "Børne- og ungdomspsykiatri",
}
TRACK_LABELS = {True: "Sammenhængende forløb", False: "Almindelig I-stilling"}
GROUPINGS = {
    "region": "Region",
    "track": "Forløb",
    "specialty": "Speciale",
    "cohort_period": "Startperiode",
}
DAYS_PER_YEAR = 365.25
PLOT_POINTS = 3000  # residuals drawn in the proportional-hazards figure
Z95 = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------
# Parameters and data
# --------------------------------------------------------------------------------------------
def check_params(params: dict[str, Any]) -> None:
    problems = []
    if not 0 < params["horizon_years"] <= 15:
        problems.append("params.yaml: retention.horizon_years: must be between 0 and 15 years")
    periods = params["cohort_periods"]
    if not periods or sorted(periods) != list(periods) or len(set(periods)) != len(periods):
        problems.append(
            "params.yaml: retention.cohort_periods: give the first year of each period in "
            "increasing order, e.g. [2010, 2015, 2020]"
        )
    if params["curve_max_years"] < params["horizon_years"]:
        problems.append("params.yaml: retention.curve_max_years: must be at least horizon_years")
    if problems:
        raise ParamError(problems)


def cohort_period_labels(periods: Sequence[int]) -> list[str]:
    labels = [f"{a}–{b - 1}" for a, b in pairwise(periods)]
    return [*labels, f"{periods[-1]}–"]


def prepare(
    trainees: pd.DataFrame, horizon_years: float, cohort_periods: Sequence[int]
) -> pd.DataFrame:
    """One row per I-post start: time to outcome in years, the outcome code and covariates.

    Columns added: ``time`` (years from ``i_start`` to the outcome or to ``extract_date``),
    ``event`` (0 censored, 1 H-post in psychiatry, 2 H-post elsewhere, 3 exit), ``outcome``,
    ``cohort`` (I-start year), ``cohort_period``, ``age`` (at I-start), ``female``, ``track``,
    ``completed_i`` (the I-post ended without an exit on or before its end), ``full_followup``
    (followed for the whole horizon) and ``h_within_horizon`` (an H-post in psychiatry within it).
    """
    t = trainees
    h_psych = t["h_start"].notna() & t["h_specialty"].isin(PSYCHIATRY)
    h_other = t["h_start"].notna() & ~t["h_specialty"].isin(PSYCHIATRY)
    exited = t["exit_date"].notna()
    event = np.select([h_psych, h_other, exited], [1, 2, 3], default=0)
    end = t["h_start"].where(t["h_start"].notna(), t["exit_date"]).fillna(t["extract_date"])
    days = (end - t["i_start"]).dt.days.to_numpy(dtype=float)
    # An outcome on the first day still happened after the start.
    time = np.maximum(days, 0.5) / DAYS_PER_YEAR
    cohort = t["i_start"].dt.year.to_numpy()
    labels = cohort_period_labels(cohort_periods)
    period_index = np.clip(np.searchsorted(cohort_periods, cohort, side="right") - 1, 0, None)
    followed = (t["extract_date"] - t["i_start"]).dt.days.to_numpy() / DAYS_PER_YEAR
    out = pd.DataFrame(
        {
            "time": time,
            "event": event,
            "outcome": pd.Categorical(
                [OUTCOMES.get(e, "censored") for e in event], [*OUTCOMES.values(), "censored"]
            ),
            "cohort": cohort,
            "cohort_period": pd.Categorical(np.array(labels)[period_index], labels, ordered=True),
            "region": pd.Categorical(t["region"].astype(str), contract.REGIONS, ordered=True),
            "specialty": pd.Categorical(
                t["specialty"].astype(str), contract.SPECIALTIES, ordered=True
            ),
            "track": t["combined_track"].to_numpy(dtype=bool),
            "combined_track": t["combined_track"].to_numpy(dtype=float),
            "foreign_graduate": t["foreign_graduate"].to_numpy(dtype=float),
            "female": (t["sex"].astype(str) == "F").to_numpy(dtype=float),
            "age": (t["i_start"].dt.year - t["birth_year"]).to_numpy(dtype=float),
            "completed_i": (
                t["i_end"].notna() & (t["exit_date"].isna() | (t["exit_date"] > t["i_end"]))
            ).to_numpy(),
            "full_followup": followed >= horizon_years,
        }
    )
    out["h_within_horizon"] = (out["event"] == 1) & (out["time"] <= horizon_years)
    return out


def group_labels(prepared: pd.DataFrame, by: str) -> pd.Series:
    """Danish labels of a grouping, in a fixed order."""
    if by == "track":
        return pd.Series(
            pd.Categorical(prepared["track"].map(TRACK_LABELS), list(TRACK_LABELS.values())[::-1]),
            index=prepared.index,
        )
    if by == "specialty":
        return (
            prepared["specialty"]
            .map(SPECIALTY_LABELS)
            .astype(pd.CategoricalDtype(list(SPECIALTY_LABELS.values()), ordered=True))
        )
    return prepared[by]


# --------------------------------------------------------------------------------------------
# The funnel
# --------------------------------------------------------------------------------------------
def wilson(count: np.ndarray, nobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95 % interval of a share (statsmodels), missing where there is no one."""
    from statsmodels.stats.proportion import proportion_confint

    count, nobs = np.asarray(count, dtype=float), np.asarray(nobs, dtype=float)
    safe = np.where(nobs > 0, nobs, 1)
    low, high = proportion_confint(count, safe, alpha=0.05, method="wilson")
    return np.where(nobs > 0, low, np.nan), np.where(nobs > 0, high, np.nan)


def funnel(prepared: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """I-starts, completed I-posts and H-posts in psychiatry within the horizon, per group.

    The share within the horizon counts only doctors followed for the whole horizon.
    """
    by = list(by)
    frame = prepared.assign(**{b: group_labels(prepared, b) for b in by if b in GROUPINGS})
    grouped = frame.groupby(by, observed=True, sort=True) if by else [((), frame)]
    rows = []
    for keys, df in grouped:
        keys = keys if isinstance(keys, tuple) else (keys,)
        followed = df[df["full_followup"]]
        rows.append(
            {
                **dict(zip(by, keys, strict=True)),
                "i_starts": len(df),
                "completed_i": int(df["completed_i"].sum()),
                "followed": len(followed),
                "h_within_horizon": int(followed["h_within_horizon"].sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["share"] = np.where(
        out["followed"] > 0, out["h_within_horizon"] / out["followed"].clip(lower=1), np.nan
    )
    out["share_low"], out["share_high"] = wilson(out["h_within_horizon"], out["followed"])
    return out


def publishable_funnel(table: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The funnel with small counts hidden, and the shares that would reveal them.

    A share is hidden when the doctors who converted, or those who did not, are fewer than
    ``min_cell``: with the denominator shown, the share would give their number away.
    """
    not_converted = table["followed"] - table["h_within_horizon"]
    small = lambda v: (v > 0) & (v < min_cell)  # noqa: E731
    # A small "followed" always has a small part, so these two cover it.
    reveals = small(table["h_within_horizon"]) | small(not_converted)
    out = suppress_counts(
        table,
        ["i_starts", "completed_i", "followed", "h_within_horizon"],
        min_cell,
        complementary=True,
    )
    for col in ("share", "share_low", "share_high"):
        out[col] = out[col].where(~reveals)
    return out


# --------------------------------------------------------------------------------------------
# Cumulative incidence (Aalen-Johansen)
# --------------------------------------------------------------------------------------------
def cumulative_incidence(
    prepared: pd.DataFrame, by: str | None = None, min_cell: int = 1
) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each outcome, overall or per group.

    A group with fewer than ``min_cell`` doctors gets no curve, and each curve stops where
    fewer than ``min_cell`` doctors remain at risk. Intervals are pointwise 95 % on the
    log(-log) scale.

    Returns
    -------
    DataFrame
        Long: (``group``,) ``outcome``, ``time``, ``cif``, ``ci_low``, ``ci_high``, ``at_risk``;
        each curve starts at time 0 with incidence 0.
    """
    log.info("retention: cumulative incidence %s", f"by {by}" if by else "overall")
    frames = []
    for key, df in _split(prepared, by):
        if len(df) < max(min_cell, 1):
            continue
        time, event = df["time"].to_numpy(), df["event"].to_numpy()
        order = np.sort(time)
        if (event > 0).any():
            fit = _aalen_johansen(time, event)
            times = np.asarray(fit.times)
        else:
            fit, times = None, np.unique(time)
        at_risk = len(order) - np.searchsorted(order, times, side="left")
        for code, outcome in OUTCOMES.items():
            if fit is not None and code <= len(fit.cinc):
                cif, se = np.asarray(fit.cinc[code - 1]), np.asarray(fit.cinc_se[code - 1])
            else:
                cif, se = np.zeros(len(times)), np.zeros(len(times))
            low, high = _loglog_interval(cif, se)
            curve = pd.DataFrame(
                {
                    "outcome": outcome,
                    "time": times,
                    "cif": cif,
                    "ci_low": low,
                    "ci_high": high,
                    "at_risk": at_risk,
                }
            )
            curve = curve[curve["at_risk"] >= max(min_cell, 1)]
            start = pd.DataFrame(
                {
                    "outcome": [outcome],
                    "time": [0.0],
                    "cif": [0.0],
                    "ci_low": [0.0],
                    "ci_high": [0.0],
                    "at_risk": [len(df)],
                }
            )
            curve = pd.concat([start, curve], ignore_index=True)
            if by is not None:
                curve.insert(0, "group", key)
            frames.append(curve)
    columns = ([] if by is None else ["group"]) + [
        "outcome",
        "time",
        "cif",
        "ci_low",
        "ci_high",
        "at_risk",
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _split(prepared: pd.DataFrame, by: str | None) -> list[tuple[Any, pd.DataFrame]]:
    """``[(None, everyone)]``, or ``(label, doctors)`` per group of ``by``."""
    if by is None:
        return [(None, prepared)]
    labelled = prepared.assign(_g=group_labels(prepared, by))
    return list(labelled.groupby("_g", observed=True, sort=True))


def _aalen_johansen(time: np.ndarray, event: np.ndarray) -> Any:
    from statsmodels.duration.survfunc import CumIncidenceRight

    with warnings.catch_warnings():
        # The variance formula divides by zero after the last time anyone is at risk.
        warnings.simplefilter("ignore", RuntimeWarning)
        return CumIncidenceRight(time, event)


def _loglog_interval(cif: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise 95 % interval for an incidence on the log(-log) scale, which stays in (0, 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = (cif > 0) & (cif < 1) & np.isfinite(se)
        scale = np.where(inside, se / (cif * np.log(np.where(inside, cif, 0.5))), 0.0)
        low = np.where(inside, cif ** np.exp(-Z95 * scale), cif)
        high = np.where(inside, cif ** np.exp(Z95 * scale), cif)
    return low, high


def incidence_at(
    prepared: pd.DataFrame,
    horizon: float,
    by: str | None = None,
    min_cell: int = 1,
    outcome: str = "h_psychiatry",
) -> pd.DataFrame:
    """Cumulative incidence of ``outcome`` at ``horizon`` years with its 95 % interval.

    Computed from the data rather than from the displayed curves, which stop where few remain
    at risk: a group's value at the horizon describes the whole group. Groups with fewer than
    ``min_cell`` doctors get no value, nor do groups whose follow-up ends (censored) before
    the horizon, where the estimator is undefined.
    """
    code = next(k for k, v in OUTCOMES.items() if v == outcome)
    rows = []
    for key, df in _split(prepared, by):
        row = {"cif": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n": len(df)}
        last = df["time"].max() if len(df) else 0.0
        ends_in_event = len(df) and (df.loc[df["time"] == last, "event"] > 0).all()
        if len(df) >= max(min_cell, 1) and (last >= horizon or ends_in_event):
            if not (df["event"] == code).any():
                row.update(cif=0.0, ci_low=0.0, ci_high=0.0)
            else:
                fit = _aalen_johansen(df["time"].to_numpy(), df["event"].to_numpy())
                i = np.searchsorted(fit.times, horizon, side="right") - 1
                cif, se = fit.cinc[code - 1][i], fit.cinc_se[code - 1][i]
                low, high = _loglog_interval(np.array([cif]), np.array([se]))
                row.update(cif=float(cif), ci_low=float(low[0]), ci_high=float(high[0]))
        rows.append(row if by is None else {"group": key, **row})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Determinants: cause-specific Cox model and a logistic check
# --------------------------------------------------------------------------------------------
COVARIATE_LABELS = {
    "combined_track": "Sammenhængende forløb (ja vs. nej)",
    "foreign_graduate": "Uddannet i udlandet (ja vs. nej)",
    "female": "Kvinde (vs. mand)",
    "age": "Alder ved start (pr. år)",
}


@dataclass
class ModelResult:
    """Ratios with 95 % intervals, and the reasons terms could not be estimated."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    ph_test: pd.DataFrame | None = None
    schoenfeld: pd.DataFrame | None = None
    events: int = 0

    def ratio(self, term: str) -> tuple[float, float, float] | None:
        row = self.table[self.table["term"] == term]
        if row.empty or not row["estimable"].iloc[0]:
            return None
        r = row.iloc[0]
        return float(r["ratio"]), float(r["ci_low"]), float(r["ci_high"])


def design(prepared: pd.DataFrame, min_cell: int) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Covariates of the models: indicators, age, and treatment-coded region and cohort period.

    Terms without variation, and levels with fewer than ``min_cell`` doctors (which would
    publish a ratio about them), are left out with a note.
    """
    notes: list[str] = []
    columns: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    for name in ("combined_track", "foreign_graduate", "female", "age"):
        values = prepared[name]
        if values.nunique() < 2:
            notes.append(_constant_note(name, values.iloc[0] if len(values) else None))
            continue
        if name != "age":
            smallest = min((values == 1).sum(), (values == 0).sum())
            if smallest < min_cell:
                notes.append(
                    f"{COVARIATE_LABELS[name]} er udeladt: færre end {min_cell} "
                    "personer i en af grupperne."
                )
                continue
        columns[name] = values.astype(float)
        labels[name] = COVARIATE_LABELS[name]
    for factor, title in (("region", "Region"), ("cohort_period", "Startperiode")):
        present = [c for c in prepared[factor].cat.categories if (prepared[factor] == c).any()]
        if len(present) < 2:
            notes.append(f"{title} er udeladt: alle tilhører {present[0] if present else 'ingen'}.")
            continue
        counts = prepared[factor].value_counts()
        # The largest group is the reference: the most precise comparisons, and never a small one.
        reference = max(present, key=lambda level: counts[level])
        for level in present:
            if level == reference:
                continue
            if counts[level] < min_cell:
                notes.append(
                    f"{title} {level} indgår i referencen ({reference}): færre end "
                    f"{min_cell} personer."
                )
                continue
            key = f"{factor}={level}"
            columns[key] = (prepared[factor] == level).astype(float)
            labels[key] = f"{title}: {level} (vs. {reference})"
    return pd.DataFrame(columns, index=prepared.index), labels, notes


def _constant_note(name: str, value: Any) -> str:
    if name == "combined_track":
        who = "alle" if value == 1 else "ingen"
        return (
            f"Effekten af sammenhængende forløb kan ikke estimeres: {who} læger i data er på "
            "et sammenhængende forløb, så der er ingen at sammenligne med."
        )
    return f"{COVARIATE_LABELS[name]} er udeladt: den varierer ikke i data."


def fit_cox(prepared: pd.DataFrame, min_cell: int = 1) -> ModelResult:
    """Cause-specific Cox model for an H-post in psychiatry (other outcomes censor).

    Hazard ratios with 95 % Wald intervals, and the Grambsch-Therneau test of proportional
    hazards on scaled Schoenfeld residuals against the rank of event times.
    """
    from statsmodels.duration.hazard_regression import PHReg

    x, labels, notes = design(prepared, min_cell)
    status = (prepared["event"] == 1).to_numpy(dtype=int)
    events = int(status.sum())
    if events == 0:
        return ModelResult(
            _empty_table(),
            [
                *notes,
                "Ingen læger er startet i H-forløb i psykiatrien i "
                "data, så modellen kan ikke estimeres.",
            ],
        )
    if x.shape[1] == 0:
        return ModelResult(
            _empty_table(), [*notes, "Ingen forklarende variable varierer i data."], events=events
        )
    log.info("retention: Cox model, %s doctors, %s covariates", f"{len(x):,}", x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = PHReg(prepared["time"].to_numpy(), x.to_numpy(), status=status, ties="breslow").fit()
    coef, se = np.asarray(res.params), np.asarray(res.bse)
    table = _ratio_table(list(x.columns), labels, coef, se, x, prepared["event"] == 1)
    notes += _inestimable_notes(table)
    ph, sch = _ph_test(res, prepared["time"].to_numpy(), status, list(x.columns), labels)
    return ModelResult(table, notes, ph, sch, events)


def _ratio_table(terms, labels, coef, se, x, success) -> pd.DataFrame:
    finite = np.isfinite(coef) & np.isfinite(se) & (se > 0)
    events_with = [
        int(success[x[t] == 1].sum()) if t != "age" else int(success.sum()) for t in terms
    ]
    events_without = [
        int(success[x[t] == 0].sum()) if t != "age" else int(success.sum()) for t in terms
    ]
    # No events on one side of an indicator: the estimate runs off to infinity (separation).
    separated = np.array(
        [w == 0 or wo == 0 for w, wo in zip(events_with, events_without, strict=True)]
    )
    estimable = finite & ~separated & (np.abs(coef) < 15)
    return pd.DataFrame(
        {
            "term": terms,
            "label": [labels[t] for t in terms],
            "coef": coef,
            "se": se,
            "ratio": np.where(estimable, np.exp(coef), np.nan),
            "ci_low": np.where(estimable, np.exp(coef - Z95 * se), np.nan),
            "ci_high": np.where(estimable, np.exp(coef + Z95 * se), np.nan),
            "p_value": np.where(
                estimable, 2 * stats.norm.sf(np.abs(coef / np.where(se > 0, se, 1))), np.nan
            ),
            "estimable": estimable,
        }
    )


def _inestimable_notes(table: pd.DataFrame) -> list[str]:
    return [
        f"{row.label} kan ikke estimeres: ingen hændelser i den ene gruppe."
        for row in table.itertuples()
        if not row.estimable
    ]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "term",
            "label",
            "coef",
            "se",
            "ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "estimable",
        ]
    )


def _ph_test(res, time, status, terms, labels) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grambsch-Therneau test: correlation of scaled Schoenfeld residuals with rank(time)."""
    resid = np.asarray(res.schoenfeld_residuals)
    rows = np.flatnonzero((status == 1) & np.isfinite(resid).all(axis=1))
    r, t = resid[rows], time[rows]
    d = len(rows)
    cov = np.asarray(res.cov_params())
    g = stats.rankdata(t)
    g = g - g.mean()
    u = g @ r  # one entry per term
    denom = (g**2).sum()
    vu = cov @ u
    chi2 = d * vu**2 / (np.diag(cov) * denom)
    global_chi2 = d * u @ cov @ u / denom
    table = pd.DataFrame(
        {
            "term": [*terms, "global"],
            "label": [*(labels[t] for t in terms), "Samlet test"],
            "chi2": [*chi2, global_chi2],
            "df": [*([1] * len(terms)), len(terms)],
        }
    )
    table["p_value"] = stats.chi2.sf(table["chi2"], table["df"])
    scaled = np.asarray(res.params) + d * r @ cov
    schoenfeld = pd.DataFrame(scaled, columns=terms).assign(time=t)
    return table, schoenfeld


def fit_logistic(prepared: pd.DataFrame, min_cell: int = 1) -> ModelResult:
    """Odds ratios of an H-post in psychiatry within the horizon, among doctors followed that
    long (a robustness check on the Cox model that needs no proportional hazards)."""
    import statsmodels.api as sm

    followed = prepared[prepared["full_followup"]]
    y = followed["h_within_horizon"].to_numpy(dtype=float)
    if len(followed) == 0 or y.min() == y.max():
        what = "ingen" if len(followed) == 0 else ("alle" if y.mean() == 1 else "ingen af")
        return ModelResult(
            _empty_table(),
            [
                f"Den logistiske model kan ikke estimeres: {what} de fuldt "
                "fulgte læger skiftede til H-forløb i psykiatrien."
            ],
        )
    x, labels, notes = design(followed, min_cell)
    log.info("retention: logistic model, %s fully followed doctors", f"{len(x):,}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(
            y, sm.add_constant(x.to_numpy(), has_constant="add"), family=sm.families.Binomial()
        ).fit()
    coef, se = np.asarray(res.params)[1:], np.asarray(res.bse)[1:]
    table = _ratio_table(list(x.columns), labels, coef, se, x, followed["h_within_horizon"])
    return ModelResult(table, notes + _inestimable_notes(table), events=int(y.sum()))


# --------------------------------------------------------------------------------------------
# Training posts
# --------------------------------------------------------------------------------------------
def fill_rates(
    posts: pd.DataFrame, by: Sequence[str] = ("year", "post_type", "specialty")
) -> pd.DataFrame:
    """Posts advertised and filled, the fill rate and its Wilson 95 % interval, per group."""
    df = posts.assign(**{c: posts[c].astype(str) for c in ("region", "specialty", "post_type")})
    out = df.groupby(list(by), as_index=False, sort=True)[["advertised", "filled"]].sum()
    out["fill_rate"] = np.where(
        out["advertised"] > 0, out["filled"] / out["advertised"].clip(lower=1), np.nan
    )
    out["ci_low"], out["ci_high"] = wilson(out["filled"], out["advertised"])
    return out


def fill_rate_trend(posts: pd.DataFrame) -> pd.DataFrame:
    """Change in the odds of a post being filled per year (binomial GLM with region effects),
    per post type and specialty."""
    import statsmodels.api as sm

    rows = []
    df = posts.assign(**{c: posts[c].astype(str) for c in ("region", "specialty", "post_type")})
    for (post_type, specialty), g in df.groupby(["post_type", "specialty"], sort=True):
        g = g[g["advertised"] > 0]
        regions = pd.get_dummies(g["region"], drop_first=True, dtype=float)
        x = sm.add_constant(
            pd.concat([(g["year"] - g["year"].min()).astype(float), regions], axis=1)
        )
        y = np.column_stack([g["filled"], g["advertised"] - g["filled"]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sm.GLM(y, x.to_numpy(dtype=float), family=sm.families.Binomial()).fit(scale="X2")
        b, s = res.params[1], res.bse[1]
        rows.append(
            {
                "post_type": post_type,
                "specialty": specialty,
                "odds_ratio_per_year": math.exp(b),
                "ci_low": math.exp(b - Z95 * s),
                "ci_high": math.exp(b + Z95 * s),
                "p_value": 2 * stats.norm.sf(abs(b / s)),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------
def metrics(
    prepared: pd.DataFrame,
    overall_at: pd.DataFrame,
    regional_at: pd.DataFrame,
    cox: ModelResult,
    horizon: float,
) -> dict[str, Any]:
    out: dict[str, Any] = {"n_trainees": len(prepared), "horizon_years": horizon}
    overall = overall_at.iloc[0] if len(overall_at) else None
    out.update(_incidence_metrics("cif_h_at_horizon", overall))
    hr = cox.ratio("combined_track")
    out["hr_combined_track"], out["hr_combined_track_ci_low"], out["hr_combined_track_ci_high"] = (
        hr if hr is not None else (None, None, None)
    )
    by_region = regional_at.set_index("group") if len(regional_at) else pd.DataFrame()
    for region in contract.REGIONS:
        # A region without doctors has no row; a region too small to publish has NaN.
        row = by_region.loc[region] if region in by_region.index else None
        out.update(_incidence_metrics(f"cif_h_at_horizon_{_slug(region)}", row))
    return out


def _incidence_metrics(key: str, row: pd.Series | None) -> dict[str, float | None]:
    columns = {key: "cif", f"{key}_ci_low": "ci_low", f"{key}_ci_high": "ci_high"}
    return {name: None if row is None else _none_if_nan(row[c]) for name, c in columns.items()}


def _none_if_nan(value: float) -> float | None:
    return (
        None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


def _slug(text: str) -> str:
    return text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def plot_cif(
    curves: pd.DataFrame,
    horizon: float,
    max_years: float,
    outcomes: Sequence[str] = tuple(OUTCOMES.values()),
):
    """Cumulative incidence curves with 95 % bands: one panel per group (or one panel)."""
    from pipeline.plotting import COLORS, LINESTYLES, danish_axis, panel_grid

    groups = list(curves["group"].drop_duplicates()) if "group" in curves else [None]
    fig, axes = panel_grid(len(groups), 3, (4.4, 3.5), sharey=True)
    for ax, group in zip(axes, groups, strict=True):
        df = curves if group is None else curves[curves["group"] == group]
        for i, outcome in enumerate(outcomes):
            c = df[(df["outcome"] == outcome) & (df["time"] <= max_years)]
            ax.fill_between(
                c["time"],
                c["ci_low"],
                c["ci_high"],
                step="post",
                color=COLORS[i],
                alpha=0.15,
                linewidth=0,
            )
            ax.step(
                c["time"],
                c["cif"],
                where="post",
                color=COLORS[i],
                linestyle=LINESTYLES[i],
                marker="",
                label=OUTCOME_LABELS[outcome],
            )
        ax.axvline(horizon, color="#555555", linewidth=0.8, linestyle=":")
        ax.set(
            title="Alle" if group is None else str(group),
            xlabel="År siden start i I-stilling",
            xlim=(0, max_years),
            ylim=(0, 1),
        )
        danish_axis(ax, percent=True, decimals=0)
    axes[0].set_ylabel("Kumuleret andel")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_forest(table: pd.DataFrame, title: str, xlabel: str = "Hazard ratio (log-skala)"):
    """Ratios with 95 % intervals on a log scale; reference line at 1."""
    import matplotlib.pyplot as plt

    from pipeline.plotting import COLORS

    df = table[table["estimable"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(df), 2) + 1.2))
    y = np.arange(len(df))
    ax.errorbar(
        df["ratio"],
        y,
        xerr=[df["ratio"] - df["ci_low"], df["ci_high"] - df["ratio"]],
        fmt="s",
        color=COLORS[0],
        ecolor=COLORS[0],
        capsize=3,
    )
    ax.axvline(1, color="#555555", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, df["label"])
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ticks = [0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20]
    low, high = df["ci_low"].min(), df["ci_high"].max()
    ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if low / 1.3 <= t <= high * 1.3]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 2 if v < 1 else 1)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(title=title, xlabel=xlabel)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def plot_schoenfeld(schoenfeld: pd.DataFrame, term: str, label: str):
    """Scaled Schoenfeld residuals of one term against time, with a lowess smoother: a flat line
    means the hazard ratio is constant over time."""
    import matplotlib.pyplot as plt
    from statsmodels.nonparametric.smoothers_lowess import lowess

    from pipeline.plotting import COLORS

    # The picture needs a few thousand points, not every event of a national register (the
    # test in the table above uses all of them); the sample is seeded.
    if len(schoenfeld) > PLOT_POINTS:
        schoenfeld = schoenfeld.sample(PLOT_POINTS, random_state=0).sort_values("time")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.scatter(schoenfeld["time"], schoenfeld[term], s=8, color=COLORS[2], alpha=0.5, marker="o")
    smooth = lowess(schoenfeld[term], schoenfeld["time"], frac=0.5)
    ax.plot(smooth[:, 0], smooth[:, 1], color=COLORS[0], marker="", label="Udglattet")
    ax.axhline(
        schoenfeld[term].mean(), color=COLORS[1], linestyle="--", marker="", label="Konstant effekt"
    )
    ax.set(
        title=f"Skalerede Schoenfeld-residualer: {label}",
        xlabel="År siden start i I-stilling",
        ylabel="Log hazard ratio",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_fill_rates(rates: pd.DataFrame):
    """National fill rate of I- and H-posts per year and specialty, with 95 % intervals."""
    import matplotlib.pyplot as plt

    from pipeline.plotting import COLORS, LINESTYLES, MARKERS, danish_axis, year_axis

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, post_type in zip(axes, ("I", "H"), strict=True):
        for i, specialty in enumerate(contract.SPECIALTIES):
            df = rates[(rates["post_type"] == post_type) & (rates["specialty"] == specialty)]
            ax.fill_between(
                df["year"], df["ci_low"], df["ci_high"], color=COLORS[i], alpha=0.15, linewidth=0
            )
            ax.plot(
                df["year"],
                df["fill_rate"],
                color=COLORS[i],
                marker=MARKERS[i],
                linestyle=LINESTYLES[i],
                label=SPECIALTY_LABELS[specialty],
            )
        ax.set(title=f"{post_type}-stillinger: andel besat", xlabel="År", ylim=(0, 1.02))
        danish_axis(ax, percent=True, decimals=0)
        year_axis(ax)
    axes[0].set_ylabel("Andel besat")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_funnel(table: pd.DataFrame):
    """Share of fully followed doctors in an H-post in psychiatry within the horizon, per cohort."""
    import matplotlib.pyplot as plt

    from pipeline.plotting import COLORS, danish_axis, year_axis

    df = table[pd.to_numeric(table["share"], errors="coerce").notna()]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.fill_between(
        df["cohort"],
        df["share_low"],
        df["share_high"],
        color=COLORS[0],
        alpha=0.2,
        linewidth=0,
        label="95 %-interval",
    )
    ax.plot(df["cohort"], df["share"], color=COLORS[0], label="Andel i H-forløb i psykiatrien")
    ax.set(
        title="Andel i H-forløb i psykiatrien inden for horisonten, efter startår",
        xlabel="Startår i I-stilling",
        ylabel="Andel",
        ylim=(0, 1),
    )
    danish_axis(ax, percent=True, decimals=0)
    year_axis(ax)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# Tables for display (Danish)
# --------------------------------------------------------------------------------------------
FUNNEL_COLUMNS = {
    "i_starts": "Startet i I-stilling",
    "completed_i": "Afsluttet I-stilling",
    "followed": "Fulgt hele horisonten",
    "h_within_horizon": "H-forløb i psykiatrien inden for horisonten",
}


def funnel_table(table: pd.DataFrame, groups: dict[str, str] | None = None) -> Styler:
    """The funnel for display; ``groups`` maps group columns to their Danish headings. The
    count columns are marked for the report stage's disclosure check."""
    out = pd.DataFrame(index=table.index)
    for column, title in (groups or {}).items():
        out[title] = table[column]  # already Danish labels (funnel uses group_labels)
    for column, title in FUNNEL_COLUMNS.items():
        out[title] = [number(v) for v in table[column]]  # suppressed cells are text already
    out["Andel"] = [percent(v) for v in table["share"]]
    out["95 %-interval"] = [
        interval(lo, hi, percent)
        for lo, hi in zip(table["share_low"], table["share_high"], strict=True)
    ]
    return styled_table(out.reset_index(drop=True), counts=list(FUNNEL_COLUMNS.values()))


def incidence_table(at: pd.DataFrame, title: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            title: at["group"].astype(str) if "group" in at else ["Alle"] * len(at),
            "Kumuleret andel i H-forløb i psykiatrien": [percent(v) for v in at["cif"]],
            "95 %-interval": [
                interval(lo, hi, percent)
                for lo, hi in zip(at["ci_low"], at["ci_high"], strict=True)
            ],
        }
    )


def ratio_table(result: ModelResult, ratio_name: str) -> pd.DataFrame:
    t = result.table
    return pd.DataFrame(
        {
            "Forklarende variabel": t["label"],
            ratio_name: [
                "–" if not e else number(r, 2)
                for r, e in zip(t["ratio"], t["estimable"], strict=True)
            ],
            "95 %-interval": [
                interval(lo, hi, _ratio) if e else "kan ikke estimeres"
                for lo, hi, e in zip(t["ci_low"], t["ci_high"], t["estimable"], strict=True)
            ],
            "p-værdi": [
                "–" if not e else number(p, 3)
                for p, e in zip(t["p_value"], t["estimable"], strict=True)
            ],
        }
    )


def ph_table(ph: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Forklarende variabel": ph["label"],
            "Chi²": [number(v, 2) for v in ph["chi2"]],
            "Frihedsgrader": ph["df"],
            "p-værdi": [p_value(v) for v in ph["p_value"]],
        }
    )


def fill_rate_table(rates: pd.DataFrame, min_cell: int) -> Styler:
    """Fill rates for display, small numbers of filled posts hidden and marked as counts."""
    shown = suppress_counts(
        rates, ["filled"], min_cell, dependent=["fill_rate", "ci_low", "ci_high"]
    )
    out = pd.DataFrame(
        {
            "Region": shown["region"],
            "Stilling": shown["post_type"] + "-stilling",
            "Speciale": shown["specialty"].map(SPECIALTY_LABELS),
            "Opslået": [number(v) for v in shown["advertised"]],
            "Besat": [number(v) for v in shown["filled"]],
            "Andel besat": [percent(v) for v in shown["fill_rate"]],
            "95 %-interval": [
                interval(lo, hi, percent)
                for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)
            ],
        }
    )
    return styled_table(out, counts=["Besat"])


def trend_table(trend: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Stilling": trend["post_type"] + "-stilling",
            "Speciale": trend["specialty"].map(SPECIALTY_LABELS),
            "Odds for besættelse, ændring pr. år": [
                number(v, 3) for v in trend["odds_ratio_per_year"]
            ],
            "95 %-interval": [
                interval(lo, hi, lambda v: number(v, 3))
                for lo, hi in zip(trend["ci_low"], trend["ci_high"], strict=True)
            ],
            "p-værdi": [p_value(p) for p in trend["p_value"]],
        }
    )


# --------------------------------------------------------------------------------------------
# Narrative (Danish)
# --------------------------------------------------------------------------------------------
def _count(value: int, min_cell: int) -> str:
    return SUPPRESSED.format(min_cell=min_cell) if 0 < value < min_cell else number(value)


def _ratio(value: float) -> str:
    return number(value, 2)


def p_value(p: float) -> str:
    return "<0,001" if p < 0.001 else number(p, 3)


def data_text(prepared: pd.DataFrame, horizon: float, min_cell: int) -> str:
    """What the data hold: doctors, cohorts, follow-up and outcomes."""
    if len(prepared) == 0:
        return "Data indeholder ingen læger i introduktionsstilling."
    counts = prepared["outcome"].value_counts()
    return (
        f"Data omfatter {_count(len(prepared), min_cell)} læger, der begyndte i I-stilling i "
        f"{prepared['cohort'].min()}–{prepared['cohort'].max()}; "
        f"{_count(int(prepared['full_followup'].sum()), min_cell)} af dem er fulgt mindst "
        f"{number(horizon)} år. Første udfald: "
        f"{_count(int(counts.get('h_psychiatry', 0)), min_cell)} H-forløb i psykiatrien, "
        f"{_count(int(counts.get('h_other', 0)), min_cell)} H-forløb i et andet speciale og "
        f"{_count(int(counts.get('exit', 0)), min_cell)} stoppet uden H-forløb; "
        f"{_count(int(counts.get('censored', 0)), min_cell)} har endnu ikke haft et udfald."
    )


def notes_text(notes: Sequence[str]) -> str:
    """Why terms of a model are missing, as a list (empty when nothing is missing)."""
    return "\n".join(f"* {note}" for note in notes)


def ph_text(ph: pd.DataFrame) -> str:
    terms = ph[ph["term"] != "global"]
    overall = ph[ph["term"] == "global"].iloc[0]
    flagged = terms[terms["p_value"] < 0.05]
    text = f"Den samlede test giver p = {number(overall['p_value'], 3)}. "
    if flagged.empty:
        return text + (
            "Ingen af de enkelte variable viser tegn på, at effekten ændrer sig over "
            "tiden (alle p ≥ 0,05), så antagelsen om konstante hazard ratioer holder."
        )
    names = ", ".join(flagged["label"])
    return text + (
        f"For {names} er p < 0,05: effekten ser ud til at ændre sig over tiden, så "
        "hazard ratioen er et gennemsnit over forløbet og bør læses sammen med den "
        "logistiske model."
    )


def models_text(cox: ModelResult, logistic: ModelResult) -> str:
    """Does the logistic check agree with the Cox model on the combined track?"""
    hr, odds = cox.ratio("combined_track"), logistic.ratio("combined_track")
    if hr is None:
        return (
            "Effekten af sammenhængende forløb kan ikke estimeres med disse data (se "
            "bemærkningerne ovenfor)."
        )
    text = (
        f"Sammenhængende forløb: hazard ratio {number(hr[0], 2)} (95 %-interval "
        f"{interval(hr[1], hr[2], _ratio)})."
    )
    if odds is None:
        return text + " Den logistiske model kan ikke estimere effekten."
    same = (hr[0] > 1) == (odds[0] > 1)
    return text + (
        f" Den logistiske model giver odds ratio {number(odds[0], 2)} "
        f"({interval(odds[1], odds[2], _ratio)}); "
        + (
            "de to modeller peger i samme retning."
            if same
            else "de to modeller peger i hver sin retning, så resultatet er usikkert."
        )
    )
