"""End to end: the real pipeline (`dvc repro`) in a temporary copy of the repository.

One `dvc repro` builds a finished project (shared by every xdist worker through a lock file);
each test that changes anything works on its own copy of it, so no test depends on another's
state. The simulation sizes are the smallest the parameter rules accept: these tests check the
pipeline's mechanics; the statistics are tested against known truth elsewhere.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from conftest import BIN, ROOT, SMALL

from benchmarks.common import env

pytestmark = pytest.mark.slow


def sh(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True, timeout=1800)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return sh(str(BIN / "dvc"), *args, cwd=cwd, check=check)


def digests(project: Path, patterns: list[str]) -> dict[str, str]:
    return {
        str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest()
        for pattern in patterns
        for p in sorted(project.glob(pattern))
        if p.is_file()
    }


@pytest.fixture
def project(built, tmp_path) -> Path:
    """This test's own copy of the finished project."""
    copy = tmp_path / "project"
    shutil.copytree(built, copy, symlinks=True)
    return copy


def test_outputs_exist_and_agree_with_the_input(built):
    project = built
    small_dataset = project / "data" / "raw" / "small"
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    for name in ("patients", "physicians", "training_posts", "trainees"):
        rows = len(pd.read_csv(small_dataset / f"{name}.csv"))
        assert metrics["ingest"]["rows"][name] == rows
        assert len(pd.read_parquet(project / "data" / "processed" / f"{name}.parquet")) == rows
    assert metrics["ingest"]["first_year"] == SMALL.first_year
    assert metrics["ingest"]["last_year"] == SMALL.last_year
    assert (project / "reports" / "executed" / "01_ingest.ipynb").exists()
    assert (project / "reports" / "figures" / "ingest" / "landstal.png").exists()
    info = json.loads((project / "data" / "processed" / "dataset.json").read_text())
    assert info["raw_dir"] == "data/raw/small" and info["synthetic"] is True


def test_pages_are_self_contained_and_carry_the_demo_banner(built):
    project = built
    pages = [
        project / "reports" / "site" / "index.html",
        *sorted((project / "reports" / "site" / "analyse").glob("*.html")),
    ]
    assert len(pages) >= 2
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "Demodata – syntetiske tal" in html, page
        assert "<script src=" not in html, page  # no require.js, MathJax or anything from a CDN
        assert 'lang="da"' in html
        assert page.stat().st_size < 5_000_000
    index = (project / "reports" / "site" / "index.html").read_text(encoding="utf-8")
    assert 'href="analyse/ingest.html"' in index
    assert "data/raw/small" in index  # which data the reports were made from
    assert len(index.encode("utf-8")) < 50_000, "the index carries CSS it does not use"
    assert str(project) not in index, "an absolute path on a page"


def test_the_repro_log_shows_stages_progress_and_results_only(built):
    """What `dvc repro` prints: each stage's start, progress and result lines; no per-cell
    noise, no object reprs, no ERROR line on a successful run."""
    log = (built.parent / "repro.log").read_text(encoding="utf-8")
    assert "Executing Cell" not in log and "Ending Cell" not in log
    assert not re.search(r"<[\w.]+(?: object)? at 0x[0-9a-f]+>", log), "an object repr"
    assert "ERROR" not in log and "Traceback" not in log
    for stage in ("ingest", "growth", "retention", "supply", "initiatives", "report"):
        assert f"{stage}: running" in log and f"{stage}: done in" in log, stage
    assert "progress: " in log


def test_second_repro_does_nothing(project):
    result = dvc("repro", cwd=project)
    assert "Running stage" not in result.stdout
    assert "Data and pipelines are up to date" in result.stdout


def test_saving_a_notebook_in_jupyterlab_keeps_stages_fresh(project):
    """Open a notebook through a real Jupyter server (jupytext's contents manager, as JupyterLab
    does), add outputs and kernel metadata as a run would, save: no stage becomes stale."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "test-token"
    command = [
        str(BIN / "jupyter"),
        "server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={project}",
    ]
    if os.geteuid() == 0:  # CI containers run as root, which Jupyter refuses by default
        command.append("--allow-root")
    log = project.parent / "jupyter-server.log"
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    base = f"http://127.0.0.1:{port}/api/contents/notebooks/01_ingest.py"
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    try:
        for _ in range(120):
            try:
                request = urllib.request.Request(f"{base}?type=notebook", headers=headers)
                model = json.load(urllib.request.urlopen(request, timeout=5))
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"jupyter server did not start:\n{log.read_text()[-3000:]}")
        nb = model["content"]
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                cell["execution_count"] = 1
                cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x\n"}]
                cell["metadata"]["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
        nb["metadata"]["kernelspec"] = {
            "name": "laegedaekning",
            "display_name": "Python (l)",
            "language": "python",
        }
        nb["metadata"]["language_info"] = {"name": "python", "version": sys.version.split()[0]}
        body = json.dumps({"type": "notebook", "format": "json", "content": nb}).encode()
        request = urllib.request.Request(base, data=body, headers=headers, method="PUT")
        urllib.request.urlopen(request, timeout=30).read()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (project / "notebooks" / "01_ingest.ipynb").exists(), "the paired .ipynb was saved"
    status = dvc("status", "--json", cwd=project)
    assert json.loads(status.stdout) == {}, status.stdout


@pytest.mark.parametrize("notebook", sorted(p.name for p in (ROOT / "notebooks").glob("*.py")))
def test_notebooks_run_in_a_kernel_started_in_the_notebooks_folder(project, notebook):
    """As in JupyterLab: each notebook, unchanged, runs top to bottom in the project kernel
    with notebooks/ as its working directory, on the stages' results; and running it writes
    the same results, so no stage becomes stale (one notebook per test, so the workers share
    them)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(project / "notebooks" / notebook)
    NotebookClient(
        nb,
        kernel_name="laegedaekning",
        timeout=600,
        resources={"metadata": {"path": str(project / "notebooks")}},
    ).execute()
    errors = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert errors == [], notebook
    assert json.loads(dvc("status", "--json", cwd=project).stdout) == {}
    # `dvc repro` drew the figures in the background; they are the ones drawn here, in turn.
    executed = nbformat.read(project / "reports" / "executed" / f"{Path(notebook).stem}.ipynb", 4)
    # (A placeholder left in place of a picture would make the lists differ.)
    assert pictures(nb) == pictures(executed)


def pictures(nb) -> list[dict]:
    """The data of every figure the notebook shows."""
    return [
        out["data"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "display_data"
        and ("image/png" in out["data"] or "<figure" in out["data"].get("text/html", ""))
    ]


def test_changing_a_parameter_marks_only_its_stages(project):
    params_file = project / "params.yaml"
    original = params_file.read_text()
    params = yaml.safe_load(original)
    params["report"]["publish_safe"] = False
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        # Retention writes its researcher tables with small counts when publishing is off.
        stale = set(json.loads(dvc("status", "--json", cwd=project).stdout))
        assert stale == {"retention", "report"}
        params["report"]["publish_safe"] = True
        params["retention"]["horizon_years"] = 4
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        # Only stages whose own parameters changed are stale; `repro` then re-runs what reads
        # their outputs (the report).
        stale = set(json.loads(dvc("status", "--json", cwd=project).stdout))
        assert stale == {"retention", "supply", "initiatives"}  # all three read horizon_years
        params["data"]["rename"] = {"patients": {"aar": "year"}}
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        assert set(json.loads(dvc("status", "--json", cwd=project).stdout)) >= {"ingest"}
    finally:
        params_file.write_text(original)
    assert json.loads(dvc("status", "--json", cwd=project).stdout) == {}


@pytest.mark.parametrize(
    ("module", "stale"),
    [
        (
            "pipeline/data/contract.py",
            {"ingest", "growth", "retention", "initiatives", "supply", "report"},
        ),
        ("pipeline/data/contacts.py", {"ingest"}),
        ("pipeline/analysis/supply/model.py", {"supply"}),
        ("pipeline/publish/safety.py", {"report"}),
    ],
)
def test_editing_a_module_marks_exactly_the_stages_that_run_it(project, module, stale):
    with (project / module).open("a", encoding="utf-8") as fh:
        fh.write("\n# an edit\n")
    assert set(json.loads(dvc("status", "--json", cwd=project).stdout)) == stale


def test_one_scenario_as_an_experiment_and_the_experiment_commands(project):
    """`dvc exp run -S supply.scenario=...` runs one scenario and only the stages after it;
    `dvc exp show` compares the runs, `metrics show/diff` work."""
    baseline = json.loads((project / "reports" / "metrics.json").read_text())["supply"]
    result = dvc("exp", "run", "-S", "supply.scenario=foreign_recruitment", cwd=project)
    assert "Running stage 'supply'" in result.stdout
    assert "Running stage 'report'" in result.stdout
    assert "Running stage 'growth'" not in result.stdout
    assert "Running stage 'ingest'" not in result.stdout
    shown = list(csv.DictReader(io.StringIO(dvc("exp", "show", "--csv", cwd=project).stdout)))
    # The run before holds the baseline; the experiment is the scenario (and dvc leaves its
    # results in the workspace).
    experiment = next(row for row in shown if row["Experiment"])
    assert baseline["headline_scenario"] == "baseline"
    assert experiment["supply.headline_scenario"] == "foreign_recruitment"
    assert experiment["supply.scenario"] == "foreign_recruitment"
    assert float(experiment["supply.gap_2035"]) < baseline["gap_2035"]
    assert "ingest.rows.trainees" in dvc("metrics", "show", cwd=project).stdout
    diff = dvc("metrics", "diff", cwd=project).stdout  # the copy's HEAD has the demo's metrics
    assert "ingest.rows.trainees" in diff


def test_a_new_key_in_a_free_form_mapping_takes_hydras_plus(project):
    """As the README says for data.rename; only ingest reads it: the experiment runs that
    stage alone (which stages follow a change is tested above). `dvc plots show` works."""
    result = dvc("exp", "run", "-S", "+data.rename.patients.aar=year", "ingest", cwd=project)
    assert "Running stage 'ingest'" in result.stdout
    assert "aar: year" in (project / "params.yaml").read_text()
    dvc("plots", "show", "-o", "plots_out", cwd=project)
    assert (project / "plots_out" / "index.html").exists()


def test_same_data_and_params_give_identical_outputs(project):
    """Re-running a stage through the runner gives the same bytes: its tables, metrics,
    figures, executed notebook and, for the report, the pages. Ingest and the report are
    re-run here; every stage's outputs are re-made by the notebooks test above (checked by
    `dvc status`), and the full `dvc repro` of the demo is checked against the committed
    dvc.lock by test_demo_lock (make test-long)."""
    patterns = [
        "reports/metrics.json",
        "reports/metrics/*.json",
        "reports/tables/**/*",
        "reports/figures/**/*",
        "reports/executed/*.ipynb",
        "reports/site/**/*",
        "data/processed/*",
    ]
    before = digests(project, patterns)
    for stage in ("ingest", "report"):
        sh(str(BIN / "python"), "-m", "pipeline", "run", stage, cwd=project)
    assert digests(project, patterns) == before


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; .ci/run "
    "installs it where it can (apt-get install chromium)",
)
def test_pages_in_a_real_browser(built):
    """Every page loads in headless Chromium without console errors or network requests, its
    figures render with alt text, and a screenshot is kept under reports/screenshots/ (the
    landing and leadership pages whole, an analysis page's first screen)."""
    from playwright.sync_api import sync_playwright

    shots = ROOT / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    reports = built / "reports" / "site"
    pages = [
        reports / "index.html",
        reports / "ledelse.html",
        *sorted((reports / "analyse").glob("*.html")),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for path in pages:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                problems, requests = [], []
                page.on(
                    "console",
                    lambda m, p=problems: (
                        p.append(m.text) if m.type in ("error", "warning") else None
                    ),
                )
                page.on("pageerror", lambda e, p=problems: p.append(str(e)))
                page.route(
                    "http*://**",
                    lambda route, r=requests: (r.append(route.request.url), route.abort()),
                )
                page.goto(path.as_uri(), wait_until="load")
                figures = page.eval_on_selector_all(
                    "img",
                    "els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().width, e.alt])",
                )
                name = path.relative_to(reports).as_posix().replace("/", "_").removesuffix(".html")
                # The landing and leadership pages whole; an analysis page (code and output,
                # tens of thousands of pixels long) as its first screen: a full shot of it cost
                # seconds each and showed nothing the page itself does not.
                page.screenshot(path=str(shots / f"{name}.png"), full_page=path.parent == reports)
                page.close()
                assert problems == [], f"{path.name}: console {problems}"
                assert requests == [], f"{path.name}: asked the network for {requests}"
                assert all(w > 0 and shown > 0 and alt for w, shown, alt in figures), path.name
                if path.name == "ledelse.html":
                    assert 4 <= len(figures) <= 6
                elif path.parent.name == "analyse":
                    assert figures, f"{path.name} has no figures"
        finally:
            browser.close()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed; .ci/run "
    "installs it where it can (apt-get install chromium)",
)
def test_pages_on_a_phone_and_on_paper(built):
    """On a 390 px phone nothing but a table scrolls sideways, every table sits in its scroll
    box, a chart with a stacked version shows it, and every page links home. Printed on A4,
    nothing is cut at the right edge and every sheet carries the banner and its page number
    (the PDF is kept under reports/screenshots/)."""
    import pypdf
    from playwright.sync_api import sync_playwright

    from pipeline.publish.pages import BANNER

    site = built / "reports" / "site"
    shots = ROOT / "reports" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = [site / "ledelse.html", *sorted((site / "analyse").glob("*.html"))]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for path in pages:
                page = browser.new_page(viewport={"width": 390, "height": 844})
                page.goto(path.as_uri(), wait_until="load")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{path.name}: the page scrolls sideways ({width} px)"
                loose = page.evaluate(
                    "[...document.querySelectorAll('table')]"
                    ".filter(t => !t.closest('.table-scroll')).length"
                )
                assert loose == 0, f"{path.name}: {loose} tables outside a scroll box"
                wrong = page.evaluate(
                    "[...document.querySelectorAll('picture')].filter(p => {"
                    " const s = p.querySelector('source'); const i = p.querySelector('img');"
                    " return s && i.currentSrc !== s.srcset; }).length"
                )
                assert wrong == 0, f"{path.name}: {wrong} charts not stacked on a phone"
                home = page.eval_on_selector_all(
                    "nav a", "els => els.map(e => e.getAttribute('href'))"
                )
                assert any(h.endswith("index.html") for h in home), f"{path.name}: {home}"
                page.close()

            page = browser.new_page(viewport={"width": 680, "height": 1000})  # A4's text width
            page.goto((site / "ledelse.html").as_uri(), wait_until="load")
            page.emulate_media(media="print")
            widest = page.evaluate(
                "Math.max(0, ...[...document.querySelectorAll('table, figure')]"
                ".map(e => e.getBoundingClientRect().right))"
            )
            assert widest <= 680, f"printed, something runs {widest - 680:.0f} px past the edge"
            pdf = shots / "ledelse.pdf"
            page.pdf(path=str(pdf), format="A4", prefer_css_page_size=True, print_background=True)
            page.close()
        finally:
            browser.close()
    sheets = pypdf.PdfReader(pdf).pages
    assert len(sheets) > 1
    for number, sheet in enumerate(sheets, start=1):
        width, height = float(sheet.mediabox.width), float(sheet.mediabox.height)
        assert (round(width), round(height)) == (595, 842), "A4 in points"
        text = sheet.extract_text()
        assert BANNER in text, f"sheet {number} has no banner"
        assert f"Side {number} af {len(sheets)}" in text, f"sheet {number} has no page number"
