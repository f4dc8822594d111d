"""The specialist gap: physicians needed to keep the base year's patients per physician, minus
the physicians there are (observed, or drawn from the projections), and the regions' 2022 claim
re-checked with the same method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SeedRecheck:
    """The regions' forecast ("more than ``claim`` specialists short in ``target_year``") with
    its own numbers and, like for like, with the data's specialists, for each plausible base year.

    Attributes
    ----------
    by_base_year
        One row per base year: ``base_year``, ``paper_gap`` (the paper's rates from the
        published specialist stock), and where the data have the years ``data_stock``
        (specialists in the base year), ``data_method_gap`` (the paper's method with the data's
        rates) and ``data_observed_gap`` (specialists needed in ``target_year`` for the base
        year's patients per specialist, minus the specialists there were).
    base_years_for_claim
        The base years at which the paper's own numbers give more than ``claim``: the base year
        the forecast needs.
    """

    target_year: int
    as_of_year: int
    claim: float
    paper_stock: float
    paper_patient_growth: float
    paper_physician_growth: float
    data_patient_growth: float | None
    data_specialist_growth: float | None
    by_base_year: pd.DataFrame

    @property
    def base_years_for_claim(self) -> list[int]:
        rows = self.by_base_year
        return [int(y) for y in rows.loc[rows["paper_gap"] > self.claim, "base_year"]]


def seed_comparison(
    specialists: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    first_base_year: int,
    k: int,
    min_cell: int,
    physicians: pd.DataFrame | None = None,
) -> SeedRecheck:
    """The paper's forecast with its own numbers, and the same method applied to the data's
    specialists, from every base year between ``first_base_year`` and the paper's time of writing.

    The paper averaged the growth of the three years up to its time of writing (2016-2018 in
    ``data/reference``), started from a stock of specialists and forecast the shortage in 2022;
    it did not say from which year. Its stock is the published count of specialists, so the data
    side counts specialists only (``specialists`` is :func:`series.build_series` of the
    specialist grade; trainees are not in the paper's count).

    The data side of a base year is left out when its national count of specialists is below
    ``min_cell``, or when the other physicians (``physicians``, the published series of every
    grade, minus the specialists) number between 1 and ``min_cell`` − 1 in the base or target
    year: the method's result gives the count back.
    """
    ref = reference.set_index("measure")
    target = int(ref.loc["specialist_shortage_forecast", "year"])
    as_of = int(str(ref.loc["patient_growth_rate", "year"]).split("-")[-1])
    stock = float(ref.loc["specialists_psychiatry", "value"]) + float(
        ref.loc["specialists_child_adolescent_psychiatry", "value"]
    )
    patient_growth = float(ref.loc["patient_growth_rate", "value"])
    physician_growth = float(ref.loc["physician_growth_rate", "value"])
    national = specialists[
        (specialists["geography"] == NATIONAL) & (specialists["group"] == "total")
    ]
    values = {
        m: national[national["measure"] == m].set_index("year")["value"]
        for m in ("patients", "physicians")
    }
    if physicians is not None:
        everyone = physicians[
            (physicians["geography"] == NATIONAL)
            & (physicians["group"] == "total")
            & (physicians["measure"] == "physicians")
        ].set_index("year")["value"]
        others = everyone.sub(values["physicians"], fill_value=0)
    else:
        others = pd.Series(dtype=float)

    def publishable(year: int) -> bool:
        small_other = 0 < others.get(year, 0) < min_cell
        return values["physicians"].get(year, 0) >= min_cell and not small_other

    have_rates = all(as_of in v.index and (v.index <= as_of).sum() > k for v in values.values())
    growth = (
        {m: fit_growth(v[v.index <= as_of], "average_growth", k=k).rate for m, v in values.items()}
        if have_rates
        else {}
    )
    rows = []
    for base in range(min(first_base_year, as_of), as_of + 1):
        row: dict[str, float] = {
            "base_year": base,
            "paper_gap": seed_gap(stock, patient_growth, physician_growth, target - base),
        }
        if all(base in v.index for v in values.values()) and publishable(base):
            row["data_stock"] = float(values["physicians"][base])
            if growth:
                row["data_method_gap"] = seed_gap(
                    row["data_stock"], growth["patients"], growth["physicians"], target - base
                )
            if all(target in v.index for v in values.values()) and publishable(target):
                ratio = values["physicians"][base] / values["patients"][base]
                row["data_observed_gap"] = float(
                    ratio * values["patients"][target] - values["physicians"][target]
                )
        rows.append(row)
    columns = ["base_year", "paper_gap", "data_stock", "data_method_gap", "data_observed_gap"]
    return SeedRecheck(
        target_year=target,
        as_of_year=as_of,
        claim=float(ref.loc["specialist_shortage_forecast", "value"]),
        paper_stock=stock,
        paper_patient_growth=patient_growth,
        paper_physician_growth=physician_growth,
        data_patient_growth=growth.get("patients"),
        data_specialist_growth=growth.get("physicians"),
        by_base_year=pd.DataFrame(rows).reindex(columns=columns).astype({"base_year": int}),
    )
