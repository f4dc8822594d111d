"""Publish the reports: HTML pages from the executed notebooks, a landing page, merged metrics.

Pages are exported with nbconvert through a small template (``pipeline/publish/templates``):
no scripts from a CDN, figures embedded, Danish typography, alt text on figures and the banner
"Demodata – syntetiske tal" when the data are synthetic. The site is published all or nothing.

nbconvert and pyarrow are imported inside the functions that export pages and read ids: they
take seconds to import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from pipeline.data.catalog import Catalog, write_bytes
from pipeline.errors import InputError
from pipeline.params import changed_params
from pipeline.progress import reproducible, strip
from pipeline.publish import audit, fmt
from pipeline.publish.safety import check_page
from pipeline.stages import StageSpec, is_code, load_stages

if TYPE_CHECKING:
    from nbconvert import HTMLExporter

log = logging.getLogger(__name__)

RESOURCES = ("templates",)  # read by nbconvert; a stage dependency like the code
TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "laegedaekning"
BANNER = "Demodata – syntetiske tal"
UNPUBLISHED = "Må ikke offentliggøres – små tal vises (report.publish_safe: false)"
REPORTS = Path("reports")
SITE_DIR = "site"  # the published pages, swapped in as one directory
UNPUBLISHED_DIR = "unpublished"  # researcher pages with small counts; never linked
ANALYSIS_DIR = "analyse"
LEADERSHIP_PAGE = "ledelse.html"
UNPUBLISHED_README = {
    False: "Tom: report.publish_safe er true, så alle sider er publiceret under reports/site/.\n",
    True: (
        "Forskersider med små tal (report.publish_safe: false). MÅ IKKE OFFENTLIGGØRES:\n"
        "de er hverken kontrolleret for små tal eller linket fra forsiden.\n"
    ),
}


def export_html(
    nb: nbformat.NotebookNode,
    *,
    title: str,
    include_code: bool,
    banner: str | None = None,
    home: str | None = None,
    unpublished: bool = False,
) -> str:
    """One notebook as a self-contained HTML page.

    ``include_code=False`` is nbconvert's ``--no-input``: only narrative and results, for
    leadership. Prompts are never shown. ``banner`` is shown at the top of the page and of
    every printed sheet (red when ``unpublished``); ``home`` is the relative link to the
    landing page.
    """
    nb = strip(nb)
    exporter = _exporter(include_code)
    page = {"banner": banner, "banner_kind": "unpublished" if unpublished else "demo", "home": home}
    resources = {"metadata": {"name": title}, "laegedaekning": page}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


@functools.lru_cache(maxsize=2)
def _exporter(include_code: bool) -> HTMLExporter:
    """One exporter per kind of page: building one compiles its templates (about a third of
    an export), and an exporter keeps no state from one notebook to the next."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    config.HTMLExporter.template_name = TEMPLATE_NAME
    config.HTMLExporter.exclude_input = not include_code
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.embed_images = True
    config.HTMLExporter.language_code = "da"
    return HTMLExporter(config=config)


def home_link(href: str, unpublished: bool = False) -> str:
    """The landing page relative to the page at ``href`` within its site; an unpublished page
    (``reports/unpublished/``) links to the published site's."""
    up = "../" * href.count("/")
    return f"{up}../{SITE_DIR}/index.html" if unpublished else f"{up}index.html"


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The first level-1 heading of a notebook's markdown."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def code_version(root: Path) -> str:
    """A fingerprint of the code the report stage runs (the first 12 hex digits of a SHA-256
    over its notebook and the package files ``dvc.yaml`` lists as its code deps).

    Those files are exactly what re-runs the report stage when edited, so the version a page
    shows always belongs to the code that made it, and the same code gives the same bytes. A
    hash over all of ``pipeline/`` would change with an edit that re-runs nothing, and a fresh
    clone would then make pages that differ from the ones ``dvc.lock`` records. The other
    stages' code reaches the pages through their outputs, which DVC tracks."""
    spec = load_stages(root)["report"]
    # A project without the report notebook (a bare folder of outputs to publish) has no code
    # to fingerprint beyond what exists.
    # dvc.yaml's list, not the import scan behind it: `python -m pipeline deps` keeps the two
    # equal (a test checks), and reading the list is instant.
    names = (
        {*(dep for dep in spec.deps if is_code(dep)), spec.notebook.as_posix()}
        if (root / spec.notebook).exists()
        else set()
    )
    deps = [root / name for name in names if (root / name).exists()]
    files = sorted(
        f for p in deps for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()
    )  # a resource may be a folder (the page templates)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def index_notebook(
    pages: list[tuple[str, str]],
    info: dict[str, Any],
    params: dict[str, Any],
    version: str,
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
| Data | {kind} fra `{info["raw_dir"]}` |
| Udtræksdato | {fmt.date(info["extract_date"])} |
| Årene i data | {info["years"]["patients"][0]}–{info["years"]["patients"][1]} |
| Kodeversion | `{version}` (fingeraftryk af `pipeline/` og `notebooks/`) |

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


@dataclass(frozen=True)
class Prepared:
    """The researcher pages exported and checked, and the disclosure audit's findings: what
    ``publish`` needs that does not depend on the report stage's own notebook."""

    pages: list[Page]
    problems: list[str]


def prepare(root: Path | str, params: dict[str, Any]) -> Prepared:
    """Export and check every stage's page but the leadership page, and audit the published
    counts. The runner computes this in a forked child while the report notebook runs (the
    pages' inputs are the other stages' outputs); ``publish`` computes it itself otherwise."""
    root = Path(root)
    catalog = Catalog(root)
    banner = BANNER if catalog.dataset_info().get("synthetic") else None
    pages = [
        _stage_page(root, stage, params, banner)
        for stage in load_stages(root, params).values()
        if stage.executed_notebook is not None and stage.name != "report"
    ]
    problems = _checked(pages, catalog, params)
    problems += audit_published(catalog, params["report"]["min_cell"])
    return Prepared(pages, problems)


def publish(root: Path | str, params: dict[str, Any], prepared: Prepared | None = None) -> None:
    """Publish the pages and ``reports/metrics.json``, all or nothing.

    Every page is exported and checked (``pipeline.publish.safety``) first. The published site,
    ``reports/site/`` (``index.html``, ``ledelse.html``, ``analyse/<stage>.html``), is then
    swapped in by one atomic rename, and ``reports/metrics.json`` replaced by another; a failure
    before that leaves the previous site and metrics as they were. With
    ``report.publish_safe: false`` the researcher pages are checked for everything but small
    counts and written, under a red "Må ikke offentliggøres" banner, to ``reports/unpublished/``
    only, which the site does not link to. ``prepared`` is ``prepare(root, params)`` where it
    was computed already.

    Raises
    ------
    PublishError
        When any page fails a check; nothing is written.
    """
    root = Path(root)
    catalog = Catalog(root)
    info = catalog.dataset_info()
    banner = BANNER if info.get("synthetic") else None
    reports = root / REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    prepared = prepared or prepare(root, params)
    stages = load_stages(root, params)
    leadership = (
        [_stage_page(root, stages["report"], params, banner)]
        if "report" in stages and stages["report"].executed_notebook is not None
        else []
    )
    by_href = {p.href: p for p in [*prepared.pages, *leadership]}
    pages = [by_href[_href(name)] for name in stages if _href(name) in by_href]  # dvc.yaml's order
    links = [
        (
            p.href,
            f"Fuld analyse: {p.title}" if p.researcher else f"{p.title} – rapport til ledelsen",
        )
        for p in sorted(pages, key=lambda p: p.researcher)
        if not p.unpublished
    ]
    index = reproducible(index_notebook(links, info, params, code_version(root)))
    html = export_html(index, title="Lægedækning i psykiatrien", include_code=False, banner=banner)
    own = [*leadership, Page("index.html", "", False, html)]
    problems = prepared.problems + _checked(own, catalog, params)
    pages.append(own[-1])
    if problems:
        raise PublishError(["report: nothing was published; fix these and run again:", *problems])
    metrics = json.dumps(catalog.load_metrics(), indent=2, sort_keys=True, ensure_ascii=False)
    _swap_in(reports / SITE_DIR, [p for p in pages if not p.unpublished])
    unpublished = [p for p in pages if p.unpublished]
    _swap_in(
        reports / UNPUBLISHED_DIR,
        [*unpublished, Page("README.txt", "", True, UNPUBLISHED_README[bool(unpublished)])],
    )
    write_bytes(reports / "metrics.json", (metrics + "\n").encode("utf-8"))


def _href(stage: str) -> str:
    """Where a stage's page sits in the site."""
    return LEADERSHIP_PAGE if stage == "report" else f"{ANALYSIS_DIR}/{stage}.html"


def _stage_page(root: Path, stage: StageSpec, params: dict[str, Any], banner: str | None) -> Page:
    """A stage's executed notebook as its page: with code for the researcher pages."""
    assert stage.executed_notebook is not None
    nb = nbformat.read(root / stage.executed_notebook, as_version=4)
    title = notebook_title(nb, stage.name)
    researcher = stage.name != "report"
    href = _href(stage.name)
    unpublished = researcher and not params["report"]["publish_safe"]
    html = export_html(
        nb,
        title=title,
        include_code=researcher,
        banner=UNPUBLISHED if unpublished else banner,
        home=home_link(href, unpublished),
        unpublished=unpublished,
    )
    log.info("report: %s", href)
    return Page(href, title, researcher, html, unpublished=unpublished)


def _checked(pages: list[Page], catalog: Catalog, params: dict[str, Any]) -> list[str]:
    """Every page's safety problems (``pipeline.publish.safety``)."""
    person_ids = _person_ids(catalog)
    return [
        problem
        for page in pages
        for problem in check_page(
            page.html,
            page=page.href,
            person_ids=person_ids,
            min_cell=params["report"]["min_cell"],
            disclosure=not page.unpublished,
        )
    ]


@dataclass(frozen=True)
class Page:
    href: str  # path within the site
    title: str
    researcher: bool
    html: str
    unpublished: bool = False


def _swap_in(target: Path, pages: list[Page]) -> None:
    """Write ``pages`` into a new directory beside ``target`` and exchange the two in one step
    (``renameat2(RENAME_EXCHANGE)`` on Linux): a reader sees the old site or the new one, never
    a mix."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".site-{os.getpid()}-"))
    # mkdtemp makes a private (0700) directory; the site is read by a web server or colleagues.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        for page in pages:
            path = staging / page.href
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page.html, encoding="utf-8")
        if target.exists() and _exchange(staging, target):
            pass  # staging now holds the old site, removed below
        else:
            old = target.with_name(f".site-{os.getpid()}-old")
            if target.exists():
                os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2``); False where that is unavailable."""
    if sys.platform != "linux":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


def audit_published(catalog: Catalog, min_cell: int) -> list[str]:
    """The independent audit (``pipeline.publish.audit``) of every count the stages published
    about persons, linked across pages and tables: a hidden count that the published numbers
    pin down to a range narrower than ``min_cell`` stops publishing."""
    cells, sensitive = [], {}
    for path in sorted(catalog.disclosure_path("any").parent.glob("*.json")):
        stage_cells, _, stage_sensitive = audit.load(path)
        cells += stage_cells
        sensitive.update(stage_sensitive)
    if not cells:
        return []
    return [f"disclosure audit: {line}" for line in audit.audit(cells, (), min_cell, sensitive)]


def _person_ids(catalog: Catalog) -> set[str]:
    import pyarrow.parquet as pq

    path = catalog.path("trainees")
    return set(pq.read_table(path, columns=["person_id"]).column(0).to_pylist())
