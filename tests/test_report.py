"""The leadership report's sentences follow the metrics: each claim is checked with metrics that
make it true and with metrics that flip it.

The metrics start from the demo's ``reports/metrics.json`` (so their shape is the pipeline's) and
the values a claim depends on are then set by hand.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from pipeline.publish import report

ROOT = Path(__file__).resolve().parents[1]
DEMO = json.loads((ROOT / "reports" / "metrics.json").read_text(encoding="utf-8"))
INFO = {
    "years": {"patients": [2013, 2024]},
    "synthetic": True,
    "directory": "data/raw/demo",
    "extract_date": "2025-03-01",
    "raw_dir": "data/raw/demo",
}


@pytest.fixture
def metrics() -> dict:
    return copy.deepcopy(DEMO)


def set_triple(section: dict, key: str, mid: float, low: float, high: float, kind: str = "pi"):
    section[key], section[f"{key}_{kind}_low"], section[f"{key}_{kind}_high"] = mid, low, high


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).replace("\u00a0", " ")


# --- the headline box ---------------------------------------------------------------------------
def test_headline_states_a_shortage_when_the_whole_interval_is_above_zero(metrics):
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["supply"], f"specialist_gap_{year}", 500, 300, 700)
    text = plain(report.headline(metrics))
    assert f"I {year} mangler der 500 speciallæger (95 %-interval 300 til 700)" in text


def test_headline_states_a_surplus_when_the_whole_interval_is_below_zero(metrics):
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["supply"], f"specialist_gap_{year}", -400, -600, -200)
    text = plain(report.headline(metrics))
    assert f"I {year} er der 400 speciallæger flere end behovet" in text
    assert "mangler der 400" not in text


def test_headline_says_the_interval_holds_both_when_it_covers_zero(metrics):
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["supply"], f"specialist_gap_{year}", 120, -80, 400)
    text = plain(report.headline(metrics))
    assert "efter bedste skøn 120 speciallæger" in text
    assert "rummer også et overskud" in text


def test_headline_uses_the_horizon_year_from_the_metrics(metrics):
    """A horizon of 2040 (growth.horizon_year) moves the headline to 2040."""
    metrics["growth"]["horizon_year"] = 2040
    set_triple(metrics["supply"], "specialist_gap_2040", 900, 600, 1200)
    set_triple(metrics["growth"], "gap_2040", 1000, 500, 1500)
    text = plain(report.headline(metrics))
    assert "I 2040 mangler der 900 speciallæger" in text
    assert "vækstmodellen siger: i 2040 mangler der 1.000 læger" in text


def test_headline_without_a_supply_model_falls_back_to_the_growth_model(metrics):
    metrics.pop("supply")
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["growth"], f"gap_{year}", 700, 100, 1300)
    text = plain(report.headline(metrics))
    assert f"I {year} mangler der 700 læger" in text
    assert "vækstmodellen" in text


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"foreign_per_year": -80, "exit_reduction_over_65": -50}, "15 udenlandske læger om året"),
        ({"foreign_per_year": -10, "exit_reduction_over_65": -50}, "25 %"),
    ],
)
def test_the_strongest_lever_is_the_one_that_lowers_the_gap_most(metrics, changes, expected):
    for lever, change in changes.items():
        set_triple(
            metrics["supply"]["levers"][lever],
            "specialist_gap_change",
            change,
            change - 5,
            change + 5,
        )
    text = plain(report.headline(metrics))
    line = next(p for p in text.split("\n") if "alene flytter mest" in p)
    assert expected in line, line


def test_the_largest_uncertainty_is_the_widest_single_input(metrics):
    sensitivity = metrics["supply"]["sensitivity"]
    for name in sensitivity:
        sensitivity[name]["width"] = 10.0
    sensitivity["all"]["width"] = 10_000.0  # all inputs together is not a single input
    sensitivity["fill"]["width"] = 500.0
    assert report.largest_uncertainty(metrics["supply"]) == "fill"
    sensitivity["process"]["width"] = 900.0
    assert report.largest_uncertainty(metrics["supply"]) == "process"


# --- key numbers --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rate", "low", "high", "expected"),
    [
        (0.03, 0.01, 0.05, "er vokset med 3,0 % om året"),
        (-0.02, -0.03, -0.01, "er faldet med 2,0 % om året"),
        (0.01, -0.02, 0.04, "har ikke ændret sig tydeligt"),
    ],
)
def test_key_numbers_say_how_patients_changed(metrics, rate, low, high, expected):
    set_triple(metrics["growth"], "patients_growth_rate", rate, low, high, kind="ci")
    text = plain(report.key_numbers(metrics, INFO))
    line = next(li for li in text.splitlines() if li.startswith("* **Patienter:**"))
    assert f"regionspsykiatrien {expected}" in line, line


def test_key_numbers_name_every_key_year_including_the_horizon(metrics):
    metrics["growth"]["horizon_year"] = 2040
    set_triple(metrics["growth"], "gap_2040", 1000, 500, 1500)
    text = report.key_numbers(metrics, INFO)
    for year in report.key_years(metrics):
        assert f"i {year} " in text
    assert 2040 in report.key_years(metrics)


def test_key_numbers_flip_when_combined_tracks_are_slower(metrics):
    r = metrics["retention"]
    set_triple(r, "hr_combined_track", 1.8, 1.3, 2.4, kind="ci")
    faster = plain(report.key_numbers(metrics, INFO))
    set_triple(r, "hr_combined_track", 0.5, 0.3, 0.8, kind="ci")
    slower = plain(report.key_numbers(metrics, INFO))
    assert "hurtigere" in faster and "hurtigere" not in slower
    assert "langsommere" in slower


def test_percent_signs_are_kept_with_their_number():
    metrics = copy.deepcopy(DEMO)
    text = report.key_numbers(metrics, INFO) + report.headline(metrics)
    assert not re.search(r"\d %", text), "a plain space before % can break the line"


# --- how to read, sources -----------------------------------------------------------------------
def test_how_to_read_lists_the_inputs_the_intervals_hold(metrics):
    sensitivity = metrics["supply"]["sensitivity"]
    for name in sensitivity:
        sensitivity[name]["width"] = 0.0
    sensitivity["fill"]["width"] = 50.0
    text = report.how_to_read(metrics, 5)
    held = next(li for li in text.splitlines() if "Hvad intervallerne rummer" in li)
    assert "usikkerheden i andel af H-forløb, der besættes." in held, held
    assert "vergang fra I- til H-forløb«" in held, "a fixed input keeps its capitals"
    assert "færre end 5 personer" in text
    sensitivity["fill"]["width"] = 0.0
    held = next(
        li for li in report.how_to_read(metrics, 5).splitlines() if "intervallerne rummer" in li
    )
    assert "kun de tilfældige udsving" in held


def test_no_page_text_speaks_of_the_pipeline(metrics):
    from pipeline.data.catalog import Catalog

    texts = [
        report.intro(INFO),
        report.how_to_read(metrics, 5),
        report.key_numbers(metrics, INFO),
        report.headline(metrics),
        report.sources(INFO, Catalog(ROOT).load_reference(), "abc1234"),
        *report.captions(metrics).values(),
    ]
    for text in texts:
        assert "pipeline" not in text.lower(), text


def test_captions_follow_the_numbers(metrics):
    before = report.captions(metrics)
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["supply"], f"specialist_gap_{year}", -300, -500, -100)
    for name in metrics["supply"].get("scenarios", {}):
        set_triple(metrics["supply"]["scenarios"][name], f"specialist_gap_{year}", -300, -500, -100)
    after = report.captions(metrics)
    assert before != after


def test_how_to_read_explains_the_marks_only_when_there_are_initiatives(metrics):
    assert metrics.get("initiatives"), "the demo has initiatives"
    assert "Tiltag på figurerne" in report.how_to_read(metrics, 5)
    metrics.pop("initiatives")
    assert "Tiltag på figurerne" not in report.how_to_read(metrics, 5)


def test_levers_on_a_surplus_say_they_add_to_it(metrics):
    year = metrics["growth"]["horizon_year"]
    scenarios = metrics["supply"]["scenarios"]
    set_triple(scenarios["baseline"], f"specialist_gap_{year}", -600, -900, -300)
    set_triple(scenarios["all_levers"], f"specialist_gap_{year}", -800, -1100, -500)
    text = plain(report.key_numbers(metrics, INFO))
    assert "Alle tiltag samtidig øger overskuddet" in text
    assert "lukker gabet" not in text
    set_triple(scenarios["baseline"], f"specialist_gap_{year}", 600, 300, 900)
    set_triple(scenarios["all_levers"], f"specialist_gap_{year}", -100, -300, 100)
    assert "Alle tiltag samtidig kan lukke gabet" in plain(report.key_numbers(metrics, INFO))


def test_a_lever_on_a_likely_surplus_is_said_in_surplus_words(metrics):
    """Best estimate a surplus, interval reaching a shortage: the lever adds to the surplus."""
    year = metrics["growth"]["horizon_year"]
    set_triple(metrics["supply"], f"specialist_gap_{year}", -370, -780, 90)
    text = plain(report.headline(metrics))
    assert "rummer også en mangel" in text
    line = next(p for p in text.split("\n") if "alene flytter mest" in p)
    assert "øger overskuddet" in line and "manglen" not in line, line


def test_the_gap_under_every_demand_definition_side_by_side(metrics):
    s = metrics["supply"]
    s["headline_demand"], s["headline_demand_note"] = "vacancies", None
    for name, (gap, low, high) in {
        "vacancies": (500, 300, 700),
        "base_ratio": (-200, -400, -50),
        "target": (100, -50, 250),
    }.items():
        s["demand"][name].update(available=True, year=2035)
        set_triple(s["demand"][name], "specialist_gap", gap, low, high)
    line = report.definitions_line(s)
    assert "med »målte ubesatte stillinger« mangler der 500 speciallæger" in line
    assert "med »basisåret var i balance« er der 200 speciallæger flere end behovet" in line
    assert "med »nationale mål« mangler der efter bedste skøn 100" in line
    assert "Overskriften bruger »målte ubesatte stillinger«, fordi den bygger på en målt" in line
    s["headline_demand"] = "base_ratio"
    assert "bruger »basisåret var i balance«, fordi den er valgt i params.yaml" in (
        report.definitions_line(s)
    )
    s["demand"]["vacancies"]["available"] = False  # no specialist_posts.csv
    assert "ubesatte" not in report.definitions_line(s)
    s["demand"]["target"]["available"] = False
    assert report.definitions_line(s) is None  # one definition: nothing to compare
