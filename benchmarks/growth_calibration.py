"""Tabulate the AR(1) calibration behind the growth models' intervals.

    python benchmarks/growth_calibration.py [--reps 40000] [--out PATH]

For every series length in ``CALIBRATION_N``, the trend models and the average-growth windows in
``CALIBRATION_K``: the simulated quantiles of the residual autocorrelation and the critical
values of the studentised rate and prediction errors, per true rho (see
``pipeline.analysis.growth.models.simulate_calibration``). The result is the table shipped next
to the models; rerun this after changing the estimators or the grid of rho.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.analysis.growth import models

SEED = 2013


def cells() -> list[tuple[str, int, int]]:
    """(kind, n, k) of every calibration in the shipped table."""
    out = [("trend", n, 0) for n in models.CALIBRATION_N]
    out += [
        ("drift", n, k)
        for k in models.CALIBRATION_K
        for n in models.CALIBRATION_N
        if n >= models.MIN_YEARS["average_growth"] and n >= k + 3
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=40_000)
    parser.add_argument("--out", type=Path, default=models.CALIBRATION_TABLE)
    args = parser.parse_args()
    frames, start = [], time.perf_counter()
    for kind, n, k in cells():
        cal = models.simulate_calibration(kind, n, k, reps=args.reps, seed=SEED)
        frames.append(models.calibration_frame(cal))
        print(f"{kind} n={n} k={k}: {time.perf_counter() - start:.0f} s", flush=True)
    table = pd.concat(frames, ignore_index=True)
    table.to_csv(args.out, index=False, float_format="%.4g")
    print(f"growth_calibration: {len(table)} rows to {args.out}")


if __name__ == "__main__":
    main()
