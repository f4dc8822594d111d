"""The package's layout follows the DAG: no import cycles, stages apart, deps DVC can trust."""

from __future__ import annotations

import ast
import functools
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT

from pipeline.stages import code_deps, is_code, load_stages

PACKAGE = ROOT / "pipeline"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@functools.cache
def imports(path: Path) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function, line) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    inside = set()
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            inside |= {id(n) for n in ast.walk(fn)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found += [(name, id(node) in inside, node.lineno) for name in names]
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for target, _, _ in imports(path):
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_stage_packages_do_not_import_each_other():
    """What passes between stages is a declared dataset (pipeline/data/catalog.py), not code."""
    stages = {m.split(".")[2] for m in MODULES if m.startswith("pipeline.analysis.")}
    problems = []
    for name, targets in graph().items():
        if name.startswith("pipeline.analysis."):
            own = name.split(".")[2]
            problems += [
                f"{name} imports {t}"
                for t in targets
                if t.startswith("pipeline.analysis.") and t.split(".")[2] != own
            ]
        if name.startswith(("pipeline.publish.", "pipeline.data.")):
            problems += [
                f"{name} imports {t}" for t in targets if t.startswith("pipeline.analysis")
            ]
    assert stages and problems == []


def test_imports_inside_functions_only_defer_heavy_libraries():
    """An import inside a function defers a heavy third-party import, and the module says why;
    the package's own modules and the standard library are imported at the top (the command
    line's dispatcher is the one exception: each command loads only what it needs)."""
    problems = []
    for name, path in MODULES.items():
        deferred = [(t, line) for t, inside, line in imports(path) if inside]
        for target, line in deferred:
            top = target.split(".")[0]
            if (top == "pipeline" and name != "pipeline.cli") or top in sys.stdlib_module_names:
                problems.append(f"{path.name}:{line}: imports {target} inside a function")
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        third_party = {t.split(".")[0] for t, _ in deferred} - {"pipeline"}
        if third_party and name != "pipeline.cli" and "imported inside" not in docstring:
            problems.append(f"{path.name}: defers {sorted(third_party)} without saying why")
    assert problems == []


def test_dvc_yaml_lists_exactly_the_code_each_stage_runs():
    stages = load_stages(ROOT)
    for spec in stages.values():
        declared = sorted(d for d in spec.deps if is_code(d))
        assert declared == code_deps(spec, ROOT), (
            f"{spec.name}: run `python -m pipeline deps --write`"
        )


@pytest.mark.parametrize(
    ("module", "stages"),
    [
        (
            "pipeline/data/contract.py",
            {"ingest", "growth", "retention", "initiatives", "supply", "report"},
        ),
        ("pipeline/data/contacts.py", {"ingest"}),
        # The kernel's pinned numerics shape every stage's numbers (the runner applies them).
        (
            "pipeline/environment.py",
            {"ingest", "growth", "retention", "initiatives", "supply", "report"},
        ),
        ("pipeline/analysis/supply/model.py", {"supply"}),
        # The leadership page shows the initiatives' table (its verdicts come from the model).
        ("pipeline/analysis/initiatives/model.py", {"initiatives", "report"}),
        # Every chart over the years marks the initiatives.
        ("pipeline/publish/marks.py", {"ingest", "growth", "retention", "initiatives"}),
        ("pipeline/publish/report.py", {"report"}),
        ("pipeline/publish/safety.py", {"report"}),
    ],
)
def test_a_module_belongs_to_exactly_the_stages_that_run_it(module, stages):
    """The issue's cases: contract.py is used by every stage (through the catalog), contacts.py
    by ingest alone, the supply model by supply alone (the report reads its tables)."""
    found = {s.name for s in load_stages(ROOT).values() if module in code_deps(s, ROOT)}
    assert found == stages


def test_code_deps_follow_imports_inside_functions(tmp_path):
    """A module reached only through an import inside a function is still a dependency."""
    (tmp_path / "pipeline" / "sub").mkdir(parents=True)
    (tmp_path / "pipeline" / "__init__.py").write_text("")
    (tmp_path / "pipeline" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pipeline" / "sub" / "a.py").write_text(
        "def f():\n    from pipeline.sub import b\n    return b\n"
    )
    (tmp_path / "pipeline" / "sub" / "b.py").write_text("RESOURCES = ('data.csv',)\n")
    (tmp_path / "pipeline" / "sub" / "data.csv").write_text("x\n")
    (tmp_path / "pipeline" / "progress.py").write_text("")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "n.py").write_text("from pipeline.sub.a import f\n")
    from pipeline.stages import StageSpec

    spec = StageSpec("s", Path("notebooks/n.py"), (), ())
    assert code_deps(spec, tmp_path) == [
        "pipeline/__init__.py",
        "pipeline/progress.py",
        "pipeline/sub/__init__.py",
        "pipeline/sub/a.py",
        "pipeline/sub/b.py",
        "pipeline/sub/data.csv",
    ]
