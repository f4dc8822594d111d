"""The stages: what ``dvc.yaml`` declares, and the code each stage runs.

``dvc.yaml`` describes the stages (notebook, data, parameters, outputs). A stage's *code*
dependencies are not written by hand: they are the package modules its notebook imports, followed
through every import (including imports inside functions), plus the files those modules read
(``RESOURCES``). ``code_deps`` computes them; ``python -m pipeline deps --write`` puts them into
``dvc.yaml``; the runner refuses to run a stage whose list is incomplete, and a test compares
them, so editing a module marks exactly the stages that import it.

ruamel.yaml is imported inside ``write_code_deps``: only that command rewrites ``dvc.yaml``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pipeline.errors import ParamError
from pipeline.params import load_params, load_yaml, project_root

PACKAGE = "pipeline"


EXECUTED_DIR = Path("reports/executed")


@dataclass(frozen=True)
class StageSpec:
    """A stage as ``dvc.yaml`` declares it."""

    name: str
    notebook: Path | None
    params: tuple[str, ...]
    outs: tuple[Path, ...]
    deps: tuple[str, ...] = ()
    # Outputs DVC keeps while the stage runs (``persist: true``): the stage replaces them
    # atomically itself, and a failed run leaves the previous ones.
    persist: tuple[Path, ...] = ()

    @property
    def executed_notebook(self) -> Path | None:
        return None if self.notebook is None else EXECUTED_DIR / f"{self.notebook.stem}.ipynb"


def load_stages(
    root: Path | str = ".", params: dict[str, Any] | None = None
) -> dict[str, StageSpec]:
    """All stages of ``dvc.yaml``, with ``${...}`` references resolved from ``params`` (by
    default read from params.yaml)."""
    root = Path(root)
    document = load_yaml((root / "dvc.yaml").read_text(encoding="utf-8"))
    params = load_params(root) if params is None else params
    stages = {}
    for name, stage in document.get("stages", {}).items():
        deps = [_resolve(_entry_path(d), params) for d in stage.get("deps", [])]
        notebooks = [Path(d) for d in deps if d.startswith("notebooks/") and d.endswith(".py")]
        if len(notebooks) > 1:
            raise ParamError(f"dvc.yaml: stages.{name}: more than one notebook in deps")
        entries = [o for kind in ("outs", "metrics", "plots") for o in stage.get(kind, [])]
        outs = [Path(_resolve(_entry_path(o), params)) for o in entries]
        persist = [
            Path(_resolve(_entry_path(o), params))
            for o in entries
            if isinstance(o, dict) and (next(iter(o.values())) or {}).get("persist")
        ]
        stage_params = []
        for entry in stage.get("params", []):
            if isinstance(entry, dict):  # {other_file.yaml: [keys]} is not used here
                raise ParamError(f"dvc.yaml: stages.{name}: params must come from params.yaml")
            stage_params.append(str(entry))
        stages[name] = StageSpec(
            name,
            notebooks[0] if notebooks else None,
            tuple(stage_params),
            tuple(outs),
            tuple(deps),
            tuple(persist),
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


# --------------------------------------------------------------------------------------------
# Code dependencies from imports
# --------------------------------------------------------------------------------------------
# Steps that run in the runner's process after a stage's notebook: (module, function). Their
# modules count as the stage's code like the notebook's imports. A step may have work that
# needs none of the notebook's results: BESIDE_NOTEBOOK runs it in a forked child while the
# notebook runs (the report's researcher pages, from the other stages' outputs) and the step
# receives its result as ``prepared`` (None where it could not run there: it then does it).
AFTER_NOTEBOOK: dict[str, tuple[str, str]] = {"report": ("pipeline.publish.pages", "publish")}
BESIDE_NOTEBOOK: dict[str, tuple[str, str]] = {"report": ("pipeline.publish.pages", "prepare")}
# The runner puts a cell importing this module first in every notebook (pipeline.progress).
SETUP_MODULE = "pipeline.progress"
# The kernel's environment (one BLAS thread, the pinned numerics) shapes every stage's numbers:
# editing it re-runs them all, although the runner, not the notebook, applies it.
ENVIRONMENT_MODULE = "pipeline.environment"


def code_deps(spec: StageSpec, root: Path | str = ".") -> list[str]:
    """Every package file stage ``spec`` runs: the import closure of its notebook (and of its
    after-notebook step), with the package ``__init__`` files on the way and the resources the
    modules declare, as paths relative to ``root``, sorted."""
    root = Path(root)
    modules = (
        [SETUP_MODULE, ENVIRONMENT_MODULE, *_imports(root / spec.notebook)]
        if spec.notebook is not None
        else []
    )
    for steps in (AFTER_NOTEBOOK, BESIDE_NOTEBOOK):
        if spec.name in steps:
            modules.append(steps[spec.name][0])
    return sorted(p.as_posix() for p in _closure(root.resolve(), modules))


def is_code(dep: str) -> bool:
    """Whether a ``dvc.yaml`` dependency is package code (maintained by ``code_deps``)."""
    return dep == PACKAGE or dep.startswith(f"{PACKAGE}/")


def _closure(root: Path, modules: list[str]) -> frozenset[Path]:
    """The package files importing ``modules`` runs (each module read once)."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            init = root.joinpath(*parts[:depth], "__init__.py")
            if init.exists():
                files.add(init.relative_to(root))
        path = _module_file(root, name)
        if path is None:
            continue
        files.add(path.relative_to(root))
        for resource in _resources(path):
            files.add((path.parent / resource).relative_to(root))
        todo.extend(_imports(path))
    return frozenset(files)


def _module_file(root: Path, name: str) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


@cache
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(path: Path) -> list[str]:
    """Package modules ``path`` imports anywhere (top level or inside functions); imports only
    for type checkers (``if TYPE_CHECKING:``) do not run and are left out."""
    found = []
    for node in _statements(_parsed(path).body):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != PACKAGE:
                continue
            found.append(node.module)
            # `from pipeline.publish import fmt` imports the submodule fmt.
            found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement in ``body`` and in the blocks nested in it, but not the body of an
    ``if TYPE_CHECKING:``. Only statements: an import is one, and expressions are most of a
    module's nodes."""
    for node in body:
        yield node
        skip_body = isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            if field == "body" and skip_body:
                continue
            block = getattr(node, field, None)
            if isinstance(block, list):
                # except-handlers and match-cases are not statements but hold a body
                for item in block:
                    if isinstance(item, ast.stmt):
                        yield from _statements([item])
                    else:
                        yield from _statements(getattr(item, "body", []))


def _resources(path: Path) -> list[str]:
    """Files a module reads, declared as ``RESOURCES = ("templates", ...)`` beside it."""
    for node in _parsed(path).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "RESOURCES" for t in node.targets
        ):
            return list(ast.literal_eval(node.value))
    return []


def stage_parameters(stage: str, root: Path | str | None = None) -> dict[str, Any]:
    """The parameters ``dvc repro`` gives ``stage``, read from ``params.yaml``.

    A notebook's parameters cell calls this, so running it in JupyterLab uses the same values
    as the pipeline (papermill then injects the same values after the cell).
    """
    root = project_root(root)
    params = load_params(root)
    return notebook_parameters(load_stages(root, params)[stage], params)


def code_deps_report(root: Path | str = ".") -> dict[str, tuple[list[str], list[str]]]:
    """Per stage, the code files ``dvc.yaml`` misses and those it lists but the stage does not
    run."""
    root = Path(root)
    out = {}
    for name, spec in load_stages(root).items():
        declared = {d for d in spec.deps if is_code(d)}
        derived = set(code_deps(spec, root))
        out[name] = (sorted(derived - declared), sorted(declared - derived))
    return out


def write_code_deps(root: Path | str = ".") -> list[str]:
    """Put each stage's code dependencies (``code_deps``) into ``dvc.yaml``, keeping its other
    entries, order and comments. Returns the stages whose list changed."""
    from ruamel.yaml import YAML  # round-trips dvc.yaml with its comments

    root = Path(root)
    path = root / "dvc.yaml"
    yaml_rt = YAML()
    yaml_rt.preserve_quotes = True
    yaml_rt.indent(mapping=2, sequence=4, offset=2)
    document = yaml_rt.load(path.read_text(encoding="utf-8"))
    changed = []
    for name, spec in load_stages(root).items():
        deps = document["stages"][name]["deps"]
        derived = code_deps(spec, root)
        current = [d for d in deps if isinstance(d, str) and is_code(d)]
        if current == derived:
            continue
        kept = [d for d in deps if not (isinstance(d, str) and is_code(d))]
        deps.clear()
        deps.extend([*kept, *derived])
        changed.append(name)
    if changed:
        with path.open("w", encoding="utf-8") as fh:
            yaml_rt.dump(document, fh)
    return changed
