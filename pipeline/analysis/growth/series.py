"""The series the growth models are fitted to: patients and physicians per year and geography."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from pipeline.data.contract import GEOGRAPHIES, NATIONAL
from pipeline.publish.labels import GROUP_LABELS

# Physicians are grouped by specialty the way patients are grouped by age.
SPECIALTY_GROUP = {"psychiatry": "adult", "child_adolescent_psychiatry": "child_adolescent"}


def build_series(
    tables: dict[str, pd.DataFrame],
    grades: Iterable[str],
    specialties: Iterable[str],
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
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES, ordered=True)
    out["group"] = pd.Categorical(out["group"], list(GROUP_LABELS), ordered=True)
    out["value"] = out["value"].astype(float)
    cols = ["measure", "geography", "group", "year", "value"]
    return out[cols].sort_values(cols[:4]).reset_index(drop=True)


def modelled_series(series: pd.DataFrame, fit_from_year: int = 0) -> pd.DataFrame:
    """The series the models are fitted to: every group nationally, the totals per region,
    from ``fit_from_year`` on."""
    keep = ((series["geography"] == NATIONAL) | (series["group"] == "total")) & (
        series["year"] >= fit_from_year
    )
    return series[keep]


def index_series(series: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Each series as an index with ``base_year`` = 100 (the regions' chart)."""
    base = series[series["year"] == base_year].set_index(["measure", "geography", "group"])
    keys = ["measure", "geography", "group"]
    merged = series.join(base["value"].rename("base"), on=keys)
    return merged.assign(index=100 * merged["value"] / merged["base"]).drop(columns="base")


@dataclass(frozen=True)
class Withheld:
    """Series the growth stage does not publish: a count of 1 to ``min_cell - 1`` persons in any
    year (a region with three physicians, say), and what would give it back by subtraction."""

    geographies: frozenset[str]  # regions left out of every published table and figure
    groups: frozenset[str]  # national groups (adult, child_adolescent) left out

    def filter(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` without the rows of withheld series (by ``geography`` and ``group``)."""
        keep = ~df["geography"].astype(str).isin(self.geographies)
        if "group" in df:
            keep &= ~(
                (df["geography"].astype(str) == NATIONAL)
                & df["group"].astype(str).isin(self.groups)
            )
        return df[keep].reset_index(drop=True)

    def shown(self, geographies: Iterable[str]) -> list[str]:
        return [g for g in geographies if g not in self.geographies]


def withheld(series: pd.DataFrame, min_cell: int) -> Withheld:
    """Which series to withhold from the published tables and figures.

    A region's series with a small count is withheld, and with it the smallest other region
    (the nation minus the regions shown would otherwise give it back). A national group series
    with a small count is withheld with its sibling group (total minus the other group). The
    models still use every series: only what is shown is restricted.
    """
    small = series[(series["value"] > 0) & (series["value"] < min_cell)]
    regional = series[series["geography"] != NATIONAL]
    hidden = set(small.loc[small["geography"] != NATIONAL, "geography"].astype(str))
    if len(hidden) == 1:
        size = regional[~regional["geography"].astype(str).isin(hidden)]
        size = size.groupby(size["geography"].astype(str), observed=True)["value"].sum()
        if len(size):
            hidden.add(str(size.idxmin()))
    national_small = small[small["geography"] == NATIONAL]["group"].astype(str)
    groups = {"adult", "child_adolescent"} if set(national_small) - {"total"} else set()
    return Withheld(frozenset(hidden), frozenset(groups))
