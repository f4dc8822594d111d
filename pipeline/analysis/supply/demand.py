"""How many specialists are needed: three definitions side by side.

The gap is needed minus supply, and "needed" is a choice. The definitions here count
specialists (doctors in training are shown apart, not counted against the gap):

* ``base_ratio``: the growth stage's definition, for specialists. The base year is assumed to
  have been balanced; needed = specialists then x patients(t) / patients then. It rests wholly
  on that assumption, so ``base_year_gaps`` shows how the gap moves with the base year.
* ``vacancies``: the measured imbalance in the optional ``specialist_posts`` file (funded -
  filled, plus posts covered by locums when given) is the starting gap; needed = specialists +
  vacancies in that year, growing with patients after (the Dutch Capaciteitsorgaan, HRSA and NHS
  England start from a measured gap like this).
* ``target``: named targets per specialty and year (``supply.targets``, by default the
  ministry's 1,400 specialists in adult psychiatry and 500 in child and adolescent psychiatry in
  2035); needed = the target in its year. Targets are national: no regional gap.

Patients grow by the growth stage's projections. The nation follows its own projection; the
regions' and the specialties' own projections split it, so regions and specialties add up to the
nation in every draw. With working time in the data, each definition is also given in FTE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.supply.model import (
    GEOGRAPHIES,
    NATIONAL,
    PATIENT_GROUP,
    REGIONS,
    SPECIALTIES,
    Draws,
    Inputs,
    Projection,
    by_geography,
    median_interval,
    patient_draws,
    reconcile,
)

DEFINITIONS = ("base_ratio", "vacancies", "target")
# Why a definition could not be computed, or why the headline is not the one asked for.
NOTE_NO_VACANCIES = "vacancies_not_given"
NOTE_VACANCY_YEAR = "vacancies_year_without_physicians"
NOTE_BASE_YEAR = "base_year_after_start"
NOTE_NO_TARGETS = "targets_not_given"
NOTE_FALLBACK = "headline_fallback"
NOTE_TARGET_NATIONAL = "target_national_only"
NOTE_FTE_APPROXIMATED = "fte_anchor_approximated"


@dataclass
class Target:
    """A named target: specialists in a specialty in a year."""

    specialty: str
    year: int
    value: float
    source: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.specialty}_{self.year}"


def targets_from_params(params: dict[str, Any]) -> list[Target]:
    """The targets in ``supply.targets``, sorted by specialty and year."""
    out = [
        Target(
            specialty=str(t["specialty"]),
            year=int(t["year"]),
            value=float(t["value"]),
            source=str(t.get("source", "")),
            name=str(t.get("name", "")),
        )
        for t in params.get("targets", [])
    ]
    return sorted(out, key=lambda t: (SPECIALTIES.index(t.specialty), t.year))


@dataclass
class Demand:
    """Specialists needed under one definition, per draw and year."""

    code: str
    available: bool
    years: np.ndarray
    specialties: tuple[str, ...]  # counted in the geographies' totals
    anchor_year: int | None = None
    needed: np.ndarray | None = None  # draws x years x geography (NaN where undefined)
    needed_specialty: np.ndarray | None = None  # draws x years x specialty, national
    needed_fte: np.ndarray | None = None
    needed_specialty_fte: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    def gap(self, run: Projection, fte: bool = False) -> np.ndarray:
        """Needed minus specialists per draw x year x geography (NaN where undefined)."""
        needed = self.needed_fte if fte else self.needed
        supply = run.specialists_fte if fte else run.specialists
        if needed is None or supply is None:
            return np.full((run.specialists.shape[0], len(run.years), len(GEOGRAPHIES)), np.nan)
        return needed - by_geography(supply, self.specialties)

    def gap_specialty(self, run: Projection, fte: bool = False) -> np.ndarray:
        """Needed minus specialists per draw x year x specialty, national."""
        needed = self.needed_specialty_fte if fte else self.needed_specialty
        supply = run.specialists_fte if fte else run.specialists
        if needed is None or supply is None:
            return np.full((run.specialists.shape[0], len(run.years), len(SPECIALTIES)), np.nan)
        return needed - supply.sum(axis=2)


def _growth(inputs: Inputs, draws: Draws, years: np.ndarray, anchor: int) -> dict:
    """Patients(t) / patients(anchor) per series, draws x years (the anchor is a data year)."""
    now = patient_draws(inputs, draws, years)
    then = patient_draws(inputs, draws, np.array([anchor]))
    return {k: now[k] / then[k] for k in now if k in then}


def anchored(
    inputs: Inputs,
    draws: Draws,
    years: np.ndarray,
    anchor_year: int,
    anchor: np.ndarray,
    specialties: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """Needed = ``anchor`` (region x specialty, in ``anchor_year``) growing with patients.

    Returns draws x years x geography (the chosen specialties) and draws x years x specialty
    (national). The nation grows with the national projection; regions with their own and
    specialties with their patient group's, both then scaled to add up to the nation.
    """
    growth = _growth(inputs, draws, years, anchor_year)
    keep = np.array([s in specialties for s in SPECIALTIES])
    national_growth = growth[(NATIONAL, "total")]
    national = anchor[:, keep].sum() * national_growth
    regional = np.stack(
        [
            anchor[r, keep].sum() * growth.get((region, "total"), national_growth)
            for r, region in enumerate(REGIONS)
        ],
        axis=-1,
    )
    by_specialty = np.stack(
        [
            anchor[:, s].sum() * growth.get((NATIONAL, PATIENT_GROUP[spec]), national_growth)
            for s, spec in enumerate(SPECIALTIES)
        ],
        axis=-1,
    )
    if keep.any():
        by_specialty[..., keep] = reconcile(national, by_specialty[..., keep])
    geo = np.concatenate([national[..., None], reconcile(national, regional)], axis=-1)
    return geo, by_specialty


def _fte_anchor(inputs: Inputs, year: int, heads: np.ndarray) -> tuple[np.ndarray, bool]:
    """Specialist FTE per region x specialty in ``year``: the data's, or heads x the start
    year's FTE per head when that year lacks FTE (second value True)."""
    if year in inputs.fte_by_year:
        return inputs.fte_by_year[year], False
    stock = inputs.stock
    per_head = (stock * inputs.fte.specialist).sum(-1) / np.maximum(stock.sum(-1), 1e-12)
    return heads * per_head, True


def base_ratio(
    inputs: Inputs, draws: Draws, years: np.ndarray, base_year: int | None = None
) -> Demand:
    """Needed = specialists in the base year x patients(t) / patients in the base year."""
    base = int(base_year if base_year is not None else inputs.base_year)
    if base not in inputs.specialists_by_year:
        return Demand("base_ratio", False, years, inputs.specialties, base, notes=(NOTE_BASE_YEAR,))
    heads = inputs.specialists_by_year[base]
    geo, spec = anchored(inputs, draws, years, base, heads, inputs.specialties)
    out = Demand("base_ratio", True, years, inputs.specialties, base, geo, spec)
    if inputs.fte is not None:
        fte, approximated = _fte_anchor(inputs, base, heads)
        out.needed_fte, out.needed_specialty_fte = anchored(
            inputs, draws, years, base, fte, inputs.specialties
        )
        if approximated:
            out.notes = (*out.notes, NOTE_FTE_APPROXIMATED)
    return out


def vacancies(inputs: Inputs, draws: Draws, years: np.ndarray) -> Demand:
    """Needed = specialists + measured vacancies in the vacancies' year, growing with patients:
    in that year the gap is exactly the vacancies."""
    v = inputs.vacancies
    if v is None:
        return Demand("vacancies", False, years, inputs.specialties, notes=(NOTE_NO_VACANCIES,))
    if v.year not in inputs.specialists_by_year:
        return Demand(
            "vacancies", False, years, inputs.specialties, v.year, notes=(NOTE_VACANCY_YEAR,)
        )
    heads = inputs.specialists_by_year[v.year]
    geo, spec = anchored(inputs, draws, years, v.year, heads + v.vacancies, inputs.specialties)
    out = Demand("vacancies", True, years, inputs.specialties, v.year, geo, spec)
    if inputs.fte is not None:
        # A funded post is a full-time post: vacancies add as FTE.
        fte, approximated = _fte_anchor(inputs, v.year, heads)
        out.needed_fte, out.needed_specialty_fte = anchored(
            inputs, draws, years, v.year, fte + v.vacancies, inputs.specialties
        )
        if approximated:
            out.notes = (*out.notes, NOTE_FTE_APPROXIMATED)
    return out


def target(inputs: Inputs, draws: Draws, years: np.ndarray, targets: list[Target]) -> Demand:
    """Needed = the target in its year (national; NaN in other years and in the regions). The
    national total is defined in a year where every counted specialty has a target."""
    n = draws.n
    if not targets:
        return Demand("target", False, years, inputs.specialties, notes=(NOTE_NO_TARGETS,))
    spec = np.full((n, len(years), len(SPECIALTIES)), np.nan)
    for t in targets:
        if t.year in years:
            spec[:, int(np.flatnonzero(years == t.year)[0]), SPECIALTIES.index(t.specialty)] = (
                t.value
            )
    keep = np.array([s in inputs.specialties for s in SPECIALTIES])
    geo = np.full((n, len(years), len(GEOGRAPHIES)), np.nan)
    geo[..., 0] = spec[..., keep].sum(-1) if keep.any() else np.nan  # NaN unless all given
    out = Demand(
        "target", True, years, inputs.specialties, None, geo, spec, notes=(NOTE_TARGET_NATIONAL,)
    )
    if inputs.fte is not None:
        # A target counts heads at today's working time: x the start year's FTE per head.
        out.needed_specialty_fte = spec * fte_per_head_now(inputs)
        geo_fte = np.full_like(geo, np.nan)
        geo_fte[..., 0] = out.needed_specialty_fte[..., keep].sum(-1) if keep.any() else np.nan
        out.needed_fte = geo_fte
    return out


def definition(
    code: str, inputs: Inputs, draws: Draws, years: np.ndarray, targets: list[Target]
) -> Demand:
    """One demand definition by its code."""
    if code == "base_ratio":
        return base_ratio(inputs, draws, years)
    if code == "vacancies":
        return vacancies(inputs, draws, years)
    return target(inputs, draws, years, targets)


def definitions(
    inputs: Inputs, draws: Draws, years: np.ndarray, targets: list[Target]
) -> dict[str, Demand]:
    """Every demand definition on the same draws."""
    return {code: definition(code, inputs, draws, years, targets) for code in DEFINITIONS}


def fte_per_head_now(inputs: Inputs) -> np.ndarray | None:
    """National FTE per specialist head per specialty in the start year (None without FTE)."""
    if inputs.fte is None:
        return None
    stock = inputs.stock
    fte_now = (stock * inputs.fte.specialist).sum(-1).sum(0)
    return fte_now / np.maximum(stock.sum(-1).sum(0), 1e-12)


def fte_targets(inputs: Inputs, targets: list[Target]) -> dict[str, float] | None:
    """Each target in FTE: its heads at the start year's FTE per head (None without FTE)."""
    per_head = fte_per_head_now(inputs)
    if per_head is None:
        return None
    return {t.key: t.value * float(per_head[SPECIALTIES.index(t.specialty)]) for t in targets}


def headline(demands: dict[str, Demand], requested: str) -> tuple[str, str | None]:
    """The definition the headline uses: the one asked for in ``supply.demand`` when the data
    allow it, else ``base_ratio`` (with note ``headline_fallback``)."""
    if demands[requested].available:
        return requested, None
    return "base_ratio", NOTE_FALLBACK


# --------------------------------------------------------------------------------------------
# Tables of the definitions
# --------------------------------------------------------------------------------------------
def side_by_side(
    demands: dict[str, Demand], run: Projection, year: int, headline_code: str
) -> pd.DataFrame:
    """The gap in specialists under each definition in ``year`` (a target's own year for
    ``target``) and in the start year, national and per specialty, with 95 % intervals.

    Rows: definition x scope (``total`` or a specialty code); ``available`` False (and NaN
    values) where the data do not allow the definition; ``headline`` marks the headline.
    """
    rows = []
    start = int(run.years[0])
    for code, d in demands.items():
        for scope in ("total", *SPECIALTIES):
            row = {
                "definition": code,
                "scope": scope,
                "start_year": start,
                "available": d.available,
                "headline": code == headline_code,
                "anchor_year": d.anchor_year,
                "notes": "|".join(d.notes),
            }
            at = _definition_year(d, scope, year)
            row["year"] = at
            for unit, fte in (("", False), ("fte_", True)):
                gap = _scope_gap(d, run, scope, fte)
                if gap is None or at is None or at not in run.years:
                    row.update(
                        {
                            f"{unit}gap": np.nan,
                            f"{unit}gap_low": np.nan,
                            f"{unit}gap_high": np.nan,
                            f"{unit}gap_start": np.nan,
                        }
                    )
                    continue
                t = int(np.flatnonzero(run.years == at)[0])
                mid, low, high = median_interval(gap[:, t])
                row.update(
                    {
                        f"{unit}gap": mid,
                        f"{unit}gap_low": low,
                        f"{unit}gap_high": high,
                        f"{unit}gap_start": float(np.median(gap[:, 0])),
                    }
                )
            rows.append(row)
    return pd.DataFrame(rows)


def _definition_year(d: Demand, scope: str, year: int) -> int | None:
    """The year a definition's gap is shown: ``year``, or for targets the target's year (the
    last with a value in this scope)."""
    if d.code != "target" or not d.available:
        return year
    needed = (
        d.needed[0, :, 0]
        if scope == "total"
        else d.needed_specialty[0, :, SPECIALTIES.index(scope)]
    )
    given = d.years[np.isfinite(needed)]
    if not len(given):
        return None
    return int(year) if year in given else int(given.max())


def _scope_gap(d: Demand, run: Projection, scope: str, fte: bool) -> np.ndarray | None:
    if not d.available or (fte and run.specialists_fte is None):
        return None
    if scope == "total":
        return d.gap(run, fte)[..., 0]
    return d.gap_specialty(run, fte)[..., SPECIALTIES.index(scope)]


def base_year_gaps(
    inputs: Inputs, draws: Draws, run: Projection, year: int, series: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The national specialist gap in the start year and in ``year`` for every base year the
    data allow (every year up to the start year with specialists and patients), and the
    growth stage's physicians gap with the same base year.

    The gap in the start year is measured (no projection); ``year``'s has its 95 % interval.
    """
    rows = []
    years = run.years
    t = int(np.flatnonzero(years == year)[0])
    specialists = by_geography(run.specialists, inputs.specialties)[..., 0]
    series = inputs.legacy_series if series is None else series
    totals = series[(series["group"] == "total") & (series["geography"] == NATIONAL)]
    values = totals.set_index(["measure", "year"])["value"]
    candidates = sorted(y for y in inputs.specialists_by_year if y <= inputs.start_year)
    patients_now = patient_draws(inputs, draws, years)[(NATIONAL, "total")]
    for base in candidates:
        if ("patients", base) not in values.index:
            continue
        d = base_ratio(inputs, draws, years, base)
        gap = d.needed[..., 0] - specialists
        mid, low, high = median_interval(gap[:, t])
        row = {
            "base_year": base,
            "is_base_year": base == inputs.base_year,
            "year": year,
            "gap_start": float(np.median(gap[:, 0])),
            "gap": mid,
            "gap_low": low,
            "gap_high": high,
        }
        if ("physicians", base) in values.index:
            ratio = values[("physicians", base)] / values[("patients", base)]
            legacy = ratio * patients_now - run.supply[..., 0]
            l_mid, l_low, l_high = median_interval(legacy[:, t])
            row.update(
                {
                    "physicians_gap": l_mid,
                    "physicians_gap_low": l_low,
                    "physicians_gap_high": l_high,
                    "physicians_gap_start": float(np.median(legacy[:, 0])),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)
