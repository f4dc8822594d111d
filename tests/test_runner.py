"""The stage runner: dvc.yaml as the one description of stages, clean failures."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml
from conftest import ROOT, run_cli, set_cell

from pipeline import runner
from pipeline.errors import InputError, StageError
from pipeline.params import OPEN_MAPPINGS, load_params
from pipeline.runner import _check_parameters_cell, run_stage
from pipeline.stages import load_stages, notebook_parameters


def make_project(tmp_path: Path, raw_dir: Path | None = None) -> Path:
    """A minimal copy of the project: stages, parameters, notebooks, reference figures."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(
        ROOT / "notebooks",
        project / "notebooks",
        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"),
    )
    shutil.copytree(ROOT / "data" / "reference", project / "data" / "reference")
    if raw_dir is not None:
        params = yaml.safe_load((project / "params.yaml").read_text())
        params["data"]["raw_dir"] = str(raw_dir)
        (project / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return project


def test_stages_come_from_dvc_yaml():
    stages = load_stages(ROOT)
    ingest = stages["ingest"]
    assert ingest.notebook == Path("notebooks/01_ingest.py")
    assert ingest.executed_notebook == Path("reports/executed/01_ingest.ipynb")
    assert Path("data/processed") in ingest.outs
    params = notebook_parameters(ingest, load_params(ROOT))
    assert params == {
        "raw_dir": "data/raw/demo",
        "rename": {},
        "contacts_tolerance": 0.0,
        "duckdb_memory_limit": "3GB",
        "min_cell": 5,
    }


def test_every_notebook_parameters_cell_matches_its_stage():
    params = load_params(ROOT)
    for spec in load_stages(ROOT).values():
        if spec.notebook is None:
            continue
        nb = jupytext.read(ROOT / spec.notebook)
        _check_parameters_cell(nb, spec, notebook_parameters(spec, params))


def test_parameters_cells_read_the_stages_values_from_params_yaml(monkeypatch):
    """Run in JupyterLab (working directory notebooks/), each parameters cell gives exactly the
    values `dvc repro` would inject: one definition, params.yaml."""
    monkeypatch.chdir(ROOT / "notebooks")
    params = load_params(ROOT)
    for spec in load_stages(ROOT, params).values():
        if spec.notebook is None:
            continue
        nb = jupytext.read(ROOT / spec.notebook)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        namespace: dict = {}
        exec(cell.source, namespace)
        expected = notebook_parameters(spec, params)
        assigned = {n for n in namespace if not n.startswith("_")} - {"p", "stage_parameters"}
        assert assigned == set(expected), spec.notebook
        assert {name: namespace[name] for name in expected} == expected, spec.notebook


def test_every_parameter_belongs_to_a_stage():
    """So that `dvc exp run -S section.key=value` re-runs something for every parameter."""
    params = load_params(ROOT)
    declared = {p for spec in load_stages(ROOT).values() for p in spec.params}

    def leaves(d, prefix=()):
        for key, value in d.items():
            path = (*prefix, key)
            if isinstance(value, dict) and path not in OPEN_MAPPINGS:
                yield from leaves(value, path)
            else:
                yield ".".join(path)

    for leaf in leaves(params):
        parts = leaf.split(".")
        assert any(".".join(parts[:n]) in declared for n in range(1, len(parts) + 1)), leaf


def test_unknown_stage():
    with pytest.raises(InputError, match="no stage called 'nope'; stages: ingest"):
        run_stage("nope", ROOT)


def test_missing_parameter_in_notebook_is_an_error(tmp_path, monkeypatch):
    """Found after the kernel was started (it boots while the notebook is checked): the kernel
    is ended and its private directory removed."""
    project = make_project(tmp_path)
    nb_path = project / "notebooks" / "01_ingest.py"
    nb_path.write_text(nb_path.read_text().replace('min_cell = p["min_cell"]\n', ""))
    started = []

    class Recorded(runner.Kernel):
        def __init__(self, root, spare_for_next=False):
            super().__init__(root, spare_for_next)
            started.append((self, self.manager.provisioner.pid))

    monkeypatch.setattr(runner, "Kernel", Recorded)
    with pytest.raises(StageError, match="does not define min_cell"):
        run_stage("ingest", project)
    ((kernel, pid),) = started
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid), "the kernel is still running"
    assert not Path(kernel.private).exists()
    assert set() == runner._KERNELS


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")


def test_every_stages_rules_are_checked_before_any_kernel_starts(tmp_path):
    """A bad supply value stops `ingest`, the first stage, before its notebook runs."""
    project = make_project(tmp_path)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["supply"]["h_completion"] = 1.5
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_cli("run", "ingest", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "params.yaml: supply.h_completion: 1.5 is a probability" in result.stderr
    assert "running notebooks/01_ingest.py" not in result.stderr
    assert not (project / "data" / "processed").exists()


def test_bad_data_fails_cleanly_and_leaves_nothing(tmp_path, dataset_copy):
    set_cell(dataset_copy, "patients", 3, "patients", "-4")
    set_cell(dataset_copy, "trainees", 2, "i_start", "2019-02-30")
    project = make_project(tmp_path, dataset_copy)
    (project / "data" / "processed").mkdir(parents=True)  # stale output from an earlier run
    result = run_cli("run", "ingest", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    problems = [
        line
        for line in result.stderr.splitlines()
        if ".csv:" in line and not line.startswith("progress:")
    ]
    assert problems == [
        'patients.csv:3: patients: "-4" is below 0; counts must be >= 0',
        'trainees.csv:2: i_start: "2019-02-30" is not a real calendar date',
    ]
    leftovers = [p for p in project.rglob("*") if "reports" in p.parts or "processed" in p.parts]
    assert leftovers == [p for p in leftovers if p.is_dir()], leftovers
    assert not (project / "data" / "processed").exists()


def test_bug_in_notebook_keeps_the_failed_notebook(tmp_path, small_dataset):
    project = make_project(tmp_path, small_dataset)
    nb_path = project / "notebooks" / "01_ingest.py"
    nb_path.write_text(nb_path.read_text() + "\n# %%\n1 / 0\n")
    result = run_cli("run", "ingest", cwd=project)
    assert result.returncode == 1
    assert "ZeroDivisionError" in result.stderr
    assert "reports/failed/01_ingest.ipynb" in result.stderr
    assert (project / "reports" / "failed" / "01_ingest.ipynb").exists()
    assert not (project / "data" / "processed").exists()
    assert not (project / "reports" / "executed" / "01_ingest.ipynb").exists()


def test_ingest_stage_writes_its_outputs(tmp_path, small_dataset):
    project = make_project(tmp_path, small_dataset)
    result = run_cli("run", "ingest", cwd=project)
    assert result.returncode == 0, result.stderr
    for out in load_stages(project)["ingest"].outs:
        assert (project / out).exists(), out
    assert sorted(p.name for p in (project / "data" / "processed").iterdir()) == [
        "dataset.json",
        "initiatives.parquet",
        "patients.parquet",
        "physicians.parquet",
        "specialist_posts.parquet",
        "trainees.parquet",
        "training_posts.parquet",
    ]
    # A readable log: the stage, its progress and its results; no per-cell lines, no progress
    # bar, no object reprs, no ERROR.
    log = result.stderr
    assert "ingest: running notebooks/01_ingest.py" in log
    assert "progress: ingest: trainees.csv:" in log
    assert "ingest: done in" in log and "first_year = 2010" in log
    assert "Executing Cell" not in log and "Ending Cell" not in log and "%|" not in log
    assert " object at 0x" not in log and "ERROR" not in log


def test_the_stage_watches_dvc_through_the_shell_dvc_runs_it_in():
    """dvc runs a stage as `$SHELL -c cmd`; dash stays between them, so the stage must watch the
    shell's parent (dvc) too, or killing dvc leaves the stage running."""
    code = "from pipeline.runner import _watched_links; print(_watched_links())"
    out = subprocess.run(
        ["/bin/sh", "-c", f'{sys.executable} -c "{code}"; true'],  # "; true": no exec
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    links = ast.literal_eval(out)
    assert len(links) == 2
    (_stage, shell), (shell_again, starter) = links
    assert shell_again == shell and starter == os.getpid()


def _fails_beside(*_args):
    raise RuntimeError("the child fails")


def test_work_beside_the_notebook_that_fails_is_left_to_the_step(monkeypatch, tmp_path):
    """The after-step then gets None and does the work itself (showing the real error)."""
    monkeypatch.setitem(runner.BESIDE_NOTEBOOK, "report", (__name__, "_fails_beside"))
    job = runner._start_beside("report", tmp_path, {})
    if job is None:
        pytest.skip("one core: nothing runs beside the notebook")
    assert runner._result(job) is None
    assert runner._start_beside("ingest", tmp_path, {}) is None


def test_the_kernel_is_killed_after_the_last_cell_not_shut_down(tmp_path):
    """A kernel asked to shut down now and then prints ipykernel's own shutdown race (a ZMQError
    traceback) into a run that succeeded; a killed one runs none of its shutdown."""
    import nbformat

    from pipeline.environment import KERNEL_NAME

    marker = tmp_path / "shutdown-ran"
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).touch)"
        ),
    ]
    source = tmp_path / "nb.ipynb"
    nbformat.write(notebook, source)
    runner.execute_notebook(str(source), tmp_path / "out.ipynb", {"x": 2}, ROOT, timeout=60)
    assert (tmp_path / "out.ipynb").exists()
    assert not marker.exists(), "the kernel ran its shutdown"


def test_a_stage_ends_without_teardown_but_with_its_exit_handlers_and_output():
    code = (
        "import atexit, sys\n"
        "from pipeline.cli import exit_without_teardown\n"
        "atexit.register(lambda: print('exit handler ran'))\n"
        "sys.stdout.write('buffered, not yet written')\n"
        "exit_without_teardown(3)\n"
        "print('not reached')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert done.stdout == "buffered, not yet writtenexit handler ran\n"


def test_papermill_and_jupytext_import_without_what_the_runner_does_not_use():
    code = (
        "import sys\n"
        "from pipeline.runner import _import_papermill_and_jupytext\n"
        "jupytext, papermill = _import_papermill_and_jupytext()\n"
        "from pipeline.runner import _NOT_FOR_THE_RUNNER\n"
        "print(sorted(m for m in _NOT_FOR_THE_RUNNER if m in sys.modules))\n"
        "import pyarrow.parquet\n"  # hidden only while they were imported
        "print(jupytext.__name__, papermill.__name__, pyarrow.parquet.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "jupytext papermill pyarrow.parquet"]
