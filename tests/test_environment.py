"""The environment is described once (the lock) and everything else agrees with it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from pipeline.environment import (
    KERNEL_NAME,
    PYTHON,
    X86_64_KERNELS,
    environment_yml,
    kernel_env,
    locked_requirements,
)

LOCK = ROOT / "requirements.lock"


def test_environment_yml_is_generated_from_the_lock():
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == environment_yml(LOCK), (
        "environment.yml is out of date: run `make lock`"
    )


def test_environment_yml_lists_the_locked_python_and_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    deps = env["dependencies"]
    assert f"python={PYTHON}" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert sorted(p for p in pip if p != "-e .") == sorted(locked_requirements(LOCK))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == f">={PYTHON},<3.12"


def test_lock_pins_every_direct_dependency_exactly_with_hashes():
    pins = {re.split(r"==", p)[0].lower() for p in locked_requirements(LOCK)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    direct = project["dependencies"] + project["optional-dependencies"]["dev"]
    for requirement in direct:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower())
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
    text = LOCK.read_text()
    assert all("==" in p for p in locked_requirements(LOCK))
    assert text.count("--hash=sha256:") >= len(pins)


def test_make_installs_from_the_lock_only():
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes --no-deps -r requirements.lock" in makefile
    assert "--no-deps --no-build-isolation --editable ." in makefile
    assert "python -m pipeline kernel" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_kernels_run_single_threaded_everywhere_and_with_avx2_kernels_on_x86_64():
    for machine in ("x86_64", "AMD64", "aarch64", "arm64"):
        env = kernel_env(machine)
        assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
        pinned = {key: env.get(key) for key in X86_64_KERNELS}
        # Elsewhere the x86 feature names would make NumPy warn at import (a page refuses that).
        assert (pinned == X86_64_KERNELS) == (machine.lower() in ("x86_64", "amd64"))


PROBE = """
import ctypes, json, pathlib, numpy
from numpy._core._multiarray_umath import __cpu_features__
lib = next(pathlib.Path(numpy.__file__).parent.parent.glob("numpy.libs/libscipy_openblas64_*.so"))
corename = ctypes.CDLL(str(lib)).scipy_openblas_get_corename64_
corename.restype = ctypes.c_char_p
print(json.dumps({"avx512": __cpu_features__["X86_V4"], "openblas": corename().decode()}))
"""


@pytest.mark.skipif(
    kernel_env().keys() == kernel_env("aarch64").keys(), reason="pins only x86-64's kernels"
)
def test_the_pinned_numerics_take_effect_in_a_fresh_interpreter():
    """What the kernel gets: NumPy without its AVX-512 loops, OpenBLAS with the Haswell (AVX2)
    kernels, whatever the processor offers. (On an AVX-512 machine this fails without the pins;
    the demo's dvc.lock made on one did not match a run on an AVX2-only machine.)"""
    import json

    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=kernel_env(), capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout) == {"avx512": False, "openblas": "Haswell"}


def test_the_registered_kernel_carries_the_pinned_numerics():
    """JupyterLab starts the kernel from its spec: an interactive run computes what `dvc repro`
    computes (the runner sets the same variables)."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.env == kernel_env()
    assert Path(spec.argv[0]).resolve().parent == Path(sys.executable).resolve().parent


def test_dvc_sends_no_telemetry():
    config = (ROOT / ".dvc" / "config").read_text()
    assert re.search(r"analytics\s*=\s*false", config)
    assert re.search(r"check_update\s*=\s*false", config)


def test_real_extracts_and_outputs_are_ignored_by_git():
    import subprocess

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0

    assert ignored("data/raw/region_extract_2026/trainees.csv")
    assert ignored("data/processed/trainees.parquet")
    assert ignored("reports/executed/01_ingest.ipynb")
    assert ignored("reports/analyse/ingest.html")
    assert ignored("notebooks/01_ingest.ipynb")
    assert not ignored("data/raw/demo/trainees.csv")
    assert not ignored("reports/metrics.json")
    assert not ignored("notebooks/01_ingest.py")


def test_dvc_add_of_a_real_extract_is_versioned_by_dvc_not_git(tmp_path, small_dataset):
    """`dvc add data/raw/<name>`, as the README says: the extract is ignored by git, its .dvc
    file is not, so git versions the pointer and DVC the data."""
    import shutil

    from benchmarks.common import copy_project, env

    project = copy_project(tmp_path / "project")
    shutil.copytree(small_dataset, project / "data" / "raw" / "extract_2026")
    dvc = str(Path(sys.executable).parent / "dvc")
    done = subprocess.run(
        [dvc, "add", "data/raw/extract_2026"], cwd=project, env=env(), capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "data/raw/extract_2026.dvc" in status
    assert "data/raw/extract_2026/" not in status  # the data itself is not for git
