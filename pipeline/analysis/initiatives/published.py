"""What the initiatives stage publishes: the register, and the model's numbers made safe to show.

Codes only, no Danish and no figures. The estimates use every cell of the data; what is shown
about single region-year cells follows the disclosure rule of the other stages
(``pipeline.publish.disclosure``): a count of 1 to ``min_cell - 1`` persons is never shown, and
a share is shown only where its numerator, its denominator and their difference all could be.

* A region's value in a year (a fill rate, a conversion share, an exit rate, a headcount) is
  shown only when the counts behind it pass the rule (``shown_cells``); posts filled count as
  persons, as in the retention stage.
* When the initiative's region's cell is hidden, the other regions' value of that year is hidden
  too (with a national figure published elsewhere it would give the hidden cell back), and so
  is the event-study estimate of that year: it is that cell against its reference years.
* No count is published: the weights (posts advertised, cohort sizes, specialists at risk)
  stay inside the stage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.initiatives import model
from pipeline.data import contract
from pipeline.data.catalog import DATASETS

# The contract tables the outcomes are computed from.
CONTRACT_TABLES = ("training_posts", "trainees", "physicians")
# The register's columns as the catalog declares the dataset (declared once, there).
REGISTER_COLUMNS = [
    *DATASETS["initiatives/register"].key,
    *DATASETS["initiatives/register"].columns,
]
SERIES_COLUMNS = [
    "initiative_id",
    "outcome",
    "region",
    "year",
    "scale",
    "treated",
    "others",
    "hidden",
]
PLACEBO_COLUMNS = [
    "initiative_id",
    "outcome",
    "region",
    "start_year",
    "actual",
    "estimate",
    "statistic",
]


def _blank(value: Any) -> bool:
    """Missing or empty: how the contract writes "both specialties" and "still running"."""
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == ""


# --------------------------------------------------------------------------------------------
# The register
# --------------------------------------------------------------------------------------------
def register(initiatives: pd.DataFrame | None) -> pd.DataFrame:
    """The initiatives as the declared dataset ``initiatives/register``, sorted by start.

    Parameters
    ----------
    initiatives
        The typed contract table ``initiatives``, or None when the extract has none (then the
        register is empty, with its columns).

    Returns
    -------
    DataFrame
        ``REGISTER_COLUMNS``: codes as text (``specialty`` empty for both), ``start`` and
        ``end`` as datetimes (``end`` missing while it runs), ``start_year`` and ``end_year``
        the first and last treated calendar years (``model.treatment_years``) and ``outcomes``
        the codes separated by ``|``.
    """
    if initiatives is None or not len(initiatives):
        return pd.DataFrame(
            {
                "initiative_id": pd.Series(dtype=object),
                "name": pd.Series(dtype=object),
                "region": pd.Series(dtype=object),
                "specialty": pd.Series(dtype=object),
                "start": pd.Series(dtype="datetime64[s]"),
                "end": pd.Series(dtype="datetime64[s]"),
                "start_year": pd.Series(dtype="Int64"),
                "end_year": pd.Series(dtype="Int64"),
                "outcomes": pd.Series(dtype=object),
            }
        )
    df = initiatives.reset_index(drop=True)

    def text(column: str) -> list[str]:
        return ["" if _blank(v) else str(v).strip() for v in df[column].astype(object)]

    years = [model.treatment_years(s, e) for s, e in zip(df["start"], df["end"], strict=True)]
    out = pd.DataFrame(
        {
            "initiative_id": text("initiative_id"),
            "name": text("name"),
            "region": text("region"),
            "specialty": text("specialty"),
            "start": pd.to_datetime(df["start"]).astype("datetime64[s]"),
            "end": pd.to_datetime(df["end"]).astype("datetime64[s]"),
            "start_year": pd.array([y[0] for y in years], dtype="Int64"),
            "end_year": pd.array([y[1] for y in years], dtype="Int64"),
            "outcomes": text("outcomes"),
        }
    )
    out = out.sort_values(["start", "initiative_id"], kind="stable")
    return out.reset_index(drop=True)[REGISTER_COLUMNS]


def figure_name(initiative_id: str) -> str:
    """The file name (without ``.png``) of an initiative's figure: ``tiltag_<id>``, with any
    character that is not a letter, a digit, ``-`` or ``_`` replaced by ``_``."""
    return "tiltag_" + re.sub(r"[^A-Za-z0-9_-]", "_", str(initiative_id))


# --------------------------------------------------------------------------------------------
# Panels and what of them may be shown
# --------------------------------------------------------------------------------------------
PanelKey = tuple[str, str | None]


def panels(
    results: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    horizon_years: float,
    extract_date: Any = None,
) -> dict[PanelKey, pd.DataFrame]:
    """The outcome panels behind ``model.evaluate``'s results, by (outcome, specialty).

    The same panels the estimates used (``model.outcome_panel`` with the same arguments), for
    every result row with a known outcome and specialty; a panel whose table is missing is left
    out.
    """
    out: dict[PanelKey, pd.DataFrame] = {}
    for row in results.to_dict("records"):
        specialty = None if _blank(row["specialty"]) else str(row["specialty"])
        key = (str(row["outcome"]), specialty)
        if key in out or key[0] not in model.OUTCOMES:
            continue
        if specialty is not None and specialty not in contract.SPECIALTIES:
            continue
        try:
            out[key] = model.outcome_panel(
                tables,
                key[0],
                specialty=specialty,
                horizon_years=horizon_years,
                extract_date=extract_date,
            )
        except KeyError:  # the table the outcome needs is not in the extract
            continue
    return out


def _counts(value: np.ndarray, weight: np.ndarray, outcome: str) -> tuple[np.ndarray, ...]:
    """The counts of persons a cell's value rests on, rounded to whole persons.

    A share ``value = a / weight`` rests on ``a`` and ``weight - a`` (filled and unfilled
    posts, converted and not; exits and those who stayed, net); a headcount (the log outcome)
    on the headcount itself.
    """
    if outcome in model.LOG_OUTCOMES:
        return (np.rint(np.exp(value)),)
    a = np.rint(value * weight)
    return a, np.rint(weight) - a


def _passes(counts: tuple[np.ndarray, ...], min_cell: int) -> np.ndarray:
    """Every count 0 or at least ``min_cell`` in magnitude (a net exit count can be negative)."""
    ok = np.ones(len(counts[0]), dtype=bool)
    for n in counts:
        n = np.abs(n)
        ok &= (n == 0) | (n >= min_cell)
    return ok


def shown_cells(panel: pd.DataFrame, outcome: str, min_cell: int) -> np.ndarray:
    """Which cells of an outcome panel may be shown: every count behind them (``_counts``) 0
    or at least ``min_cell``."""
    if not len(panel):
        return np.zeros(0, dtype=bool)
    value = panel["value"].to_numpy(dtype=float)
    weight = panel["weight"].to_numpy(dtype=float)
    finite = np.isfinite(value) & (weight > 0)
    return finite & _passes(_counts(value, weight, outcome), min_cell)


def _pooled(cells: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Cells of several regions pooled per year: the weighted mean value (for the log outcome
    the mean log, as the estimator's region effects compare regions), and the pooled weight."""
    if not len(cells):
        return pd.DataFrame(columns=["year", "value", "weight"])
    if outcome in model.LOG_OUTCOMES:
        mean = cells.groupby("year")["value"].mean()
        return pd.DataFrame(
            {"year": mean.index.to_numpy(), "value": mean.to_numpy(), "weight": 1.0}
        )
    num = (cells["value"] * cells["weight"]).groupby(cells["year"]).sum()
    den = cells.groupby("year")["weight"].sum()
    return pd.DataFrame(
        {"year": den.index.to_numpy(), "value": (num / den).to_numpy(), "weight": den.to_numpy()}
    )


def _pooled_shown(cells: pd.DataFrame, outcome: str, min_cell: int) -> pd.Series:
    """Whether each year's pooled value may be shown: the counts summed over the regions pass
    the rule (for the log outcome, the summed headcount)."""
    if outcome in model.LOG_OUTCOMES:
        heads = np.exp(cells["value"]).groupby(cells["year"]).sum()
        return pd.Series(_passes((np.rint(heads.to_numpy()),), min_cell), index=heads.index)
    a = (cells["value"] * cells["weight"]).groupby(cells["year"]).sum()
    w = cells.groupby("year")["weight"].sum()
    a_n = np.rint(a.to_numpy())
    return pd.Series(_passes((a_n, np.rint(w.to_numpy()) - a_n), min_cell), index=w.index)


def comparison_series(
    panel: pd.DataFrame,
    region: str,
    outcome: str,
    min_cell: int,
    *,
    start_year: int | None = None,
) -> pd.DataFrame:
    """The region's outcome per year beside the other regions' weighted mean, as shown.

    Parameters
    ----------
    panel
        ``model.outcome_panel``'s columns.
    region
        The initiative's region; ``Danmark``: the whole country pooled, with no comparison.
    outcome
        The outcome code (the log outcome is shown as an index, see Returns).
    min_cell
        Disclosure threshold (see the module docstring).
    start_year
        First treated year: the log outcome's index is 100 on average over the years before it
        (all years when None).

    Returns
    -------
    DataFrame
        ``year``, ``scale`` (``level``: the share or rate itself; ``index``: headcount with the
        years before the start = 100), ``treated`` and ``others`` (NaN where there is no cell
        or it is hidden) and ``hidden`` (a cell of the region exists but is not shown).
    """
    columns = ["year", "scale", "treated", "others", "hidden"]
    if panel is None or not len(panel):
        return pd.DataFrame(columns=columns)
    shown = shown_cells(panel, outcome, min_cell)
    in_region = (panel["region"].astype(str) == region).to_numpy()
    if region == model.NATIONAL:
        if outcome in model.LOG_OUTCOMES:  # the national headcount is the sum of the regions'
            heads = np.exp(panel["value"]).groupby(panel["year"]).sum()
            treated = pd.DataFrame(
                {"year": heads.index, "value": np.log(heads.to_numpy()), "weight": 1.0}
            )
        else:
            treated = _pooled(panel, outcome)
        ok = _pooled_shown(panel, outcome, min_cell)
        others = pd.DataFrame(columns=["year", "value"])
        others_ok = pd.Series(dtype=bool)
    else:
        own = panel[in_region]
        treated = own[["year", "value", "weight"]]
        ok = pd.Series(shown[in_region], index=own["year"].to_numpy())
        rest = panel[~in_region]
        others = _pooled(rest, outcome)
        others_ok = _pooled_shown(rest, outcome, min_cell) if len(rest) else pd.Series(dtype=bool)
    years = sorted(set(treated["year"].astype(int)) | set(others["year"].astype(int)))
    t = pd.Series(treated["value"].to_numpy(dtype=float), index=treated["year"].astype(int))
    o = pd.Series(others["value"].to_numpy(dtype=float), index=others["year"].astype(int))
    out = pd.DataFrame({"year": years})
    out["treated"] = out["year"].map(t)
    out["others"] = out["year"].map(o)
    has_cell = out["year"].isin(t.index)
    treated_ok = np.array([bool(ok.get(y, False)) for y in out["year"]], dtype=bool)
    others_shown = np.array([bool(others_ok.get(y, False)) for y in out["year"]], dtype=bool)
    out["hidden"] = has_cell & ~treated_ok
    # A hidden cell of the region hides the comparison of that year too (see module docstring).
    out.loc[~treated_ok, "treated"] = np.nan
    out.loc[out["hidden"] | ~others_shown, "others"] = np.nan
    scale = "level"
    if outcome in model.LOG_OUTCOMES:
        scale = "index"
        before = out["year"] < start_year if start_year is not None else out["year"].notna()
        for column, values in (("treated", t), ("others", o)):
            base_years = [y for y in out.loc[before, "year"] if y in values.index]
            base = values.loc[base_years].mean() if base_years else values.mean()
            out[column] = 100 * np.exp(out[column] - base)
    out["scale"] = scale
    return out[columns].reset_index(drop=True)


def series_table(
    results: pd.DataFrame, panel_by_key: Mapping[PanelKey, pd.DataFrame], min_cell: int
) -> pd.DataFrame:
    """``comparison_series`` for every initiative and outcome with a panel, in one table
    (``SERIES_COLUMNS``); initiatives in no region (unknown region) are left out."""
    parts = []
    for row in results.to_dict("records"):
        region = str(row["region"])
        if region not in (*contract.REGIONS, model.NATIONAL):
            continue
        specialty = None if _blank(row["specialty"]) else str(row["specialty"])
        panel = panel_by_key.get((str(row["outcome"]), specialty))
        if panel is None or not len(panel):
            continue
        start = None if pd.isna(row["start_year"]) else int(row["start_year"])
        series = comparison_series(panel, region, str(row["outcome"]), min_cell, start_year=start)
        parts.append(
            series.assign(
                initiative_id=str(row["initiative_id"]), outcome=str(row["outcome"]), region=region
            )
        )
    if not parts:
        return _empty(SERIES_COLUMNS, {"year": "int64", "treated": float, "others": float})
    out = pd.concat(parts, ignore_index=True)[SERIES_COLUMNS]
    return out.astype({"year": "int64", "treated": float, "others": float, "hidden": bool})


def _empty(columns: list[str], types: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=types.get(c, object)) for c in columns})


# --------------------------------------------------------------------------------------------
# The model's numbers as published
# --------------------------------------------------------------------------------------------
def effects_table(results: pd.DataFrame) -> pd.DataFrame:
    """``model.evaluate``'s results without the result objects: codes and numbers only."""
    out = results.drop(columns=["result"], errors="ignore").copy()
    out["specialty"] = ["" if _blank(v) else str(v) for v in out["specialty"].astype(object)]
    return out.reset_index(drop=True)


def event_study_table(results: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """``model.event_studies`` without the years whose cell of the region is hidden."""
    studies = model.event_studies(results)
    if not len(studies) or not len(series):
        return studies
    hidden = series.loc[series["hidden"], ["initiative_id", "outcome", "year"]]
    keys = pd.MultiIndex.from_frame(studies[["initiative_id", "outcome", "year"]])
    drop = keys.isin(pd.MultiIndex.from_frame(hidden)) if len(hidden) else np.zeros(len(keys), bool)
    return studies[~drop].reset_index(drop=True)


def placebo_table(results: pd.DataFrame) -> pd.DataFrame:
    """Every estimable initiative's placebo initiatives and the actual one (``actual``), with
    the estimate in the outcome's unit and the studentised statistic the test ranks
    (``estimate / se`` on the model's scale: for the log outcome, of the log)."""
    parts = []
    for row in results.to_dict("records"):
        r: model.EffectResult = row["result"]
        if r.effect is None or r.se is None or not len(r.placebos):
            continue
        log = row["outcome"] in model.LOG_OUTCOMES
        on_model_scale = np.log1p(r.effect) if log else r.effect
        pl = r.placebos
        estimate = pl["estimate"].to_numpy(dtype=float)
        placebos = pd.DataFrame(
            {
                "region": pl["region"].astype(str).to_numpy(),
                "start_year": pl["start_year"].to_numpy(dtype="int64"),
                "actual": False,
                "estimate": np.expm1(estimate) if log else estimate,
                "statistic": estimate / pl["se"].to_numpy(dtype=float),
            }
        )
        actual = pd.DataFrame(
            {
                "region": [r.region],
                "start_year": [int(r.start_year)],
                "actual": [True],
                "estimate": [r.effect],
                "statistic": [on_model_scale / r.se],
            }
        )
        parts.append(
            pd.concat([actual, placebos], ignore_index=True).assign(
                initiative_id=str(row["initiative_id"]), outcome=str(row["outcome"])
            )
        )
    types = {"start_year": "int64", "actual": bool, "estimate": float, "statistic": float}
    if not parts:
        return _empty(PLACEBO_COLUMNS, types)
    return pd.concat(parts, ignore_index=True)[PLACEBO_COLUMNS].astype(types)


# --------------------------------------------------------------------------------------------
# Everything the stage saves, in one call
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outputs:
    """What the stage computes and publishes.

    Attributes
    ----------
    results
        ``model.evaluate``'s results, with the result objects (for the figures and metrics).
    effects
        ``effects_table``: the results as codes and numbers (``initiatives/effects``).
    series, event_study, placebos
        ``series_table``, ``event_study_table`` and ``placebo_table``, disclosure applied.
    """

    results: pd.DataFrame
    effects: pd.DataFrame
    series: pd.DataFrame
    event_study: pd.DataFrame
    placebos: pd.DataFrame


def evaluate(
    register_table: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    *,
    horizon_years: float,
    leads: int,
    min_post_years: int,
    min_placebos: int,
    min_cell: int,
    extract_date: Any = None,
) -> Outputs:
    """Every initiative's effects (``model.evaluate``) and what of them may be published.

    Parameters
    ----------
    register_table
        ``register``'s output (empty: nothing is estimated and every table is empty).
    tables
        The typed contract tables (``CONTRACT_TABLES``; may be empty with an empty register).
    horizon_years, leads, min_post_years, min_placebos
        ``params.yaml``: ``retention.horizon_years`` and the ``initiatives`` section.
    min_cell
        ``params.yaml: report.min_cell``.
    extract_date
        The conversion outcome's censoring date (default the trainees' extract date).
    """
    results = model.evaluate(
        register_table,
        tables,
        horizon_years=horizon_years,
        extract_date=extract_date,
        leads=leads,
        min_post_years=min_post_years,
        min_placebos=min_placebos,
    )
    panel_by_key = (
        panels(results, tables, horizon_years=horizon_years, extract_date=extract_date)
        if len(results)
        else {}
    )
    series = series_table(results, panel_by_key, min_cell)
    return Outputs(
        results=results,
        effects=effects_table(results),
        series=series,
        event_study=event_study_table(results, series),
        placebos=placebo_table(results),
    )
