"""The specialist gap: physicians needed to keep the base year's patients per physician, minus
the physicians there are (observed, or drawn from the projections), and the regions' 2022 claim
re-checked with the same method."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.analysis.growth.models import GrowthResult, fit_growth
from pipeline.data.contract import GEOGRAPHIES, NATIONAL


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


def gaps_by_model(
    series: pd.DataFrame,
    fits_by_model: dict[str, dict[tuple, GrowthResult]],
    *,
    base_year: int,
    target_years: Sequence[int],
    simulations: int,
    seed: int,
) -> pd.DataFrame:
    """``gap`` under every model (the same draws' seeds), stacked with a ``model`` column: how
    much the choice of model moves the gap."""
    frames = [
        gap(
            series,
            fits,
            base_year=base_year,
            target_years=target_years,
            simulations=simulations,
            seed=seed,
        ).assign(model=model)
        for model, fits in fits_by_model.items()
    ]
    return pd.concat(frames, ignore_index=True)


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
