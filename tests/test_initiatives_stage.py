"""The initiatives stage: its Danish verdicts and tables, what it publishes, the chart marks, and
the notebook end to end with and without an initiatives.csv.

Every verdict sentence is tested with numbers that make it true and numbers that flip it. The
model itself is tested against known truth in test_initiatives_model.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from pipeline.analysis.initiatives import model, published, tables
from pipeline.data.catalog import Catalog
from pipeline.data.ingest import read_dataset, write_processed
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check
from pipeline.publish.marks import HEADROOM, mark_initiatives, year_position

matplotlib.use("Agg")
NBSP = "\u00a0"


def row(**fields) -> dict:
    """A result row (``model.RESULT_COLUMNS``) of an estimable increase in percentage points;
    ``fields`` change it."""
    base = {
        "initiative_id": "NJ1",
        "outcome": "h_fill_rate",
        "region": "Nordjylland",
        "specialty": "",
        "start_year": 2019,
        "end_year": None,
        "estimable": True,
        "reason": None,
        "verdict": "",
        "unit": "percentage_points",
        "effect": 0.042,
        "ci_low": 0.01,
        "ci_high": 0.075,
        "p_value": 0.02,
        "pre_trend_p": 0.5,
        "mde": 0.05,
        "n_placebos": 40,
        "n_pre_trend_placebos": 30,
        "leads": 3,
        "pre_years": 9,
        "post_years": 7,
        "notes": "",
        "concurrent_elsewhere": "",
        "concurrent_here": "",
        "method": model.METHOD,
    }
    return base | fields


# --------------------------------------------------------------------------------------------
# Verdicts: numbers that make each true, and numbers that flip it
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "code", "short"),
    [
        # The 95 % interval above 0: an increase; touching 0 it is not.
        ({}, "increase", "Stigning (hele 95 %-intervallet over 0)"),
        (
            {"ci_low": -0.001},
            "no_detectable_change",
            "Ingen påviselig ændring (data kunne kun have set ændringer større end "
            "5,0 procentpoint)",
        ),
        # Below 0: a decrease; reaching above 0 it is not.
        ({"effect": -0.04, "ci_low": -0.08, "ci_high": -0.01}, "decrease", "Fald"),
        (
            {"effect": -0.04, "ci_low": -0.08, "ci_high": 0.001},
            "no_detectable_change",
            "Ingen påviselig ændring",
        ),
        # Pre-trend p below 0.10 overrides an interval above 0; at 0.10 it does not.
        (
            {"pre_trend_p": 0.09},
            "pre_trend",
            "Forskellige tendenser før start – effekten kan ikke adskilles (p = 0,090 for ens "
            "udvikling før start; grænsen er 0,10)",
        ),
        ({"pre_trend_p": 0.10}, "increase", "Stigning"),
        ({"pre_trend_p": None}, "increase", "Stigning"),
        # Not estimable: the reason in plain Danish.
        (
            {"estimable": False, "reason": "national", "effect": None, "ci_low": None,
             "ci_high": None},
            "not_estimable",
            "Kan ikke vurderes: landsdækkende tiltag uden sammenligningsregioner",
        ),
        (
            {"estimable": False, "reason": "too_few_placebos", "ci_low": None, "ci_high": None,
             "n_placebos": 9},
            "not_estimable",
            "Kan ikke vurderes: for få år og regioner til et ærligt 95 %-interval "
            "(kun 9 placebo-tiltag)",
        ),
        # No interval at all although estimable: the data cannot bound the effect.
        (
            {"reason": "unbounded_interval", "ci_low": None, "ci_high": None, "mde": None},
            "no_detectable_change",
            "Ingen påviselig ændring – data kan ikke afgrænse effekten",
        ),
        (
            {"ci_low": -0.02, "mde": None},
            "no_detectable_change",
            "Ingen påviselig ændring (data kunne ikke have set selv meget store ændringer)",
        ),
        # A relative change is in percent.
        (
            {"unit": "percent", "ci_low": -0.05, "mde": 0.12},
            "no_detectable_change",
            f"Ingen påviselig ændring (data kunne kun have set ændringer større end 12,0{NBSP}%)",
        ),
    ],
)  # fmt: skip
def test_verdict_from_the_numbers(fields, code, short):
    r = row(**fields)
    assert tables.verdict_code(r) == code
    assert tables.verdict_text(r).startswith(short)


def test_a_verdict_says_when_another_initiative_ran_alongside():
    assert tables.verdict_text(row(concurrent_here="MJ2|MJ3")) == (
        "Stigning (hele 95 %-intervallet over 0); regionen havde også MJ2 og MJ3 på samme "
        "udfald – kan ikke skilles ad"
    )
    assert tables.verdict_text(row(concurrent_elsewhere="SJ1")) == (
        "Stigning (hele 95 %-intervallet over 0)"
    )


def test_the_verdict_ignores_a_stale_verdict_code():
    """The verdict is recomputed from the numbers, never read from the row."""
    assert tables.verdict_code(row(verdict="decrease")) == "increase"


def test_result_sentences_say_what_and_how_sure():
    up = tables.result_text(row())
    assert "stigning" in up and "steg udfaldet med 4,2 procentpoint mere" in up
    assert "95 %-interval +1,0 til +7,5 procentpoint" in up and "over 0" in up
    assert "p = 0,020" in up
    down = tables.result_text(row(effect=-0.04, ci_low=-0.08, ci_high=-0.01))
    assert "faldt udfaldet med 4,0 procentpoint" in down and "under 0" in down
    flat = tables.result_text(row(ci_low=-0.02))
    assert "indeholder 0" in flat and "større end 5,0 procentpoint" in flat
    assert "80 % sandsynlighed" in flat
    trend = tables.result_text(row(pre_trend_p=0.04))
    assert "anderledes end de øvrige regioner" in trend and "p = 0,040" in trend
    assert "grænsen er 0,10" in trend and "kan ikke tilskrives tiltaget" in trend
    few = tables.result_text(
        row(estimable=False, reason="too_few_placebos", ci_low=None, ci_high=None, n_placebos=9)
    )
    assert "kan ikke vurderes" in few and "+4,2 procentpoint" in few
    national = tables.result_text(
        row(estimable=False, reason="national", effect=None, ci_low=None, ci_high=None,
            concurrent_elsewhere="MJ1")
    )  # fmt: skip
    assert national.endswith("landsdækkende tiltag uden sammenligningsregioner.")


def test_notes_and_concurrent_initiatives_are_said():
    text = tables.result_text(
        row(
            notes="few_post_years|no_leads|interval_not_connected",
            post_years=1,
            concurrent_here="NJ2",
            concurrent_elsewhere="MJ1|SJ1",
        )
    )
    assert "Kun 1 år med data fra start" in text
    assert "For få år før start" in text and "har huller" in text
    assert "Regionen havde også tiltag NJ2" in text and "(MJ1 og SJ1)" in text
    assert tables.notes_text(row()) == []


def test_amounts_in_their_units():
    assert tables.amount(0.042, "percentage_points") == "+4,2 procentpoint"
    assert tables.amount(-0.031, "percent") == f"−3,1{NBSP}%"
    assert tables.amount(0.0001, "percentage_points") == "0,0 procentpoint"
    assert tables.amount(-0.05, "percentage_points", signed=False) == "5,0 procentpoint"
    assert tables.amount(None, "percent") == "–"
    assert tables.interval_text(-0.01, 0.075, "percentage_points") == ("−1,0 til +7,5 procentpoint")
    assert tables.change_text(row()) == "+4,2 procentpoint (+1,0 til +7,5)"
    assert tables.change_text(row(ci_low=None)) == "+4,2 procentpoint (intet interval)"
    assert tables.change_text(row(effect=None)) == "–"


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def contract_initiatives() -> pd.DataFrame:
    """An initiatives table as ingest types it."""
    df = pd.DataFrame(
        {
            "initiative_id": ["MJ1", "NJ1", "DK1"],
            "name": ["Rekruttering", "Sammenhængende forløb", "National plan"],
            "region": ["Midtjylland", "Nordjylland", "Danmark"],
            "specialty": [None, "psychiatry", None],
            "start": pd.to_datetime(["2019-03-01", "2018-09-01", "2020-01-01"]),
            "end": pd.to_datetime([None, "2022-08-31", None]),
            "outcomes": ["specialists", "h_fill_rate|conversion", "h_fill_rate"],
        }
    )
    return df.astype({"start": "datetime64[s]", "end": "datetime64[s]"})


def test_register_is_the_declared_dataset(tmp_path):
    register = published.register(contract_initiatives())
    assert list(register.columns) == published.REGISTER_COLUMNS
    assert list(register["initiative_id"]) == ["NJ1", "MJ1", "DK1"]  # by start
    nj = register.iloc[0]
    assert (nj["specialty"], nj["start_year"], nj["end_year"]) == ("psychiatry", 2019, 2022)
    assert register.iloc[1]["specialty"] == "" and pd.isna(register.iloc[1]["end_year"])
    catalog = Catalog(tmp_path)
    catalog.save(register, "initiatives/register")  # checked against its declaration
    assert len(catalog.load("initiatives/register")) == 3
    empty = published.register(None)
    assert list(empty.columns) == published.REGISTER_COLUMNS and empty.empty
    catalog.save(empty, "initiatives/register")


def test_register_table_and_data_text():
    register = published.register(contract_initiatives())
    shown = tables.register_table(register)
    nj = shown.iloc[0]
    assert nj["Speciale"] == "Psykiatri" and nj["Slut"] == "31. august 2022"
    assert nj["År med tiltaget"] == "2019–2022"
    assert nj["Udfald"] == (
        "Besatte H-forløb (andel af opslåede), Overgang fra I-stilling til H-forløb i psykiatrien"
    )
    assert shown.iloc[2]["Region"] == "Hele landet" and shown.iloc[2]["Slut"] == "løber stadig"
    assert tables.data_text(register).startswith(
        "Udtrækket indeholder 3 tiltag (2 regionale og 1 landsdækkende), der tilsammen skulle "
        "påvirke 4 udfald."
    )
    assert "ingen tiltag" in tables.data_text(published.register(None))


def test_leadership_table():
    register = published.register(contract_initiatives())
    results = pd.DataFrame(
        [
            row(),
            row(initiative_id="MJ1", region="Midtjylland", outcome="specialists", unit="percent",
                effect=0.02, ci_low=-0.05, ci_high=0.09, mde=0.12),
            row(initiative_id="DK1", region="Danmark", estimable=False, reason="national",
                effect=None, ci_low=None, ci_high=None),
        ]
    )  # fmt: skip
    table = tables.leadership_table(results, register)
    assert list(table.columns) == [
        "Tiltag",
        "Region",
        "Start",
        "Udfald",
        "Ændring (95 %-interval)",
        "Vurdering",
    ]
    assert table.iloc[0].tolist() == [
        "Sammenhængende forløb (NJ1)",
        "Nordjylland",
        "september 2018",
        "Besatte H-forløb (andel af opslåede)",
        "+4,2 procentpoint (+1,0 til +7,5)",
        "Stigning (hele 95 %-intervallet over 0)",
    ]
    assert table.iloc[1]["Ændring (95 %-interval)"] == f"+2,0{NBSP}% (−5,0 til +9,0)"
    assert table.iloc[2]["Region"] == "Hele landet"
    assert table.iloc[2]["Vurdering"].startswith("Kan ikke vurderes: landsdækkende")
    bare = tables.leadership_table(results)  # without the register: ids and first years
    assert (bare.iloc[0]["Tiltag"], bare.iloc[0]["Start"]) == ("NJ1", "2019")
    assert tables.leadership_table(results.iloc[:0]).empty


def test_summary_and_method_text():
    results = pd.DataFrame([row(), row(ci_low=-0.01), row(pre_trend_p=0.01), row(ci_low=-0.02)])
    assert tables.summary_text(results) == (
        "4 vurderinger af tiltag og udfald: 1 med påviselig stigning, 2 uden påviselig ændring "
        "og 1 med forskellige tendenser før start."
    )
    text = tables.method_text(leads=3, min_placebos=20, min_post_years=2, horizon_years=3)
    assert "randomiseringsinferens" in text and "fem regioner" in text
    assert "klyngerobuste standardfejl" in text and "wild cluster bootstrap" in text
    assert "mindst 5 år før og 2 år fra start" in text and "færre end 20" in text
    assert "under 0,10" in text and "80 % sandsynlighed" in text


def test_effects_table_for_the_analysis_page():
    shown = tables.effects_table(pd.DataFrame([row(), row(outcome="conversion", ci_low=-0.01)]))
    assert shown.iloc[0]["Vurdering"].startswith("Stigning")
    assert shown.iloc[1]["Udfald"] == "Overgang fra I-stilling til H-forløb i psykiatrien"
    assert shown.iloc[0]["Mindste påviselige ændring"] == "5,0 procentpoint"


# --------------------------------------------------------------------------------------------
# What is published: no small counts, not even as a share
# --------------------------------------------------------------------------------------------
def panel(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=model.PANEL_COLUMNS).astype({"weight": float})


def test_a_share_is_shown_only_where_its_counts_could_be():
    p = panel(
        [
            ("Nordjylland", 2018, 6 / 10, 10),  # 6 filled, 4 not: the 4 is too small
            ("Nordjylland", 2019, 5 / 10, 10),  # 5 and 5
            ("Nordjylland", 2020, 10 / 10, 10),  # 10 and 0: zeros describe nobody
            ("Nordjylland", 2021, 2 / 3, 3),
        ]
    )
    assert published.shown_cells(p, "h_fill_rate", 5).tolist() == [False, True, True, False]
    assert published.shown_cells(p, "h_fill_rate", 3).tolist() == [True, True, True, False]
    heads = panel([("Nordjylland", 2019, np.log(4), 1), ("Nordjylland", 2020, np.log(40), 1)])
    assert published.shown_cells(heads, "specialists", 5).tolist() == [False, True]


def test_a_hidden_cell_hides_the_comparison_and_its_event_study_year():
    rows = []
    for region in ("Nordjylland", "Midtjylland", "Sjælland"):
        for year in (2017, 2018, 2019):
            filled = 3 if (region, year) == ("Nordjylland", 2018) else 20
            rows.append((region, year, filled / 40, 40))
    series = published.comparison_series(panel(rows), "Nordjylland", "h_fill_rate", 5)
    hidden = series.set_index("year")
    assert hidden.loc[2018, "hidden"] and hidden.loc[2018, ["treated", "others"]].isna().all()
    assert hidden.loc[2017, "treated"] == 0.5 and hidden.loc[2017, "others"] == 0.5
    national = published.comparison_series(panel(rows), "Danmark", "h_fill_rate", 5)
    assert national["others"].isna().all()
    assert national.set_index("year").loc[2018, "treated"] == pytest.approx(43 / 120)

    study = pd.DataFrame(
        {"event_time": [-1, 0], "year": [2017, 2018], "estimate": [0.0, 0.1],
         "ci_low": [-0.1, 0.0], "ci_high": [0.1, 0.2]}
    )  # fmt: skip
    result = model.EffectResult("Nordjylland", 2018, None, True, None, "increase",
                                "percentage_points", event_study=study)  # fmt: skip
    results = pd.DataFrame([{"initiative_id": "NJ1", "outcome": "h_fill_rate", "result": result}])
    table = series.assign(initiative_id="NJ1", outcome="h_fill_rate", region="Nordjylland")
    assert published.event_study_table(results, table)["year"].tolist() == [2017]


def test_published_outputs_of_the_small_dataset(small_dataset):
    data = read_dataset(small_dataset).tables
    register = published.register(contract_initiatives()).query("initiative_id != 'NJ1'")
    out = published.evaluate(
        register, data, horizon_years=3, leads=3, min_post_years=2, min_placebos=20, min_cell=5
    )
    assert "result" not in out.effects and len(out.effects) == 2
    assert set(out.series["initiative_id"]) == {"MJ1", "DK1"}
    assert (out.series["scale"] == "index").sum() == (out.series["outcome"] == "specialists").sum()
    actual = out.placebos[out.placebos["actual"]]
    assert len(actual) == out.effects["effect"].notna().sum()  # one per estimated effect
    mj = out.effects.set_index(["initiative_id", "outcome"]).loc[("MJ1", "specialists")]
    assert mj["unit"] == "percent"
    empty = published.evaluate(
        published.register(None), {}, horizon_years=3, leads=3, min_post_years=2,
        min_placebos=20, min_cell=5,
    )  # fmt: skip
    assert empty.effects.empty and empty.series.empty and empty.placebos.empty
    assert model.metrics(empty.results) == {}


# --------------------------------------------------------------------------------------------
# Marks on other stages' charts
# --------------------------------------------------------------------------------------------
def test_mark_initiatives_draws_the_regions_and_national_initiatives_only():
    import matplotlib.pyplot as plt

    register = published.register(contract_initiatives())
    fig, ax = plt.subplots()
    ax.plot(range(2010, 2026), np.linspace(0.5, 0.8, 16))
    ax.set_xlim(2009.5, 2025.5)
    ax.set_ylim(0, 1)
    patches, lines = len(ax.patches), len(ax.lines)
    drawn = mark_initiatives(ax, register, "Nordjylland")
    assert drawn == ["NJ1", "DK1"]  # not Midtjylland's MJ1; by start
    assert len(ax.patches) == patches + 2
    assert len(ax.lines) == lines + 3  # two starts and NJ1's end
    assert [t.get_text().strip() for t in ax.texts] == ["NJ1", "DK1"]
    assert ax.get_xlim() == (2009.5, 2025.5)  # an ongoing span stops at the edge
    assert ax.get_ylim()[1] > 1 and max(ax.get_yticks()) <= 1  # a band above the data
    # The labels sit above the data, not on it.
    assert all(t.get_position()[1] > 1 for t in ax.texts)
    plt.close(fig)

    fig, ax = plt.subplots()
    ax.set_xlim(2009.5, 2025.5)
    assert mark_initiatives(
        ax, register, "Nordjylland", specialty="child_adolescent_psychiatry"
    ) == ["DK1"]  # NJ1 concerned psychiatry only
    assert mark_initiatives(ax, register, "Syddanmark") == ["DK1"]
    assert mark_initiatives(ax, register.iloc[:0], "Syddanmark") == []
    plt.close(fig)

    fig, ax = plt.subplots()
    ax.set_xlim(2009.5, 2025.5)
    assert mark_initiatives(ax, register, "Nordjylland", highlight="NJ1") == ["NJ1", "DK1"]
    assert len(ax.patches) == 1  # only NJ1's span; DK1 gets its line and label
    plt.close(fig)

    fig, ax = plt.subplots()
    ax.set_xlim(2010.5, 2017.5)  # every initiative starts after the chart: nothing drawn
    assert mark_initiatives(ax, register, "Nordjylland") == []
    plt.close(fig)


def test_panels_sharing_a_y_axis_share_one_label_band_and_keep_all_their_data():
    """Marking panel after panel must neither stack band on band nor cut a later panel's data."""
    import matplotlib.pyplot as plt

    from pipeline.analysis.growth.figures import plot_index

    register = published.register(contract_initiatives())
    years = list(range(2010, 2026))
    rows = [
        {"geography": g, "group": "total", "measure": m, "year": y, "index": value}
        for g, top in (("Nordjylland", 120.0), ("Syddanmark", 180.0))
        for m in ("patients", "physicians")
        for y, value in zip(years, np.linspace(100, top, len(years)), strict=True)
    ]
    index, shown = pd.DataFrame(rows), ["Nordjylland", "Syddanmark"]
    plain = plot_index(index, shown, ["total"], 2013)
    bottom, data_top = plain.axes[0].get_ylim()
    plt.close(plain)
    fig = plot_index(index, shown, ["total"], 2013, register)
    first, second = fig.axes[:2]
    assert first.get_ylim() == second.get_ylim()
    assert data_top > 180, "the second panel's data (up to 180) is inside the shared y axis"
    label_rows = {round(t.get_position()[1], 6) for ax in (first, second) for t in ax.texts}
    band = HEADROOM * (data_top - bottom) * len(label_rows)
    assert first.get_ylim() == pytest.approx((bottom, data_top + band)), "one band, not two"
    assert max(first.get_yticks()) <= data_top
    plt.close(fig)


@pytest.mark.parametrize("date", ["2019-01-01", "2019-06-30", "2019-07-01", "2019-12-31"])
def test_a_year_is_inside_the_span_when_at_least_half_is_covered(date):
    """The marks agree with the model's treated years at every boundary."""
    first, _ = model.treatment_years(date)
    assert year_position(date) < first < year_position(date) + 1
    _, last = model.treatment_years("2010-01-01", date)
    assert year_position(date) - 1 < last < year_position(date)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"leads": 0}, "initiatives.leads: 0 must be between 1 and 8"),
        ({"min_post_years": 0}, "initiatives.min_post_years: 0 must be at least 1"),
        ({"min_placebos": 10}, "initiatives.min_placebos: 10 is too few"),
    ],
)
def test_parameter_rules(change, message):
    check(DEFAULTS)  # the defaults pass
    params = {**DEFAULTS, "initiatives": {**DEFAULTS["initiatives"], **change}}
    with pytest.raises(ParamError) as info:
        check(params)
    assert any(message in line for line in info.value.problems)


# --------------------------------------------------------------------------------------------
# The notebook end to end
# --------------------------------------------------------------------------------------------
INITIATIVES_CSV = """initiative_id,name,region,specialty,start,end,outcomes
NJ_REK,Rekruttering af speciallæger,Nordjylland,,2016-02-01,,h_fill_rate|specialists
DK_PLAN,National plan,Danmark,,2018-01-01,,h_fill_rate
"""


def stage_project(tmp_path: Path, raw: Path, monkeypatch) -> Path:
    """A minimal project (tests/test_runner.py::make_project) with ingest's output written
    directly, ready for the initiatives stage."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "notebooks", project / "notebooks")
    write_processed(read_dataset(raw), project / "data" / "processed")
    # The kernel imports `pipeline` from this checkout (not from another editable install).
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return project


def page_problems(project: Path) -> list[str]:
    """What the report stage's safety check would refuse on the stage's page."""
    from pipeline.publish.pages import export_html
    from pipeline.publish.safety import check_page

    nb = nbformat.read(project / "reports" / "executed" / "05_initiatives.ipynb", as_version=4)
    html = export_html(nb, title="Tiltag", include_code=True)
    ids = set(pd.read_parquet(project / "data" / "processed" / "trainees.parquet")["person_id"])
    return check_page(html, page="initiatives.html", person_ids=ids, min_cell=5)


@pytest.mark.slow
def test_stage_runs_with_initiatives(tmp_path, small_dataset, monkeypatch):
    from pipeline.runner import run_stage

    raw = tmp_path / "raw"
    shutil.copytree(small_dataset, raw)
    (raw / "initiatives.csv").write_text(INITIATIVES_CSV, encoding="utf-8")
    project = stage_project(tmp_path, raw, monkeypatch)
    run_stage("initiatives", project)

    catalog = Catalog(project)
    metrics = catalog.load_metrics()["initiatives"]  # as reports/metrics.json nests them
    assert set(metrics) == {"NJ_REK", "DK_PLAN"}
    assert set(metrics["NJ_REK"]) == {"h_fill_rate", "specialists"}
    for entry in (metrics["NJ_REK"]["h_fill_rate"], metrics["NJ_REK"]["specialists"]):
        assert {"effect", "effect_ci_low", "effect_ci_high", "pre_trend_p"} <= set(entry)
        assert entry["effect"] is not None
    assert metrics["DK_PLAN"]["h_fill_rate"]["effect"] is None
    assert metrics["DK_PLAN"]["h_fill_rate"]["reason"] == "national"

    folder = project / "reports" / "figures" / "initiatives"
    figures = sorted(p.name for p in folder.iterdir() if p.is_file())  # narrow/: phone versions
    assert figures == ["tiltag_DK_PLAN.png", "tiltag_NJ_REK.png"]
    assert len(catalog.load("initiatives/register")) == 2
    leadership = catalog.load("initiatives/tiltag_og_effekt")
    assert list(leadership.columns) == tables.LEADERSHIP_COLUMNS and len(leadership) == 3
    assert page_problems(project) == []


@pytest.mark.slow
def test_stage_runs_without_initiatives(tmp_path, small_dataset, monkeypatch):
    from pipeline.runner import run_stage

    raw = tmp_path / "raw"
    shutil.copytree(small_dataset, raw)
    (raw / "initiatives.csv").unlink(missing_ok=True)  # the input is optional
    project = stage_project(tmp_path, raw, monkeypatch)
    run_stage("initiatives", project)
    catalog = Catalog(project)
    assert json.loads(catalog.metrics_path("initiatives").read_text()) == {}
    assert catalog.load("initiatives/register").empty
    assert catalog.load("initiatives/effects").empty
    assert (project / "reports" / "figures" / "initiatives").is_dir()
    nb = (project / "reports" / "executed" / "05_initiatives.ipynb").read_text(encoding="utf-8")
    assert "Udtrækket indeholder ingen tiltag" in nb
    assert page_problems(project) == []
