"""Run one pipeline stage: what ``dvc repro`` calls for each stage in ``dvc.yaml``.

``dvc.yaml`` is the single description of the stages. For a stage, the runner reads from it

* the notebook (the stage's dependency under ``notebooks/``),
* the parameters (the stage's ``params:`` entries, taken from ``params.yaml``), and
* the outputs (removed again if the stage fails, so nothing half-written is left),

then executes the notebook with papermill under the project kernel and writes the executed copy to
``reports/executed/``. A stage may also have a step that runs after its notebook (the report
stage publishes the HTML pages).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import InputError, ParamError, StageError
from pipeline.params import load_params

log = logging.getLogger(__name__)

KERNEL_NAME = "laegedaekning"
DEFAULT_TIMEOUT = 1800  # seconds per cell; register-sized inputs take minutes, not hours
EXECUTED_DIR = Path("reports/executed")
# Exceptions raised inside a notebook that mean "fix your input", not "bug".
INPUT_ERRORS = {"InputError", "ParamError"}


@dataclass(frozen=True)
class StageSpec:
    """A stage as ``dvc.yaml`` declares it."""

    name: str
    notebook: Path | None
    params: tuple[str, ...]
    outs: tuple[Path, ...]

    @property
    def executed_notebook(self) -> Path | None:
        return None if self.notebook is None else EXECUTED_DIR / f"{self.notebook.stem}.ipynb"


def load_stages(
    root: Path | str = ".", params: dict[str, Any] | None = None
) -> dict[str, StageSpec]:
    """All stages of ``dvc.yaml``, with ``${...}`` references resolved from ``params`` (by
    default read from params.yaml)."""
    root = Path(root)
    document = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    params = load_params(root) if params is None else params
    stages = {}
    for name, stage in document.get("stages", {}).items():
        deps = [_resolve(_entry_path(d), params) for d in stage.get("deps", [])]
        notebooks = [Path(d) for d in deps if d.startswith("notebooks/") and d.endswith(".py")]
        if len(notebooks) > 1:
            raise ParamError(f"dvc.yaml: stages.{name}: more than one notebook in deps")
        outs = [
            Path(_resolve(_entry_path(o), params))
            for kind in ("outs", "metrics", "plots")
            for o in stage.get(kind, [])
        ]
        stage_params = []
        for entry in stage.get("params", []):
            if isinstance(entry, dict):  # {other_file.yaml: [keys]} is not used here
                raise ParamError(f"dvc.yaml: stages.{name}: params must come from params.yaml")
            stage_params.append(str(entry))
        stages[name] = StageSpec(
            name, notebooks[0] if notebooks else None, tuple(stage_params), tuple(outs)
        )
    return stages


def notebook_parameters(spec: StageSpec, params: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The papermill parameters of a stage: each declared key under its own (last) name.

    A stage declaring the section ``growth`` gets every key of that section; one declaring
    ``report.min_cell`` gets ``min_cell``.
    """
    out: dict[str, Any] = {}
    for entry in spec.params:
        section, _, key = entry.partition(".")
        if section not in params:
            raise ParamError(f"dvc.yaml: stages.{spec.name}: unknown params section {section!r}")
        values = params[section] if not key else {key.split(".")[-1]: _lookup(params, entry)}
        for name, value in values.items():
            if name in out and out[name] != value:
                raise ParamError(
                    f"dvc.yaml: stages.{spec.name}: two parameters are both called {name!r}"
                )
            out[name] = value
    return out


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
    parameters = notebook_parameters(spec, params)
    try:
        if spec.notebook is not None:
            _execute(spec, root, parameters, timeout or DEFAULT_TIMEOUT)
        after = AFTER_NOTEBOOK.get(name)
        if after is not None:
            after(root, params)
    except BaseException:
        _remove_outputs(spec, root)
        raise


def _execute(spec: StageSpec, root: Path, parameters: dict[str, Any], timeout: int) -> None:
    import jupytext
    import papermill

    assert spec.notebook is not None and spec.executed_notebook is not None
    from pipeline.progress import setup_cell

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


def _entry_path(entry: str | dict[str, Any]) -> str:
    return entry if isinstance(entry, str) else next(iter(entry))


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ParamError(f"params.yaml: {dotted}: not found (dvc.yaml refers to it)")
        value = value[part]
    return value


def _resolve(text: str, params: dict[str, Any]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: str(_lookup(params, m.group(1).strip())), text)


def _publish(root: Path, params: dict[str, Any]) -> None:
    from pipeline.publish import publish

    publish(root, params)


# Steps that run after a stage's notebook (or instead of one).
AFTER_NOTEBOOK: dict[str, Callable[[Path, dict[str, Any]], None]] = {"report": _publish}
