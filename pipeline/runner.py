"""Run one pipeline stage: what ``dvc repro`` calls for each stage in ``dvc.yaml``.

``dvc.yaml`` is the single description of the stages. For a stage, the runner reads from it

* the notebook (the stage's dependency under ``notebooks/``),
* the parameters (the stage's ``params:`` entries, taken from ``params.yaml``), and
* the outputs (removed again if the stage fails, so nothing half-written is left),

then executes the notebook with papermill under the project kernel and writes the executed copy to
``reports/executed/``. A stage may also have a step that runs after its notebook (the report
stage publishes the HTML pages).

papermill, jupytext and jupyter_client are imported inside the functions that execute: `--help`
and parameter checks stay quick.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.errors import InputError, StageError
from pipeline.params import check, load_params
from pipeline.progress import setup_cell
from pipeline.stages import (
    AFTER_NOTEBOOK,
    StageSpec,
    code_deps,
    is_code,
    load_stages,
    notebook_parameters,
)

log = logging.getLogger(__name__)

KERNEL_NAME = "laegedaekning"
DEFAULT_TIMEOUT = 1800  # seconds per cell; register-sized inputs take minutes, not hours
# Exceptions raised inside a notebook that mean "fix your input", not "bug".
INPUT_ERRORS = {"InputError", "ParamError"}


def _skip_iri_grammar() -> None:
    """Keep jsonschema from loading ``rfc3987_syntax`` in this process.

    nbformat (under papermill, jupytext and nbconvert) imports jsonschema, which imports
    rfc3987_syntax for its optional IRI format checks; that module builds a Lark grammar at
    import, 1.4 s of every stage's start-up (benchmarks/notebooks.py). Notebook validation
    never checks IRI formats, and jsonschema skips the checker when the import fails.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def run_stage(name: str, root: Path | str = ".", timeout: int | None = None) -> None:
    """Execute stage ``name`` as ``dvc repro`` would, from the project root ``root``.

    Raises
    ------
    InputError
        When the data or the parameters are wrong; the stage's outputs are removed.
    StageError
        When the notebook fails for any other reason; its executed copy is kept under
        ``reports/failed/`` for debugging and the outputs are removed.
    """
    _skip_iri_grammar()
    root = Path(root).resolve()
    params = load_params(root)
    stages = load_stages(root, params)
    if name not in stages:
        raise InputError(f"dvc.yaml: no stage called {name!r}; stages: {', '.join(stages)}")
    spec = stages[name]
    check_code_deps(spec, root)
    # Every rule of every section before any kernel starts; the rules that need the data's
    # years once ingest has described the data.
    check(params, years=None if name == "ingest" else _data_years(root))
    parameters = notebook_parameters(spec, params)
    try:
        if spec.notebook is not None:
            _execute(spec, root, parameters, timeout or DEFAULT_TIMEOUT)
        if name in AFTER_NOTEBOOK:
            module, function = AFTER_NOTEBOOK[name]
            getattr(importlib.import_module(module), function)(root, params)
    except BaseException:
        _remove_outputs(spec, root)
        raise


def _data_years(root: Path) -> list[int] | None:
    """The years of patient data, from what ingest recorded (None before ingest has run)."""
    info = root / "data" / "processed" / "dataset.json"
    if not info.exists():
        return None
    first, last = json.loads(info.read_text(encoding="utf-8"))["years"]["patients"]
    return list(range(first, last + 1))


def check_code_deps(spec: StageSpec, root: Path) -> None:
    """Refuse to run a stage whose ``dvc.yaml`` entry misses code it runs: DVC would otherwise
    serve its old results after that code changed."""
    declared = {d for d in spec.deps if is_code(d)}
    missing = [d for d in code_deps(spec, root) if d not in declared]
    if missing:
        raise InputError(
            f"dvc.yaml: stages.{spec.name}.deps: missing {', '.join(missing)}, which the stage "
            "runs; update the list with `python -m pipeline deps --write`"
        )


def _execute(spec: StageSpec, root: Path, parameters: dict[str, Any], timeout: int) -> None:
    import jupytext
    import papermill

    assert spec.notebook is not None and spec.executed_notebook is not None
    notebook = jupytext.read(root / spec.notebook)
    _check_parameters_cell(notebook, spec, parameters)
    notebook.cells.insert(0, setup_cell())
    target = root / spec.executed_notebook
    log.info("%s: running %s with kernel %s", spec.name, spec.notebook, KERNEL_NAME)
    try:
        execute_notebook(notebook, target, parameters, root, timeout)
    except papermill.PapermillExecutionError as exc:
        if exc.ename in INPUT_ERRORS:
            raise InputError(exc.evalue.splitlines()) from None
        failed = root / "reports" / "failed" / target.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_bytes(exc.partial)
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(exc.traceback))  # no terminal colours
        raise StageError(
            f"stage {spec.name}: {spec.notebook} failed in cell {exc.exec_count} with "
            f"{exc.ename}: {exc.evalue}\n{traceback}\n"
            f"The executed notebook is kept at {failed.relative_to(root)}."
        ) from None


def execute_notebook(
    notebook: Any, target: Path, parameters: dict[str, Any], root: Path, timeout: int
) -> None:
    """Execute ``notebook`` with papermill under the project kernel and write it to ``target``
    (only when it succeeds; a failed run is attached to the exception as ``partial``)."""
    import papermill
    from jupyter_client.manager import AsyncKernelManager

    target.parent.mkdir(parents=True, exist_ok=True)
    sockets = tempfile.mkdtemp(prefix="laegedaekning-kernel-")

    class PrivateKernelManager(AsyncKernelManager):
        """Kernel channels over unix sockets in a private directory, not over localhost TCP:
        the kernel handles personal data."""

        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(sockets, "kernel")

    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".ipynb")
    os.close(fd)
    try:
        papermill.execute_notebook(
            notebook,
            partial,
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            cwd=str(root),
            log_output=True,
            progress_bar=False,
            execution_timeout=timeout,
            kernel_manager_class=PrivateKernelManager,
        )
        os.replace(partial, target)
    except papermill.PapermillExecutionError as exc:
        exc.partial = Path(partial).read_bytes()
        raise
    finally:
        Path(partial).unlink(missing_ok=True)
        shutil.rmtree(sockets, ignore_errors=True)


def _check_parameters_cell(notebook: Any, spec: StageSpec, parameters: dict[str, Any]) -> None:
    """Every parameter the stage passes must be a variable of the notebook's parameters cell:
    papermill would otherwise inject it silently and the notebook would ignore it."""
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise StageError(f"{spec.notebook}: needs exactly one cell tagged 'parameters'")
    assigned = set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cells[0].source, re.MULTILINE))
    missing = sorted(set(parameters) - assigned)
    if missing:
        raise StageError(
            f"{spec.notebook}: the parameters cell does not define {', '.join(missing)}, "
            f"which dvc.yaml gives stage {spec.name}"
        )


def _remove_outputs(spec: StageSpec, root: Path) -> None:
    for out in spec.outs:
        path = root / out
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
