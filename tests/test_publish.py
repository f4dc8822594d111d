"""Publishing: Danish formatting, self-contained pages, and the safety checks that stop it."""

from __future__ import annotations

import json
import shutil

import nbformat
import pandas as pd
import pytest
from conftest import ROOT

from pipeline import forked
from pipeline.data.ingest import read_dataset, write_processed
from pipeline.params import load_params
from pipeline.publish import fmt
from pipeline.publish.pages import PublishError, export_html, prepare, publish
from pipeline.publish.safety import check_page


def test_danish_formatting():
    assert fmt.number(12345.4) == "12.345"
    assert fmt.number(-84.2) == "−84"
    assert fmt.number(2.25, 1) == "2,2" or fmt.number(2.25, 1) == "2,3"
    assert fmt.percent(0.025) == "2,5\u00a0%"  # the sign never wraps onto its own line
    assert fmt.percent(float("nan")) == "–"
    assert fmt.date("2026-03-31") == "31. marts 2026"
    assert fmt.interval(1200.2, 1499.7) == "1.200 til 1.500"
    assert fmt.interval(0.021, 0.034, fmt.percent) == "2,1\u00a0% til 3,4\u00a0%"
    assert fmt.interval(float("nan"), 3.0) == fmt.interval(None, 3.0) == "–"
    styled = fmt.table(
        pd.DataFrame({"År": [2019], "Patienter": [164486], "Andel": [0.25]}),
        percent_columns=["Andel"],
    )._repr_html_()
    assert ">2019<" in styled and ">164.486<" in styled and ">25,0\u00a0%<" in styled
    assert '<td class="num">164.486</td>' in styled  # numbers right-aligned (the page's CSS)


# --- crafted pages -------------------------------------------------------------------------------
def page(*outputs, markdown: str = "# Side") -> str:
    """A notebook with the given outputs, exported the way the report stage exports."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1", outputs=list(outputs))
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), cell]
    return export_html(nb, title="test", include_code=True)


def html_output(html: str):
    return nbformat.v4.new_output("display_data", data={"text/html": html})


def counts_table(value: int) -> str:
    df = pd.DataFrame({"Region": ["Nordjylland"], "Startet i I-stilling": [value]})
    return fmt.table(df, counts=["Startet i I-stilling"])._repr_html_()


def test_a_clean_page_passes():
    assert (
        check_page(page(html_output(counts_table(12))), page="p.html", person_ids={"T0000001"})
        == []
    )


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            nbformat.v4.new_output("stream", name="stdout", text="T0000042 startede 2019\n"),
            "person_id value(s) from the input",
        ),
        (
            nbformat.v4.new_output("stream", name="stdout", text="cpr 010190-1234\n"),
            "looks like a CPR number",
        ),
        (
            html_output(pd.DataFrame({"person_id": ["a"], "i_start": ["2019-01-01"]}).to_html()),
            "column of a person-level table",
        ),
        (html_output(counts_table(3)), "shows a count of 3 in 'Startet i I-stilling'"),
        (
            html_output(pd.DataFrame({"Antal læger": [2]}).to_html(index=False)),
            "shows a count of 2 in 'Antal læger'",
        ),
    ],
)
def test_each_disclosure_rule_stops_publishing(output, expected):
    problems = check_page(page(output), page="p.html", person_ids={"T0000042"}, min_cell=5)
    assert any(expected in line for line in problems), problems
    waived = check_page(page(output), page="p.html", person_ids={"T0000042"}, disclosure=False)
    if "shows a count" in expected:  # an analyst may waive the small-count rule only
        assert waived == []
    else:  # CPR numbers, person ids and person-level tables: never
        assert any(expected in line for line in waived), waived


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            nbformat.v4.new_output(
                "error",
                ename="ValueError",
                evalue="bad",
                traceback=["Traceback (most recent call last)", "ValueError: bad"],
            ),
            "Traceback",
        ),
        (
            nbformat.v4.new_output(
                "stream", name="stderr", text="RuntimeWarning: divide by zero\n"
            ),
            "a warning or error was printed",
        ),
        (
            nbformat.v4.new_output("stream", name="stdout", text="FutureWarning: will change\n"),
            "FutureWarning",
        ),
    ],
)
def test_errors_and_warnings_stop_publishing_even_for_analysts(output, expected):
    problems = check_page(page(output), page="p.html", disclosure=False)
    assert any(expected in line for line in problems), problems


def test_small_counts_already_suppressed_pass():
    df = pd.DataFrame({"Region": ["Nordjylland"], "Startet i I-stilling": ["<5"]})
    html = page(html_output(fmt.table(df, counts=["Startet i I-stilling"])._repr_html_()))
    assert check_page(html, page="p.html") == []


# --- the publish step -------------------------------------------------------------------------
@pytest.fixture
def project_with_outputs(tmp_path, small_dataset):
    """A project whose stage outputs exist, to publish from."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, root / name)
    write_processed(read_dataset(small_dataset), root / "data" / "processed")
    executed = root / "reports" / "executed"
    executed.mkdir(parents=True)
    stems = (
        "01_ingest",
        "02_growth",
        "03_retention",
        "04_scenarios",
        "05_initiatives",
        "09_ledelse",
    )
    for stem in stems:
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_markdown_cell(f"# {stem}"),
            nbformat.v4.new_code_cell("1", outputs=[html_output(counts_table(40))]),
        ]
        nbformat.write(nb, executed / f"{stem}.ipynb")
    (root / "reports" / "metrics").mkdir()
    (root / "reports" / "metrics" / "ingest.json").write_text(json.dumps({"rows": 1}))
    return root


def test_publish_writes_every_page(project_with_outputs):
    root = project_with_outputs
    publish(root, load_params(root))
    reports = root / "reports"
    site = reports / "site"
    assert sorted(p.name for p in (site / "analyse").iterdir()) == [
        "growth.html",
        "ingest.html",
        "initiatives.html",
        "retention.html",
        "supply.html",
    ]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.index('href="ledelse.html"') < index.index('href="analyse/ingest.html"')
    ledelse = (site / "ledelse.html").read_text(encoding="utf-8")
    assert 'class="highlight' not in ledelse and "x = 1" not in ledelse  # no code shown
    assert json.loads((reports / "metrics.json").read_text()) == {"ingest": {"rows": 1}}


def site_bytes(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted((root / "reports").rglob("*"))
        if p.is_file()
    }


@pytest.mark.skipif(not forked.available(), reason="one core: no child to prepare in")
def test_pages_prepared_in_a_child_are_the_pages_published_alone(project_with_outputs):
    """The runner prepares the researcher pages in a forked child while the report notebook
    runs; publishing with them writes the same bytes as publishing alone."""
    root = project_with_outputs
    params = load_params(root)
    publish(root, params)
    alone = site_bytes(root)
    prepared = forked.start(prepare, root, params).result()
    assert sorted(p.href for p in prepared.pages) == [
        f"analyse/{s}.html" for s in ("growth", "ingest", "initiatives", "retention", "supply")
    ]
    publish(root, params, prepared=prepared)
    assert site_bytes(root) == alone


def test_a_problem_found_while_preparing_stops_publishing(project_with_outputs):
    root = project_with_outputs
    params = load_params(root)
    prepared = prepare(root, params)
    prepared.problems.append("analyse/growth.html: a problem found beside the notebook")
    with pytest.raises(PublishError, match="nothing was published") as info:
        publish(root, params, prepared=prepared)
    assert "analyse/growth.html: a problem found beside the notebook" in info.value.problems
    assert not (root / "reports" / "site").exists()


def test_publish_refuses_and_writes_nothing_when_a_page_fails(project_with_outputs):
    root = project_with_outputs
    person = pd.read_parquet(root / "data" / "processed" / "trainees.parquet")["person_id"].iloc[0]
    nb = nbformat.read(root / "reports" / "executed" / "03_retention.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "p", outputs=[nbformat.v4.new_output("stream", name="stdout", text=f"{person}\n")]
        )
    )
    nbformat.write(nb, root / "reports" / "executed" / "03_retention.ipynb")
    with pytest.raises(PublishError) as info:
        publish(root, load_params(root))
    assert any(
        line.startswith("analyse/retention.html: 1 person_id value") for line in info.value.problems
    )
    leftovers = sorted(p.name for p in (root / "reports").iterdir())
    assert leftovers == ["executed", "metrics"], "nothing is published when a check fails"


def test_analyst_can_waive_disclosure_on_researcher_pages_only(project_with_outputs):
    root = project_with_outputs
    nb = nbformat.read(root / "reports" / "executed" / "03_retention.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("p", outputs=[html_output(counts_table(2))]))
    nbformat.write(nb, root / "reports" / "executed" / "03_retention.ipynb")
    params = load_params(root)
    params["report"]["publish_safe"] = False
    publish(root, params)  # researcher page with a small count: allowed when waived ...
    unpublished = root / "reports" / "unpublished" / "analyse" / "retention.html"
    assert "Må ikke offentliggøres" in unpublished.read_text(encoding="utf-8")
    site = root / "reports" / "site"
    assert not (site / "analyse").exists()  # ... but only outside the published site,
    assert "retention.html" not in (site / "index.html").read_text(encoding="utf-8")  # unlinked
    nbformat.write(nb, root / "reports" / "executed" / "09_ledelse.ipynb")
    with pytest.raises(PublishError, match=r"ledelse\.html"):
        publish(root, params)  # never on the leadership page


def test_waiving_disclosure_never_waives_cpr_person_ids_or_errors(project_with_outputs):
    root = project_with_outputs
    person = pd.read_parquet(root / "data" / "processed" / "trainees.parquet")["person_id"].iloc[0]
    params = load_params(root)
    params["report"]["publish_safe"] = False
    for text in (f"{person}\n", "nummer 010190-1234\n", "ValueError: broken\n"):
        nb = nbformat.read(root / "reports" / "executed" / "03_retention.ipynb", as_version=4)
        nb.cells.append(
            nbformat.v4.new_code_cell(
                "p", outputs=[nbformat.v4.new_output("stream", name="stdout", text=text)]
            )
        )
        nbformat.write(nb, root / "reports" / "executed" / "03_retention.ipynb")
        with pytest.raises(PublishError, match=r"analyse/retention\.html"):
            publish(root, params)


def test_a_failed_publish_keeps_the_previous_site_and_metrics(project_with_outputs):
    root = project_with_outputs
    publish(root, load_params(root))
    before = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "reports").rglob("*"))
        if p.is_file() and ("site" in p.parts or p.name == "metrics.json")
    }
    nb = nbformat.read(root / "reports" / "executed" / "09_ledelse.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("p", outputs=[html_output(counts_table(2))]))
    nbformat.write(nb, root / "reports" / "executed" / "09_ledelse.ipynb")
    with pytest.raises(PublishError):
        publish(root, load_params(root))
    after = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "reports").rglob("*"))
        if p.is_file() and ("site" in p.parts or p.name == "metrics.json")
    }
    assert after == before
    assert not list((root / "reports").glob(".site-*"))  # no staging left behind


def test_progress_lines_are_removed_but_real_warnings_still_stop_publishing():
    from pipeline.progress import PREFIX, setup_cell

    progress = nbformat.v4.new_output("stream", name="stderr", text=f"{PREFIX}rows read (50 %)\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [setup_cell(), nbformat.v4.new_code_cell("x", outputs=[progress])]
    html = export_html(nb, title="t", include_code=True)
    assert "rows read" not in html and "enable()" not in html
    assert check_page(html, page="p.html") == []
    nb.cells[1].outputs = [
        nbformat.v4.new_output(
            "stream", name="stderr", text=f"{PREFIX}step 1\nRuntimeWarning: overflow\n"
        )
    ]
    problems = check_page(export_html(nb, title="t", include_code=True), page="p.html")
    assert problems and "RuntimeWarning" in problems[0]


def test_the_code_version_changes_with_the_report_stages_code_only(tmp_path):
    """The version on a page follows the code that re-runs the report stage: an edit there
    changes it, an edit elsewhere (which DVC would not re-run the report for) does not."""
    from pipeline.publish.pages import code_version

    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("pipeline", "notebooks"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.pyc"))
    before = code_version(tmp_path)
    assert code_version(tmp_path) == before
    with (tmp_path / "pipeline" / "analysis" / "supply" / "exits.py").open("a") as f:
        f.write("\n# an edit the report stage does not run\n")
    assert code_version(tmp_path) == before
    with (tmp_path / "pipeline" / "publish" / "report.py").open("a") as f:
        f.write("\n# an edit the report stage runs\n")
    assert code_version(tmp_path) != before
