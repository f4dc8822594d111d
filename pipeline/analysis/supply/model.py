"""Stock-flow projection of physicians in psychiatry, and the levers that close the gap.

The growth stage extrapolates the number of physicians as a trend; it cannot say which initiative
closes the gap. This model follows the specialists themselves, per region, specialty and single
year of age, from the last data year:

* each year a share of each age band leaves (retirement, private practice, abroad): exit rates
  are estimated from five-year cohort survival above ``exit_estimate_from_band`` and are stated
  assumptions (with a range) below, where new specialists arrive (``exits.py``);
* everyone is a year older the next year: the single years of age inside the bands are
  reconstructed from the data, so the share of a band that ages into the next is what the
  cohorts give, not a fixed fifth;
* new specialists arrive: H-courses started ``h_duration_years`` earlier (a drawn share a year
  later), completed with probability ``h_completion``, and foreign doctors recruited
  ``foreign_pathway_years`` earlier (the 6 + 6 + 12 month pathway), of whom
  ``foreign_completion`` stay.

H-courses started after the data are the posts advertised times the share filled. Posts are
filled from the I-doctors who continue, so raising conversion from I- to H-post (the combined
track) raises the fill rate in proportion, up to all posts; and extra posts are filled only as
far as the pool of I-doctors going on to an H-post in psychiatry reaches (the applicant cap).
Doctors in training are counted from the posts they fill, scaled to the start year's headcount;
they are shown apart from the specialists.

Uncertainty comes from seeded Monte Carlo draws of every input that is estimated or assumed:
patient growth, fill rates (with their year-to-year variation), the number of posts, conversion,
completion, the exit rates (estimated and assumed), foreign completion and the durations, and
from the process itself (who happens to leave or complete in a year). Every scenario uses the
same draws, so differences between scenarios are measured precisely. Every reported value is the
median of the draws its interval comes from, so every interval contains its value.

The legacy physicians gap (``gap_<year>``) keeps the growth stage's definition; the demand
definitions for the specialist gap are in ``demand.py``, targets and the posts they need in
``targets.py``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.analysis.supply import exits as ageing
from pipeline.analysis.supply import fte as working_time
from pipeline.data import contract
from pipeline.errors import InputError

log = logging.getLogger(__name__)

REGIONS, SPECIALTIES, BANDS = contract.REGIONS, contract.SPECIALTIES, contract.AGE_BANDS
OLD_BANDS = ("65-69", "70+")
NATIONAL, GEOGRAPHIES = contract.NATIONAL, contract.GEOGRAPHIES
# Which patients each specialty treats (the growth stage's groups).
PATIENT_GROUP = {"psychiatry": "adult", "child_adolescent_psychiatry": "child_adolescent"}
# The patient series drawn: every geography's total and the national groups.
PATIENT_SERIES = tuple(
    [(g, "total") for g in GEOGRAPHIES] + [(NATIONAL, "adult"), (NATIONAL, "child_adolescent")]
)
QUANTILES = {"pi": (0.025, 0.975), "pi80": (0.10, 0.90)}

# What "no change" means for each lever: None for the share is the share seen in the data.
NO_CHANGE: dict[str, float | None] = {
    "extra_h_posts": 0.0,
    "combined_track_share": None,
    "foreign_per_year": 0.0,
    "exit_reduction_over_65": 0.0,
    "fte_per_head": 0.0,
}
# Beyond these, ``project`` takes ``extra_h_posts_by_specialty`` and
# ``foreign_per_year_by_specialty`` ({specialty: amount}): the posts solver's levers.

# Note codes (tables.py words them): why a result is what it is.
NOTE_COMBINED_MISSING = "combined_conversion_missing"
NOTE_FTE_MISSING = "fte_not_given"
NOTE_FILL_SPREAD = "fill_variation_not_estimated"


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------
def scenario_levers(params: dict[str, Any], name: str) -> dict[str, Any]:
    """The lever settings of a scenario: 'no change' plus its overrides."""
    return {**NO_CHANGE, **params["scenarios"][name]}


def selected_scenarios(params: dict[str, Any]) -> list[str]:
    """``all`` runs every scenario; a single name runs it beside the baseline."""
    if params["scenario"] == "all":
        return list(params["scenarios"])
    return list(dict.fromkeys(["baseline", params["scenario"]]))


# --------------------------------------------------------------------------------------------
# The accounting core
# --------------------------------------------------------------------------------------------
def step(
    stock: np.ndarray, exit_rate: np.ndarray, inflow: np.ndarray, flows: bool = True
) -> tuple[np.ndarray, dict | None]:
    """One year of the stock: exits, everyone a year older, arrivals.

    All arrays end in the age axis: single years 25..69 and the open band 70+
    (``exits.N_AGES`` states). Returns the next stock and (with ``flows``) the flows per *band*,
    for which ``next = stock - exits - ageing_out + ageing_in + inflow`` holds in every band.
    """
    keep = 1 - np.asarray(exit_rate)
    if not flows:  # one pass: survive, move up a year of age (the open band keeps its own)
        following = np.empty(np.broadcast_shapes(stock.shape, keep.shape))
        following[..., 0] = 0.0
        np.multiply(stock[..., :-1], keep[..., :-1], out=following[..., 1:])
        following[..., -1] += stock[..., -1] * keep[..., -1]
        if not np.isscalar(inflow) or inflow != 0:
            following += inflow
        return following, None
    survivors = stock * keep
    following = ageing.age_one_year(survivors) + inflow
    tops = survivors[..., ageing.BAND_WIDTH - 1 : -1 : ageing.BAND_WIDTH]  # each band's oldest
    zeros = np.zeros_like(tops[..., :1])
    return following, {
        "exits": ageing.to_bands(stock - survivors),
        "ageing_out": np.concatenate([tops, zeros], axis=-1),
        "ageing_in": np.concatenate([zeros, tops], axis=-1),
        "inflow": ageing.to_bands(inflow),
    }


# --------------------------------------------------------------------------------------------
# Inputs from the data
# --------------------------------------------------------------------------------------------
def _cubes_by_year(df: pd.DataFrame, value: str) -> dict[int, np.ndarray]:
    """``_cube`` (region x specialty) for every year of ``df`` in one pass."""
    if not len(df):
        return {}
    years = sorted(int(y) for y in df["year"].unique())
    keys = ["year", "region", "specialty"]
    frame = df.assign(region=df["region"].astype(str), specialty=df["specialty"].astype(str))
    grouped = frame.groupby(keys)[value].sum()
    index = pd.MultiIndex.from_product([years, REGIONS, SPECIALTIES], names=keys)
    values = grouped.reindex(index, fill_value=0).to_numpy(dtype=float)
    values = values.reshape(len(years), len(REGIONS), len(SPECIALTIES))
    return {year: values[t] for t, year in enumerate(years)}


def _cube(df: pd.DataFrame, value: str, with_band: bool) -> np.ndarray:
    """Region x specialty (x band) array of a column, zeros where the data have no row."""
    axes = [pd.Index(REGIONS), pd.Index(SPECIALTIES)] + ([pd.Index(BANDS)] if with_band else [])
    keys = ["region", "specialty"] + (["age_band"] if with_band else [])
    frame = df.assign(**{k: df[k].astype(str) for k in keys})
    grouped = frame.groupby(keys)[value].sum()
    full = grouped.reindex(pd.MultiIndex.from_product(axes, names=keys), fill_value=0)
    return full.to_numpy(dtype=float).reshape([len(a) for a in axes])


def estimate_exit_rates(
    physicians: pd.DataFrame,
    from_band: str,
    assumed: dict[str, float],
    up_to_year: int | None = None,
) -> pd.DataFrame:
    """Yearly exit probability per age band of specialists (``exits.estimate_exit_rates``).

    Returns
    -------
    DataFrame
        ``age_band``, ``exit_rate``, ``se`` and ``source`` ("estimated" or "assumed").
    """
    return ageing.estimate_exit_rates(physicians, from_band, assumed, up_to_year).rates


@dataclass
class Vacancies:
    """Measured vacancies: funded - filled (+ locums when given) per region x specialty."""

    year: int
    vacancies: np.ndarray  # region x specialty
    funded: np.ndarray
    filled: np.ndarray
    locum: np.ndarray | None  # None when the file has no locum column


@dataclass
class Inputs:
    """Everything the projection needs, as point values and as the spread of their draws."""

    start_year: int
    stock: np.ndarray  # specialists, region x specialty x band, in the start year
    stock_single: np.ndarray  # the same in single years of age (exits.N_AGES states)
    trainees: np.ndarray  # doctors in training, region x specialty, in the start year
    h_started: dict[int, np.ndarray]  # observed H-starts (filled posts) by year, region x specialty
    h_advertised: np.ndarray  # H-posts advertised per year from now on, region x specialty
    h_filled_ref: np.ndarray  # filled and advertised H-posts in the reference years
    h_advertised_ref: np.ndarray
    fill_spread: np.ndarray  # per specialty: year-to-year sd of the fill rate (logit scale)
    posts_spread: np.ndarray  # per specialty: year-to-year sd of posts advertised (log scale)
    i_spread: np.ndarray  # per specialty: year-to-year sd of I-posts filled (log scale)
    i_filled: np.ndarray  # I-posts filled per year from now on, region x specialty
    exit_rates: pd.DataFrame
    exit_covariance: np.ndarray  # of the estimated bands' rates
    conversion: dict[str, tuple[float, float, float]]  # track -> (estimate, low, high)
    combined_share_now: float
    physicians_per_patient: dict[str, float]  # per geography, in the base year (legacy gap)
    patients: pd.DataFrame  # per series and year: observed, or the projection's distribution
    grades: tuple[str, ...]
    specialties: tuple[str, ...]
    base_year: int = 0
    specialists_by_year: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    fte: working_time.FteInputs | None = None
    fte_by_year: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    vacancies: Vacancies | None = None
    legacy_series: pd.DataFrame | None = field(default=None, repr=False)
    # Relative size of the process noise: per specialty x band for exits, per specialty for
    # completion (logit scale); see ``process_spread``.
    exit_noise: np.ndarray = field(
        default_factory=lambda: np.zeros((len(SPECIALTIES), len(BANDS))), repr=False
    )
    completion_noise: np.ndarray = field(
        default_factory=lambda: np.zeros(len(SPECIALTIES)), repr=False
    )
    patient_index: dict = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(repr=False, default_factory=dict)


def build_inputs(
    tables: dict[str, pd.DataFrame],
    series: pd.DataFrame,
    projection: pd.DataFrame,
    conversion_by_track: pd.DataFrame,
    params: dict[str, Any],
    *,
    base_year: int,
    grades: Sequence[str],
    specialties: Sequence[str],
    start_year: int | None = None,
) -> Inputs:
    """Collect the inputs from the processed data and the earlier stages' outputs.

    ``series`` and ``projection`` are the growth stage's datasets (``growth/series``,
    ``growth/projection``), ``conversion_by_track`` the retention stage's
    (``retention/conversion_by_track``). ``tables`` may hold the optional
    ``specialist_posts``. ``start_year`` (default: the last data year) is where the projection
    starts; a backtest starts earlier and uses only the data up to then.
    """
    physicians, posts, trainees = tables["physicians"], tables["training_posts"], tables["trainees"]
    start = int(start_year or physicians["year"].max())
    known = physicians[physicians["year"] <= start]
    at_start = known[known["year"] == start]
    specialists = at_start[at_start["grade"].astype(str) == "specialist"]
    stock = _cube(specialists, "headcount", True)
    in_training = _cube(at_start[at_start["grade"].astype(str) == "trainee"], "headcount", False)
    estimate = ageing.estimate_exit_rates(
        known, params["exit_estimate_from_band"], params["exit_rates_assumed"]
    )
    years, cells, cube = ageing.band_cubes(known)
    run = ageing.consecutive_run(years)
    single = ageing.reconstruct_single_years(cube[run], estimate.rates["exit_rate"].to_numpy())[-1]
    stock_single = _single_cube(cells, single)
    h_posts = posts[(posts["post_type"].astype(str) == "H") & (posts["year"] <= start)]
    i_posts = posts[(posts["post_type"].astype(str) == "I") & (posts["year"] <= start)]
    h_started = _cubes_by_year(h_posts, "filled")
    k = params["posts_reference_years"]
    ref = h_posts[h_posts["year"] > start - k]
    i_ref = i_posts[i_posts["year"] > start - k]
    since = start - params["fill_rate_variation_years"]
    fill_spread, posts_spread, spread_note = year_to_year_spread(h_posts[h_posts["year"] > since])
    _, i_spread, _ = year_to_year_spread(i_posts[i_posts["year"] > since], "filled")
    conversion = conversion_inputs(conversion_by_track)
    recent = trainees[trainees["i_start"].dt.year > start - k]
    recent = recent[recent["i_start"].dt.year <= start]
    share_now = float(recent["combined_track"].mean()) if len(recent) else 0.0
    ratio, patients = _demand_inputs(series, projection, base_year)
    notes = [spread_note] if spread_note else []
    if not np.isfinite(conversion["combined"][0]):
        notes.append(NOTE_COMBINED_MISSING)
    fte = working_time.fte_inputs(known, start, params["fte_reference_years"])
    if fte is None:
        notes.append(NOTE_FTE_MISSING)
    by_year = _cubes_by_year(known[known["grade"].astype(str) == "specialist"], "headcount")
    fte_by_year = working_time.observed_fte(known, "specialist") if fte is not None else {}
    exit_noise, completion_noise = process_spread(
        stock,
        estimate.rates["exit_rate"].to_numpy(),
        (_cube(ref, "filled", False) / k).sum(axis=0),
        params["h_completion"],
    )
    return Inputs(
        start_year=start,
        stock=stock,
        stock_single=stock_single,
        trainees=in_training,
        h_started=h_started,
        h_advertised=_cube(ref, "advertised", False) / k,
        h_filled_ref=_cube(ref, "filled", False),
        h_advertised_ref=_cube(ref, "advertised", False),
        fill_spread=fill_spread,
        posts_spread=posts_spread,
        i_spread=i_spread,
        i_filled=_cube(i_ref, "filled", False) / k,
        exit_rates=estimate.rates,
        exit_covariance=estimate.covariance,
        conversion=conversion,
        combined_share_now=share_now,
        physicians_per_patient=ratio,
        patients=patients,
        grades=tuple(grades),
        specialties=tuple(specialties),
        base_year=base_year,
        specialists_by_year=by_year,
        fte=fte,
        fte_by_year=fte_by_year,
        vacancies=vacancies_input(tables.get("specialist_posts"), start),
        legacy_series=series,
        exit_noise=exit_noise,
        completion_noise=completion_noise,
        notes=notes,
        params=params,
    )


def _single_cube(cells: pd.MultiIndex, single: np.ndarray) -> np.ndarray:
    """The reconstruction's cells (region, specialty and maybe sex) summed to region x
    specialty x single ages."""
    out = np.zeros((len(REGIONS), len(SPECIALTIES), ageing.N_AGES))
    for row, cell in zip(single, cells, strict=True):
        out[REGIONS.index(cell[0]), SPECIALTIES.index(cell[1])] += row
    return out


def process_spread(
    stock: np.ndarray, rates: np.ndarray, starts: np.ndarray, completion: float
) -> tuple[np.ndarray, np.ndarray]:
    """The relative size of the process noise a binomial process would have.

    Exits: with ``E`` expected exits a year in a specialty's band, the count varies by about
    ``sqrt(E)``, a factor ``1 / sqrt(E)`` on the rate (at most 1, for bands with hardly anyone).
    Completion: with ``n`` courses ending a year, the share completed varies by
    ``1 / sqrt(n c (1 - c))`` on the logit scale.
    """
    expected = stock.sum(axis=0) * rates[None, :]  # specialty x band
    with np.errstate(divide="ignore"):
        exits = np.where(expected > 0, np.minimum(1 / np.sqrt(expected), 1.0), 0.0)
    spread = starts * completion * (1 - completion)
    with np.errstate(divide="ignore"):
        completions = np.where(spread > 0, np.minimum(1 / np.sqrt(spread), 1.0), 0.0)
    return exits, completions


def year_to_year_spread(
    posts: pd.DataFrame, count: str = "advertised"
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Per specialty, how much the national fill rate (logit scale) and the number of posts
    (``count``: advertised, or filled; log scale) vary from year to year beyond binomial and
    Poisson noise.

    The variance of the yearly values minus the sampling variance each year would have alone
    (method of moments, never below zero). Fewer than three years: no spread, and a note.
    """
    fill, spread = np.zeros(len(SPECIALTIES)), np.zeros(len(SPECIALTIES))
    frame = posts.assign(specialty=posts["specialty"].astype(str))
    yearly = frame.groupby(["specialty", "year"])[["advertised", "filled"]].sum()
    note = None
    for s, specialty in enumerate(SPECIALTIES):
        if specialty not in yearly.index.get_level_values(0):
            continue
        d = yearly.loc[specialty]
        d = d[d["advertised"] > 0]
        if len(d) < 3:
            note = NOTE_FILL_SPREAD
            continue
        adv, filled = d["advertised"].to_numpy(float), d["filled"].to_numpy(float)
        rate = (filled + 0.5) / (adv + 1.0)  # never exactly 0 or 1 on the logit scale
        logit = np.log(rate / (1 - rate))
        sampling = np.mean(1.0 / ((adv + 1.0) * rate * (1 - rate)))
        fill[s] = math.sqrt(max(float(np.var(logit, ddof=1)) - sampling, 0.0))
        level = d[count].to_numpy(float).clip(0.5)
        spread[s] = math.sqrt(max(float(np.var(np.log(level), ddof=1)) - np.mean(1 / level), 0))
    return fill, spread, note


def vacancies_input(specialist_posts: pd.DataFrame | None, start: int) -> Vacancies | None:
    """Vacancies in the latest year of ``specialist_posts`` up to ``start`` (None without the
    file or such a year)."""
    if specialist_posts is None or not len(specialist_posts):
        return None
    known = specialist_posts[specialist_posts["year"] <= start]
    if not len(known):
        return None
    year = int(known["year"].max())
    at = known[known["year"] == year]
    funded, filled = _cube(at, "funded", False), _cube(at, "filled", False)
    locum = None
    if "locum" in at.columns:
        locum = _cube(at.assign(locum=at["locum"].fillna(0)), "locum", False)
    vacancies = funded - filled + (locum if locum is not None else 0.0)
    return Vacancies(year, vacancies, funded, filled, locum)


def conversion_inputs(by_track: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """The share converting within the horizon per track code, with its 95 % interval.

    The regular track is needed; the combined track may be missing (nobody on it, or hidden as
    a small group): its lever then has no effect, which the page says (note
    ``combined_conversion_missing``).
    """
    rows = by_track.set_index("group")
    conversion = {
        track: tuple(
            float(rows.loc[track, c]) if track in rows.index else float("nan")
            for c in ("cif", "ci_low", "ci_high")
        )
        for track in ("regular", "combined")
    }
    if not np.isfinite(conversion["regular"][0]):
        raise InputError(
            "supply: retention/conversion_by_track has no share for the regular track (code "
            "'regular'); the retention stage could not estimate it (too few doctors followed "
            "for retention.horizon_years, or hidden as a small group)"
        )
    return conversion


def _demand_inputs(series: pd.DataFrame, projection: pd.DataFrame, base_year: int):
    """Physicians per patient in the base year, and patients per series and year: observed up
    to the last data year, then the growth stage's projection (its distribution on the log
    scale)."""
    totals = series[series["group"] == "total"]
    ratio = {}
    for geography in GEOGRAPHIES:
        geo = totals[(totals["geography"] == geography) & (totals["year"] == base_year)]
        values = geo.set_index("measure")["value"]
        ratio[geography] = float(values["physicians"] / values["patients"])
    observed = series[series["measure"] == "patients"]
    last = int(observed["year"].max())
    observed = observed.assign(
        geography=observed["geography"].astype(str), group=observed["group"].astype(str)
    )
    rows = [
        observed[["geography", "group", "year", "value"]].assign(
            log_centre=np.nan, log_spread=0.0, df=np.inf
        )
    ]
    future = projection[
        (projection["measure"] == "patients")
        & projection["forecast"].notna()
        & (projection["year"] > last)
    ]
    if len(future):
        rows.append(
            pd.DataFrame(
                {
                    "geography": future["geography"].astype(str),
                    "group": future["group"].astype(str),
                    "year": future["year"],
                    "value": future["forecast"],
                    "log_centre": future["log_centre"],
                    "log_spread": future["log_spread"],
                    "df": future["df"],
                }
            )
        )
    return ratio, pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Draws of the uncertain inputs
# --------------------------------------------------------------------------------------------
@dataclass
class Draws:
    """Uncertain inputs, one row per Monte Carlo draw (or a single row of point values)."""

    h_fill: np.ndarray  # draws x region x specialty
    posts_factor: np.ndarray  # draws x specialty: the level of H-posts advertised, relative
    i_factor: np.ndarray  # draws x specialty: the level of I-posts filled, relative
    completion: np.ndarray  # draws
    foreign_completion: np.ndarray  # draws
    exit_rate: np.ndarray  # draws x band
    conversion_regular: np.ndarray  # draws
    conversion_combined: np.ndarray  # draws
    h_delay: np.ndarray  # draws: share of H-courses finishing a year late
    foreign_delay: np.ndarray  # draws: share of recruits taking a year longer
    patient_z: np.ndarray  # draws x patient series: standardised draw of each projection
    # Seed of the year-to-year process noise (who happens to leave, who happens to complete);
    # None for none (the central run). Drawn per year in ``process_noise``, so every scenario
    # meets the same noise.
    process_seed: int | None = None
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        return len(self.completion)


# The inputs whose uncertainty the sensitivity chart separates, and the draws behind each.
INPUT_GROUPS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_z",),
    "fill": ("h_fill",),
    "posts": ("posts_factor", "i_factor"),
    "exits_estimated": ("exit_rate",),
    "exits_assumed": ("exit_rate",),
    "conversion": ("conversion_regular", "conversion_combined"),
    "completion": ("completion",),
    "foreign_completion": ("foreign_completion",),
    "durations": ("h_delay", "foreign_delay"),
    "process": ("process_seed",),
}


def only(draws: Draws, central_draws: Draws, group: str, inputs: Inputs) -> Draws:
    """``draws`` with every input at its central value except those of ``group``."""
    n = draws.n
    values = {}
    for f in fields(Draws):
        if f.name in ("cache", "process_seed"):
            continue
        values[f.name] = np.repeat(getattr(central_draws, f.name), n, axis=0)
    values["process_seed"] = None
    for name in INPUT_GROUPS[group]:
        if name != "exit_rate":
            values[name] = getattr(draws, name)
    if group.startswith("exits_"):
        source = "estimated" if group == "exits_estimated" else "assumed"
        mask = (inputs.exit_rates["source"] == source).to_numpy()
        values["exit_rate"][:, mask] = draws.exit_rate[:, mask]
    return Draws(**values)


def central(inputs: Inputs) -> Draws:
    """The point value of every input (one 'draw'): the centre of its distribution (the mean of
    the shares, which add up over regions and years; the median of the rest)."""
    conv = inputs.conversion
    p = inputs.params
    return Draws(
        h_fill=_reference_fill(inputs)[None],
        posts_factor=np.ones((1, len(SPECIALTIES))),
        i_factor=np.ones((1, len(SPECIALTIES))),
        completion=np.array([p["h_completion"]]),
        foreign_completion=np.array([p["foreign_completion"]]),
        exit_rate=inputs.exit_rates["exit_rate"].to_numpy()[None],
        conversion_regular=np.array([conv["regular"][0]]),
        conversion_combined=np.array([conv["combined"][0]]),
        h_delay=np.array([float(np.mean(p["h_delay_share"]))]),
        foreign_delay=np.array([float(np.mean(p["foreign_delay_share"]))]),
        patient_z=np.zeros((1, len(PATIENT_SERIES))),
    )


def _reference_fill(inputs: Inputs) -> np.ndarray:
    """The mean of the drawn fill rates: the Jeffreys posterior mean of the reference years'
    filled / advertised; a cell without posts takes its specialty's national rate (it gets
    posts only from a lever)."""
    filled, advertised = inputs.h_filled_ref, inputs.h_advertised_ref
    national = (filled.sum(0) + 0.5) / (advertised.sum(0) + 1)
    cell = (filled + 0.5) / (advertised + 1)
    return np.where(advertised > 0, cell, national[None, :])


def draw(inputs: Inputs, n: int, rng: np.random.Generator) -> Draws:
    """Seeded draws of the uncertain inputs.

    * Fill rates: Beta posteriors (Jeffreys prior) of each region's reference-year posts, shifted
      on the logit scale by one national level per specialty drawn with the year-to-year spread
      of the fill rate (``fill_rate_variation_years``), centred so the mean stays the
      posterior's. The level persists over the horizon: fill rates have stayed high or low for
      years at a time.
    * H-posts advertised and I-posts filled: one level per specialty, log-normal with their
      year-to-year spread.
    * Completion of H-courses and foreign completion: Beta with the stated mean and sd.
    * Exit rates: estimated bands multivariate normal with their covariance; assumed bands
      scaled by one factor per draw, uniform on ``exit_rates_assumed_range``.
    * Conversion: normal on the logit scale matching the retention stage's 95 % intervals.
    * Durations: the share of H-courses (and foreign pathways) a year late, uniform on its range.
    * Patients: standardised draws of each series' projection, one per draw for all years (a
      path, not year-to-year noise).
    * The process: a seed per set of draws for the yearly noise of exits and completions
      (``process_noise``).
    """
    p = inputs.params
    filled, advertised = inputs.h_filled_ref, inputs.h_advertised_ref
    cell = rng.beta(filled + 0.5, advertised - filled + 0.5, size=(n, *filled.shape))
    national = rng.beta(
        filled.sum(0) + 0.5, advertised.sum(0) - filled.sum(0) + 0.5, size=(n, len(SPECIALTIES))
    )
    base = np.where(advertised > 0, cell, national[:, None, :])
    z = rng.standard_normal((n, len(SPECIALTIES)))[:, None, :]
    fill = _expit(logit_centre(base, inputs.fill_spread[None, None, :]) + z * inputs.fill_spread)
    posts_factor = np.exp(rng.standard_normal((n, len(SPECIALTIES))) * inputs.posts_spread)
    i_factor = np.exp(rng.standard_normal((n, len(SPECIALTIES))) * inputs.i_spread)
    completion = _beta_draws(rng, p["h_completion"], p["h_completion_sd"], n)
    foreign = _beta_draws(rng, p["foreign_completion"], p["foreign_completion_sd"], n)
    exit_rate = _exit_draws(inputs, n, rng)
    conversion = {}
    for track, (est, low, high) in inputs.conversion.items():
        if not np.isfinite(est) or not 0 < est < 1:
            conversion[track] = np.full(n, est)
            continue
        spread = (_logit(high) - _logit(low)) / (2 * stats.norm.ppf(0.975))
        conversion[track] = _expit(rng.normal(_logit(est), max(spread, 0.0), size=n))
    h_delay = rng.uniform(*p["h_delay_share"], size=n)
    foreign_delay = rng.uniform(*p["foreign_delay_share"], size=n)
    return Draws(
        h_fill=fill,
        posts_factor=posts_factor,
        i_factor=i_factor,
        completion=completion,
        foreign_completion=foreign,
        exit_rate=exit_rate,
        conversion_regular=conversion["regular"],
        conversion_combined=conversion["combined"],
        h_delay=h_delay,
        foreign_delay=foreign_delay,
        patient_z=rng.standard_normal((n, len(PATIENT_SERIES))),
        process_seed=int(rng.integers(2**62)),
    )


def process_noise(inputs: Inputs, draws: Draws, year: int) -> tuple[np.ndarray, np.ndarray]:
    """The year's process noise per draw: a factor on each specialty's exit rates per band
    (draws x specialty x band) and a shift of each specialty's completion on the logit scale
    (draws x specialty). Binomial in the real process: its relative size is one over the square
    root of the expected count (``Inputs.exit_noise``, ``Inputs.completion_noise``).

    One national noise per specialty: the posts solver stays exact (its survival is the same in
    every region), and the nation's interval gets the noise it should; a region's share of it
    is proportional (its own binomial noise would be somewhat larger).
    """
    n = draws.n
    if draws.process_seed is None:
        return np.ones((n, len(SPECIALTIES), len(BANDS))), np.zeros((n, len(SPECIALTIES)))
    key = ("noise", year, inputs.exit_noise.tobytes(), inputs.completion_noise.tobytes())
    if key not in draws.cache:
        rng = np.random.default_rng([draws.process_seed, year])
        z = rng.standard_normal((n, len(SPECIALTIES), len(BANDS)))
        sigma = inputs.exit_noise[None]
        shift = rng.standard_normal((n, len(SPECIALTIES))) * inputs.completion_noise[None]
        draws.cache[key] = np.exp(sigma * z - sigma**2 / 2), shift
    return draws.cache[key]


def completion_in(inputs: Inputs, draws: Draws, year: int) -> np.ndarray:
    """Share of the H-courses ending in ``year`` that are completed, per draw x specialty."""
    _, shift = process_noise(inputs, draws, year)
    if not shift.any():
        return np.broadcast_to(draws.completion[:, None], shift.shape).copy()
    key = ("completion_centre", inputs.completion_noise.tobytes())
    if key not in draws.cache:
        draws.cache[key] = logit_centre(draws.completion[:, None], inputs.completion_noise[None])
    return _expit(draws.cache[key] + shift)


def yearly_exit_rates(
    inputs: Inputs, draws: Draws, levers: dict[str, Any], year: int
) -> np.ndarray:
    """Exit rates in ``year`` per draw x specialty x age state (levers and noise applied)."""
    factor, _ = process_noise(inputs, draws, year)
    rates = lever_exit_rates(draws, levers)[:, None, :] * factor
    return np.clip(rates, 0.0, 0.95)[..., ageing.AGE_BAND]


def _exit_draws(inputs: Inputs, n: int, rng: np.random.Generator) -> np.ndarray:
    rates = inputs.exit_rates
    point = rates["exit_rate"].to_numpy()
    estimated = (rates["source"] == "estimated").to_numpy()
    out = np.repeat(point[None], n, axis=0)
    if estimated.any():
        cov = inputs.exit_covariance
        z = rng.standard_normal((n, int(estimated.sum())))
        # A symmetric square root (works for a singular covariance too).
        values, vectors = np.linalg.eigh(cov)
        root = vectors @ np.diag(np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
        out[:, estimated] = point[estimated] + z @ root
    low, high = inputs.params["exit_rates_assumed_range"]
    factor = rng.uniform(low, high, size=n)
    out[:, ~estimated] = point[~estimated] * factor[:, None]
    return np.clip(out, 0.0, 0.95)


def _beta_draws(rng: np.random.Generator, mean: float, sd: float, n: int) -> np.ndarray:
    """Beta draws with the given mean and sd; the mean itself when sd is 0 or mean is 1."""
    if sd > 0 and 0 < mean < 1 and sd**2 < mean * (1 - mean):
        k = mean * (1 - mean) / sd**2 - 1
        return rng.beta(mean * k, (1 - mean) * k, size=n)
    return np.full(n, mean)


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def logit_centre(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """The centre ``m`` on the logit scale for which ``expit(m + sd Z)`` has mean ``mean``.

    Noise on the logit scale pulls a share above one half down on average; centring it so
    keeps the mean where the data put it, and the median of a sum over years and regions where
    the central run is. Newton's method on Gauss-Hermite quadrature, elementwise.
    """
    mean = np.clip(np.asarray(mean, dtype=float), 1e-9, 1 - 1e-9)
    sd = np.broadcast_to(np.asarray(sd, dtype=float), np.broadcast_shapes(mean.shape, np.shape(sd)))
    centre = np.log(mean / (1 - mean))
    if not np.any(sd > 0):
        return centre
    for _ in range(30):
        values = _expit(centre[..., None] + sd[..., None] * _NODES)
        error = (values * _WEIGHTS).sum(-1) - mean
        slope = (values * (1 - values) * _WEIGHTS).sum(-1)
        centre = centre - error / np.maximum(slope, 1e-12)
        if np.abs(error).max() < 1e-12:
            break
    return centre


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --------------------------------------------------------------------------------------------
# H-starts: posts, fill rates and the pool of applicants
# --------------------------------------------------------------------------------------------
@dataclass
class StartParts:
    """The pieces of one future year's H-starts, per draw (the posts solver reuses them)."""

    fill: np.ndarray  # draws x region x specialty: share of posts filled, after the lift
    advertised: np.ndarray  # draws x region x specialty, with the levers' extra posts
    pool: np.ndarray  # draws x specialty: I-doctors going on to an H-post in psychiatry
    base: np.ndarray  # draws x specialty: starts without the levers' extra posts

    @property
    def uncapped(self) -> np.ndarray:
        return self.advertised * self.fill

    @property
    def cap(self) -> np.ndarray:
        """Starts can exceed the pool only as far as they already did without extra posts."""
        return np.maximum(self.pool, self.base)


def conversion_at(draws: Draws, share: float) -> np.ndarray:
    """Share of I-doctors converting with ``share`` of them on the combined track (the regular
    track's alone when the combined track's share is unknown)."""
    regular, combined = draws.conversion_regular, draws.conversion_combined
    with np.errstate(invalid="ignore"):
        mixed = regular + share * (combined - regular)
    return np.where(np.isfinite(mixed), mixed, regular)


def extra_posts(inputs: Inputs, levers: dict[str, Any]) -> np.ndarray:
    """Extra H-posts per region x specialty: the total split by the posts advertised now, and
    any per-specialty numbers split by the specialty's posts (evenly without any)."""
    advertised = inputs.h_advertised
    total = max(advertised.sum(), 1e-9)
    out = float(levers.get("extra_h_posts") or 0.0) * advertised / total
    for specialty, amount in (levers.get("extra_h_posts_by_specialty") or {}).items():
        s = SPECIALTIES.index(specialty)
        column = advertised[:, s]
        shares = column / column.sum() if column.sum() > 0 else np.full(len(REGIONS), 0.2)
        out[:, s] = out[:, s] + float(amount) * shares
    return out


def start_parts(inputs: Inputs, draws: Draws, levers: dict[str, Any], year: int) -> StartParts:
    """H-starts' pieces in a year after the start year."""
    p = inputs.params
    now = inputs.combined_share_now
    share = now if levers["combined_track_share"] is None else float(levers["combined_track_share"])
    # The combined track reaches H-posts a year (the I-post) after it starts.
    active = year >= inputs.start_year + 1 + p["i_duration_years"]
    used = share if active else now
    conv_used, conv_now = conversion_at(draws, used), conversion_at(draws, now)
    with np.errstate(invalid="ignore", divide="ignore"):
        lift = np.where(conv_now > 0, conv_used / np.where(conv_now > 0, conv_now, 1.0), 1.0)
    fill = np.minimum(draws.h_fill * lift[:, None, None], 1.0)
    level = inputs.h_advertised[None] * draws.posts_factor[:, None, :]
    base = (level * fill).sum(axis=1)
    pool = inputs.i_filled.sum(axis=0)[None, :] * draws.i_factor * conv_used[:, None]
    return StartParts(fill, level + extra_posts(inputs, levers)[None], pool, base)


def h_starts(inputs: Inputs, draws: Draws, levers: dict[str, Any], year: int) -> np.ndarray:
    """H-courses started in ``year`` per draw x region x specialty: observed up to the start
    year, then posts x fill rate, capped per specialty by the applicant pool."""
    n = draws.n
    if year <= inputs.start_year:
        observed = inputs.h_started.get(year, np.zeros_like(inputs.h_advertised))
        return np.broadcast_to(observed, (n, *observed.shape))
    return capped_starts(start_parts(inputs, draws, levers, year))


def capped_starts(parts: StartParts) -> np.ndarray:
    """Posts x fill rate, scaled down per specialty where the applicant pool runs out."""
    uncapped = parts.uncapped
    total = uncapped.sum(axis=1)
    capped = np.minimum(total, parts.cap)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(total > 0, capped / np.where(total > 0, total, 1.0), 0.0)
    return uncapped * scale[:, None, :]


# --------------------------------------------------------------------------------------------
# The projection
# --------------------------------------------------------------------------------------------
@dataclass
class Projection:
    """Supply per draw and year, the legacy demand and gap, and the central run's ledger."""

    years: np.ndarray
    specialists: np.ndarray  # draws x years x region x specialty (heads)
    trainees: np.ndarray  # draws x years x region x specialty (heads)
    supply: np.ndarray  # draws x years x geography: the legacy physicians (chosen grades)
    demand: np.ndarray  # draws x years x geography: the legacy demand (base-year ratio)
    h_starts: np.ndarray  # draws x years x region x specialty (observed at the start year)
    pool_binds: np.ndarray  # draws x years x specialty: the applicant cap cut the starts
    specialists_fte: np.ndarray | None = None
    trainees_fte: np.ndarray | None = None
    bands: np.ndarray | None = None  # draws x years x region x specialty x band
    ledger: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def gap(self) -> np.ndarray:
        return self.demand - self.supply


def arrival_survival(
    inputs: Inputs,
    draws: Draws,
    levers: dict[str, Any],
    specialty: str,
    profile: np.ndarray,
    year: int,
) -> np.ndarray:
    """Draws x arrival years (start + 1 .. ``year``): how many of one arrival with the age
    ``profile`` in a specialty are still there in ``year``, with the projection's own yearly
    exit rates (draws, levers and noise)."""
    s = SPECIALTIES.index(specialty)
    arrivals = range(inputs.start_year + 1, year + 1)
    rates = {y: yearly_exit_rates(inputs, draws, levers, y)[:, s] for y in arrivals}
    out = np.empty((draws.n, len(arrivals)))
    for i, a in enumerate(arrivals):
        stock = np.broadcast_to(profile, (draws.n, len(profile))).copy()
        for y in range(a + 1, year + 1):
            stock, _ = step(stock, rates[y], 0.0, flows=False)
        out[:, i] = stock.sum(-1)
    return out


def lever_exit_rates(draws: Draws, levers: dict[str, Any]) -> np.ndarray:
    """Exit rates per draw and band with the over-65 lever applied."""
    exit_rate = draws.exit_rate.copy()
    old = [BANDS.index(b) for b in OLD_BANDS]
    exit_rate[:, old] *= 1 - float(levers["exit_reduction_over_65"])
    return exit_rate


def foreign_recruits(inputs: Inputs, levers: dict[str, Any]) -> np.ndarray:
    """Recruits per year per region x specialty: the total placed where the specialists are
    now, and any per-specialty numbers placed by that specialty's specialists."""
    stock = inputs.stock.sum(axis=-1)
    out = float(levers["foreign_per_year"]) * stock / max(stock.sum(), 1e-9)
    for specialty, amount in (levers.get("foreign_per_year_by_specialty") or {}).items():
        s = SPECIALTIES.index(specialty)
        column = stock[:, s]
        shares = column / column.sum() if column.sum() > 0 else np.full(len(REGIONS), 0.2)
        out[:, s] = out[:, s] + float(amount) * shares
    return out


def project(
    inputs: Inputs,
    draws: Draws,
    levers: dict[str, Any],
    horizon_year: int,
    ledger: bool = False,
    bands: bool = False,
) -> Projection:
    """Run the stock-flow model from the start year to ``horizon_year`` under ``levers``.

    ``ledger`` keeps the first draw's flows per band and year; ``bands`` keeps the specialists
    per age band (memory: draws x years x 100).
    """
    levers = {**NO_CHANGE, **levers}
    p = inputs.params
    n, start = draws.n, inputs.start_year
    years = np.arange(start, horizon_year + 1)
    d, d_foreign = p["h_duration_years"], p["foreign_pathway_years"]
    profile_new = ageing.band_profile(p["new_specialist_age_band"])
    profile_foreign = ageing.band_profile(p["foreign_age_band"])
    starts, pool_binds = {}, np.zeros((n, len(years), len(SPECIALTIES)), dtype=bool)
    for y in range(start - d - 1, horizon_year + 1):
        if y <= start:
            starts[y] = h_starts(inputs, draws, levers, y)
            continue
        parts = start_parts(inputs, draws, levers, y)
        starts[y] = capped_starts(parts)
        pool_binds[:, y - start] = parts.uncapped.sum(axis=1) > parts.cap + 1e-9
    recruits = foreign_recruits(inputs, levers)
    delay = draws.h_delay[:, None, None]
    foreign_delay = draws.foreign_delay[:, None, None]
    foreign_stay = draws.foreign_completion[:, None, None]

    def arrivals_foreign(year: int) -> np.ndarray:
        on_time = float(year - d_foreign > start)
        late = float(year - d_foreign - 1 > start)
        return recruits * foreign_stay * ((1 - foreign_delay) * on_time + foreign_delay * late)

    stock = np.broadcast_to(inputs.stock_single, (n, *inputs.stock_single.shape)).copy()
    specialists, kept_bands, fte_rows, rows = [stock.sum(-1)], [], [], []
    weights = _fte_weights(inputs)
    factor = 1.0 + float(levers["fte_per_head"])
    if bands:
        kept_bands.append(ageing.to_bands(stock))
    if weights is not None:
        fte_rows.append((stock * weights[0]).sum(-1))
    new_ages, foreign_ages = _ages_of(profile_new), _ages_of(profile_foreign)
    for year in years[1:]:
        rate = yearly_exit_rates(inputs, draws, levers, int(year))[:, None]
        completion = completion_in(inputs, draws, int(year))[:, None, :]
        new = completion * ((1 - delay) * starts[year - d] + delay * starts[year - d - 1])
        foreign = arrivals_foreign(int(year))
        if ledger:
            inflow = new[..., None] * profile_new + foreign[..., None] * profile_foreign
            following, flows = step(stock, rate, inflow)
            rows.append(_ledger_rows(int(year), ageing.to_bands(stock), flows, following))
        else:  # the same, adding the arrivals to their ages only (faster)
            following, _ = step(stock, rate, 0.0, flows=False)
            following[..., new_ages] += new[..., None] * profile_new[new_ages]
            following[..., foreign_ages] += foreign[..., None] * profile_foreign[foreign_ages]
        stock = following
        specialists.append(stock.sum(-1))
        if bands:
            kept_bands.append(ageing.to_bands(stock))
        if weights is not None:
            fte_rows.append((stock * weights[0]).sum(-1) * factor)
    specialists = np.stack(specialists, axis=1)

    # Doctors in training: this year's I-doctors plus the H-courses under way (the late ones a
    # year longer), scaled so the start year matches the data's headcount.
    def in_training(year: int) -> np.ndarray:
        under_way = sum(starts[year - k] for k in range(d))
        i_doctors = inputs.i_filled[None] * draws.i_factor[:, None, :]
        return i_doctors + under_way + delay * starts[year - d]

    modelled_now = in_training(start)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(modelled_now > 0, inputs.trainees / np.maximum(modelled_now, 1e-9), 1.0)
    trainees = np.stack([in_training(int(y)) * scale for y in years], axis=1)
    trainees_fte = None
    if weights is not None:
        lever = np.where(years > start, factor, 1.0)[None, :, None, None]
        trainees_fte = trainees * weights[1][None, None] * lever

    notes = list(inputs.notes)
    return Projection(
        years=years,
        specialists=specialists,
        trainees=trainees,
        supply=physician_supply(specialists, trainees, inputs),
        demand=legacy_demand(inputs, draws, years),
        h_starts=np.stack([starts[int(y)] for y in years], axis=1),
        pool_binds=pool_binds,
        specialists_fte=np.stack(fte_rows, axis=1) if weights is not None else None,
        trainees_fte=trainees_fte,
        bands=np.stack(kept_bands, axis=1) if bands else None,
        ledger=pd.concat(rows, ignore_index=True) if rows else None,
        notes=notes,
    )


def _ages_of(profile: np.ndarray) -> slice:
    """The contiguous ages an arrival profile covers, as a slice (fast in-place adds)."""
    where = np.flatnonzero(profile > 0)
    return slice(int(where[0]), int(where[-1]) + 1)


def _fte_weights(inputs: Inputs) -> tuple[np.ndarray, np.ndarray] | None:
    """FTE per head per region x specialty x age state (specialists) and per region x
    specialty (trainees), or None without working time in the data."""
    if inputs.fte is None:
        return None
    return inputs.fte.specialist[..., ageing.AGE_BAND], inputs.fte.trainee


def _ledger_rows(year: int, stock, flows, following) -> pd.DataFrame:
    """The flows of the first draw as a table: one row per region, specialty and band."""
    index = pd.MultiIndex.from_product(
        [REGIONS, SPECIALTIES, BANDS], names=["region", "specialty", "age_band"]
    )
    data = {
        "stock_start": stock[0],
        **{k: v[0] for k, v in flows.items()},
        "stock_end": ageing.to_bands(following)[0],
    }
    return (
        pd.DataFrame({k: np.asarray(v).reshape(-1) for k, v in data.items()}, index=index)
        .reset_index()
        .assign(year=year)
    )


def by_geography(values: np.ndarray, specialties: Sequence[str]) -> np.ndarray:
    """Draws x years x region x specialty summed over ``specialties`` into draws x years x
    geography (the nation first, the sum of the regions)."""
    keep = np.array([s in specialties for s in SPECIALTIES])
    regional = values[..., keep].sum(axis=-1)
    return np.concatenate([regional.sum(axis=-1, keepdims=True), regional], axis=-1)


def physician_supply(specialists: np.ndarray, trainees: np.ndarray, inputs: Inputs) -> np.ndarray:
    """Physicians counted as in the growth stage's gap: the chosen grades and specialties."""
    out = np.zeros((*specialists.shape[:2], len(GEOGRAPHIES)))
    if "specialist" in inputs.grades:
        out = out + by_geography(specialists, inputs.specialties)
    if "trainee" in inputs.grades:
        out = out + by_geography(trainees, inputs.specialties)
    return out


# --------------------------------------------------------------------------------------------
# Patients and the legacy demand
# --------------------------------------------------------------------------------------------
def patient_draws(inputs: Inputs, draws: Draws, years: np.ndarray) -> dict[tuple, np.ndarray]:
    """Patients per series as draws x years (observed years repeat the data). A series without
    a value in every year is left out (the demand then falls back on the total)."""
    key = ("patients", tuple(int(y) for y in years))
    if key in draws.cache:
        return draws.cache[key]
    if not inputs.patient_index:
        # Per series: the years and their columns as arrays (pandas lookups are slow here).
        for series, rows in inputs.patients.groupby(["geography", "group"]):
            rows = rows.sort_values("year")
            inputs.patient_index[series] = (
                {int(y): i for i, y in enumerate(rows["year"])},
                {
                    c: rows[c].to_numpy(dtype=float)
                    for c in ("value", "log_centre", "log_spread", "df")
                },
            )
    out = {}
    wanted = [int(y) for y in years]
    for s, series in enumerate(PATIENT_SERIES):
        entry = inputs.patient_index.get(series)
        if entry is None or not set(wanted) <= set(entry[0]):
            continue
        position = np.array([entry[0][y] for y in wanted])
        columns = {c: v[position] for c, v in entry[1].items()}
        centre, spread, df = columns["log_centre"], columns["log_spread"], columns["df"]
        observed = np.isnan(centre)
        z = np.repeat(draws.patient_z[:, s][:, None], len(years), axis=1)
        t_reference = ~observed & np.isfinite(df)
        if t_reference.any():  # a t reference distribution: map the normal draw to its quantile
            z[:, t_reference] = stats.t.ppf(stats.norm.cdf(z[:, t_reference]), df[t_reference])
        values = np.exp(np.where(observed, 0.0, centre) + z * np.where(observed, 0.0, spread))
        out[series] = np.where(observed, columns["value"], values)
    draws.cache[key] = out
    return out


def reconcile(national: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split ``national`` (draws x years) in proportion to ``parts`` (draws x years x k), so
    the parts add up to the nation in every draw."""
    total = parts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(total > 0, parts / np.where(total > 0, total, 1.0), 1 / parts.shape[-1])
    return national[..., None] * shares


def legacy_demand(inputs: Inputs, draws: Draws, years: np.ndarray) -> np.ndarray:
    """Physicians needed: base-year physicians per patient times patients, per draw.

    The nation follows the national projection; the regions' own projections split it, so the
    regions add up to the nation in every draw (before, each geography had its own projection
    and the regions summed to more or less than the nation).
    """
    key = ("legacy_demand", tuple(int(y) for y in years))
    if key in draws.cache:
        return draws.cache[key]
    patients = patient_draws(inputs, draws, years)
    ratio = inputs.physicians_per_patient
    national = ratio[NATIONAL] * patients[(NATIONAL, "total")]
    regional = np.stack([ratio[r] * patients[(r, "total")] for r in REGIONS], axis=-1)
    out = np.concatenate([national[..., None], reconcile(national, regional)], axis=-1)
    draws.cache[key] = out
    return out


# --------------------------------------------------------------------------------------------
# Summaries: medians and intervals of the same draws
# --------------------------------------------------------------------------------------------
def median_interval(values: np.ndarray, axis: int = 0, level: str = "pi") -> tuple:
    """The median and the interval of ``values`` along ``axis`` (the draws): the point is the
    median of the same draws, so the interval always contains it."""
    low, high = QUANTILES[level]
    q = np.quantile(values, [0.5, low, high], axis=axis)
    return q[0], q[1], q[2]


def summarise(runs: dict[str, Projection], specialist_gap=None) -> pd.DataFrame:
    """Per scenario, geography and year: the legacy supply, demand and gap (physicians), the
    specialists, trainees and, with ``specialist_gap`` (``Demand.gap``: a function of a run and
    ``fte``, returning draws x years x geography), the specialist gap; each a median with its
    95 % interval. With working time in the data, the same in FTE (``_fte`` columns)."""
    rows = []
    for name, run in runs.items():
        arrays = {
            "supply": run.supply,
            "demand": run.demand,
            "gap": run.gap,
            "specialists": by_geography(run.specialists, SPECIALTIES),
            "trainees": by_geography(run.trainees, SPECIALTIES),
        }
        if specialist_gap is not None:
            arrays["specialist_gap"] = specialist_gap(run)
        if run.specialists_fte is not None:
            arrays["specialists_fte"] = by_geography(run.specialists_fte, SPECIALTIES)
            arrays["trainees_fte"] = by_geography(run.trainees_fte, SPECIALTIES)
            if specialist_gap is not None:
                arrays["specialist_gap_fte"] = specialist_gap(run, True)
        stats_ = {k: median_interval(v) for k, v in arrays.items()}
        for t, year in enumerate(run.years):
            for g, geography in enumerate(GEOGRAPHIES):
                row = {"scenario": name, "geography": geography, "year": int(year)}
                for k, (mid, low, high) in stats_.items():
                    row.update({k: mid[t, g], f"{k}_low": low[t, g], f"{k}_high": high[t, g]})
                rows.append(row)
    out = pd.DataFrame(rows)
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES, ordered=True)
    return out


def run_scenarios(
    inputs: Inputs, draws: Draws, names: Sequence[str], horizon_year: int, extra=None
) -> dict[str, Projection]:
    """Every named scenario on the same draws (common random numbers); ``extra`` adds computed
    scenarios (name -> levers), e.g. the required posts."""
    runs = {}
    scenarios = {name: scenario_levers(inputs.params, name) for name in names}
    scenarios.update(extra or {})
    for name, levers in scenarios.items():
        runs[name] = project(inputs, draws, levers, horizon_year)
        log.info("supply: scenario %s", name)
    return runs


def compare(
    runs: dict[str, Projection],
    target_years: Sequence[int],
    specialist_gap=None,
    geography: str = NATIONAL,
) -> pd.DataFrame:
    """Gap per scenario and target year, and the change from the baseline with a paired
    interval (the same draws in both); medians of the draws throughout.

    With ``specialist_gap`` (a function of a run, as in ``summarise``) the specialist gap and
    its change too.
    """
    g = GEOGRAPHIES.index(geography)
    base = runs["baseline"]
    rows = []
    for name, run in runs.items():
        for year in target_years:
            if year not in run.years:
                continue
            t = int(np.flatnonzero(run.years == year)[0])
            row = {"scenario": name, "year": int(year)}
            pairs = [("", run.gap, base.gap)]
            if specialist_gap is not None:
                pairs.append(("specialist_", specialist_gap(run), specialist_gap(base)))
            for prefix, gap, base_gap in pairs:
                mid, low, high = median_interval(gap[:, t, g])
                c_mid, c_low, c_high = median_interval(gap[:, t, g] - base_gap[:, t, g])
                row.update(
                    {
                        f"{prefix}gap": mid,
                        f"{prefix}gap_low": low,
                        f"{prefix}gap_high": high,
                        f"{prefix}change": c_mid,
                        f"{prefix}change_low": c_low,
                        f"{prefix}change_high": c_high,
                    }
                )
            rows.append(row)
    return pd.DataFrame(rows)


def tornado(
    inputs: Inputs,
    draws: Draws,
    moves: dict[str, float],
    year: int,
    horizon_year: int,
    specialist_gap=None,
) -> pd.DataFrame:
    """Change in the national gap in ``year`` when each lever alone is moved by its stated
    amount: the median of the paired changes and their 95 % interval.

    With ``specialist_gap`` also the change in the specialist gap and, when the data give
    working time, in the FTE gap (``fte_change``: the lever ``fte_per_head`` acts only there).
    """
    base = project(inputs, draws, dict(NO_CHANGE), horizon_year)
    t = int(np.flatnonzero(base.years == year)[0])
    rows = []
    for lever, amount in moves.items():
        run = project(inputs, draws, {**NO_CHANGE, lever: amount}, horizon_year)
        row = {"lever": lever, "amount": amount, "year": year}
        changes = {"": run.gap[:, t, 0] - base.gap[:, t, 0]}
        if specialist_gap is not None:
            changes["specialist_"] = specialist_gap(run)[:, t, 0] - specialist_gap(base)[:, t, 0]
        if run.specialists_fte is not None:
            # Needed FTE is the same in both runs: the change in the FTE gap is minus the
            # change in specialist FTE.
            keep = [s in inputs.specialties for s in SPECIALTIES]
            diff = run.specialists_fte[:, t][..., keep].sum((-1, -2))
            changes["fte_"] = -(diff - base.specialists_fte[:, t][..., keep].sum((-1, -2)))
        for prefix, change in changes.items():
            mid, low, high = median_interval(change)
            row.update(
                {f"{prefix}change": mid, f"{prefix}change_low": low, f"{prefix}change_high": high}
            )
        row["notes"] = lever_notes(inputs, lever)
        rows.append(row)
    key = "specialist_change" if specialist_gap is not None else "change"
    out = pd.DataFrame(rows)
    return out.sort_values(key, key=np.abs, ascending=False, kind="stable", ignore_index=True)


def lever_notes(inputs: Inputs, lever: str) -> str:
    """Codes (``|``-separated) that say why a lever does less than it might."""
    notes = []
    if lever == "combined_track_share" and NOTE_COMBINED_MISSING in inputs.notes:
        notes.append(NOTE_COMBINED_MISSING)
    if lever == "fte_per_head":
        notes.append(NOTE_FTE_MISSING if inputs.fte is None else "fte_only")
    return "|".join(notes)


def sensitivity(
    inputs: Inputs,
    draws: Draws,
    year: int,
    horizon_year: int,
    gap_of,
    levers: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """How much each uncertain input alone moves the national gap in ``year``: every other
    input at its central value, this one drawn as in the full simulation.

    ``gap_of(run, draws)`` returns the gap (draws x years x geography) of a run. Rows: one per
    input group (``INPUT_GROUPS``) and ``all`` (everything drawn), with the median, the 80 %
    and the 95 % interval, sorted by the width of the 95 % interval.
    """
    levers = {**NO_CHANGE, **(levers or {})}
    point = central(inputs)
    rows = []
    full = project(inputs, draws, levers, horizon_year)
    t = int(np.flatnonzero(full.years == year)[0])
    cases = [("all", draws, full)]
    for group in INPUT_GROUPS:
        mixed = only(draws, point, group, inputs)
        cases.append((group, mixed, project(inputs, mixed, levers, horizon_year)))
    for group, d, run in cases:
        gap = gap_of(run, d)[:, t, 0]
        mid, low, high = median_interval(gap)
        _, low80, high80 = median_interval(gap, level="pi80")
        rows.append(
            {
                "input": group,
                "year": year,
                "gap": mid,
                "gap_low": low,
                "gap_high": high,
                "gap_low80": low80,
                "gap_high80": high80,
                "width": high - low,
            }
        )
    out = pd.DataFrame(rows)
    order = out["input"].eq("all").map({True: 0, False: 1})
    return (
        out.assign(_order=order)
        .sort_values(["_order", "width"], ascending=[True, False], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
