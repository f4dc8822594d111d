"""The Danish sentences state only what the numbers say: data that make each finding true, and
data that flip it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.supply import demand, tables
from pipeline.analysis.supply import targets as solver


def test_closing_the_gap_needs_the_whole_interval_at_or_below_zero():
    assert tables.closes_text(-30, -1) == "lukker gabet"
    assert tables.closes_text(-30, 12).startswith("lukker sandsynligvis")
    assert tables.closes_text(5, 40) == "lukker ikke gabet"


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (0.95, "næsten sikkert"),
        (0.05, "næppe"),
        (0.85, "over de ønskede"),
        (0.6, "under de ønskede"),
        (float("nan"), "ikke estimeret"),
    ],
)
def test_probabilities_in_words(p, words):
    assert words in tables.probability_words(p, 0.8)


def test_intervals_say_why_they_have_no_width():
    assert tables.interval_text(3.0, 3.0) == "ikke estimeret"
    assert tables.interval_text(3.0, 3.0, measured=True) == "målt i data"
    assert tables.interval_text(1.0, 2.0) == "1 til 2"
    assert tables.with_interval(float("nan"), 1, 2) == "ikke estimeret"


def sensitivity(widths: dict[str, float]) -> pd.DataFrame:
    rows = [
        {
            "input": "all",
            "year": 2035,
            "gap": 0,
            "gap_low": 0,
            "gap_high": 10,
            "width": sum(widths.values()),
        }
    ]
    rows += [
        {"input": k, "year": 2035, "gap": 0, "gap_low": 0, "gap_high": w, "width": w}
        for k, w in widths.items()
    ]
    return pd.DataFrame(rows)


def test_an_input_dominates_only_from_twice_the_next():
    assert "dominerer usikkerheden" in tables.sensitivity_text(
        sensitivity({"patients": 800, "fill": 100})
    )
    close = tables.sensitivity_text(sensitivity({"patients": 150, "fill": 100}))
    assert "giver den største usikkerhed" in close and "dominerer" not in close
    assert "Ingen" in tables.sensitivity_text(sensitivity({"patients": 0, "fill": 0}))


class _Run:
    def __init__(self, binds: bool):
        self.pool_binds = np.full((100, 3, 2), binds)


def test_the_pool_sentence_follows_the_share_of_draws_where_it_binds():
    assert "kun delvis besat" in tables.pool_text({"more_h_posts": _Run(True)})
    assert "læger nok" in tables.pool_text({"more_h_posts": _Run(False)})
    assert tables.pool_text({}) == ""


def required_row(status: str, **values) -> pd.DataFrame:
    row = {
        "specialty": "psychiatry",
        "year": 2035,
        "target": 1400,
        "posts": np.nan,
        "p_posts": 0.4,
        "p_max_posts": 0.4,
        "posts_with_levers": 6.0,
        "foreign_per_year": 20,
        "status": status,
        **values,
    }
    return pd.DataFrame([row])


def test_the_required_posts_sentence_per_status():
    text = lambda row: tables.required_text(row, 0.8, "all_levers", 2025)  # noqa: E731
    assert "ikke flere H-forløb" in text(required_row(solver.STATUS_REACHED, posts=0.0))
    posts = text(required_row(solver.STATUS_POSTS, posts=12.5, p_posts=0.8))
    assert "12,5 ekstra H-forløb om året fra 2026" in posts and "ikke nok" not in posts
    levers = text(required_row(solver.STATUS_WITH_LEVERS))
    assert "ikke nok" in levers and "Sammen med de øvrige tiltag" in levers
    foreign = text(required_row(solver.STATUS_WITH_FOREIGN))
    assert "20 rekrutterede udenlandske læger" in foreign
    idle = text(required_row(solver.STATUS_WITH_FOREIGN, posts_with_levers=0.0))
    assert "hjælper ekstra H-forløb heller ikke" in idle
    late = text(required_row(solver.STATUS_TOO_LATE))
    assert "først speciallæger efter 2035" in late


def side(headline: str, vacancies: bool) -> pd.DataFrame:
    rows = []
    for code in ("base_ratio", "vacancies", "target"):
        available = vacancies or code != "vacancies"
        rows.append(
            {
                "definition": code,
                "scope": "total",
                "start_year": 2025,
                "available": available,
                "headline": code == headline,
                "year": 2035,
                "gap": 100.0 if available else np.nan,
                "gap_low": 50.0,
                "gap_high": 150.0,
                "gap_start": 40.0,
                "notes": "" if available else demand.NOTE_NO_VACANCIES,
            }
        )
    return pd.DataFrame(rows)


def test_the_headline_says_which_definition_and_why():
    chosen = tables.headline_text(
        side("vacancies", True), "vacancies", "vacancies", None, "baseline"
    )
    assert "målte ubesatte stillinger" in chosen and "valgt i params.yaml" in chosen
    assert "Læger under uddannelse tælles ikke med" in chosen
    fallback = tables.headline_text(
        side("base_ratio", False), "vacancies", "base_ratio", demand.NOTE_FALLBACK, "baseline"
    )
    assert "data tillader den ikke" in fallback and "specialist_posts.csv" in fallback
