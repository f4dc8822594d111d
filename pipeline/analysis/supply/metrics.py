"""The supply section of ``reports/metrics.json``: every number the leadership page reads.

The keys other tools read keep their meaning: ``headline_scenario``, ``gap_<year>`` (physicians
of the chosen grades, the growth stage's base-year definition, with ``_pi_low``/``_pi_high``),
``scenarios.<name>.gap_<year>...``, ``levers.<lever>.{amount, year, gap_change, ...}`` and
``backtest_mape_specialists``. The leadership gap in specialists (trainees apart) under the
headline demand definition is ``specialist_gap_<year>``; the rest is listed in the report.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.supply.backtest import summary as backtest_summary
from pipeline.analysis.supply.demand import Target
from pipeline.analysis.supply.model import NATIONAL, REGIONS, Inputs


def _none(value: Any) -> Any:
    """NaN (not estimated) as None, so the JSON says null rather than a number."""
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    return value


def _triple(out: dict, key: str, mid: Any, low: Any, high: Any) -> None:
    out[key] = _none(mid)
    out[f"{key}_pi_low"] = _none(low)
    out[f"{key}_pi_high"] = _none(high)


def supply_metrics(
    *,
    comparison: pd.DataFrame,
    levers: pd.DataFrame,
    headline: str,
    backtest_result: pd.DataFrame,
    summary: pd.DataFrame | None = None,
    target_years: list[int] | None = None,
    headline_demand: str | None = None,
    requested_demand: str | None = None,
    headline_note: str | None = None,
    side_by_side: pd.DataFrame | None = None,
    base_years: pd.DataFrame | None = None,
    targets: list[Target] | None = None,
    target_table: pd.DataFrame | None = None,
    required: pd.DataFrame | None = None,
    required_probability: float | None = None,
    sensitivity: pd.DataFrame | None = None,
    fte: dict[str, Any] | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """The supply metrics: the selected scenario's gap first (so ``dvc exp show`` compares
    experiments at a glance), then every scenario, lever, definition and target."""
    out: dict[str, Any] = {"headline_scenario": headline}
    head = comparison[comparison["scenario"] == headline]
    for row in head.itertuples():
        _triple(out, f"gap_{row.year}", row.gap, row.gap_low, row.gap_high)
    if "specialist_gap" in comparison.columns:
        out["headline_demand"] = headline_demand
        out["headline_demand_requested"] = requested_demand
        out["headline_demand_note"] = headline_note
        for row in head.itertuples():
            _triple(
                out,
                f"specialist_gap_{row.year}",
                row.specialist_gap,
                row.specialist_gap_low,
                row.specialist_gap_high,
            )
    if summary is not None:
        national = summary[(summary["scenario"] == headline) & (summary["geography"] == NATIONAL)]
        years = target_years or sorted(national["year"].unique())
        for row in national[national["year"].isin(years)].itertuples():
            _triple(
                out,
                f"specialists_{row.year}",
                row.specialists,
                row.specialists_low,
                row.specialists_high,
            )
            _triple(out, f"trainees_{row.year}", row.trainees, row.trainees_low, row.trainees_high)
        out.update(_regional_sums(summary, headline, years))
    out["scenarios"] = _scenarios(comparison, target_table, targets)
    out["levers"] = _levers(levers)
    check = backtest_summary(backtest_result)
    out["backtest_start_year"] = int(backtest_result["year"].min())
    out["backtest_mape_specialists"] = _none(check["specialist"]["mape"])
    out["backtest_mape_trainees"] = _none(check["trainee"]["mape"])
    for grade, label in (("specialist", "specialists"), ("trainee", "trainees")):
        for level in ("80", "95"):
            out[f"backtest_coverage{level}_{label}"] = _none(check[grade][f"coverage{level}"])
    if side_by_side is not None:
        out["demand"] = _definitions(side_by_side)
    if base_years is not None and len(base_years):
        out["base_year_gap"] = _base_years(base_years)
    if targets and target_table is not None:
        out.update(_targets(targets, target_table, headline))
    if required is not None and len(required):
        out.update(_required(required, required_probability))
    if sensitivity is not None:
        out["sensitivity"] = {
            r.input: {
                "year": int(r.year),
                "gap": _none(r.gap),
                "gap_pi_low": _none(r.gap_low),
                "gap_pi_high": _none(r.gap_high),
                "gap_pi80_low": _none(r.gap_low80),
                "gap_pi80_high": _none(r.gap_high80),
                "width": _none(r.width),
            }
            for r in sensitivity.itertuples()
        }
    if fte is not None:
        out["fte"] = fte
    out["notes"] = sorted(set(notes or []))
    return out


def fte_metrics(
    inputs: Inputs, summary: pd.DataFrame, scenario: str, years: list[int]
) -> dict[str, Any]:
    """Working time: whether the data give it and, if so, FTE per head now and the headline
    scenario's specialists and specialist gap in FTE."""
    out: dict[str, Any] = {"given": inputs.fte is not None}
    if inputs.fte is None:
        return out
    stock = inputs.stock
    out["by_sex"] = inputs.fte.by_sex
    out["specialist_fte_per_head"] = float((stock * inputs.fte.specialist).sum() / stock.sum())
    national = summary[(summary["scenario"] == scenario) & (summary["geography"] == NATIONAL)]
    for row in national[national["year"].isin(years)].itertuples():
        _triple(
            out,
            f"specialists_{row.year}",
            row.specialists_fte,
            row.specialists_fte_low,
            row.specialists_fte_high,
        )
        if "specialist_gap_fte" in national.columns:
            _triple(
                out,
                f"specialist_gap_{row.year}",
                row.specialist_gap_fte,
                row.specialist_gap_fte_low,
                row.specialist_gap_fte_high,
            )
    return out


def _scenarios(
    comparison: pd.DataFrame, target_table: pd.DataFrame | None, targets: list[Target] | None
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, df in comparison.groupby("scenario", sort=False):
        entry: dict[str, Any] = {}
        for r in df.itertuples():
            entry[f"gap_{r.year}"] = _none(r.gap)
            entry[f"gap_{r.year}_pi_low"] = _none(r.gap_low)
            entry[f"gap_{r.year}_pi_high"] = _none(r.gap_high)
            if "specialist_gap" in df.columns:
                _triple(
                    entry,
                    f"specialist_gap_{r.year}",
                    r.specialist_gap,
                    r.specialist_gap_low,
                    r.specialist_gap_high,
                )
        if target_table is not None and targets:
            rows = target_table[target_table["scenario"] == name]
            for specialty, t in _latest(targets).items():
                hit = rows[(rows["specialty"] == specialty) & (rows["year"] == t.year)]
                if len(hit):
                    entry[f"p_reach_{specialty}"] = _none(float(hit["p_reach"].iloc[0]))
                    if "p_reach_fte" in hit.columns:
                        entry[f"p_reach_fte_{specialty}"] = _none(float(hit["p_reach_fte"].iloc[0]))
        out[str(name)] = entry
    return out


def _levers(levers: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out = {}
    for r in levers.itertuples():
        entry = {
            "amount": r.amount,
            "year": r.year,
            "gap_change": _none(r.change),
            "gap_change_pi_low": _none(r.change_low),
            "gap_change_pi_high": _none(r.change_high),
        }
        for prefix in ("specialist_", "fte_"):
            if f"{prefix}change" in levers.columns:
                mid = getattr(r, f"{prefix}change")
                entry[f"{prefix}gap_change"] = _none(mid)
                entry[f"{prefix}gap_change_pi_low"] = _none(getattr(r, f"{prefix}change_low"))
                entry[f"{prefix}gap_change_pi_high"] = _none(getattr(r, f"{prefix}change_high"))
        if "notes" in levers.columns:
            entry["notes"] = [n for n in str(r.notes).split("|") if n]
        out[r.lever] = entry
    return out


def _regional_sums(summary: pd.DataFrame, scenario: str, years: list[int]) -> dict[str, Any]:
    """The sum of the regions' medians against the nation's: every draw adds up exactly, but
    medians do not, so the page states the difference."""
    out: dict[str, Any] = {}
    df = summary[(summary["scenario"] == scenario) & summary["year"].isin(years)]
    for column in ("gap", "specialist_gap"):
        if column not in df.columns:
            continue
        for year, g in df.groupby("year"):
            nation = g[g["geography"] == NATIONAL][column]
            regions = g[g["geography"].astype(str).isin(REGIONS)][column]
            if not len(nation) or regions.isna().any():
                continue
            out[f"regional_sum_{column}_{year}"] = float(regions.sum())
    return out


def _definitions(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for code, rows in table.groupby("definition", sort=False):
        total = rows[rows["scope"] == "total"].iloc[0]
        entry = {
            "available": bool(total["available"]),
            "headline": bool(total["headline"]),
            "anchor_year": _none(total["anchor_year"]),
            "year": _none(total["year"]),
            "notes": [n for n in str(total["notes"]).split("|") if n],
        }
        for r in rows.itertuples():
            prefix = "" if r.scope == "total" else f"{r.scope}_"
            _triple(entry, f"{prefix}specialist_gap", r.gap, r.gap_low, r.gap_high)
            entry[f"{prefix}specialist_gap_start"] = _none(r.gap_start)
            if "fte_gap" in rows.columns and np.isfinite(r.fte_gap):
                _triple(entry, f"{prefix}fte_gap", r.fte_gap, r.fte_gap_low, r.fte_gap_high)
        out[str(code)] = entry
    return out


def _base_years(table: pd.DataFrame) -> dict[str, Any]:
    low, high = table.loc[table["gap"].idxmin()], table.loc[table["gap"].idxmax()]
    return {
        "year": int(table["year"].iloc[0]),
        "min": float(low["gap"]),
        "min_base_year": int(low["base_year"]),
        "max": float(high["gap"]),
        "max_base_year": int(high["base_year"]),
        "base_years": [int(y) for y in table["base_year"]],
    }


def _latest(targets: list[Target]) -> dict[str, Target]:
    """Each specialty's last target (the metrics' ``target.<specialty>``)."""
    out: dict[str, Target] = {}
    for t in sorted(targets, key=lambda t: t.year):
        out[t.specialty] = t
    return out


def _targets(targets: list[Target], table: pd.DataFrame, headline: str) -> dict[str, Any]:
    rows = table[table["scenario"] == headline]
    every: dict[str, Any] = {}
    for t in targets:
        hit = rows[(rows["specialty"] == t.specialty) & (rows["year"] == t.year)].iloc[0]
        entry = {
            "p_reach": _none(hit["p_reach"]),
            "year": t.year,
            "value": t.value,
            "source": t.source,
            "name": t.name,
        }
        _triple(
            entry,
            "specialists",
            hit.get("specialists"),
            hit.get("specialists_low"),
            hit.get("specialists_high"),
        )
        if "p_reach_fte" in hit.index:
            entry["p_reach_fte"] = _none(hit["p_reach_fte"])
            entry["value_fte"] = _none(hit["target_fte"])
        every[t.key] = entry
    latest = {s: every[t.key] for s, t in _latest(targets).items()}
    return {"target": latest, "targets": every}


def _required(table: pd.DataFrame, probability: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"required_probability": probability}
    posts, status, by_region, with_levers, foreign, p_max = {}, {}, {}, {}, {}, {}
    for _, r in table.sort_values("year").iterrows():  # the latest target per specialty wins
        s = r["specialty"]
        posts[s] = _none(float(r["posts"]))
        status[s] = r["status"]
        by_region[s] = {k: float(v) for k, v in r["by_region"].items()}
        with_levers[s] = _none(float(r.get("posts_with_levers", np.nan)))
        foreign[s] = _none(float(r.get("foreign_per_year", np.nan)))
        p_max[s] = _none(float(r["p_max_posts"]))
    out.update(
        required_h_posts=posts,
        required_h_posts_status=status,
        required_h_posts_by_region=by_region,
        required_h_posts_with_levers=with_levers,
        required_foreign_per_year=foreign,
        required_p_max_posts_alone=p_max,
    )
    return out
