# Two commands for a newcomer: `make reports` and `make test`.
# Both create the environment in .venv from requirements.lock when it is missing or stale.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# The stamp records which lock the environment was built from: a new lock rebuilds it. The
# kernel spec (with the pinned numerics of pipeline/environment.py) is re-registered on its own.
STAMP  := $(VENV)/.installed
KERNEL := $(VENV)/share/jupyter/kernels/laegedaekning/kernel.json

export PATH := $(BIN):$(PATH)
export DVC_NO_ANALYTICS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONHASHSEED := 0

.PHONY: help env reports test test-fast test-long lint lab notebooks lock demo-data clean-env

help:
	@echo "make reports   build .venv if needed, then run the whole pipeline (dvc repro)"
	@echo "make test      build .venv if needed, then run the whole test suite (both cores)"
	@echo "make test-fast the inner loop: everything but the end-to-end runs and the browser"
	@echo "make test-long full-size known-truth simulations, the extract corpus, the demo's lock"
	@echo "make lint      ruff on pipeline/, tests/, notebooks/, benchmarks/"
	@echo "make lab       JupyterLab with the project kernel (prints its URL)"
	@echo "make notebooks paired .ipynb copies of the notebooks (git ignores them)"
	@echo "make lock      re-resolve requirements.lock and environment.yml from pyproject.toml"
	@echo "make demo-data regenerate data/raw/demo with the documented seed"
	@echo "make clean-env remove .venv (the next make rebuilds it from the lock)"

env: $(STAMP) $(KERNEL)

# The base interpreter is resolved before .venv is removed: with .venv/bin on PATH (an activated
# shell, or this Makefile's own export) `python3.11` would otherwise be the one being deleted.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required; set PYTHON=/path/to/python3.11")'
	base=$$($(PYTHON) -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))') && \
	rm -rf $(VENV) && \
	"$$base" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	$(BIN)/python -m pip check
	touch $@

$(KERNEL): $(STAMP) pipeline/environment.py
	$(BIN)/python -m pipeline kernel >/dev/null

reports: $(STAMP) $(KERNEL)
	dvc repro

# The suite on every core (pytest-xdist); the end-to-end tests share one finished project.
test: $(STAMP) $(KERNEL)
	python -m pytest -n auto --dist worksteal

test-fast: $(STAMP) $(KERNEL)
	python -m pytest -n auto --dist worksteal -m "not slow"

# What CI runs besides `make test`: long simulations and every extract through dvc repro.
test-long: $(STAMP) $(KERNEL)
	python -m pytest -n auto --dist worksteal -m long

lint: $(STAMP)
	ruff check pipeline tests notebooks benchmarks
	ruff format --check pipeline tests notebooks benchmarks

# JupyterLab on this machine only (127.0.0.1), in the project root; it prints its URL with the
# login token. Jupyter refuses to run as root without --allow-root (containers, CI images).
lab: $(STAMP) $(KERNEL)
	jupyter lab --ip=127.0.0.1 --ServerApp.root_dir="$(CURDIR)" $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Paired .ipynb copies for people who prefer opening .ipynb files; git ignores them.
notebooks: $(STAMP)
	jupytext --sync notebooks/*.py

lock: $(STAMP)
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -q -o requirements.lock
	python -m pipeline environment-yml > environment.yml

demo-data: $(STAMP)
	python -m pipeline synth --out data/raw/demo --seed 2013

clean-env:
	rm -rf $(VENV)
