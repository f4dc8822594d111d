"""Stock-flow projection of physicians in psychiatry, and the levers that close the gap.

The growth stage extrapolates the number of physicians as a trend; it cannot say which initiative
closes the gap. This model follows the specialists themselves, per region, specialty and five-year
age band, from the last data year:

* each year a share of each age band leaves (retirement, private practice, abroad): exit rates
  are estimated from the physicians data for the older bands and stated assumptions for the
  youngest, where new specialists arrive and exits cannot be told apart from arrivals;
* a fifth of each band moves up one band (70+ keeps its members until they leave);
* new specialists arrive: H-courses started ``h_duration_years`` earlier, completed with
  probability ``h_completion``, and foreign doctors recruited ``foreign_pathway_years`` earlier
  (the 6 + 6 + 12 month pathway), of whom ``foreign_completion`` stay.

H-courses started after the data are the posts advertised times the share filled. Posts are
filled from the I-doctors who continue, so raising the conversion from I- to H-post (the combined
track) raises the fill rate in proportion, up to all posts. Doctors in training are counted from
the posts they fill, scaled to the last data year's headcount.

Demand is the growth stage's patient projection times the base year's physicians per patient, the
definition of the growth stage's gap. Uncertainty comes from seeded Monte Carlo draws of patient
growth, conversion, fill rates, completion and exit rates; every scenario uses the same draws,
so differences between scenarios are measured precisely.

statsmodels is imported inside the one function that fits: it takes seconds to import.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from pipeline.data import contract
from pipeline.errors import InputError, ParamError

log = logging.getLogger(__name__)

REGIONS, SPECIALTIES, BANDS = contract.REGIONS, contract.SPECIALTIES, contract.AGE_BANDS
BAND_WIDTH = 5  # years per age band: a fifth of each band moves up each year
OLD_BANDS = ("65-69", "70+")
NATIONAL, GEOGRAPHIES = contract.NATIONAL, contract.GEOGRAPHIES

# What "no change" means for each lever: None for the share is the share seen in the data.
NO_CHANGE: dict[str, float | None] = {
    "extra_h_posts": 0.0,
    "combined_track_share": None,
    "foreign_per_year": 0.0,
    "exit_reduction_over_65": 0.0,
}


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------
def scenario_levers(params: dict[str, Any], name: str) -> dict[str, float | None]:
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
def step(stock: np.ndarray, exit_rate: np.ndarray, inflow: np.ndarray) -> tuple[np.ndarray, dict]:
    """One year of the stock: exits, ageing of the survivors, arrivals.

    All arrays end in the age-band axis. Returns the next stock and the flows, for which
    ``next = stock - exits - ageing_out + ageing_in + inflow`` holds in every band.
    """
    exits = stock * exit_rate
    survivors = stock - exits
    moving = survivors[..., :-1] / BAND_WIDTH
    zeros = np.zeros_like(survivors[..., :1])
    ageing_out = np.concatenate([moving, zeros], axis=-1)
    ageing_in = np.concatenate([zeros, moving], axis=-1)
    following = survivors - ageing_out + ageing_in + inflow
    return following, {
        "exits": exits,
        "ageing_out": ageing_out,
        "ageing_in": ageing_in,
        "inflow": inflow,
    }


# --------------------------------------------------------------------------------------------
# Inputs from the data
# --------------------------------------------------------------------------------------------
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
    """Yearly exit probability per age band of specialists.

    From ``from_band`` up, new specialists hardly arrive, so year-on-year headcounts identify the
    exits: a band next year holds the survivors of four fifths of itself and of a fifth of the
    band below (70+ holds all of its own). That is linear in the survival probabilities, which
    one least-squares fit (statsmodels, robust standard errors) estimates over all regions,
    specialties and years. Younger bands take ``assumed``.

    Returns
    -------
    DataFrame
        ``age_band``, ``exit_rate``, ``se`` and ``source`` ("estimated" or "assumed").
    """
    import statsmodels.api as sm

    df = physicians[physicians["grade"].astype(str) == "specialist"]
    if up_to_year is not None:
        df = df[df["year"] <= up_to_year]
    years = sorted(df["year"].unique())
    first = BANDS.index(from_band)
    cubes = {y: _cube(df[df["year"] == y], "headcount", True) for y in years}
    estimated = BANDS[first:]
    rows, targets = [], []
    for y0, y1 in itertools.pairwise(years):
        if y1 != y0 + 1:
            continue
        now, following = cubes[y0].reshape(-1, len(BANDS)), cubes[y1].reshape(-1, len(BANDS))
        for b in range(first, len(BANDS)):
            x = np.zeros((now.shape[0], len(estimated)))
            own = 1.0 if BANDS[b] == BANDS[-1] else (BAND_WIDTH - 1) / BAND_WIDTH
            x[:, b - first] = own * now[:, b]
            target = following[:, b].copy()
            if b - 1 >= first:
                x[:, b - 1 - first] = now[:, b - 1] / BAND_WIDTH
            else:  # the band below has an assumed rate: its contribution is known
                target -= (1 - assumed[BANDS[b - 1]]) * now[:, b - 1] / BAND_WIDTH
            rows.append(x)
            targets.append(target)
    out = [
        {"age_band": b, "exit_rate": float(assumed[b]), "se": 0.0, "source": "assumed"}
        for b in BANDS[:first]
    ]
    if not rows:
        raise ParamError(
            "supply: the physicians data need two consecutive years to estimate exit rates"
        )
    x, y = np.vstack(rows), np.concatenate(targets)
    keep = x.sum(axis=1) > 0
    res = sm.OLS(y[keep], x[keep]).fit(cov_type="HC1")
    for band, survival, se in zip(estimated, res.params, res.bse, strict=True):
        out.append(
            {
                "age_band": band,
                "exit_rate": float(np.clip(1 - survival, 0.0, 0.95)),
                "se": float(se),
                "source": "estimated",
            }
        )
    return pd.DataFrame(out)


@dataclass
class Inputs:
    """Everything the projection needs, as point values and as the spread of their draws."""

    start_year: int
    stock: np.ndarray  # specialists, region x specialty x band, in the start year
    trainees: np.ndarray  # doctors in training, region x specialty, in the start year
    h_started: dict[int, np.ndarray]  # observed H-starts (filled posts) by year, region x specialty
    h_advertised: np.ndarray  # H-posts advertised per year from now on, region x specialty
    h_filled_ref: np.ndarray  # filled and advertised H-posts in the reference years
    h_advertised_ref: np.ndarray
    i_filled: np.ndarray  # I-posts filled per year from now on, region x specialty
    exit_rates: pd.DataFrame
    conversion: dict[str, tuple[float, float, float]]  # track -> (estimate, low, high)
    combined_share_now: float
    physicians_per_patient: dict[str, float]  # per geography, in the base year
    patients: pd.DataFrame  # per geography and year: observed, or the projection's distribution
    grades: tuple[str, ...]
    specialties: tuple[str, ...]
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
    (``retention/conversion_by_track``). ``start_year`` (default: the last data year) is where
    the projection starts; a backtest starts earlier and uses only the data up to then.
    """
    physicians, posts, trainees = tables["physicians"], tables["training_posts"], tables["trainees"]
    start = int(start_year or physicians["year"].max())
    at_start = physicians[physicians["year"] == start]
    stock = _cube(at_start[at_start["grade"].astype(str) == "specialist"], "headcount", True)
    in_training = _cube(at_start[at_start["grade"].astype(str) == "trainee"], "headcount", False)
    h_posts = posts[(posts["post_type"].astype(str) == "H") & (posts["year"] <= start)]
    i_posts = posts[(posts["post_type"].astype(str) == "I") & (posts["year"] <= start)]
    h_started = {int(y): _cube(g, "filled", False) for y, g in h_posts.groupby("year")}
    k = params["posts_reference_years"]
    ref = h_posts[h_posts["year"] > start - k]
    i_ref = i_posts[i_posts["year"] > start - k]
    conversion = conversion_inputs(conversion_by_track)
    recent = trainees[trainees["i_start"].dt.year > start - k]
    share_now = float(recent["combined_track"].mean()) if len(recent) else 0.0
    ratio, patients = _demand_inputs(series, projection, base_year)
    return Inputs(
        start_year=start,
        stock=stock,
        trainees=in_training,
        h_started=h_started,
        h_advertised=_cube(ref, "advertised", False) / k,
        h_filled_ref=_cube(ref, "filled", False),
        h_advertised_ref=_cube(ref, "advertised", False),
        i_filled=_cube(i_ref, "filled", False) / k,
        exit_rates=estimate_exit_rates(
            physicians,
            params["exit_estimate_from_band"],
            params["exit_rates_assumed"],
            up_to_year=start,
        ),
        conversion=conversion,
        combined_share_now=share_now,
        physicians_per_patient=ratio,
        patients=patients,
        grades=tuple(grades),
        specialties=tuple(specialties),
        params=params,
    )


def conversion_inputs(by_track: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """The share converting within the horizon per track code, with its 95 % interval.

    The regular track is needed; the combined track may be missing (nobody on it, or hidden as
    a small group): its lever then has no effect, which the page says (``lever_notes``).
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
    """Physicians per patient in the base year, and patients per year: observed up to the
    start, then the growth stage's projection (its distribution on the log scale)."""
    totals = series[series["group"] == "total"]
    ratio = {}
    for geography in GEOGRAPHIES:
        geo = totals[(totals["geography"] == geography) & (totals["year"] == base_year)]
        values = geo.set_index("measure")["value"]
        ratio[geography] = float(values["physicians"] / values["patients"])
    # Observed patients for every data year (a backtest starts before the last one).
    observed = totals[totals["measure"] == "patients"]
    last = int(observed["year"].max())
    observed = observed.assign(geography=observed["geography"].astype(str))
    rows = [
        observed[["geography", "year", "value"]].assign(
            log_centre=np.nan, log_spread=0.0, df=np.inf
        )
    ]
    future = projection[
        (projection["measure"] == "patients")
        & (projection["group"] == "total")
        & projection["forecast"].notna()
        & (projection["year"] > last)
    ]
    if len(future):
        rows.append(
            pd.DataFrame(
                {
                    "geography": future["geography"].astype(str),
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
    completion: np.ndarray  # draws
    exit_rate: np.ndarray  # draws x band
    conversion_regular: np.ndarray  # draws
    conversion_combined: np.ndarray  # draws
    patient_z: np.ndarray  # draws x geography: standardised draw of the patient projection

    @property
    def n(self) -> int:
        return len(self.completion)


def central(inputs: Inputs) -> Draws:
    """The point values of every input (one 'draw')."""
    fill = np.where(
        inputs.h_advertised_ref > 0,
        inputs.h_filled_ref / np.maximum(inputs.h_advertised_ref, 1),
        0.0,
    )
    conv = inputs.conversion
    return Draws(
        h_fill=fill[None],
        completion=np.array([inputs.params["h_completion"]]),
        exit_rate=inputs.exit_rates["exit_rate"].to_numpy()[None],
        conversion_regular=np.array([conv["regular"][0]]),
        conversion_combined=np.array([conv["combined"][0]]),
        patient_z=np.zeros((1, len(GEOGRAPHIES))),
    )


def draw(inputs: Inputs, n: int, rng: np.random.Generator) -> Draws:
    """Seeded draws of the uncertain inputs.

    Fill rates: Beta posteriors (Jeffreys prior) of the reference years' posts. Completion: a
    Beta with the stated mean and standard deviation. Exit rates: normal around the estimates
    with their standard errors (assumed rates are fixed). Conversion: normal on the logit scale
    matching the retention stage's 95 % intervals. Patients: standardised draws of each
    geography's projection, one per draw for all years (a path, not year-to-year noise).
    """
    filled, advertised = inputs.h_filled_ref, inputs.h_advertised_ref
    fill = rng.beta(filled + 0.5, advertised - filled + 0.5, size=(n, *filled.shape))
    mean, sd = inputs.params["h_completion"], inputs.params["h_completion_sd"]
    if sd > 0 and mean < 1:
        k = mean * (1 - mean) / sd**2 - 1
        completion = rng.beta(mean * k, (1 - mean) * k, size=n)
    else:
        completion = np.full(n, mean)
    rates = inputs.exit_rates
    exit_rate = np.clip(
        rng.normal(rates["exit_rate"].to_numpy(), rates["se"].to_numpy(), size=(n, len(rates))),
        0.0,
        0.95,
    )
    conversion = {}
    for track, (est, low, high) in inputs.conversion.items():
        if not np.isfinite(est) or not 0 < est < 1:
            conversion[track] = np.full(n, est)
            continue
        spread = (_logit(high) - _logit(low)) / (2 * stats.norm.ppf(0.975))
        conversion[track] = _expit(rng.normal(_logit(est), max(spread, 0.0), size=n))
    return Draws(
        fill,
        completion,
        exit_rate,
        conversion["regular"],
        conversion["combined"],
        rng.standard_normal((n, len(GEOGRAPHIES))),
    )


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# --------------------------------------------------------------------------------------------
# The projection
# --------------------------------------------------------------------------------------------
@dataclass
class Projection:
    """Supply, demand and gap per draw, year and geography, and the central run's ledger."""

    years: np.ndarray
    specialists: np.ndarray  # draws x years x region x specialty x band
    trainees: np.ndarray  # draws x years x region x specialty
    supply: np.ndarray  # draws x years x geography
    demand: np.ndarray  # draws x years x geography
    ledger: pd.DataFrame | None = None

    @property
    def gap(self) -> np.ndarray:
        return self.demand - self.supply


def project(
    inputs: Inputs,
    draws: Draws,
    levers: dict[str, float | None],
    horizon_year: int,
    ledger: bool = False,
) -> Projection:
    """Run the stock-flow model from the start year to ``horizon_year`` under ``levers``."""
    p = inputs.params
    n, start = draws.n, inputs.start_year
    years = np.arange(start, horizon_year + 1)
    band_new, band_foreign = (
        BANDS.index(p["new_specialist_age_band"]),
        BANDS.index(p["foreign_age_band"]),
    )
    exit_rate = draws.exit_rate.copy()
    old = [BANDS.index(b) for b in OLD_BANDS]
    exit_rate[:, old] *= 1 - float(levers["exit_reduction_over_65"])

    # Posts are filled from the I-doctors who continue: the combined track raises conversion
    # (and so the fill rate) from the year its first I-doctors can start an H-post.
    share = (
        inputs.combined_share_now
        if levers["combined_track_share"] is None
        else float(levers["combined_track_share"])
    )

    def conversion(s: float) -> np.ndarray:
        return draws.conversion_regular + s * (draws.conversion_combined - draws.conversion_regular)

    with np.errstate(invalid="ignore", divide="ignore"):
        factor = conversion(share) / conversion(inputs.combined_share_now)
    factor = np.where(np.isfinite(factor), factor, 1.0)[:, None, None]
    shares = inputs.h_advertised / max(inputs.h_advertised.sum(), 1e-9)
    advertised = inputs.h_advertised + float(levers["extra_h_posts"]) * shares

    def h_starts(year: int) -> np.ndarray:
        if year <= start:
            observed = inputs.h_started.get(year, np.zeros_like(inputs.h_advertised))
            return np.broadcast_to(observed, (n, *observed.shape))
        lift = factor if year >= start + 1 + p["i_duration_years"] else 1.0
        return advertised * np.minimum(draws.h_fill * lift, 1.0)

    # Foreign recruits are placed where the specialists are now.
    where = inputs.stock.sum(axis=-1) / max(inputs.stock.sum(), 1e-9)
    recruits = float(levers["foreign_per_year"])

    stock = np.broadcast_to(inputs.stock, (n, *inputs.stock.shape)).copy()
    specialists = [stock]
    rows = []
    for year in years[1:]:
        inflow = np.zeros_like(stock)
        inflow[..., band_new] += (
            h_starts(year - p["h_duration_years"]) * draws.completion[:, None, None]
        )
        if year - p["foreign_pathway_years"] > start:
            inflow[..., band_foreign] += recruits * p["foreign_completion"] * where
        rates = exit_rate[:, None, None, :]
        following, flows = step(stock, rates, inflow)
        if ledger:
            rows.append(_ledger_rows(int(year), stock, flows, following))
        stock = following
        specialists.append(stock)
    specialists = np.stack(specialists, axis=1)

    # Doctors in training: this year's I-doctors plus the H-courses under way, scaled so the
    # start year matches the data's headcount.
    def in_training(year: int) -> np.ndarray:
        i_doctors = np.broadcast_to(inputs.i_filled, (n, *inputs.i_filled.shape))
        h_doctors = sum(h_starts(year - k) for k in range(p["h_duration_years"]))
        return i_doctors + h_doctors

    modelled_now = in_training(start)
    scale = np.where(modelled_now > 0, inputs.trainees / np.maximum(modelled_now, 1e-9), 1.0)
    trainees = np.stack([in_training(int(y)) * scale for y in years], axis=1)

    supply = _supply(specialists, trainees, inputs)
    demand = _demand(inputs, draws, years)
    return Projection(
        years,
        specialists,
        trainees,
        supply,
        demand,
        pd.concat(rows, ignore_index=True) if rows else None,
    )


def _ledger_rows(year: int, stock, flows, following) -> pd.DataFrame:
    """The flows of the first draw as a table: one row per region, specialty and band."""
    index = pd.MultiIndex.from_product(
        [REGIONS, SPECIALTIES, BANDS], names=["region", "specialty", "age_band"]
    )
    data = {
        "stock_start": stock[0],
        **{k: v[0] for k, v in flows.items()},
        "stock_end": following[0],
    }
    return (
        pd.DataFrame({k: np.asarray(v).reshape(-1) for k, v in data.items()}, index=index)
        .reset_index()
        .assign(year=year)
    )


def _supply(specialists: np.ndarray, trainees: np.ndarray, inputs: Inputs) -> np.ndarray:
    """Physicians counted as in the gap: the chosen grades in the chosen specialties."""
    keep = np.array([s in inputs.specialties for s in SPECIALTIES])
    regional = np.zeros(specialists.shape[:3])
    if "specialist" in inputs.grades:
        regional = regional + specialists[..., keep, :].sum(axis=(-1, -2))
    if "trainee" in inputs.grades:
        regional = regional + trainees[..., keep].sum(axis=-1)
    return np.concatenate([regional.sum(axis=-1, keepdims=True), regional], axis=-1)


def _demand(inputs: Inputs, draws: Draws, years: np.ndarray) -> np.ndarray:
    """Physicians needed: base-year physicians per patient times patients, per draw."""
    out = np.empty((draws.n, len(years), len(GEOGRAPHIES)))
    patients = inputs.patients.set_index(["geography", "year"])
    for g, geography in enumerate(GEOGRAPHIES):
        for t, year in enumerate(years):
            row = patients.loc[(geography, int(year))]
            if np.isnan(row["log_centre"]):
                values = np.full(draws.n, row["value"])
            else:
                z = draws.patient_z[:, g]
                if np.isfinite(row["df"]):  # a t reference distribution: map the normal draw
                    z = stats.t.ppf(stats.norm.cdf(z), row["df"])
                values = np.exp(row["log_centre"] + z * row["log_spread"])
            out[:, t, g] = inputs.physicians_per_patient[geography] * values
    return out


# --------------------------------------------------------------------------------------------
# Scenarios, levers and the backtest
# --------------------------------------------------------------------------------------------
def summarise(central_run: Projection, simulated: Projection, scenario: str) -> pd.DataFrame:
    """Supply, demand and gap per year and geography: central value and 95 % interval."""
    rows = []
    for t, year in enumerate(central_run.years):
        for g, geography in enumerate(GEOGRAPHIES):
            row = {"scenario": scenario, "geography": geography, "year": int(year)}
            for name, c, s in (
                ("supply", central_run.supply, simulated.supply),
                ("demand", central_run.demand, simulated.demand),
                ("gap", central_run.gap, simulated.gap),
            ):
                low, high = np.quantile(s[:, t, g], [0.025, 0.975])
                row.update({name: c[0, t, g], f"{name}_low": low, f"{name}_high": high})
            rows.append(row)
    out = pd.DataFrame(rows)
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES, ordered=True)
    return out


def run_scenarios(
    inputs: Inputs, names: Sequence[str], horizon_year: int, simulations: int, seed: int
) -> tuple[pd.DataFrame, dict[str, Projection]]:
    """Every named scenario on the same draws (common random numbers)."""
    point = central(inputs)
    draws = draw(inputs, simulations, np.random.default_rng(seed))
    frames, runs = [], {}
    for name in names:
        levers = scenario_levers(inputs.params, name)
        run = project(inputs, draws, levers, horizon_year)
        runs[name] = run
        frames.append(summarise(project(inputs, point, levers, horizon_year), run, name))
        log.info("supply: scenario %s", name)
    return pd.concat(frames, ignore_index=True), runs


def compare(
    summary: pd.DataFrame,
    runs: dict[str, Projection],
    target_years: Sequence[int],
    geography: str = NATIONAL,
) -> pd.DataFrame:
    """Gap per scenario and target year, and the change from the baseline with a paired
    interval (the same draws in both)."""
    g = GEOGRAPHIES.index(geography)
    base = runs["baseline"]
    rows = []
    for name, run in runs.items():
        for year in target_years:
            if year not in run.years:
                continue
            t = int(np.flatnonzero(run.years == year)[0])
            row = summary[
                (summary["scenario"] == name)
                & (summary["year"] == year)
                & (summary["geography"] == geography)
            ].iloc[0]
            change = run.gap[:, t, g] - base.gap[:, t, g]
            central_change = (
                row["gap"]
                - summary[
                    (summary["scenario"] == "baseline")
                    & (summary["year"] == year)
                    & (summary["geography"] == geography)
                ]["gap"].iloc[0]
            )
            low, high = np.quantile(change, [0.025, 0.975])
            rows.append(
                {
                    "scenario": name,
                    "year": int(year),
                    "gap": row["gap"],
                    "gap_low": row["gap_low"],
                    "gap_high": row["gap_high"],
                    "change": central_change,
                    "change_low": low,
                    "change_high": high,
                }
            )
    return pd.DataFrame(rows)


def tornado(
    inputs: Inputs,
    moves: dict[str, float],
    year: int,
    simulations: int,
    seed: int,
    horizon_year: int,
) -> pd.DataFrame:
    """Change in the national gap in ``year`` when each lever alone is moved by its stated
    amount, with a paired 95 % interval."""
    point = central(inputs)
    draws = draw(inputs, simulations, np.random.default_rng(seed))
    base_levers = dict(NO_CHANGE)
    base_c, base_s = (
        project(inputs, point, base_levers, horizon_year),
        project(inputs, draws, base_levers, horizon_year),
    )
    t = int(np.flatnonzero(base_c.years == year)[0])
    rows = []
    for lever, amount in moves.items():
        levers = {**base_levers, lever: amount}
        c, s = (
            project(inputs, point, levers, horizon_year),
            project(inputs, draws, levers, horizon_year),
        )
        change = s.gap[:, t, 0] - base_s.gap[:, t, 0]
        low, high = np.quantile(change, [0.025, 0.975])
        rows.append(
            {
                "lever": lever,
                "amount": amount,
                "year": year,
                "change": c.gap[0, t, 0] - base_c.gap[0, t, 0],
                "change_low": low,
                "change_high": high,
            }
        )
    return pd.DataFrame(rows).sort_values("change", key=np.abs, ascending=False, ignore_index=True)


def backtest(
    tables: dict[str, pd.DataFrame],
    series: pd.DataFrame,
    projection: pd.DataFrame,
    conversion: pd.DataFrame,
    params: dict[str, Any],
    *,
    start_year: int,
    base_year: int,
    grades: Sequence[str],
    specialties: Sequence[str],
) -> pd.DataFrame:
    """Start the model in an earlier year with only the data known then, and compare its
    projection of specialists and doctors in training with what the data showed."""
    last = int(tables["physicians"]["year"].max())
    inputs = build_inputs(
        tables,
        series,
        projection,
        conversion,
        params,
        base_year=base_year,
        grades=grades,
        specialties=specialties,
        start_year=start_year,
    )
    run = project(inputs, central(inputs), dict(NO_CHANGE), last)
    physicians = tables["physicians"]
    rows = []
    for t, year in enumerate(run.years):
        actual = physicians[physicians["year"] == year]
        for grade, values in (
            ("specialist", run.specialists[0, t].sum(axis=-1)),
            ("trainee", run.trainees[0, t]),
        ):
            observed = _cube(actual[actual["grade"].astype(str) == grade], "headcount", False)
            for r, region in enumerate(GEOGRAPHIES):
                proj = values.sum() if r == 0 else values[r - 1].sum()
                obs = observed.sum() if r == 0 else observed[r - 1].sum()
                rows.append(
                    {
                        "grade": grade,
                        "geography": region,
                        "year": int(year),
                        "projected": proj,
                        "observed": obs,
                    }
                )
    out = pd.DataFrame(rows)
    out["error"] = out["projected"] - out["observed"]
    out["ape"] = (out["error"].abs() / out["observed"].where(out["observed"] > 0)).astype(float)
    return out


def metrics(
    comparison: pd.DataFrame, levers: pd.DataFrame, headline: str, backtest_result: pd.DataFrame
) -> dict[str, Any]:
    """The supply section of ``reports/metrics.json``: the selected scenario's gap first (so
    ``dvc exp show`` compares experiments at a glance), then every scenario and lever."""
    out: dict[str, Any] = {"headline_scenario": headline}
    for row in comparison[comparison["scenario"] == headline].itertuples():
        out[f"gap_{row.year}"] = row.gap
        out[f"gap_{row.year}_pi_low"] = row.gap_low
        out[f"gap_{row.year}_pi_high"] = row.gap_high
    out["scenarios"] = {
        name: {
            f"gap_{r.year}{suffix}": value
            for r in df.itertuples()
            for suffix, value in (("", r.gap), ("_pi_low", r.gap_low), ("_pi_high", r.gap_high))
        }
        for name, df in comparison.groupby("scenario", sort=False)
    }
    out["levers"] = {
        r.lever: {
            "amount": r.amount,
            "year": r.year,
            "gap_change": r.change,
            "gap_change_pi_low": r.change_low,
            "gap_change_pi_high": r.change_high,
        }
        for r in levers.itertuples()
    }
    national = backtest_result[
        (backtest_result["geography"] == NATIONAL)
        & (backtest_result["ape"].notna())
        & (backtest_result["year"] > backtest_result["year"].min())
    ]
    out["backtest_mape_specialists"] = float(
        100 * national[national["grade"] == "specialist"]["ape"].mean()
    )
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Tables and text for display (Danish)
# --------------------------------------------------------------------------------------------
