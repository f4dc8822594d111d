"""Where a stage's time goes: imports, analysis, figures; and what that allows on this machine.

    python benchmarks/stage_profile.py [STAGE ...] [--top N] [--sort cumtime|tottime]
                                       [--filter REGEX]

In a scratch copy of the project (inputs made by one ``dvc repro``), each stage runs in a fresh
plain Python process, its notebook cells as ``notebooks.py`` runs them, in parts:

* **imports**: every module the stage's own cells import (the modules of its floor);
* **analysis**: the cells, with ``plotting.show`` only collecting the figures, and the runner's
  step after the notebook (``stages.AFTER_NOTEBOOK``): in a stage, the kernel's and the
  runner's own work, one after the other;
* **figures**: drawing the collected figures, both versions (``plotting._both_in_turn``): in a
  stage this runs in forked children, on the other core;
* **beside**: the runner's step beside the notebook (``stages.BESIDE_NOTEBOOK``, the report's
  researcher pages), in a stage a forked child too.

Each part's CPU seconds come from a run without the profiler (its overhead is large for
Python-heavy code); a second run under ``cProfile`` prints the functions that dominate each
part and keeps ``benchmarks/results/profile-STAGE-PART.prof`` (open with ``python -m pstats``
or snakeviz).

The last column is a bound, not a measurement: on ``C`` cores a stage cannot take less than
its floor (``notebooks.py``: kernel start and imports) plus ``max(analysis, (analysis +
figures + beside) / C)``, the analysis being one process and the rest able to use every core.
It tells how much CPU a stage must lose before "within 1.5x its floor" is possible at all.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import BIN, RESULTS, env, machine, measure, scratch_copy

import pipeline  # noqa: F401  (first: it keeps nbformat from building jsonschema's IRI grammar)

STAGES = ("ingest", "growth", "retention", "initiatives", "supply", "report")
HERE = Path(__file__).resolve()


def _run_cells(stage: str, root: Path) -> list:
    """The stage's cells in this process, its figures collected instead of drawn."""
    import matplotlib.pyplot as plt

    from notebooks import run_cells
    from pipeline.publish import plotting

    figures: list = []

    def collect(fig, alt, path=None):  # plotting.show's signature
        figures.append(fig)
        plt.close(fig)  # pyplot lets go of it; the drawing needs only the Figure object

    plotting.show = collect
    run_cells(stage, root)
    return figures


def _step(steps: dict[str, tuple[str, str]], stage: str):
    """The runner's step after or beside the notebook (``pipeline.stages``), or None."""
    if stage not in steps:
        return None
    module, name = steps[stage]
    return getattr(importlib.import_module(module), name)


def child(stage: str, root: Path, modules: list[str], profile_to: Path | None) -> dict:
    """One measured run of a stage's parts in this (fresh) process."""
    os.environ["MPLBACKEND"] = "Agg"
    os.chdir(root)
    sys.path.insert(0, str(HERE.parent))
    start = time.process_time()
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)
    parts = {"imports_s": time.process_time() - start}
    from pipeline.params import load_params
    from pipeline.publish import plotting
    from pipeline.stages import AFTER_NOTEBOOK, BESIDE_NOTEBOOK

    params = load_params(root)
    beside, after = _step(BESIDE_NOTEBOOK, stage), _step(AFTER_NOTEBOOK, stage)

    def timed(part: str, work: Callable[[], Any]) -> Any:
        """``work()``, its CPU seconds kept as ``PART_s`` (and its profile, with profile_to)."""
        profiler = cProfile.Profile() if profile_to else None
        start = time.process_time()
        if profiler:
            profiler.enable()
        result = work()
        if profiler:
            profiler.disable()
            profiler.dump_stats(f"{profile_to}-{part}.prof")
        parts[f"{part}_s"] = time.process_time() - start
        return result

    # The runner computes this in a forked child while the notebook runs (the report's pages).
    prepared = timed("beside", lambda: beside(root, params) if beside else None)

    def analysis() -> list:  # the kernel's work, then the runner's step after the notebook
        figures = _run_cells(stage, root)
        if after is not None:
            after(root, params, prepared)
        return figures

    figures = timed("analysis", analysis)
    timed("figures", lambda: [plotting._both_in_turn(fig) for fig in figures])
    return {**parts, "n_figures": len(figures)}


def _child_run(stage: str, project: Path, modules: Path, profile_to: Path | None) -> dict:
    command = [sys.executable, str(HERE), "--child", stage, str(modules)]
    if profile_to:
        command += ["--profile-to", str(profile_to)]
    done = subprocess.run(command, cwd=project, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"profiling {stage} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _top(path: Path, sort: str, pattern: str, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats(sort).print_stats(pattern, top)
    lines = out.getvalue().splitlines()
    head = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join("    " + line[:150] for line in lines[head:] if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", default=list(STAGES), help="default: every stage")
    parser.add_argument("--top", type=int, default=15, help="functions shown per part")
    parser.add_argument("--sort", default="cumtime", choices=["cumtime", "tottime"])
    parser.add_argument("--filter", default="pipeline/", help="regex on analysis functions")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stage, modules = args.child
        result = child(stage, Path.cwd(), json.loads(Path(modules).read_text()), args.profile_to)
        print(json.dumps(result))
        return
    unknown = sorted(set(args.stages) - set(STAGES))
    if unknown:
        raise SystemExit(f"unknown stage(s) {', '.join(unknown)}: choose from {', '.join(STAGES)}")
    cores = os.cpu_count() or 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = {}
    with scratch_copy("bench-profile-") as project:
        measure([str(BIN / "dvc"), "repro"], project)  # every input in place
        for stage in args.stages:
            modules = project / f".modules-{stage}.json"
            subprocess.run(
                [sys.executable, str(HERE.parent / "notebooks.py"), "plain", stage, str(modules)],
                cwd=project, env=env(), check=True, capture_output=True,
            )  # fmt: skip
            floor = measure([sys.executable, str(HERE.parent / "notebooks.py"), "floor", stage,
                             str(modules)], project)["wall_s"]  # fmt: skip
            parts = _child_run(stage, project, modules, None)
            profile_to = RESULTS / f"profile-{stage}"
            _child_run(stage, project, modules, profile_to)
            a, d = parts["analysis_s"], parts["figures_s"] + parts["beside_s"]
            bound = floor + max(a, (a + d) / cores)
            rows[stage] = {**parts, "floor_s": floor, "bound_s": bound,
                           "bound_over_floor": bound / floor}  # fmt: skip
            print(
                f"\n== {stage}: floor {floor:.1f} s; CPU: imports {parts['imports_s']:.2f} s, "
                f"analysis {a:.2f} s, figures {parts['figures_s']:.2f} s "
                f"({parts['n_figures']}), beside the notebook {parts['beside_s']:.2f} s; "
                f"bound on {cores} cores {bound:.1f} s = {bound / floor:.2f} x floor"
            )
            for part in ("analysis", "figures", "beside"):
                if part != "analysis" and parts[f"{part}_s"] < 0.01:
                    continue
                # The figures' time is matplotlib's: shown unfiltered.
                pattern = "" if part == "figures" else args.filter
                print(f"  -- {part} (cProfile, {args.sort}, {pattern!r}):")
                print(_top(Path(f"{profile_to}-{part}.prof"), args.sort, pattern, args.top))
    print(f"\nstage_profile on {machine()}")
    for stage, r in rows.items():
        print(
            f"  {stage:<12} floor {r['floor_s']:5.1f} s  analysis {r['analysis_s']:5.2f} s  "
            f"figures {r['figures_s']:5.2f} s  beside {r['beside_s']:5.2f} s  "
            f"bound {r['bound_s']:5.1f} s ({r['bound_over_floor']:.2f} x floor)"
        )
    (RESULTS / "stage_profile.json").write_text(
        json.dumps({"machine": machine(), "cores": cores, "rows": rows}, indent=2)
    )


if __name__ == "__main__":
    main()
