"""The data-size benchmarks stay runnable: each runs end to end at a small size.

The demo-pipeline benchmarks (repro.py, notebooks.py) run `dvc repro` several times; the
pipeline tests cover the same commands.
"""

from __future__ import annotations

import json
import os
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
