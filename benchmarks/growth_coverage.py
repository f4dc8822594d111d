"""Known-truth coverage of the growth models' intervals under AR(1) errors.

    python benchmarks/growth_coverage.py [--reps 2000] [--ets-reps 1000]

Each model is fitted to seeded 16-year series from the process it assumes, with AR(1) errors at
rho = 0, 0.5 and 0.7; the table gives the share of replicates whose 95 % growth-rate interval
covered the true rate and whose 80 % and 95 % prediction intervals covered the value 1, 5 and 10
years after the last year. The processes live here so that tests/test_growth_models.py checks the
same worlds (with fewer replicates).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.analysis.growth import models

N_YEARS = 16
FIRST_YEAR = 2010
HORIZONS = (1, 5, 10)
# A process returns the counts of N_YEARS + max(HORIZONS) years and the true growth rate.
Process = Callable[..., tuple[np.ndarray, float]]


def ar1(rng: np.random.Generator, length: int, rho: float, sd: float) -> np.ndarray:
    """A stationary AR(1) path with marginal standard deviation ``sd``."""
    return models.simulate_ar1(rng, 1, length, rho)[0] * sd


def trend_stationary(
    rng: np.random.Generator, rho: float, g: float = 0.03, sd: float = 0.02, level: float = 2e4
) -> tuple[np.ndarray, float]:
    """log y = log(level) + log(1 + g) t + u_t, u AR(1): the log-linear model's world."""
    length = N_YEARS + max(HORIZONS)
    t = np.arange(length)
    return level * np.exp(np.log1p(g) * t + ar1(rng, length, rho, sd)), g


def overdispersed_counts(
    rng: np.random.Generator, rho: float, g: float = 0.03, sd: float = 0.02, level: float = 2e4
) -> tuple[np.ndarray, float]:
    """Poisson counts around a trend-stationary mean (dispersion ~9): patients."""
    mean, _ = trend_stationary(rng, rho, g, sd, level)
    return rng.poisson(mean).astype(float), g


def underdispersed_counts(
    rng: np.random.Generator, rho: float, g: float = 0.01, sd: float = 0.01, level: float = 1500
) -> tuple[np.ndarray, float]:
    """Rounded counts varying less than Poisson (dispersion ~0.15): physicians."""
    mean, _ = trend_stationary(rng, rho, g, sd, level)
    return np.rint(mean), g


def random_walk(
    rng: np.random.Generator, rho: float, g: float = 0.03, sd: float = 0.02, level: float = 2e4
) -> tuple[np.ndarray, float]:
    """Log growth rates log(1 + g) - sd^2/2 + AR(1): mean simple growth g, the random walk with
    drift of the average-growth method."""
    length = N_YEARS + max(HORIZONS)
    growth = np.log1p(g) - sd**2 / 2 + ar1(rng, length - 1, rho, sd)
    return level * np.exp(np.r_[0.0, np.cumsum(growth)]), g


def ets_process(
    rng: np.random.Generator,
    rho: float,
    phi: float = 1.0,
    alpha: float = 0.5,
    beta: float = 0.1,
    g: float = 0.03,
    sd: float = 0.02,
    level: float = 2e4,
) -> tuple[np.ndarray, float]:
    """ETS(A,Ad,N) on logs with innovations AR(1); the truth is the damped trend of the year
    after the last fitted one, phi * b_n, as a growth rate."""
    length = N_YEARS + max(HORIZONS)
    shocks = ar1(rng, length, rho, sd)
    lv, slope, out, truth = np.log(level), np.log1p(g), np.empty(length), np.nan
    for t in range(length):
        if t == N_YEARS:
            truth = float(np.expm1(phi * slope))
        out[t] = lv + phi * slope + shocks[t]
        lv, slope = lv + phi * slope + alpha * shocks[t], phi * slope + beta * shocks[t]
    return np.exp(out), truth


WORLDS: dict[str, tuple[str, Process, dict]] = {
    "average_growth": ("average_growth", random_walk, {}),
    "log_linear": ("log_linear", trend_stationary, {}),
    "count_glm (overdispersed)": ("count_glm", overdispersed_counts, {}),
    "count_glm (underdispersed)": ("count_glm", underdispersed_counts, {}),
    "ets (phi 0.9)": ("ets", ets_process, {"phi": 0.9}),
    "ets (phi 0.97)": ("ets", ets_process, {"phi": 0.97}),
    "ets (undamped)": ("ets", ets_process, {"phi": 1.0}),
}


def coverage(
    model: str, process: Process, rho: float, reps: int, seed: int, **options
) -> dict[str, float]:
    """Share of ``reps`` seeded replicates whose intervals covered the truth.

    Keys: ``rate95``, ``pi80_h{h}`` and ``pi95_h{h}`` for h in ``HORIZONS``, and ``width95``
    (mean width of the rate interval).
    """
    rng = np.random.default_rng(seed)
    years = np.arange(FIRST_YEAR, FIRST_YEAR + N_YEARS + max(HORIZONS))
    ahead = np.array(HORIZONS) + N_YEARS - 1
    hits, widths = [], []
    for rep in range(reps):
        counts, truth = process(rng, rho, **options)
        res = models.fit_growth(
            pd.Series(counts[:N_YEARS], index=years[:N_YEARS]),
            model,
            rng=np.random.default_rng([seed, rep]),
        )
        fc = res.intervals(years[ahead])
        actual = counts[ahead]
        hits.append(
            [
                res.ci_low <= truth <= res.ci_high,
                *((fc["lo80"] <= actual) & (actual <= fc["hi80"])),
                *((fc["lo95"] <= actual) & (actual <= fc["hi95"])),
            ]
        )
        widths.append(res.ci_high - res.ci_low)
    share = np.mean(hits, axis=0)
    keys = ["rate95", *(f"pi80_h{h}" for h in HORIZONS), *(f"pi95_h{h}" for h in HORIZONS)]
    return {**dict(zip(keys, share, strict=True)), "width95": float(np.mean(widths))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--ets-reps", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    for name, (model, process, options) in WORLDS.items():
        for rho in (0.0, 0.5, 0.7):
            start = time.perf_counter()
            reps = args.ets_reps if model == "ets" else args.reps
            result = coverage(model, process, rho, reps, seed=2026, **options)
            rows.append({"world": name, "rho": rho, "reps": reps, **result})
            line = ", ".join(f"{k} {v:.3f}" for k, v in result.items())
            seconds = time.perf_counter() - start
            print(f"{name} rho={rho}: {line} ({seconds:.0f} s)", file=sys.stderr)
    table = pd.DataFrame(rows)
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
