"""Publish the reports: HTML pages from the executed notebooks, a landing page, merged metrics.

Pages are exported with nbconvert through a small template (``pipeline/templates``) that extends
JupyterLab's: no scripts from a CDN, figures embedded, Danish typography, alt text on figures and
the banner "Demodata – syntetiske tal" when the data are synthetic. Everything is written to a
staging directory first and moved into ``reports/`` only when all of it succeeded.

nbconvert and pyarrow are imported inside the functions that export pages and read ids: they
take seconds to import.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from pipeline.data.catalog import Catalog
from pipeline.errors import InputError
from pipeline.params import changed_params
from pipeline.progress import strip
from pipeline.publish import fmt
from pipeline.publish.safety import check_page
from pipeline.stages import load_stages

log = logging.getLogger(__name__)

RESOURCES = ("templates",)  # read by nbconvert; a stage dependency like the code
TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "laegedaekning"
BANNER = "Demodata – syntetiske tal"
REPORTS = Path("reports")
ANALYSIS_DIR = "analyse"
LEADERSHIP_PAGE = "ledelse.html"


def export_html(
    nb: nbformat.NotebookNode,
    *,
    title: str,
    include_code: bool,
    banner: str | None = None,
) -> str:
    """One notebook as a self-contained HTML page.

    ``include_code=False`` is nbconvert's ``--no-input``: only narrative and results, for
    leadership. Prompts are never shown.
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb = strip(nb)
    config = Config()
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    config.HTMLExporter.template_name = TEMPLATE_NAME
    config.HTMLExporter.exclude_input = not include_code
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.embed_images = True
    config.HTMLExporter.language_code = "da"
    exporter = HTMLExporter(config=config)
    resources = {"metadata": {"name": title}, "laegedaekning": {"banner": banner}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The first level-1 heading of a notebook's markdown."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def git_commit(root: Path) -> str:
    """Short commit of ``root``, marked when code or parameters have uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # Stage outputs and dvc.lock change during every run; they do not make the code dirty.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!dvc.lock", ":!reports"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "ukendt (ikke et git-repository)"
    return f"{commit} (med ændringer, der ikke er committet)" if dirty else commit


def index_notebook(
    pages: list[tuple[str, str]],
    info: dict[str, Any],
    params: dict[str, Any],
    commit: str,
    made: dt.datetime,
) -> nbformat.NotebookNode:
    """The landing page as a notebook of markdown: links and where the reports came from."""
    links = "\n".join(f"- [{title}]({href})" for href, title in pages)
    changed = changed_params(params)
    if changed:
        params_text = "\n".join(
            f"- `{k}` = `{json.dumps(v, ensure_ascii=False)}`" for k, v in sorted(changed.items())
        )
    else:
        params_text = "Alle parametre har deres standardværdi (`params.yaml`)."
    kind = "syntetiske demodata" if info.get("synthetic") else "et dataudtræk"
    provenance = f"""## Hvor tallene kommer fra

| | |
|---|---|
| Lavet | {fmt.date(made)} kl. {made:%H.%M} |
| Data | {kind} fra `{info["raw_dir"]}` |
| Udtræksdato | {fmt.date(info["extract_date"])} |
| Årene i data | {info["years"]["patients"][0]}–{info["years"]["patients"][1]} |
| Git-commit | `{commit}` |

### Parametre ændret fra standardværdierne

{params_text}
"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Lægedækning i psykiatrien – rapporter\n\n"
            "Analyser af patienter, læger og uddannelsesforløb i regionspsykiatrien. Rapporten "
            "til ledelsen samler hovedresultaterne; de fulde analyser viser metoder, kode og "
            "alle tabeller.\n\n"
            f"{links}"
        ),
        nbformat.v4.new_markdown_cell(provenance),
    ]
    return nb


class PublishError(InputError):
    """A page failed a safety check; nothing was published."""


def publish(root: Path | str, params: dict[str, Any]) -> None:
    """Write ``reports/ledelse.html``, ``reports/analyse/<stage>.html``, ``reports/index.html``
    and ``reports/metrics.json``, after every page has passed the safety checks.

    Raises
    ------
    PublishError
        When any page fails a check (``pipeline.publish.safety``); ``reports/`` is left as it was.
    """
    root = Path(root)
    catalog = Catalog(root)
    info = catalog.dataset_info()
    banner = BANNER if info.get("synthetic") else None
    reports = root / REPORTS
    staging = Path(tempfile.mkdtemp(dir=reports, prefix=".publish-"))
    try:
        (staging / ANALYSIS_DIR).mkdir()
        pages: list[tuple[str, str, bool, str]] = []  # (file, title, for researchers, html)
        for stage in load_stages(root, params).values():
            if stage.executed_notebook is None:
                continue
            nb = nbformat.read(root / stage.executed_notebook, as_version=4)
            title = notebook_title(nb, stage.name)
            if stage.name == "report":
                href, researcher = LEADERSHIP_PAGE, False
            else:
                href, researcher = f"{ANALYSIS_DIR}/{stage.name}.html", True
            html = export_html(nb, title=title, include_code=researcher, banner=banner)
            pages.append((href, title, researcher, html))
            log.info("report: %s", href)
        links = [
            (href, f"Fuld analyse: {title}" if researcher else f"{title} – rapport til ledelsen")
            for href, title, researcher, _ in sorted(pages, key=lambda p: p[2])
        ]
        index = index_notebook(links, info, params, git_commit(root), dt.datetime.now())
        html = export_html(
            index, title="Lægedækning i psykiatrien", include_code=False, banner=banner
        )
        pages.append(("index.html", "", False, html))
        problems = []
        person_ids = _person_ids(catalog)
        for href, _, researcher, html in pages:
            disclosure = params["report"]["publish_safe"] or not researcher
            problems += check_page(
                html,
                page=href,
                person_ids=person_ids,
                min_cell=params["report"]["min_cell"],
                disclosure=disclosure,
            )
        if problems:
            raise PublishError(
                ["report: nothing was published; fix these and run again:", *problems]
            )
        for href, _, _, html in pages:
            (staging / href).write_text(html, encoding="utf-8")
        metrics = json.dumps(catalog.load_metrics(), indent=2, sort_keys=True, ensure_ascii=False)
        (staging / "metrics.json").write_text(metrics + "\n", encoding="utf-8")
        _move_into_place(staging, reports)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _person_ids(catalog: Catalog) -> set[str]:
    import pyarrow.parquet as pq

    path = catalog.path("trainees")
    return set(pq.read_table(path, columns=["person_id"]).column(0).to_pylist())


def _move_into_place(staging: Path, reports: Path) -> None:
    for item in sorted(staging.iterdir()):
        target = reports / item.name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
