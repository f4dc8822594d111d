"""The environment the pipeline runs in: ``environment.yml`` for conda users (generated from
``requirements.lock``) and the project's Jupyter kernel with its pinned numerics.

Packages come from PyPI either way: conda supplies Python 3.11 and pip, pip installs the same
pinned versions as ``make``. ``tests/test_environment.py`` fails when the two files disagree.

ipykernel is imported inside ``install_kernel``: only ``make`` and conda users register a kernel.
"""

from __future__ import annotations

import platform
import re
import sys
from pathlib import Path

PYTHON = "3.11"
ENV_NAME = "laegedaekning"
KERNEL_NAME = ENV_NAME
KERNEL_DISPLAY_NAME = "Python (lægedækning)"

# One BLAS thread: the same floating-point sums on every run (and faster for the small matrices
# here). On x86-64, NumPy and OpenBLAS also choose their loops and matrix kernels by what the
# processor offers, and the AVX-512 ones round differently in the last bits from the AVX2 ones:
# the demo's dvc.lock made on an AVX-512 machine did not match a run on an AVX2-only CI machine
# (tables and one metric in its sixth decimal). The AVX2 (x86-64-v3) kernels are used everywhere.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
X86_64_KERNELS = {
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
}


def kernel_env(machine: str | None = None) -> dict[str, str]:
    """The environment variables every stage's kernel runs with (``dvc repro`` and JupyterLab).

    Only x86-64 pins its kernels: elsewhere the x86 names would make NumPy warn at import.
    """
    machine = (machine or platform.machine()).lower()
    pinned = X86_64_KERNELS if machine in ("x86_64", "amd64") else {}
    return {**SINGLE_THREADED, **pinned}


def install_kernel(prefix: str | None = None) -> str:
    """Register the project kernel in ``prefix`` (default: this environment) with
    ``kernel_env``, so a notebook run in JupyterLab computes what ``dvc repro`` computes.
    Returns the kernel spec's directory."""
    from ipykernel.kernelspec import install

    return install(
        kernel_name=KERNEL_NAME,
        display_name=KERNEL_DISPLAY_NAME,
        prefix=prefix or sys.prefix,
        env=kernel_env(),
    )


def locked_requirements(lock: Path) -> list[str]:
    """``name==version`` (with its environment marker, if any) for every package in the lock."""
    pins = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            pins.append(line.rstrip(" \\").strip())
    return pins


def environment_yml(lock: Path) -> str:
    pins = "\n".join(f'      - "{pin}"' for pin in locked_requirements(lock))
    return f"""# Generated from requirements.lock by `make lock`; do not edit by hand.
# conda env create -f environment.yml && conda activate {ENV_NAME}
# then register the project kernel: python -m pipeline kernel
name: {ENV_NAME}
channels:
  - conda-forge
dependencies:
  - python={PYTHON}
  - pip
  - pip:
{pins}
      - "-e ."
"""
