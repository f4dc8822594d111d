"""Shared fixtures: small synthetic datasets and a helper to damage one cell of a copy."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import pytest
import yaml

from benchmarks.common import copy_project, env
from pipeline.data.synth import SynthConfig, write_synthetic

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "demo"
BIN = Path(sys.executable).parent


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked ``long`` (full-size known-truth simulations, the extract corpus through
    `dvc repro`) run only when the marker expression asks for them: `make test-long` and CI."""
    # The tests on the end-to-end project last: it is built in the background meanwhile (see
    # pytest_sessionstart), so no worker waits for it while other tests are left to run.
    items.sort(key=lambda item: "built" in getattr(item, "fixturenames", ()))
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


# --- end to end: one finished project, built once -----------------------------------------
FAST = {"growth": {"simulations": 1000, "ets_bootstrap": 100}, "supply": {"simulations": 100}}


def _build_project(shared: Path) -> Path:
    """The small dataset's project after `dvc repro` in ``shared`` (the caller holds the lock)."""
    project = shared / "project"
    if (project / "reports" / "site" / "index.html").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    data = shared / "data" / "small"  # the name the tests expect in data.raw_dir
    shutil.rmtree(data, ignore_errors=True)
    write_synthetic(data, SMALL)
    copy_project(project, data=data)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    for section, values in FAST.items():
        params[section].update(values)
    (project / "params.yaml").write_text(
        yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "commit", "-q", "-am", "fast params"], cwd=project, check=True)
    result = subprocess.run(
        [str(BIN / "dvc"), "repro"],
        cwd=project,
        env=env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    (shared / "repro.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        raise AssertionError(f"dvc repro failed:\n{result.stdout}\n{result.stderr}")
    return project


def _shared_dir(basetemp: Path) -> Path:
    shared = basetemp / "e2e-built"
    shared.mkdir(exist_ok=True)
    return shared


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under xdist, the controller process starts building the end-to-end project at once, in
    the background, while the workers collect and run the other tests: otherwise the first
    worker to need it builds it and the second sits waiting for the lock. The fixture below
    waits for the lock, and builds the project itself if the background build failed."""
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return  # a worker, or no xdist: the fixture builds on first use
    markexpr = config.getoption("markexpr") or ""
    if markexpr and ("slow" not in markexpr or "not slow" in markexpr):
        return  # `make test-fast` and `make test-long` do not run the end-to-end tests
    args = [str(a) for a in config.args]
    if args and not any(
        Path(a.split("::")[0]).is_dir() or "test_pipeline" in a or "test_processes" in a
        for a in args
    ):
        return  # only other test files: nothing needs the project
    shared = _shared_dir(config._tmp_path_factory.getbasetemp())  # the workers' parent
    lock = (shared / "lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # held by the builder (inherited) until it exits
    log = (shared / "build.log").open("w")
    config._e2e_builder = subprocess.Popen(  # type: ignore[attr-defined]
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
            "import conftest; conftest._build_project(Path(sys.argv[2]))",
            str(Path(__file__).parent),
            str(shared),
        ],
        cwd=ROOT,
        env=env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(lock.fileno(),),
        start_new_session=True,  # so that stopping it stops its dvc, runner and kernel too
    )
    lock.close()
    log.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    builder = getattr(session.config, "_e2e_builder", None)
    if builder is not None and builder.poll() is None:  # interrupted, or nothing used it
        # SIGTERM first: the stage runner then ends its kernel and removes partial outputs.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(builder.pid, signal.SIGTERM)
        try:
            builder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(builder.pid, signal.SIGKILL)
            builder.wait()


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """A copy of the working tree on the small dataset (conftest.SMALL) after `dvc repro`,
    built once for all workers: by the xdist controller in the background, else by the first
    worker that needs it, under a lock the others wait on. Read-only."""
    basetemp = tmp_path_factory.getbasetemp()
    # An xdist worker's basetemp is the controller's plus popen-gwN: the project sits beside.
    shared = _shared_dir(basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_project(shared)


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


def run_cli(
    *args: str, cwd: Path = ROOT, timeout: int = 600, fresh: bool = False
) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` as a user would run it: what it prints, its exit code.

    By default the command runs in a fork of this test process (where pandas and the package
    are already imported: about 1.7 s less per call than a new interpreter), with its own file
    descriptors 1 and 2, working directory, logging and warnings as a fresh ``python -m``
    would have them. ``fresh=True`` (and ``run``, which starts kernels and handles signals)
    start a new interpreter; some tests keep doing so to cover the real entry point.
    """
    if fresh or args[:1] == ("run",) or not hasattr(os, "fork"):
        return subprocess.run(
            [sys.executable, "-m", "pipeline", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return _run_cli_forked(list(args), cwd, timeout)


def _run_cli_forked(args: list[str], cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
                os.chdir(cwd)
                sys.argv = ["python -m pipeline", *args]
                # What pytest installed in this process: its log capture (logging.basicConfig
                # would otherwise do nothing) and its warning filters.
                logging.root.handlers.clear()
                warnings.resetwarnings()
                for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
                    warnings.simplefilter("ignore", category)
                warnings.simplefilter("ignore", ResourceWarning)
                warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
                signal.signal(signal.SIGINT, signal.default_int_handler)
                from pipeline.cli import main

                code = main(args)
            except SystemExit as exc:  # argparse's own exits
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(BaseException):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise subprocess.TimeoutExpired(["python -m pipeline", *args], timeout)
            time.sleep(0.01)
        texts = []
        for fh in (out, err):
            fh.seek(0)
            texts.append(fh.read().decode("utf-8", errors="replace"))
    return subprocess.CompletedProcess(
        ["python -m pipeline", *args], os.waitstatus_to_exitcode(status), *texts
    )
