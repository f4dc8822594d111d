"""From introduction post (I-stilling) to main specialist training (H-forløb): who continues.

Time runs from ``i_start``. Each doctor has one of three competing outcomes, or is censored at
``extract_date``:

1. an H-post in psychiatry or child & adolescent psychiatry (``h_psychiatry``, the success);
2. an H-post in another specialty (``h_other``);
3. leaving the data without an H-post (``exit``).

Cumulative incidence is estimated with Aalen-Johansen (statsmodels ``CumIncidenceRight``), the
determinants of an H-post in psychiatry with a cause-specific Cox model (``retention.cox``, a
vectorised fit with Efron's method for the many tied start dates, checked against statsmodels'
``PHReg`` and lifelines in the tests), and, as a robustness check, a logistic model of conversion
within the horizon among doctors followed that long. Tables carry codes (``track`` is
``"regular"`` or ``"combined"``); labels are applied where they are shown
(``pipeline.analysis.retention.tables``).

statsmodels is imported inside the functions that fit: it takes seconds to import.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.analysis.retention.cox import CoxFit, fit_cox_efron
from pipeline.data import contract
from pipeline.data.definitions import (
    OUTCOMES,
    converted_within,
    followed_years,
    outcome_events,
)
from pipeline.publish.audit import Cell
from pipeline.publish.disclosure import LinkedTables, mask_dependent, protect_table

log = logging.getLogger(__name__)

GROUPINGS = ("region", "track", "specialty", "cohort_period")
# The trainees' columns the stage reads: never the person id.
TRAINEE_COLUMNS = (
    "sex", "birth_year", "region", "specialty", "i_start", "i_end", "combined_track",
    "foreign_graduate", "h_start", "h_specialty", "exit_date", "extract_date",
)  # fmt: skip
TRACKS = ("regular", "combined")  # codes of the track column: regular I-post, combined I+H
Z95 = stats.norm.ppf(0.975)


# --------------------------------------------------------------------------------------------
# Parameters and data
# --------------------------------------------------------------------------------------------


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
    event, time = outcome_events(t)
    cohort = t["i_start"].dt.year.to_numpy()
    labels = cohort_period_labels(cohort_periods)
    period_index = np.clip(np.searchsorted(cohort_periods, cohort, side="right") - 1, 0, None)
    followed = followed_years(t)
    # Categoricals built from codes, not from a million strings (a second of a register's run).
    outcome_codes = np.where(event > 0, event - 1, len(OUTCOMES))  # censored last
    out = pd.DataFrame(
        {
            "time": time,
            "event": event,
            "outcome": pd.Categorical.from_codes(outcome_codes, [*OUTCOMES.values(), "censored"]),
            "cohort": cohort,
            "cohort_period": pd.Categorical.from_codes(period_index, labels, ordered=True),
            "region": _categorical(t["region"], contract.REGIONS),
            "specialty": _categorical(t["specialty"], contract.SPECIALTIES),
            "track": pd.Categorical.from_codes(
                t["combined_track"].to_numpy(dtype=bool).astype(np.int8), TRACKS, ordered=True
            ),
            "combined_track": t["combined_track"].to_numpy(dtype=float),
            "foreign_graduate": t["foreign_graduate"].to_numpy(dtype=float),
            "female": (t["sex"] == "F").to_numpy(dtype=bool).astype(float),
            "age": (t["i_start"].dt.year - t["birth_year"]).to_numpy(dtype=float),
            "completed_i": (
                t["i_end"].notna() & (t["exit_date"].isna() | (t["exit_date"] > t["i_end"]))
            ).to_numpy(),
            "full_followup": followed >= horizon_years,
        }
    )
    out["h_within_horizon"] = converted_within(t, horizon_years, events=(event, time))
    return out


def _categorical(values: pd.Series, codes: Sequence[str]) -> pd.Categorical:
    """``values`` as an ordered categorical of ``codes`` (anything else missing)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.rename_categories(str)
    else:
        values = values.astype(str)
    return pd.Categorical(values, list(codes), ordered=True)


# --------------------------------------------------------------------------------------------
# The funnel
# --------------------------------------------------------------------------------------------
def wilson(count: np.ndarray, nobs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wilson 95 % interval of a share (statsmodels); missing where there is no one or where
    either count is missing (hidden)."""
    from statsmodels.stats.proportion import proportion_confint

    count, nobs = np.asarray(count, dtype=float), np.asarray(nobs, dtype=float)
    known = (nobs > 0) & (count >= 0) & (count <= nobs)  # False for NaN
    low, high = proportion_confint(
        np.where(known, count, 0), np.where(known, nobs, 1), alpha=0.05, method="wilson"
    )
    return np.where(known, low, np.nan), np.where(known, high, np.nan)


def funnel(prepared: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """I-starts, completed I-posts and H-posts in psychiatry within the horizon, per group.

    The share within the horizon counts only doctors followed for the whole horizon.
    """
    by = list(by)
    grouped = prepared.groupby(by, observed=True, sort=True) if by else [((), prepared)]
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


FUNNEL_COUNTS = ("i_starts", "completed_i", "followed", "h_within_horizon")
# The funnel's counts as measures of one set of doctors; the H-posts counted are those of the
# fully followed, so each count is a subset of the one before it.
FUNNEL_MEASURES = {
    "i_starts": None,
    "completed_i": "completed_i",
    "followed": "full_followup",
    "h_within_horizon": "h_followed",
}
FUNNEL_NESTED = {"h_within_horizon": "followed", "followed": "i_starts", "completed_i": "i_starts"}
# Every funnel the stage publishes (tables, metrics and figures), protected together: a count
# hidden in one cannot be recovered from the others, the totals or their differences.
FUNNEL_TABLES = {
    "total": (),
    "cohort": ("cohort",),
    "region": ("region",),
    "specialty": ("specialty",),
    "track": ("track",),
    "cohort_region_specialty": ("cohort", "region", "specialty"),
}


@dataclass
class Funnels:
    """The published funnels (counts hidden as ``<NA>``, shares and intervals only where every
    count of their row is shown) and what the report stage's audit needs to check them."""

    tables: dict[str, pd.DataFrame]
    linked: LinkedTables

    def shown(self, by: str | None, group: Any) -> bool:
        """Whether ``group`` of grouping ``by`` (None: everyone) has all its counts shown."""
        table = self.tables["total" if by is None else by]
        row = table if by is None else table[table[by].astype(str) == str(group)]
        return bool(len(row)) and bool(row[list(FUNNEL_COUNTS)].notna().all(axis=None))


def protected_funnels(prepared: pd.DataFrame, min_cell: int) -> Funnels:
    """The funnels of ``FUNNEL_TABLES`` with primary and secondary suppression across all of
    them (``pipeline.publish.disclosure.LinkedTables``); shares and Wilson intervals computed
    from the published counts and blanked where a count of the row is hidden."""
    micro = prepared.assign(h_followed=prepared["h_within_horizon"] & prepared["full_followup"])
    dims = ["cohort", "region", "specialty", "track"]
    linked = LinkedTables(micro, dims, FUNNEL_MEASURES, min_cell, FUNNEL_NESTED)
    for name, by in FUNNEL_TABLES.items():
        linked.add(name, by)
    tables = {}
    for name, table in linked.protect().items():
        counts = list(FUNNEL_COUNTS)
        empty = (table[counts].fillna(-1) == 0).all(axis=1)  # combinations nobody is in
        table = table[~empty].drop(columns=[f"{c}_suppressed" for c in counts])
        table = table.reset_index(drop=True)
        followed = table["followed"].astype("float64")
        converted = table["h_within_horizon"].astype("float64")
        table["share"] = (converted / followed).where(followed > 0)
        low, high = wilson(converted.to_numpy(), followed.to_numpy())
        table["share_low"], table["share_high"] = low, high
        tables[name] = mask_dependent(table, counts, ["share", "share_low", "share_high"])
    return Funnels(tables, linked)


# --------------------------------------------------------------------------------------------
# Cumulative incidence (Aalen-Johansen)
# --------------------------------------------------------------------------------------------
def cumulative_incidence(
    prepared: pd.DataFrame,
    by: str | None = None,
    min_cell: int = 1,
    shown: Callable[[Any], bool] | None = None,
    fits: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of each outcome, overall or per group, as published.

    Only groups that ``shown`` allows (those whose funnel counts are published) and that have
    ``min_cell`` doctors get curves. A curve is published only at points that each rest on at
    least ``min_cell`` events of its outcome since the previous point and ``min_cell`` doctors
    still at risk: between them it is flat, so no step is one doctor's. Intervals are pointwise
    95 % on the log(-log) scale.

    ``fits`` (optional) keeps each group's Aalen-Johansen fit: pass the same dictionary to
    ``incidence_at`` on the same doctors and each group is fitted once.

    Returns
    -------
    DataFrame
        Long: (``group``,) ``outcome``, ``time``, ``cif``, ``ci_low``, ``ci_high``; each curve
        starts at time 0 with incidence 0.
    """
    log.info("retention: cumulative incidence %s", f"by {by}" if by else "overall")
    frames = []
    for key, df in _split(prepared, by):
        if len(df) < max(min_cell, 1) or (shown is not None and not shown(key)):
            continue
        time, event = df["time"].to_numpy(), df["event"].to_numpy()
        if not (event > 0).any():
            continue
        fit = _fit(fits, (by, key), time, event)
        times = np.asarray(fit.times)
        order = np.sort(time)
        at_risk = len(order) - np.searchsorted(order, times, side="left")
        for code, outcome in OUTCOMES.items():
            if code > len(fit.cinc):
                continue
            cif, se = np.asarray(fit.cinc[code - 1]), np.asarray(fit.cinc_se[code - 1])
            events = np.bincount(np.searchsorted(times, time[event == code]), minlength=len(times))[
                : len(times)
            ]
            keep = _publishable_points(events, at_risk, max(min_cell, 1))
            low, high = _loglog_interval(cif[keep], se[keep])
            curve = pd.DataFrame(
                {
                    "outcome": outcome,
                    "time": np.r_[0.0, times[keep]],
                    "cif": np.r_[0.0, cif[keep]],
                    "ci_low": np.r_[0.0, low],
                    "ci_high": np.r_[0.0, high],
                }
            )
            if by is not None:
                curve.insert(0, "group", key)
            frames.append(curve)
    columns = ([] if by is None else ["group"]) + ["outcome", "time", "cif", "ci_low", "ci_high"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def _publishable_points(events: np.ndarray, at_risk: np.ndarray, min_cell: int) -> np.ndarray:
    """Indices of event times where a curve may be published: at least ``min_cell`` events of
    its outcome since the last published point, and ``min_cell`` still at risk."""
    keep, since = [], 0
    for i, (count, risk) in enumerate(zip(events, at_risk, strict=True)):
        if risk < min_cell:
            break
        since += int(count)
        if since >= min_cell:
            keep.append(i)
            since = 0
    return np.asarray(keep, dtype=int)


def _split(prepared: pd.DataFrame, by: str | None) -> list[tuple[Any, pd.DataFrame]]:
    """``[(None, everyone)]``, or ``(label, doctors)`` per group of ``by``: times and events."""
    if by is None:
        return [(None, prepared[["time", "event"]])]
    return list(prepared[[by, "time", "event"]].groupby(by, observed=True, sort=True))


def _fit(fits: dict[Any, Any] | None, key: Any, time: np.ndarray, event: np.ndarray) -> Any:
    if fits is None:
        return _aalen_johansen(time, event)
    if key not in fits:
        fits[key] = _aalen_johansen(time, event)
    return fits[key]


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
    shown: Callable[[Any], bool] | None = None,
    fits: dict[Any, Any] | None = None,
) -> pd.DataFrame:
    """Cumulative incidence of ``outcome`` at ``horizon`` years with its 95 % interval.

    Computed from the data rather than from the displayed curves: a group's value at the
    horizon describes the whole group. A value is published only for groups ``shown`` allows,
    with ``min_cell`` doctors who had the outcome by the horizon and ``min_cell`` who had not (a
    share is a count once its group's size is known), and whose follow-up reaches the horizon
    (the estimator is undefined beyond it). With no event at all the incidence is 0 and its
    interval the exact binomial one, never of zero width. ``fits``: as in
    ``cumulative_incidence``.
    """
    code = next(k for k, v in OUTCOMES.items() if v == outcome)
    rows = []
    for key, df in _split(prepared, by):
        row = {"cif": np.nan, "ci_low": np.nan, "ci_high": np.nan}
        last = df["time"].max() if len(df) else 0.0
        ends_in_event = len(df) and (df.loc[df["time"] == last, "event"] > 0).all()
        had = int(((df["event"] == code) & (df["time"] <= horizon)).sum())
        publishable = (shown is None or shown(key)) and (
            had == 0 or min(had, len(df) - had) >= max(min_cell, 1)
        )
        if publishable and len(df) >= max(min_cell, 1) and (last >= horizon or ends_in_event):
            if had == 0:
                row.update(cif=0.0, ci_low=0.0, ci_high=1 - 0.025 ** (1 / len(df)))
            else:
                fit = _fit(fits, (by, key), df["time"].to_numpy(), df["event"].to_numpy())
                i = np.searchsorted(fit.times, horizon, side="right") - 1
                cif, se = fit.cinc[code - 1][i], fit.cinc_se[code - 1][i]
                low, high = _loglog_interval(np.array([cif]), np.array([se]))
                row.update(cif=float(cif), ci_low=float(low[0]), ci_high=float(high[0]))
        rows.append(row if by is None else {"group": key, **row})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Determinants: cause-specific Cox model and a logistic check
# --------------------------------------------------------------------------------------------


@dataclass
class ModelResult:
    """Ratios with 95 % intervals, and the reasons terms could not be estimated."""

    table: pd.DataFrame
    notes: list[Note] = field(default_factory=list)
    ph_test: pd.DataFrame | None = None
    schoenfeld: pd.DataFrame | None = None
    events: int = 0

    def ratio(self, term: str) -> tuple[float, float, float] | None:
        row = self.table[self.table["term"] == term]
        if row.empty or not row["estimable"].iloc[0]:
            return None
        r = row.iloc[0]
        return float(r["ratio"]), float(r["ci_low"]), float(r["ci_high"])


@dataclass(frozen=True)
class Note:
    """Why a term is missing from a model, as codes (worded in ``tables.notes_text``).

    ``kind`` is one of ``constant`` (the term does not vary; ``value`` is its one value),
    ``small_group`` (fewer than ``min_cell`` persons on one side), ``single_level`` (a factor
    with one level present), ``merged`` (a small level counted in the reference ``value``),
    ``no_events``, ``no_terms``, ``not_estimable`` (no events in one group) and ``degenerate``
    (the logistic model: ``value`` is ``"none"``, ``"all"`` or ``"none_followed"``).
    """

    kind: str
    term: str = ""
    level: str = ""
    value: Any = None
    min_cell: int = 0


FACTORS = ("region", "cohort_period")


def design(
    prepared: pd.DataFrame, min_cell: int
) -> tuple[pd.DataFrame, dict[str, str], list[Note]]:
    """Covariates of the models: indicators, age, and treatment-coded region and cohort period.

    Terms without variation, and levels with fewer than ``min_cell`` doctors (which would
    publish a ratio about them), are left out with a note.

    Returns
    -------
    The design matrix (columns ``combined_track``, ..., ``region=Sjælland``), each factor's
    reference level, and the notes.
    """
    notes: list[Note] = []
    columns: dict[str, pd.Series] = {}
    references: dict[str, str] = {}
    for name in ("combined_track", "foreign_graduate", "female", "age"):
        values = prepared[name]
        if values.nunique() < 2:
            notes.append(Note("constant", name, value=values.iloc[0] if len(values) else None))
            continue
        if name != "age":
            smallest = min((values == 1).sum(), (values == 0).sum())
            if smallest < min_cell:
                notes.append(Note("small_group", name, min_cell=min_cell))
                continue
        columns[name] = values.astype(float)
    for factor in FACTORS:
        present = [c for c in prepared[factor].cat.categories if (prepared[factor] == c).any()]
        if len(present) < 2:
            notes.append(Note("single_level", factor, level=present[0] if present else ""))
            continue
        counts = prepared[factor].value_counts()
        # The largest group is the reference: the most precise comparisons, and never a small one.
        reference = max(present, key=lambda level: counts[level])
        references[factor] = str(reference)
        for level in present:
            if level == reference:
                continue
            if counts[level] < min_cell:
                notes.append(Note("merged", factor, str(level), str(reference), min_cell))
                continue
            columns[f"{factor}={level}"] = (prepared[factor] == level).astype(float)
    return pd.DataFrame(columns, index=prepared.index), references, notes


def fit_cox(prepared: pd.DataFrame, min_cell: int = 1) -> ModelResult:
    """Cause-specific Cox model for an H-post in psychiatry (other outcomes censor).

    Hazard ratios with 95 % Wald intervals, and the Grambsch-Therneau test of proportional
    hazards on scaled Schoenfeld residuals against the rank of event times.
    """
    x, references, notes = design(prepared, min_cell)
    status = (prepared["event"] == 1).to_numpy(dtype=int)
    events = int(status.sum())
    if events == 0:
        return ModelResult(_empty_table(), [*notes, Note("no_events")])
    if x.shape[1] == 0:
        return ModelResult(_empty_table(), [*notes, Note("no_terms")], events=events)
    log.info("retention: Cox model, %s doctors, %s covariates", f"{len(x):,}", x.shape[1])
    time = prepared["time"].to_numpy(dtype=float)
    # Efron's approximation: most event times are tied (H-posts start on the 1st of a month).
    fit = fit_cox_efron(time, status, x.to_numpy(dtype=float))
    if not fit.converged:
        log.info("retention: the Cox model did not converge (a coefficient runs off)")
    terms = list(x.columns)
    table = _ratio_table(terms, references, fit.params, fit.bse, x, prepared["event"] == 1)
    notes += _inestimable_notes(table)
    ph, sch = _ph_test(fit, time, terms)
    return ModelResult(table, notes, ph, sch, events)


def _ratio_table(terms, references, coef, se, x, success) -> pd.DataFrame:
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
            "reference": [references.get(t.split("=")[0], "") if "=" in t else "" for t in terms],
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


def _inestimable_notes(table: pd.DataFrame) -> list[Note]:
    return [
        Note("not_estimable", row.term, value=row.reference)
        for row in table.itertuples()
        if not row.estimable
    ]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "term",
            "reference",
            "coef",
            "se",
            "ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "estimable",
        ]
    )


def _ph_test(
    fit: CoxFit, time: np.ndarray, terms: list[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Grambsch-Therneau test: correlation of scaled Schoenfeld residuals (Efron's, as R's
    ``survival`` and lifelines) with the rank of event time (average ranks for ties), over
    the terms with a finite standard error; None, None when nothing can be tested."""
    ok = np.isfinite(fit.bse)  # a term without a finite SE has a note saying why
    t = time[fit.event_index]
    g = stats.rankdata(t)
    g = g - g.mean()
    denom = (g**2).sum()
    if not ok.any() or denom == 0:  # nothing testable, or every event at one time
        return None, None
    tested = [name for name, keep in zip(terms, ok, strict=True) if keep]
    r = fit.schoenfeld_residuals[:, ok]
    d = fit.n_events
    cov = fit.cov_params[np.ix_(ok, ok)]
    u = g @ r  # one entry per term
    vu = cov @ u
    chi2 = d * vu**2 / (np.diag(cov) * denom)
    global_chi2 = d * u @ cov @ u / denom
    table = pd.DataFrame(
        {
            "term": [*tested, "global"],
            "chi2": [*chi2, global_chi2],
            "df": [*([1] * len(tested)), len(tested)],
        }
    )
    table["p_value"] = stats.chi2.sf(table["chi2"], table["df"])
    scaled = fit.params[ok] + d * r @ cov
    return table, pd.DataFrame(scaled, columns=tested).assign(time=t)


def binned_residuals(
    schoenfeld: pd.DataFrame, term: str, min_cell: int, bins: int = 30
) -> pd.DataFrame:
    """Scaled Schoenfeld residuals of ``term`` averaged over consecutive events in time, at
    least ``min_cell`` events a bin (about ``bins`` bins), for the proportional-hazards figure:
    a dot per event would be a dot per doctor.

    Returns
    -------
    DataFrame
        ``time`` (mean), ``residual`` (mean) and ``events`` per bin.
    """
    ordered = schoenfeld.sort_values("time", kind="stable").reset_index(drop=True)
    size = max(min_cell, -(-len(ordered) // bins))
    groups = np.arange(len(ordered)) // size
    if len(ordered) % size and groups.max() > 0:
        groups[groups == groups.max()] -= 1  # a short last bin joins the one before
    binned = ordered.groupby(groups).agg(
        time=("time", "mean"), residual=(term, "mean"), events=(term, "size")
    )
    return binned.reset_index(drop=True)


def fit_logistic(prepared: pd.DataFrame, min_cell: int = 1) -> ModelResult:
    """Odds ratios of an H-post in psychiatry within the horizon, among doctors followed that
    long (a robustness check on the Cox model that needs no proportional hazards)."""
    # The modules themselves, not statsmodels.api, which imports every model (0.25 s more).
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    followed = prepared[prepared["full_followup"]]
    y = followed["h_within_horizon"].to_numpy(dtype=float)
    if len(followed) == 0 or y.min() == y.max():
        what = "none_followed" if len(followed) == 0 else ("all" if y.mean() == 1 else "none")
        return ModelResult(_empty_table(), [Note("degenerate", value=what)])
    x, references, notes = design(followed, min_cell)
    log.info("retention: logistic model, %s fully followed doctors", f"{len(x):,}")
    # Doctors with the same covariates form one binomial cell: the share converted weighted by
    # the cell's size has the same likelihood up to a constant, so the same estimates and
    # standard errors as one row per doctor, with a few hundred rows instead of a register's
    # million (tests/test_retention.py compares the two).
    design_matrix = add_constant(x.to_numpy(dtype=float), has_constant="add")
    columns = list(range(design_matrix.shape[1]))
    cells = (
        pd.DataFrame(design_matrix)
        .assign(y=y)
        .groupby(columns, sort=True)["y"]
        .agg(["mean", "size"])
        .reset_index()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = GLM(
            cells["mean"].to_numpy(),
            cells[columns].to_numpy(),
            family=Binomial(),
            freq_weights=cells["size"].to_numpy(dtype=float),
        ).fit()
    coef, se = np.asarray(res.params)[1:], np.asarray(res.bse)[1:]
    table = _ratio_table(list(x.columns), references, coef, se, x, followed["h_within_horizon"])
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
    return _with_rates(out)


def _with_rates(table: pd.DataFrame) -> pd.DataFrame:
    filled = table["filled"].astype("float64")
    advertised = table["advertised"].astype("float64")
    table["fill_rate"] = (filled / advertised).where(advertised > 0)
    low, high = wilson(filled.fillna(0).to_numpy(), advertised.to_numpy())
    table["ci_low"], table["ci_high"] = low, high
    return mask_dependent(table, ["filled"], ["fill_rate", "ci_low", "ci_high"])


FILL_TABLES = {
    "national": ("year", "post_type", "specialty"),
    "region": ("region", "post_type", "specialty"),
}


def protected_fill_rates(
    posts: pd.DataFrame, min_cell: int
) -> tuple[dict[str, pd.DataFrame], list[Cell]]:
    """The published fill-rate tables (``FILL_TABLES``: national per year, and per region over
    all years), filled posts below ``min_cell`` hidden together with whatever would give them
    back (the other table's totals, the posts advertised); rates and intervals only where the
    filled count is shown. Also the published cells, for the report stage's audit."""
    df = posts.assign(**{c: posts[c].astype(str) for c in ("region", "specialty", "post_type")})
    dims = ["year", "region", "post_type", "specialty"]
    shown = protect_table(
        df[[*dims, "advertised", "filled"]],
        ["filled"],
        dims,
        min_cell,
        margins=[list(by) for by in FILL_TABLES.values()],
        within={"filled": "advertised"},
    )
    tables = {}
    for name, by in FILL_TABLES.items():
        table = shown[",".join(by)].drop(columns=["filled_suppressed"], errors="ignore")
        tables[name] = _with_rates(table.sort_values(list(by)).reset_index(drop=True))
    return tables, shown.cells


def fill_rate_trend(posts: pd.DataFrame) -> pd.DataFrame:
    """Change in the odds of a post being filled per year (binomial GLM with region effects),
    per post type and specialty."""
    # The modules themselves, not statsmodels.api, which imports every model (0.25 s more).
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.tools import add_constant

    rows = []
    df = posts.assign(**{c: posts[c].astype(str) for c in ("region", "specialty", "post_type")})
    for (post_type, specialty), g in df.groupby(["post_type", "specialty"], sort=True):
        g = g[g["advertised"] > 0]
        regions = pd.get_dummies(g["region"], drop_first=True, dtype=float)
        x = add_constant(pd.concat([(g["year"] - g["year"].min()).astype(float), regions], axis=1))
        y = np.column_stack([g["filled"], g["advertised"] - g["filled"]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = GLM(y, x.to_numpy(dtype=float), family=Binomial()).fit(scale="X2")
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
RECENT_YEARS = 3  # "recent" fill rates: the last three years of posts


def recent_fill_rate(national: pd.DataFrame, post_type: str) -> dict[str, float | None]:
    """The share of ``post_type`` posts filled over the last ``RECENT_YEARS`` years, both
    specialties, with its Wilson interval, from the published (protected) national table;
    None when a count behind it is hidden."""
    rows = national[national["post_type"] == post_type]
    rows = rows[rows["year"] > rows["year"].max() - RECENT_YEARS] if len(rows) else rows
    years = (int(rows["year"].min()), int(rows["year"].max())) if len(rows) else (None, None)
    out = {"rate": None, "ci_low": None, "ci_high": None, "from": years[0], "to": years[1]}
    if not len(rows) or rows["filled"].isna().any():
        return out
    filled, advertised = float(rows["filled"].sum()), float(rows["advertised"].sum())
    if not advertised:
        return out
    low, high = wilson(np.array([filled]), np.array([advertised]))
    return {**out, "rate": filled / advertised, "ci_low": float(low[0]), "ci_high": float(high[0])}


def metrics(
    funnels: Funnels,
    overall_at: pd.DataFrame,
    regional_at: pd.DataFrame,
    cox: ModelResult,
    horizon: float,
    national_fill: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The retention section of ``reports/metrics.json``: only published numbers (the number of
    trainees from the protected funnel, incidences of groups shown, fill rates from the
    protected table)."""
    total = funnels.tables["total"]["i_starts"]
    n = None if total.isna().any() or not len(total) else int(total.iloc[0])
    out: dict[str, Any] = {"n_trainees": n, "horizon_years": horizon}
    for post_type in ("I", "H"):
        if national_fill is not None:
            recent = recent_fill_rate(national_fill, post_type)
            key = f"{post_type.lower()}_fill_rate_recent"
            out[key] = recent["rate"]
            out[f"{key}_ci_low"], out[f"{key}_ci_high"] = recent["ci_low"], recent["ci_high"]
            out["fill_rate_recent_from"], out["fill_rate_recent_to"] = recent["from"], recent["to"]
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


# --------------------------------------------------------------------------------------------
# Tables for display (Danish)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Narrative (Danish)
# --------------------------------------------------------------------------------------------
