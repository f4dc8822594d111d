"""``environment.yml`` for conda users, generated from ``requirements.lock``.

Packages come from PyPI either way: conda supplies Python 3.11 and pip, pip installs the same
pinned versions as ``make``. ``tests/test_environment.py`` fails when the two files disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

PYTHON = "3.11"
ENV_NAME = "laegedaekning"


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
# then register the kernel: python -m ipykernel install --user --name {ENV_NAME}
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
