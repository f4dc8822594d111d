"""Targets: the probability of reaching them, and the H-posts that would.

``p_reach`` is the share of the Monte Carlo draws in which the specialists of a specialty reach
its target in the target year: the draws carry every input's uncertainty, so this is the
probability the model gives, for each scenario.

``required_posts`` solves for the extra H-posts a year (from the year after the start) that give
P(reach) >= ``supply.required_probability``, on the same draws. In each draw the specialists in
the target year are, as a function of ``x`` extra posts in the specialty,

    S(x) = S(0) + sum over start years y of  r_y * min(x * a_y, h_y)

where ``a_y`` is the starts one extra post gives (the fill rate, region by region), ``h_y`` the
starts the applicant pool still allows, and ``r_y`` the specialists in the target year per start
(completion, the share a year late and survival to the target year): the projection's own
arithmetic, so a projection with the solved posts reproduces the probability. Each draw has a
threshold (the fewest posts reaching the target, infinite when its pool runs out first); the
required number is the ``q``-quantile of the thresholds. It therefore never falls when ``q`` or
the target rises.

When posts alone cannot reach the probability (fill rates and the pool bind), the solver adds
the other levers of ``supply.required_with_scenario`` and, if still short, the foreign recruits
a year the specialty would need besides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.supply.demand import Target
from pipeline.analysis.supply.exits import band_profile
from pipeline.analysis.supply.model import (
    NO_CHANGE,
    REGIONS,
    SPECIALTIES,
    Draws,
    Inputs,
    Projection,
    arrival_survival,
    completion_in,
    extra_posts,
    median_interval,
    project,
    start_parts,
)

# Status codes of a required-posts result (tables.py words them).
STATUS_REACHED = "reached_without_posts"
STATUS_POSTS = "posts"
STATUS_WITH_LEVERS = "posts_with_levers"
STATUS_WITH_FOREIGN = "posts_levers_and_foreign"
STATUS_TOO_LATE = "target_before_first_graduates"
STATUS_OUTSIDE = "target_outside_projection"
BISECTION_STEPS = 60
ROUNDING = 1e-9  # relative margin against rounding differences between solver and projection


def specialists_in(run: Projection, specialty: str, year: int, fte: bool = False) -> np.ndarray:
    """National specialists of ``specialty`` in ``year`` per draw (NaN outside the run)."""
    values = run.specialists_fte if fte else run.specialists
    if values is None or year not in run.years:
        return np.full(run.specialists.shape[0], np.nan)
    t = int(np.flatnonzero(run.years == year)[0])
    return values[:, t, :, SPECIALTIES.index(specialty)].sum(axis=1)


def p_reach(run: Projection, target: Target, fte_value: float | None = None) -> float:
    """Share of draws whose specialists reach ``target`` in its year (NaN outside the run).

    With ``fte_value`` the FTE supply against that FTE target.
    """
    supply = specialists_in(run, target.specialty, target.year, fte=fte_value is not None)
    if np.isnan(supply).all():
        return float("nan")
    value = target.value if fte_value is None else fte_value
    return float(np.mean(supply >= value))


def target_table(
    runs: dict[str, Projection], targets: list[Target], fte_values: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per scenario and target: specialists in the target year (median, 95 % interval), the
    gap to the target and P(reach); in FTE too with ``fte_values`` (target key -> FTE)."""
    rows = []
    for name, run in runs.items():
        for target in targets:
            supply = specialists_in(run, target.specialty, target.year)
            row = {
                "scenario": name,
                "specialty": target.specialty,
                "year": target.year,
                "target": target.value,
                "source": target.source,
                "p_reach": p_reach(run, target),
            }
            if np.isnan(supply).all():
                row.update(specialists=np.nan, specialists_low=np.nan, specialists_high=np.nan)
            else:
                mid, low, high = median_interval(supply)
                row.update(specialists=mid, specialists_low=low, specialists_high=high)
                g_mid, g_low, g_high = median_interval(target.value - supply)
                row.update(gap=g_mid, gap_low=g_low, gap_high=g_high)
            if fte_values is not None and run.specialists_fte is not None:
                value = fte_values[target.key]
                row.update(target_fte=value, p_reach_fte=p_reach(run, target, value))
                fte = specialists_in(run, target.specialty, target.year, fte=True)
                if not np.isnan(fte).all():
                    mid, low, high = median_interval(fte)
                    row.update(
                        specialists_fte=mid, specialists_fte_low=low, specialists_fte_high=high
                    )
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The posts needed
# --------------------------------------------------------------------------------------------
@dataclass
class Response:
    """A specialty's specialists in the target year as a function of extra posts, per draw."""

    base: np.ndarray  # draws: with no extra posts
    per_post: np.ndarray  # draws x start years: a_y, starts per extra post
    headroom: np.ndarray  # draws x start years: h_y, starts the pool still allows
    per_start: np.ndarray  # draws x start years: r_y, specialists in the target year per start

    def supply(self, x: np.ndarray | float) -> np.ndarray:
        """S(x) per draw for ``x`` extra posts (a number, or one per draw)."""
        x = np.asarray(x, dtype=float).reshape(-1, 1)
        return self.base + (self.per_start * np.minimum(x * self.per_post, self.headroom)).sum(1)

    @property
    def saturation(self) -> np.ndarray:
        """Per draw, the posts beyond which more add nothing (the pool binds in every year)."""
        if not self.per_post.shape[1]:
            return np.zeros(len(self.base))
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.per_post > 0, self.headroom / self.per_post, 0.0)
        return ratio.max(axis=1)

    @property
    def ceiling(self) -> np.ndarray:
        """S with posts beyond which more add nothing (the pool binds in every start year)."""
        return self.base + (self.per_start * np.where(self.per_post > 0, self.headroom, 0)).sum(1)

    def thresholds(self, value: float) -> np.ndarray:
        """Per draw the fewest extra posts reaching ``value`` (0 if reached, inf if never)."""
        aim = value + ROUNDING * max(abs(value), 1.0)
        out = np.where(self.base >= value, 0.0, np.inf)
        open_ = (self.base < value) & (self.ceiling >= aim)
        if not open_.any():
            return out
        high = np.where(open_, self.saturation, 0.0)
        low = np.zeros_like(high)
        # Bisection on every draw at once; ``high`` always reaches the value. It aims a hair
        # above the value, so the projection (the same sums in another order) reaches it too.
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            reached = self.supply(middle) >= aim
            high = np.where(open_ & reached, middle, high)
            low = np.where(open_ & ~reached, middle, low)
        out[open_] = high[open_]
        return out


def response(
    inputs: Inputs,
    draws: Draws,
    levers: dict[str, Any],
    specialty: str,
    year: int,
    base_run: Projection | None = None,
) -> Response:
    """The pieces of S(x) for ``specialty`` in ``year`` under ``levers`` (``base_run``: the
    projection with these levers, when already at hand)."""
    levers = {**NO_CHANGE, **levers}
    p = inputs.params
    start, d = inputs.start_year, p["h_duration_years"]
    s = SPECIALTIES.index(specialty)
    run = base_run if base_run is not None else project(inputs, draws, levers, year)
    base = specialists_in(run, specialty, year)
    first_years = list(range(start + 1, year - d + 1))  # later starts finish after ``year``
    survival = arrival_survival(
        inputs, draws, levers, specialty, band_profile(p["new_specialist_age_band"]), year
    )  # draws x arrival years start + 1 .. year
    completion = {a: completion_in(inputs, draws, a)[:, s] for a in range(start + 1, year + 1)}
    column = inputs.h_advertised[:, s]
    shares = column / column.sum() if column.sum() > 0 else np.full(len(REGIONS), 1 / len(REGIONS))
    per_post, headroom, per_start = [], [], []
    delay = draws.h_delay
    for y in first_years:
        parts = start_parts(inputs, draws, levers, y)
        per_post.append((shares[None, :] * parts.fill[:, :, s]).sum(axis=1))
        total = parts.uncapped[:, :, s].sum(axis=1)
        headroom.append(np.maximum(parts.cap[:, s] - total, 0.0))
        on_time, late = y + d, y + d + 1
        r = (1 - delay) * completion[on_time] * survival[:, on_time - start - 1]
        if late <= year:
            r = r + delay * completion[late] * survival[:, late - start - 1]
        per_start.append(r)
    n = draws.n
    stack = (lambda v: np.stack(v, axis=1)) if first_years else (lambda v: np.zeros((n, 0)))
    return Response(base, stack(per_post), stack(headroom), stack(per_start))


def quantile_threshold(thresholds: np.ndarray, probability: float) -> float:
    """The fewest posts with at least ``probability`` of the draws reaching: the
    ``ceil(q * n)``-th smallest threshold (inf when that many never reach)."""
    ordered = np.sort(thresholds)
    k = max(math.ceil(probability * len(ordered) - 1e-9), 1)
    return float(ordered[k - 1])


def foreign_response(
    inputs: Inputs, draws: Draws, levers: dict[str, Any], specialty: str, year: int
) -> np.ndarray:
    """Specialists of ``specialty`` in ``year`` per draw from one extra recruit a year into
    it from the year after the start (completion, delay and survival included)."""
    p = inputs.params
    start, pathway = inputs.start_year, p["foreign_pathway_years"]
    levers = {**NO_CHANGE, **levers}
    survival = arrival_survival(
        inputs, draws, levers, specialty, band_profile(p["foreign_age_band"]), year
    )
    out = np.zeros(draws.n)
    for y in range(start + 1, year - pathway + 1):
        on_time, late = y + pathway, y + pathway + 1
        out += (1 - draws.foreign_delay) * survival[:, on_time - start - 1]
        if late <= year:
            out += draws.foreign_delay * survival[:, late - start - 1]
    return out * draws.foreign_completion


def required_posts(
    inputs: Inputs,
    draws: Draws,
    targets: list[Target],
    probability: float,
    with_levers: dict[str, Any],
    horizon_year: int | None = None,
) -> pd.DataFrame:
    """The extra H-posts a year per target for P(reach) >= ``probability``.

    Returns one row per target: ``posts`` (posts alone; NaN when they cannot), ``p_posts`` (P
    with them, or the most posts can give), ``posts_saturation`` (posts beyond which more add
    nothing, in ``probability`` of the draws), and when posts alone fall short
    ``posts_with_levers`` (on top of ``with_levers``), ``foreign_per_year`` (recruits into the
    specialty needed besides); and the ``status`` code. ``by_region`` (a dict region -> posts)
    splits ``posts`` (or the posts of the combination) by the specialty's posts advertised now.
    """
    rows = []
    base_levers = dict(NO_CHANGE)
    d = inputs.params["h_duration_years"]
    for target in targets:
        outside = target.year <= inputs.start_year or (
            horizon_year is not None and target.year > horizon_year
        )
        row: dict[str, Any] = {
            "specialty": target.specialty,
            "year": target.year,
            "target": target.value,
            "probability": probability,
            # Filled in only when posts alone cannot reach the probability.
            "posts_with_levers": np.nan,
            "posts_saturation_with_levers": np.nan,
            "p_with_levers": np.nan,
            "foreign_per_year": np.nan,
        }
        if outside:  # in the data, or beyond the patients' projection: nothing to solve
            row.update(
                posts=np.nan,
                p_posts=np.nan,
                p_max_posts=np.nan,
                p_without=np.nan,
                posts_saturation=np.nan,
                status=STATUS_OUTSIDE,
                by_region={r: np.nan for r in REGIONS},
            )
            rows.append(row)
            continue
        alone = response(inputs, draws, base_levers, target.specialty, target.year)
        thresholds = alone.thresholds(target.value)
        posts = quantile_threshold(thresholds, probability)
        row["posts_saturation"] = quantile_threshold(alone.saturation, probability)
        row["p_max_posts"] = float(np.isfinite(thresholds).mean())
        row["p_without"] = float(np.mean(alone.base >= target.value))
        if math.isfinite(posts):
            row.update(posts=posts, p_posts=float(np.mean(thresholds <= posts)))
            row["status"] = STATUS_REACHED if posts == 0 else STATUS_POSTS
            chosen = posts
        else:
            row.update(posts=np.nan, p_posts=row["p_max_posts"])
            combination = _with_levers(inputs, draws, target, probability, with_levers)
            status = combination.pop("status")
            row.update(combination)
            row["status"] = STATUS_TOO_LATE if target.year - d <= inputs.start_year else status
            chosen = row["posts_with_levers"]
        shares = _within_shares(inputs, target.specialty)
        row["by_region"] = {r: float(chosen * shares[i]) for i, r in enumerate(REGIONS)}
        rows.append(row)
    return pd.DataFrame(rows)


def _with_levers(
    inputs: Inputs, draws: Draws, target: Target, probability: float, levers: dict[str, Any]
) -> dict[str, Any]:
    """Posts on top of ``levers`` (their own extra posts left out: posts are what is solved
    for); if still short, the recruits a year needed besides."""
    base = {**NO_CHANGE, **levers, "extra_h_posts": 0.0}
    combined = response(inputs, draws, base, target.specialty, target.year)
    thresholds = combined.thresholds(target.value)
    posts = quantile_threshold(thresholds, probability)
    saturation = quantile_threshold(combined.saturation, probability)
    reached = thresholds <= posts if math.isfinite(posts) else np.isfinite(thresholds)
    out = {
        "posts_with_levers": posts if math.isfinite(posts) else np.nan,
        "posts_saturation_with_levers": saturation,
        "p_with_levers": float(np.mean(reached)),
    }
    if math.isfinite(posts):
        out["status"] = STATUS_WITH_LEVERS
        out["foreign_per_year"] = 0.0
        return out
    # Posts up to where they stop helping (in ``probability`` of the draws), then recruits:
    # linear in recruits, so each draw's threshold is its shortfall over what one recruit a year
    # gives, and the quantile of those gives the probability on these same draws.
    supply = combined.supply(saturation)
    per_recruit = foreign_response(inputs, draws, base, target.specialty, target.year)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = np.where(
            supply >= target.value,
            0.0,
            np.where(per_recruit > 0, (target.value - supply) / per_recruit, np.inf),
        )
    out["foreign_per_year"] = quantile_threshold(needed, probability)
    out["posts_with_levers"] = saturation
    out["status"] = STATUS_WITH_FOREIGN
    return out


def _within_shares(inputs: Inputs, specialty: str) -> np.ndarray:
    """How extra posts in a specialty are split between the regions (as ``extra_posts``)."""
    probe = extra_posts(inputs, {"extra_h_posts_by_specialty": {specialty: 1.0}})
    return probe[:, SPECIALTIES.index(specialty)]


def by_region(table: pd.DataFrame) -> pd.DataFrame:
    """The posts of each target split by region, in long form."""
    rows = [
        {"specialty": r.specialty, "year": r.year, "region": region, "posts": posts}
        for r in table.itertuples()
        for region, posts in r.by_region.items()
    ]
    return pd.DataFrame(rows, columns=["specialty", "year", "region", "posts"])


def required_levers(table: pd.DataFrame) -> dict[str, Any]:
    """The lever settings of the ``required_posts`` scenario: per specialty the posts solved
    for its latest target (posts alone; where they cannot reach, up to where more posts stop
    helping)."""
    posts: dict[str, float] = {}
    for specialty, rows in table.groupby("specialty", sort=False):
        rows = rows[rows["status"] != STATUS_OUTSIDE]
        if not len(rows):
            continue
        last = rows.sort_values("year").iloc[-1]
        value = last["posts"] if math.isfinite(last["posts"]) else last["posts_saturation"]
        posts[str(specialty)] = float(value)
    return {**NO_CHANGE, "extra_h_posts_by_specialty": posts}
