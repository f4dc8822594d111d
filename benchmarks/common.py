"""Shared helpers: measure a command's wall time and peak memory, make a scratch project copy.

Peak memory is the largest resident set of any process the command started (``ru_maxrss`` of
the waited-for children), read in a separate harness process per measurement. On Linux the
harness also reads the CPU seconds the whole machine was busy meanwhile (``/proc/stat``): with
every process of the run counted (also those dvc does not wait for, such as spare kernels), and
with anything else the machine ran, so it is meant for an otherwise idle machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Tests redirect the results so a small run never replaces the figures quoted in the README.
RESULTS = Path(os.environ.get("BENCHMARK_RESULTS", ROOT / "benchmarks" / "results"))

_HARNESS = """
import json, os, resource, subprocess, sys, time
def busy():  # CPU seconds the whole machine has spent busy (Linux): user, nice, system, irqs
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return sum(ticks[i] for i in (0, 1, 2, 5, 6)) / os.sysconf("SC_CLK_TCK")
before = busy()
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
wall = time.perf_counter() - start
after = busy()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
numbers = {"wall_s": wall, "peak_mb": peak, "returncode": code}
if before is not None and after is not None:
    numbers["machine_cpu_s"] = after - before
print("BENCH " + json.dumps(numbers), file=sys.stderr)
"""


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}


def measure(command: list[str], cwd: Path) -> dict[str, float]:
    """Run ``command`` in ``cwd``; return wall seconds, peak MB and what it printed."""
    result = subprocess.run(
        [sys.executable, "-c", _HARNESS, *command],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
    )
    line = next(x for x in reversed(result.stderr.splitlines()) if x.startswith("BENCH "))
    numbers = json.loads(line.removeprefix("BENCH "))
    if numbers["returncode"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    numbers["output"] = result.stdout + result.stderr
    return numbers


@contextlib.contextmanager
def scratch_copy(prefix: str, data: Path | None = None) -> Iterator[Path]:
    """``copy_project`` in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield copy_project(Path(tmp) / "project", data)


def copy_project(target: Path, data: Path | None = None) -> Path:
    """A git repository at ``target`` holding the working tree (tracked and new files).

    With ``data``, that directory is copied to ``data/raw/<its name>`` and ``data.raw_dir``
    points at it. The end-to-end tests use the same copy.
    """
    import yaml

    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    if data is not None:
        shutil.copytree(data, target / "data" / "raw" / data.name)
        params = yaml.safe_load((target / "params.yaml").read_text(encoding="utf-8"))
        params["data"]["raw_dir"] = f"data/raw/{data.name}"
        (target / "params.yaml").write_text(
            yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", "copy"],
    ):
        subprocess.run(["git", *args], cwd=target, check=True, capture_output=True)
    return target


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, Python {platform.python_version()}"
    )


def report(name: str, rows: dict[str, dict[str, float]], extra: dict | None = None) -> None:
    """Print a table and keep the figures under benchmarks/results/ (not in git)."""
    print(f"\n{name} on {machine()}")
    for label, r in rows.items():
        print(f"  {label:<55} {r['wall_s']:7.1f} s  {r['peak_mb']:7.0f} MB")
    for label, value in (extra or {}).items():
        print(f"  {label:<55} {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    kept = {k: {m: v for m, v in r.items() if m != "output"} for k, r in rows.items()}
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"machine": machine(), "rows": kept, **(extra or {})}, indent=2)
    )
