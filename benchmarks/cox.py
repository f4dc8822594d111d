"""The retention stage's Cox fit (Efron's ties) on 1,000,000 doctors with 8 covariates and
monthly ties: the vectorised ``fit_cox_efron`` against statsmodels' ``PHReg`` on the same data.

    python benchmarks/cox.py [--rows N] [--skip-statsmodels]

Each fit runs in its own process. Its wall time is the fit alone (data made and libraries
imported before the clock starts); its peak memory is the whole process's, data included.
"""

from __future__ import annotations

import argparse
import json
import sys
from time import perf_counter

from common import ROOT, measure, report

SEED = 1


def simulate(n: int):
    """Indicators (30 %, 15 %, 50 %), age in whole years and a five-level region; constant
    hazards; follow-up up to 14 years; times in whole months, so nearly all events are tied."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    region = rng.integers(0, 5, n)
    x = np.column_stack(
        [
            rng.random(n) < 0.3,
            rng.random(n) < 0.15,
            rng.random(n) < 0.5,
            rng.integers(26, 36, n),
            *(region == k for k in range(1, 5)),
        ]
    ).astype(float)
    effects = np.array([0.7, -0.2, 0.1, 0.03, 0.15, -0.1, 0.2, 0.0])
    event_time = rng.exponential(1 / (0.45 * np.exp((x - x.mean(axis=0)) @ effects)))
    followed = rng.uniform(0.2, 14, n)
    time = np.ceil(np.minimum(event_time, followed) * 12) / 12
    return time, (event_time <= followed).astype(int), x


def fit_once(implementation: str, n: int) -> None:
    """In the child process: fit, and print the timing and estimates as one JSON line."""
    sys.path.insert(0, str(ROOT))  # this checkout's pipeline package, not an installed one
    time, event, x = simulate(n)
    if implementation == "statsmodels":
        from statsmodels.duration.hazard_regression import PHReg

        start = perf_counter()
        res = PHReg(time, x, status=event, ties="efron").fit()
        params, bse, iterations = res.params, res.bse, None
    else:
        from pipeline.analysis.retention.cox import fit_cox_efron

        start = perf_counter()
        fit = fit_cox_efron(time, event, x)
        params, bse, iterations = fit.params, fit.bse, fit.iterations
    seconds = perf_counter() - start
    out = {
        "seconds": seconds,
        "params": list(params),
        "bse": list(bse),
        "iterations": iterations,
        "events": int(event.sum()),
        "event_times": len(set(time[event == 1])),
    }
    print("FIT " + json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-statsmodels", action="store_true")
    parser.add_argument("--child", choices=["ours", "statsmodels"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fit_once(args.child, args.rows)
        return
    n = args.rows
    names = {"ours": "fit_cox_efron", "statsmodels": "statsmodels PHReg"}
    runs = ["ours"] if args.skip_statsmodels else ["ours", "statsmodels"]
    rows, fits = {}, {}
    for run in runs:
        measured = measure([sys.executable, __file__, "--child", run, "--rows", str(n)], ROOT)
        line = next(x for x in measured["output"].splitlines() if x.startswith("FIT "))
        fits[run] = json.loads(line.removeprefix("FIT "))
        rows[f"{names[run]}, {n:,} rows x 8 (fit only)"] = {
            "wall_s": fits[run]["seconds"],
            "peak_mb": measured["peak_mb"],
        }
    ours = fits["ours"]
    extra = {
        "events / distinct event times": f"{ours['events']:,} / {ours['event_times']:,}",
        "Newton steps (fit_cox_efron)": ours["iterations"],
    }
    if "statsmodels" in fits:
        theirs = fits["statsmodels"]

        def worst(key: str) -> float:
            pairs = zip(ours[key], theirs[key], strict=True)
            return max(abs(a / b - 1) for a, b in pairs)

        extra["speed-up over statsmodels"] = f"{theirs['seconds'] / ours['seconds']:.0f}x"
        extra["largest relative difference, coef / SE"] = (
            f"{worst('params'):.1e} / {worst('bse'):.1e}"
        )
    report("cox", rows, extra)


if __name__ == "__main__":
    main()
