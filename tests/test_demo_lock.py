"""`make reports` on a fresh clone leaves `git status` clean: the demo's outputs are the same
bytes on every run and machine, so the committed dvc.lock and reports/metrics.json match what a
fresh run makes."""

from __future__ import annotations

import subprocess

import pytest
from conftest import BIN

from benchmarks.common import copy_project, env

pytestmark = pytest.mark.long


def test_a_fresh_repro_of_the_demo_leaves_git_status_clean(tmp_path):
    project = copy_project(tmp_path / "project")
    result = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=project, env=env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", (
        f"a fresh run changed tracked files:\n{status.stdout}"
        + subprocess.run(["git", "diff"], cwd=project, capture_output=True, text=True).stdout[
            -3000:
        ]
    )
    # dvc.lock is unchanged, so DVC has nothing to suggest adding to git. (Its closing "Use
    # `dvc push`" line is printed after every repro that ran a stage, whatever changed.)
    assert "git add" not in result.stdout
