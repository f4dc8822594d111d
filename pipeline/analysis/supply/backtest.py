"""The out-of-sample backtest: start the model in an earlier year with only what was known then.

Every rate is estimated from the data up to the backtest's start year: exit rates, fill rates
and their year-to-year spread, posts, FTE, and the conversion from I- to H-post, here counted
among the I-doctors whose whole horizon had passed by the end of the start year (the retention
stage's estimate uses every year, so it is not used). The model then projects the specialists and
doctors in training with its Monte Carlo draws; the observed years are compared with the median
and with the 80 % and 95 % intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.analysis.supply.model import (
    GEOGRAPHIES,
    NATIONAL,
    NO_CHANGE,
    SPECIALTIES,
    _cube,
    build_inputs,
    by_geography,
    draw,
    median_interval,
    project,
)
from pipeline.data.definitions import DAYS_PER_YEAR, converted_within

GRADES_SHOWN = ("specialist", "trainee")


def conversion_known_at(trainees: pd.DataFrame, year: int, horizon_years: float) -> pd.DataFrame:
    """The share of I-doctors in an H-post in psychiatry within ``horizon_years``, per track,
    among those whose horizon had ended by the end of ``year`` (so the share was known then),
    with a Jeffreys 95 % interval. A track with nobody is left out (its lever has no effect).

    Returns
    -------
    DataFrame
        ``group`` (``regular``/``combined``), ``cif``, ``ci_low``, ``ci_high``, ``n``: the
        columns of ``retention/conversion_by_track``.
    """
    end = pd.Timestamp(year=year, month=12, day=31)
    cutoff = end - pd.Timedelta(days=horizon_years * DAYS_PER_YEAR)
    followed = trainees[trainees["i_start"] <= cutoff]
    converted = converted_within(followed, horizon_years)
    track = np.where(followed["combined_track"].to_numpy(dtype=bool), "combined", "regular")
    rows = []
    for group in ("regular", "combined"):
        mask = track == group
        n, k = int(mask.sum()), int(converted[mask].sum())
        if n == 0:
            continue
        low, high = stats.beta.ppf([0.025, 0.975], k + 0.5, n - k + 0.5)
        rows.append(
            {"group": group, "cif": k / n, "ci_low": float(low), "ci_high": float(high), "n": n}
        )
    return pd.DataFrame(rows, columns=["group", "cif", "ci_low", "ci_high", "n"])


def backtest(
    tables: dict[str, pd.DataFrame],
    series: pd.DataFrame,
    projection: pd.DataFrame,
    params: dict[str, Any],
    *,
    start_year: int,
    base_year: int,
    grades: Sequence[str],
    specialties: Sequence[str],
    horizon_years: float,
    simulations: int,
    seed: int,
) -> pd.DataFrame:
    """Project from ``start_year`` with the data known then and compare with the data after.

    Returns one row per grade, geography and year: ``projected`` (the median of the draws),
    ``low80``/``high80``, ``low95``/``high95``, ``observed``, ``error``, ``ape`` and whether the
    observed value is ``inside80`` and ``inside95``.
    """
    physicians = tables["physicians"]
    last = int(physicians["year"].max())
    known = {
        "physicians": physicians[physicians["year"] <= start_year],
        "training_posts": tables["training_posts"][tables["training_posts"]["year"] <= start_year],
        "trainees": tables["trainees"],
    }
    conversion = conversion_known_at(tables["trainees"], start_year, horizon_years)
    inputs = build_inputs(
        known,
        series,
        projection,
        conversion,
        params,
        base_year=min(base_year, start_year),
        grades=grades,
        specialties=specialties,
        start_year=start_year,
    )
    draws = draw(inputs, simulations, np.random.default_rng(seed))
    run = project(inputs, draws, dict(NO_CHANGE), last)
    rows = []
    for t, year in enumerate(run.years):
        actual = physicians[physicians["year"] == year]
        for grade, values in (("specialist", run.specialists), ("trainee", run.trainees)):
            observed = _cube(actual[actual["grade"].astype(str) == grade], "headcount", False)
            projected = by_geography(values[:, t][:, None], SPECIALTIES)[:, 0]
            seen = np.concatenate([[observed.sum()], observed.sum(axis=1)])
            mid, low95, high95 = median_interval(projected)
            _, low80, high80 = median_interval(projected, level="pi80")
            for g, geography in enumerate(GEOGRAPHIES):
                rows.append(
                    {
                        "grade": grade,
                        "geography": geography,
                        "year": int(year),
                        "projected": mid[g],
                        "low80": low80[g],
                        "high80": high80[g],
                        "low95": low95[g],
                        "high95": high95[g],
                        "observed": seen[g],
                    }
                )
    out = pd.DataFrame(rows)
    out["error"] = out["projected"] - out["observed"]
    out["ape"] = (out["error"].abs() / out["observed"].where(out["observed"] > 0)).astype(float)
    out["inside80"] = (out["low80"] <= out["observed"]) & (out["observed"] <= out["high80"])
    out["inside95"] = (out["low95"] <= out["observed"]) & (out["observed"] <= out["high95"])
    return out


def summary(result: pd.DataFrame, geography: str = NATIONAL) -> dict[str, dict[str, float]]:
    """Per grade, over the years after the start: mean and largest absolute percentage error
    and the share of years inside the 80 % and 95 % intervals."""
    start = result["year"].min()
    after = result[(result["geography"] == geography) & (result["year"] > start)]
    out = {}
    for grade in GRADES_SHOWN:
        d = after[after["grade"] == grade]
        out[grade] = {
            "mape": float(100 * d["ape"].mean()) if d["ape"].notna().any() else float("nan"),
            "max_ape": float(100 * d["ape"].max()) if d["ape"].notna().any() else float("nan"),
            "coverage80": float(d["inside80"].mean()) if len(d) else float("nan"),
            "coverage95": float(d["inside95"].mean()) if len(d) else float("nan"),
            "years": len(d),
        }
    return out
