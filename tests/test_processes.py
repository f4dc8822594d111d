"""Stopping a run: killing `dvc repro` ends its stage and the stage's kernel, leaves no
half-written output, and nothing personal behind; a run killed outright is cleaned up by the
next one."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import BIN

from benchmarks.common import env
from pipeline import runner

pytestmark = pytest.mark.slow


def processes_in(project: Path) -> list[int]:
    """Processes whose working directory is the project (the runner and its kernel)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if cwd == project or project in cwd.parents:
            found.append(int(proc.name))
    return found


def start_repro(project: Path) -> tuple[subprocess.Popen, list[str]]:
    """`dvc repro --force --single-item growth` (a stage that takes a while, on a finished
    project) in its own session, its output collected line by line.

    SHELL is /bin/sh, as where it is unset (CI): DVC then runs each stage under dash, which
    stays between dvc and the stage, so the stage must notice dvc's death through the shell."""
    proc = subprocess.Popen(
        [str(BIN / "dvc"), "repro", "--force", "--single-item", "growth"],
        cwd=project,
        env={**env(), "SHELL": "/bin/sh"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    return proc, lines


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def snapshot(project: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in (project / "reports").rglob("*") if p.is_file()}


@pytest.fixture
def project(tmp_path, built) -> Path:
    """A copy of the finished end-to-end project (conftest.built)."""
    copy = tmp_path / "project"
    shutil.copytree(built, copy, symlinks=True)
    return copy


@pytest.mark.parametrize("how", ["SIGTERM to dvc alone", "SIGINT to the process group (Ctrl-C)"])
def test_killing_dvc_repro_ends_the_stage_and_its_kernel(project, how):
    proc, lines = start_repro(project)
    wait_for(lambda: any("growth: running" in line for line in lines), 300, "the growth stage")
    # The runner and its kernel, which is then working through the notebook's cells.
    wait_for(lambda: len(processes_in(project)) >= 2, 60, "the runner and its kernel")
    time.sleep(0.5)
    if how.startswith("SIGTERM"):
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    # Generous: on a loaded CI machine the stage needs a few seconds to notice and clean up.
    wait_for(lambda: processes_in(project) == [], 60, "the stage and its kernel to end")
    before = snapshot(project)
    time.sleep(1)  # every process is gone: nothing can still write, but look
    assert snapshot(project) == before, "something kept writing after the kill"
    leftovers = list((project / "reports" / "executed").glob(".*"))
    assert leftovers == [], leftovers
    # The stage the signal caught (growth: it takes over ten seconds) left no executed notebook.
    started = {  # "growth: running notebooks/02_growth.py with kernel ..." -> growth: 02_growth
        line.split(":")[0]: Path(line.split()[2]).stem for line in lines if ": running " in line
    }
    finished = {line.split(":")[0] for line in lines if ": done in " in line}
    stopped = [notebook for stage, notebook in started.items() if stage not in finished]
    assert stopped, f"no stage was running when the signal arrived: {lines}"
    for notebook in stopped:
        assert not (project / "reports" / "executed" / f"{notebook}.ipynb").exists()


def test_a_run_killed_outright_is_cleaned_up_by_the_next(tmp_path):
    """SIGKILL leaves the kernel directory (with its connection key), a partial notebook and a
    publishing staging folder; the next run of any stage removes them."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    kernel_dir = Path(tempfile.mkdtemp(prefix=f"{runner.PRIVATE_PREFIX}{dead.pid}-"))
    (kernel_dir / "kernel.json").write_text('{"key": "secret"}')
    spill_dir = Path(tempfile.mkdtemp(prefix=f"laegedaekning-duckdb-{dead.pid}-"))
    live_dir = Path(tempfile.mkdtemp(prefix=f"{runner.PRIVATE_PREFIX}{os.getpid()}-"))
    root = tmp_path / "project"
    (root / "reports" / "executed").mkdir(parents=True)
    partial = root / "reports" / "executed" / ".02_growth.abc123.ipynb"
    partial.write_text("{}")
    staging = root / "reports" / ".site-123-xyz"
    staging.mkdir()
    try:
        runner.clean_leftovers(root)
        assert not kernel_dir.exists() and not spill_dir.exists()
        assert not partial.exists() and not staging.exists()
        assert live_dir.exists(), "a running stage's directory is left alone"
    finally:
        for folder in (kernel_dir, spill_dir, live_dir):
            subprocess.run(["rm", "-rf", str(folder)], check=False)
