"""What running the stages as notebooks costs.

* each stage (`python -m pipeline run STAGE`) against its floor: a notebook with the stage's
  parameters cell that imports every module the stage imports and does nothing else;
* all stages as notebooks against the same notebook code run in one plain Python process.

    python benchmarks/notebooks.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

from common import BIN, measure, report, scratch_copy

import pipeline  # noqa: F401  (first: it keeps nbformat from building jsonschema's IRI grammar)

STAGES = ("ingest", "growth", "retention", "initiatives", "supply", "report")


def _stage_code(stage: str, root: Path):
    import jupytext

    from pipeline.params import load_params
    from pipeline.runner import load_stages, notebook_parameters

    spec = load_stages(root)[stage]
    params = notebook_parameters(spec, load_params(root))
    return spec, params, jupytext.read(root / spec.notebook)


def run_cells(stage: str, root: Path) -> None:
    """Execute one stage's notebook cells in this process (``root`` the working directory),
    with the parameters ``dvc repro`` injects after its parameters cell, output discarded."""
    spec, params, nb = _stage_code(stage, root)
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            exec(compile(cell.source, f"{spec.notebook}", "exec"), namespace)
            if "parameters" in cell.metadata.get("tags", []):
                namespace.update(params)


def run_plain(stages: list[str], root: Path, modules_out: Path | None = None) -> None:
    """Execute the stages' notebook cells in this process, as a plain script would."""
    os.environ["MPLBACKEND"] = "Agg"
    os.chdir(root)
    from pipeline.params import load_params
    from pipeline.publish.pages import publish

    imported: set[str] = set()
    for stage in stages:
        before = set(sys.modules)
        run_cells(stage, root)
        if stage == "report":
            publish(root, load_params(root))
        imported |= set(sys.modules) - before
    if modules_out is not None:  # what the stage's own code imported, not this harness
        modules_out.write_text(json.dumps(sorted(imported)))


def run_floor(stage: str, root: Path, modules: list[str]) -> None:
    """A notebook with the stage's parameters cell and its imports, run like the stage."""
    import nbformat

    from pipeline.runner import execute_notebook

    _, params, nb = _stage_code(stage, root)
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    imports = (
        "import importlib\n"
        f"for name in {modules!r}:\n"
        "    try:\n        importlib.import_module(name)\n"
        "    except Exception:\n        pass\n"
    )
    floor = nbformat.v4.new_notebook(metadata=nb.metadata)
    floor.cells = [parameters, nbformat.v4.new_code_cell(imports)]
    with tempfile.TemporaryDirectory() as tmp:
        execute_notebook(floor, Path(tmp) / "floor.ipynb", params, root, 600)


def main() -> None:
    if len(sys.argv) > 1:  # a measured child: plain STAGE[,STAGE] [MODULES_JSON] | floor STAGE JSON
        mode, stage, *rest = sys.argv[1:]
        root = Path.cwd()
        if mode == "plain":
            run_plain(stage.split(","), root, Path(rest[0]) if rest else None)
        else:
            run_floor(stage, root, json.loads(Path(rest[0]).read_text()))
        # As the stage's runner ends (pipeline.cli): the floor is the stage without its work.
        from pipeline.cli import exit_without_teardown

        exit_without_teardown(0)
    with scratch_copy("bench-notebooks-") as project:
        here = str(Path(__file__).resolve())
        measure([str(BIN / "dvc"), "repro"], project)  # every input in place
        rows, ratios, total_notebook = {}, {}, 0.0
        for stage in STAGES:
            modules = project / f".modules-{stage}.json"
            measure([sys.executable, here, "plain", stage, str(modules)], project)
            nb = measure([sys.executable, "-m", "pipeline", "run", stage], project)
            floor = measure([sys.executable, here, "floor", stage, str(modules)], project)
            rows[f"{stage}: as a notebook"] = nb
            rows[f"{stage}: floor (start, imports, nothing)"] = floor
            ratios[f"{stage}: notebook / floor"] = round(nb["wall_s"] / floor["wall_s"], 2)
            total_notebook += nb["wall_s"]
        plain = measure([sys.executable, here, "plain", ",".join(STAGES)], project)
        rows["all stages in one plain Python process"] = plain
        ratios["all stages: notebooks / one plain process"] = round(
            total_notebook / plain["wall_s"], 2
        )
        report("notebooks", rows, ratios)


if __name__ == "__main__":
    main()
