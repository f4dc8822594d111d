"""Shared fixtures: small synthetic datasets and a helper to damage one cell of a copy."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.data.synth import SynthConfig, write_synthetic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "demo"
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``long`` (full-size known-truth simulations, the extract corpus through
    `dvc repro`) run only when the marker expression asks for them: `make test-long` and CI."""
    expr = config.getoption("markexpr") or ""
    if "long" in expr and "not long" not in expr:
        return
    skip = pytest.mark.skip(reason="long: run with `make test-long` (CI runs it)")
    for item in items:
        if item.get_closest_marker("long"):
            item.add_marker(skip)


# Smaller than the demo, yet long enough for the default parameters (base year 2013, a ten-year
# backtest window).
SMALL = SynthConfig(seed=7, first_year=2010, last_year=2021)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A complete synthetic dataset, 2010-2021."""
    out = tmp_path_factory.mktemp("synthetic") / "small"
    write_synthetic(out, SMALL)
    return out


@pytest.fixture(scope="session")
def demo_tables() -> dict:
    """The committed demo data, read and validated once (tests must not change the tables)."""
    from pipeline.data.ingest import read_dataset

    return read_dataset(DEMO).tables


@pytest.fixture
def dataset_copy(small_dataset, tmp_path) -> Path:
    """A fresh, writable copy of the small dataset for one test to damage."""
    out = tmp_path / "raw"
    shutil.copytree(small_dataset, out)
    return out


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def set_cell(directory: Path, file: str, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` counts like a spreadsheet (the header is row 1)."""
    path = directory / f"{file}.csv"
    rows = read_rows(path)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(path, rows)


def find_row(directory: Path, file: str, **conditions: str) -> int:
    """Spreadsheet row number of the first data row whose cells match ``conditions``
    (a value of ``"*"`` means any non-empty cell, ``""`` an empty one)."""
    rows = read_rows(directory / f"{file}.csv")
    header = rows[0]
    for number, row in enumerate(rows[1:], start=2):
        cells = dict(zip(header, row, strict=True))
        if all((cells[k] != "") if v == "*" else (cells[k] == v) for k, v in conditions.items()):
            return number
    raise LookupError(conditions)


def run_cli(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` in a subprocess, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
