"""Spare runners: under `dvc repro` a stage starts a Python with the runner's imports done, and
the next stage's process hands its command, streams and environment over to it, but only to a
spare of the same Python and environment under the same dvc; a spare ends with dvc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import ROOT, wait_until

from pipeline import handover, spare

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="spares are Linux only"),
]


def runners_of(root: Path) -> list[Path]:
    pattern = f"{handover.PREFIX}*-{spare._key(root)}-*"
    return sorted(Path(tempfile.gettempdir()).glob(pattern))


@pytest.fixture
def project(tmp_path) -> Path:
    """A project root the runner accepts (dvc.yaml and params.yaml), where every `run` of a
    stage that does not exist fails at once, as bad input."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def dvc_env() -> dict[str, str]:
    env = {**os.environ, "DVC_STAGE": "ingest"}
    env.pop("LAEGEDAEKNING_SPARE_KERNEL", None)
    return env


def started(root: Path, env: dict[str, str], host: int) -> subprocess.Popen:
    process = handover.start(root, env, host)
    assert process is not None
    assert wait_until(lambda: any((f / "spec.json").exists() for f in runners_of(root)))
    return process


def stage(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``python -m pipeline run ARGS`` as dvc starts it (this test's process is its "dvc")."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", *args],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_next_stage_runs_in_the_spare_with_its_arguments_streams_and_exit_code(
    project, dvc_env
):
    spare_process = started(project, dvc_env, os.getpid())
    result = stage(project, {**dvc_env, "DVC_STAGE": "growth"}, "no_such_stage")
    assert result.returncode == 1
    # The spare wrote into the stage's own stderr, through the descriptor handed over.
    assert "dvc.yaml: no stage called 'no_such_stage'" in result.stderr
    assert "Traceback" not in result.stderr
    assert spare_process.wait(timeout=30) == 1, "the spare did not run the stage"
    assert runners_of(project) == [], "the spare's folder is left"

    # Arguments too: a usage error comes from the spare's argparse, exit code 2.
    spare_process = started(project, dvc_env, os.getpid())
    result = stage(project, dvc_env, "ingest", "--timeout", "0")
    assert result.returncode == 2
    assert "must be a positive whole number" in result.stderr
    assert spare_process.wait(timeout=30) == 2


def test_a_spare_for_another_environment_is_not_taken(project, dvc_env):
    spare_process = started(project, dvc_env, os.getpid())
    changed = {**dvc_env, "LAEGEDAEKNING_TEST_SETTING": "b"}
    result = stage(project, changed, "no_such_stage")
    assert result.returncode == 1, "the stage still runs, in its own process"
    assert "no stage called 'no_such_stage'" in result.stderr
    assert spare_process.wait(timeout=30) != 1, "the spare ran a stage of another environment"
    assert runners_of(project) == []


def test_a_spare_is_not_taken_outside_dvc_or_when_turned_off(project, dvc_env):
    spare_process = started(project, dvc_env, os.getpid())
    try:
        for env in (
            {k: v for k, v in dvc_env.items() if k != "DVC_STAGE"},
            {**dvc_env, "LAEGEDAEKNING_SPARE_KERNEL": "0"},
        ):
            assert stage(project, env, "no_such_stage").returncode == 1
            assert spare_process.poll() is None, "the spare was taken"
    finally:
        spare_process.kill()
        spare_process.wait()
        for folder in runners_of(project):
            shutil.rmtree(folder, ignore_errors=True)


def test_a_spare_of_another_dvc_is_left_alone(project, dvc_env):
    host = subprocess.Popen(["sleep", "60"])  # a dvc that is no ancestor of the stage
    try:
        spare_process = started(project, dvc_env, host.pid)
        assert stage(project, dvc_env, "no_such_stage").returncode == 1
        assert spare_process.poll() is None, "another dvc's spare was taken"
        host.kill()
        host.wait()
        assert spare_process.wait(timeout=30) == 0, "the spare outlived its dvc"
        assert wait_until(lambda: runners_of(project) == []), "its folder is left"
    finally:
        host.kill()
        host.wait()


def test_a_spare_runner_ends_when_dvc_ends(project, dvc_env):
    host = subprocess.Popen(["sleep", "60"])
    spare_process = started(project, dvc_env, host.pid)
    (folder,) = runners_of(project)
    spec = json.loads((folder / "spec.json").read_text())
    assert spec["pid"] == spare_process.pid and spec["host"] == host.pid
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    host.kill()
    host.wait()
    assert spare_process.wait(timeout=30) == 0
    assert not folder.exists()
