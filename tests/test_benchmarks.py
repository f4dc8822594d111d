"""The data-size benchmarks stay runnable: each runs end to end at a small size.

The demo-pipeline benchmarks (repro.py, notebooks.py) run `dvc repro` several times; the
pipeline tests cover the same commands; stage_profile.py's measured child runs on the
end-to-end project. All of them but the harness test run in `make test-long` (CI runs it).
"""

from __future__ import annotations

import json
import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def run_benchmark(script: str, args: list[str], results: Path) -> dict:
    env = {**os.environ, "BENCHMARK_RESULTS": str(results)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    name = Path(script).stem
    assert f"{name} on " in done.stdout and " MB" in done.stdout
    return json.loads((results / f"{name}.json").read_text())


@pytest.mark.long
@pytest.mark.parametrize(
    ("script", "args", "row"),
    [
        ("trainees.py", ["--trainees", "3000"], "ingest + retention"),
        ("contacts.py", ["--contacts", "20000"], "validate and count 20,000 contacts"),
        ("cox.py", ["--rows", "3000"], "fit_cox_efron, 3,000 rows x 8 (fit only)"),
    ],
)
def test_benchmark_runs_small(tmp_path, script, args, row):
    result = run_benchmark(script, args, tmp_path)
    assert result["machine"].endswith(f"Python {sys.version.split()[0]}")
    measured = result["rows"][row]
    assert measured["wall_s"] > 0 and measured["peak_mb"] > 10


@pytest.mark.long  # 12 s of one worker: with the other benchmark runs, in `make test-long`
def test_stage_profile_measures_and_profiles_a_stage(built, tmp_path):
    """stage_profile.py's measured child: a stage's analysis and its figures apart, each with
    CPU seconds and a cProfile dump (on a copy: the child writes the stage's outputs)."""
    project = tmp_path / "project"
    shutil.copytree(built, project, ignore=shutil.ignore_patterns("cache", ".git"))
    modules = tmp_path / "modules.json"
    modules.write_text(json.dumps(["pipeline.analysis.growth.models", "no.such.module"]))
    profile_to = tmp_path / "profile-growth"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "stage_profile.py"), "--child", "growth",
         str(modules), "--profile-to", str(profile_to)],
        cwd=project, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    parts = json.loads(done.stdout.strip().splitlines()[-1])
    assert parts["n_figures"] >= 3  # growth's figures were collected, not drawn in the cells
    assert parts["analysis_s"] > 0 and parts["figures_s"] > 0
    drawn = pstats.Stats(f"{profile_to}-figures.prof")
    assert any(name == "_both_in_turn" for (_, _, name) in drawn.stats)
    analysed = pstats.Stats(f"{profile_to}-analysis.prof")
    assert not any(name == "_both_in_turn" for (_, _, name) in analysed.stats)


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the machine's CPU is read from /proc")
def test_the_harness_counts_the_machines_cpu_also_of_processes_it_does_not_wait_for(tmp_path):
    from benchmarks.common import measure

    # Busy for about half a second in a grandchild that outlives the command itself.
    spin = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {spin!r}])"
    numbers = measure([sys.executable, "-c", code + "; import time; time.sleep(1.5)"], tmp_path)
    assert numbers["wall_s"] >= 1.5
    assert 0.5 <= numbers["machine_cpu_s"] <= 2 * 1.5 * (os.cpu_count() or 1)
