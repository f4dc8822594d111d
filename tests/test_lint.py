"""ruff is part of the suite, so CI keeps the code clean."""

from __future__ import annotations

import subprocess

from conftest import BIN, ROOT

PATHS = ["pipeline", "tests", "notebooks", "benchmarks"]


def test_ruff_check():
    result = subprocess.run(
        [str(BIN / "ruff"), "check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_ruff_format():
    result = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
