"""Single years of age inside the five-year bands, and exit rates without the ageing bias.

The data count specialists in five-year age bands. How many of a band age into the next one in
a year is the number at the band's top single year of age, which the bands do not show: with
the large cohorts of the 1980s now in their sixties, more than a fifth of the 60-64 band turns
65 each year, and an estimator that assumes a fifth mistakes those leavers for exits (or, the
other way round, for survivors). Two things here avoid the assumption:

* ``estimate_exit_rates`` compares each band with the band *below it five years earlier*: the
  same birth cohorts, whatever their single years of age. Above ``exit_estimate_from_band``
  nobody arrives, so the ratio is the cohort's five-year survival, which is what identifies the
  exit rates. The split of those five years between the two bands (a 64-year-old spends one year
  in 60-64 and four in 65-69) takes the single-year ages reconstructed below; it matters little.
* ``reconstruct_single_years`` follows the single years of age through the data: the first year
  is split by a monotone interpolation of the cumulative count, and every later year is last
  year's single ages one year older, scaled to the observed band totals. The projection starts
  from the reconstruction of its start year and ages people one year at a time.

scipy's optimiser and interpolator are imported at module level: they are light.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import interpolate, optimize

from pipeline.analysis.supply.fte import sex_given
from pipeline.data import contract
from pipeline.errors import ParamError

BANDS = contract.AGE_BANDS
BAND_WIDTH = 5
FIRST_AGE = 25
# Single years of age 25..69, then the open band 70+ as one state.
AGES = tuple(range(FIRST_AGE, FIRST_AGE + BAND_WIDTH * (len(BANDS) - 1)))
N_AGES = len(AGES) + 1
# The band of every state (single year, or the open band last).
AGE_BAND = np.array([i // BAND_WIDTH for i in range(len(AGES))] + [len(BANDS) - 1])
COHORT_LAG = BAND_WIDTH  # years between a band and the same cohorts one band up
MIN_COHORT_YEARS = COHORT_LAG + 1


def band_profile(band: str) -> np.ndarray:
    """Arrivals spread evenly over the single years of ``band`` (or all in 70+)."""
    profile = (BANDS.index(band) == AGE_BAND).astype(float)
    return profile / profile.sum()


def to_bands(single: np.ndarray) -> np.ndarray:
    """Sum the last axis (single years and the open band) into the ten bands."""
    closed = single[..., :-1].reshape(*single.shape[:-1], len(BANDS) - 1, BAND_WIDTH).sum(-1)
    return np.concatenate([closed, single[..., -1:]], axis=-1)


def split_bands(bands: np.ndarray) -> np.ndarray:
    """Single-year counts from band counts (last axis: the ten bands), preserving every band.

    A monotone cubic (PCHIP) through the cumulative count at the band edges: the single years are
    never negative and follow the slope between neighbouring bands. The open band stays whole.
    """
    bands = np.asarray(bands, dtype=float)
    edges = np.arange(FIRST_AGE, FIRST_AGE + BAND_WIDTH * len(BANDS), BAND_WIDTH)
    closed = bands[..., :-1]
    zero = np.zeros((*closed.shape[:-1], 1))
    cumulative = np.concatenate([zero, np.cumsum(closed, axis=-1)], axis=-1)
    curve = interpolate.PchipInterpolator(edges, cumulative, axis=-1)
    single = np.diff(curve(np.arange(FIRST_AGE, AGES[-1] + 2)), axis=-1)
    single = np.clip(single, 0.0, None)
    # Rounding in the interpolation: make each band add up exactly.
    grouped = single.reshape(*single.shape[:-1], len(BANDS) - 1, BAND_WIDTH)
    totals = grouped.sum(-1, keepdims=True)
    even = np.broadcast_to(closed[..., None] / BAND_WIDTH, grouped.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(totals > 0, grouped * closed[..., None] / totals, even)
    return np.concatenate([scaled.reshape(*single.shape[:-1], len(AGES)), bands[..., -1:]], axis=-1)


def reconstruct_single_years(bands: np.ndarray, exit_rate: np.ndarray | None = None) -> np.ndarray:
    """Single years of age in every year, followed through the cohorts.

    Parameters
    ----------
    bands
        Counts, years x cells x bands, for consecutive years.
    exit_rate
        Yearly exit probability per band; survivors age one year before the totals are matched
        (without it nobody leaves; the matching absorbs it either way).

    Returns
    -------
    ndarray
        Years x cells x states (single years 25..69 and the open band 70+). Every band total
        matches the data.
    """
    bands = np.asarray(bands, dtype=float)
    rate = np.zeros(N_AGES) if exit_rate is None else np.asarray(exit_rate)[AGE_BAND]
    out = np.empty((*bands.shape[:-1], N_AGES))
    out[0] = split_bands(bands[0])
    interpolated = split_bands(bands[1:]) if len(bands) > 1 else None
    for t in range(1, len(bands)):
        aged = age_one_year(out[t - 1] * (1 - rate))
        grouped = aged[..., :-1].reshape(*aged.shape[:-1], len(BANDS) - 1, BAND_WIDTH)
        totals = grouped.sum(-1, keepdims=True)
        target = bands[t][..., :-1, None]
        fallback = interpolated[t - 1][..., :-1].reshape(grouped.shape)
        # A band nobody aged into (or that grew from nothing) takes the interpolated split.
        with np.errstate(invalid="ignore", divide="ignore"):
            matched = np.where(totals > 0, grouped * target / totals, fallback)
        out[t, ..., :-1] = matched.reshape(*aged.shape[:-1], len(AGES))
        out[t, ..., -1] = bands[t][..., -1]
    return out


def age_one_year(single: np.ndarray) -> np.ndarray:
    """Everyone one year older: each single year moves up, the open band keeps its members."""
    moved = np.empty_like(single)
    moved[..., 0] = 0.0
    moved[..., 1:] = single[..., :-1]
    moved[..., -1] += single[..., -1]
    return moved


# --------------------------------------------------------------------------------------------
# Exit rates
# --------------------------------------------------------------------------------------------
@dataclass
class ExitEstimate:
    """Exit rates per band with their covariance (estimated bands only) and the method."""

    rates: pd.DataFrame  # age_band, exit_rate, se, source
    covariance: np.ndarray  # estimated bands x estimated bands
    method: str  # "cohort_5y"


def band_cubes(
    physicians: pd.DataFrame, grade: str = "specialist", up_to_year: int | None = None
) -> tuple[list[int], pd.MultiIndex, np.ndarray]:
    """Headcounts per year as years x cells x bands (cells: region, specialty and, when the
    data have it, sex), with the years and the cells' index."""
    df = physicians[physicians["grade"].astype(str) == grade]
    if up_to_year is not None:
        df = df[df["year"] <= up_to_year]
    keys = ["region", "specialty"] + (["sex"] if sex_given(df) else [])
    frame = df.assign(**{k: df[k].astype(str) for k in [*keys, "age_band"]})
    years = sorted(int(y) for y in frame["year"].unique())
    cells = frame[keys].drop_duplicates().sort_values(keys)
    index = pd.MultiIndex.from_frame(cells).sort_values()
    full = pd.MultiIndex.from_tuples(
        [(y, *c, b) for y in years for c in index for b in BANDS],
        names=["year", *keys, "age_band"],
    )
    counts = frame.groupby(["year", *keys, "age_band"])["headcount"].sum().reindex(full)
    cube = counts.fillna(0).to_numpy(dtype=float).reshape(len(years), len(index), len(BANDS))
    return years, index, cube


def consecutive_run(years: list[int]) -> list[int]:
    """Positions of the longest run of consecutive years ending at the last year."""
    run = [len(years) - 1]
    while run[0] > 0 and years[run[0] - 1] == years[run[0]] - 1:
        run.insert(0, run[0] - 1)
    return run


def estimate_exit_rates(
    physicians: pd.DataFrame,
    from_band: str,
    assumed: dict[str, float],
    up_to_year: int | None = None,
) -> ExitEstimate:
    """Yearly exit probability per age band of specialists, from five-year cohort survival.

    From ``from_band`` up nobody arrives, so band ``b`` in year ``t + 5`` holds exactly the
    survivors of band ``b - 1`` in year ``t`` (the open band 70+ also its own survivors). A
    person at single age ``j`` years into band ``b - 1`` spends ``5 - j`` of the five years in
    ``b - 1`` and ``j`` in ``b``; the single ages come from ``reconstruct_single_years``. The
    survival probabilities are fitted by weighted least squares (Poisson-like weights) over every
    region, specialty and five-year pair of years; the standard errors are the larger of the
    model-based and the cell-clustered (sandwich) ones, since overlapping pairs share exits.
    Bands below ``from_band`` take ``assumed``.

    Raises
    ------
    ParamError
        With fewer than six consecutive years of data up to ``up_to_year``.
    """
    years, _, cube = band_cubes(physicians, up_to_year=up_to_year)
    run = consecutive_run(years) if years else []
    if len(run) < MIN_COHORT_YEARS:
        last = years[-1] if years else up_to_year
        raise ParamError(
            f"supply: the exit rates compare each age band with the band below five years "
            f"earlier and need at least {MIN_COHORT_YEARS} consecutive years of physicians data "
            f"up to {last}; the data have {len(run)}. Use a later supply.backtest_start_year or "
            "more years of data"
        )
    cube = cube[run]
    first = BANDS.index(from_band)
    assumed_rates = np.array([assumed[b] for b in BANDS[:first]], dtype=float)
    estimated = BANDS[first:]
    # Single ages with the assumed rates and a first guess above (0.05): only the split of the
    # five years between two bands depends on them.
    guess = np.concatenate([assumed_rates, np.full(len(estimated), 0.05)])
    single = reconstruct_single_years(cube, guess)
    within = single[..., :-1].reshape(*single.shape[:2], len(BANDS) - 1, BAND_WIDTH)
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = np.where(
            within.sum(-1, keepdims=True) > 0,
            within / within.sum(-1, keepdims=True),
            1.0 / BAND_WIDTH,
        )
    j = np.arange(BAND_WIDTH)
    pairs = [(t, t + COHORT_LAG) for t in range(len(cube) - COHORT_LAG)]
    cells = cube.shape[1]

    def predicted(e: np.ndarray) -> np.ndarray:
        survival = 1 - np.concatenate([assumed_rates, e])
        out = []
        for t, _ in pairs:
            for b in range(first, len(BANDS)):
                exposure = survival[b - 1] ** (BAND_WIDTH - j) * survival[b] ** j
                pred = cube[t, :, b - 1] * (weights[t, :, b - 1] * exposure).sum(-1)
                if b == len(BANDS) - 1:  # the open band keeps its own survivors
                    pred = pred + cube[t, :, b] * survival[b] ** COHORT_LAG
                out.append(pred)
        return np.concatenate(out)

    observed = np.concatenate(
        [cube[later, :, b] for _, later in pairs for b in range(first, len(BANDS))]
    )
    cluster = np.tile(np.arange(cells), len(pairs) * len(estimated))
    keep = observed + predicted(np.full(len(estimated), 0.05)) > 0

    def residuals(e: np.ndarray) -> np.ndarray:
        pred = predicted(e)
        return ((observed - pred) / np.sqrt(np.maximum(pred, 1.0)))[keep]

    fit = optimize.least_squares(
        residuals, x0=np.full(len(estimated), 0.05), bounds=(0.0, 0.95), method="trf"
    )
    covariance = _covariance(fit.jac, fit.fun, cluster[keep])
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    rows = [
        {"age_band": b, "exit_rate": float(r), "se": 0.0, "source": "assumed"}
        for b, r in zip(BANDS[:first], assumed_rates, strict=True)
    ] + [
        {"age_band": b, "exit_rate": float(r), "se": float(s), "source": "estimated"}
        for b, r, s in zip(estimated, fit.x, se, strict=True)
    ]
    return ExitEstimate(pd.DataFrame(rows), covariance, "cohort_5y")


def _covariance(jac: np.ndarray, resid: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """The larger (elementwise on the diagonal) of the model-based and the cluster-robust
    covariance of a least-squares fit; an unidentified direction gets a wide variance."""
    n, k = jac.shape
    information = jac.T @ jac
    bread = np.linalg.pinv(information)
    sigma2 = float(resid @ resid) / max(n - k, 1)
    model = bread * sigma2
    groups = np.unique(cluster)
    meat = np.zeros((k, k))
    for g in groups:
        score = jac[cluster == g].T @ resid[cluster == g]
        meat += np.outer(score, score)
    robust = bread @ meat @ bread * (len(groups) / max(len(groups) - 1, 1))
    scale = np.sqrt(
        np.maximum(np.diag(robust), np.diag(model)) / np.maximum(np.diag(model), 1e-300)
    )
    out = model * np.outer(scale, scale)  # the model's correlations, the larger variances
    return np.where(np.isfinite(out), out, 0.0)
