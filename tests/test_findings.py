"""Every finding a page states, with numbers that make it true and numbers that flip it."""

from __future__ import annotations

import pytest

from pipeline.publish import findings
from pipeline.publish.labels import lower_first


@pytest.mark.parametrize(
    ("rate", "low", "high", "expected"),
    [
        (0.037, 0.01, 0.06, "er vokset med 3,7\u00a0% om året"),
        (-0.002, -0.004, -0.001, "er faldet med 0,2\u00a0% om året"),
        (-0.002, -0.01, 0.005, "har ikke ændret sig tydeligt (−0,2\u00a0% om året"),
    ],
)
def test_grown_fallen_or_no_clear_change(rate, low, high, expected):
    text = findings.growth(rate, low, high)
    assert text.startswith(expected), text
    assert "vokset med −" not in text


@pytest.mark.parametrize(
    ("difference", "low", "high", "expected"),
    [
        (0.03, 0.01, 0.05, "hurtigere end"),
        (-0.03, -0.05, -0.01, "langsommere end"),
        (0.03, -0.01, 0.07, "ikke tydeligt anderledes end"),
    ],
)
def test_patients_faster_slower_or_no_clear_difference(difference, low, high, expected):
    assert findings.faster(difference, low, high) == expected


@pytest.mark.parametrize(
    ("gap", "low", "high", "expected", "kind"),
    [
        (819, 300, 1500, "mangler der 819 læger", "shortage"),
        (-1079, -1500, -600, "er der 1.079 læger flere end behovet", "surplus"),
        (120, -200, 500, "mangler der efter bedste skøn 120 læger, men", "balance"),
        (-120, -500, 200, "er der efter bedste skøn 120 læger flere end behovet, men", "balance"),
        (250, 250, 250, "mangler der 250 læger (målt i data)", "shortage"),
        (250, None, None, "mangler der 250 læger (målt i data)", "shortage"),
        (-250, None, None, "er der 250 læger flere end behovet (målt i data)", "surplus"),
    ],
)
def test_shortage_surplus_or_balance(gap, low, high, expected, kind):
    text = findings.shortage(gap, low, high)
    assert text.startswith(expected), text
    assert "mangler der −" not in text
    assert findings.gap_kind(gap, low, high) == kind


@pytest.mark.parametrize(
    ("fill_rate", "expected"),
    [
        (0.70, "30\u00a0% af hoveduddannelsesforløbene står tomme"),
        (0.96, "næsten alle hoveduddannelsesforløb bliver besat (96\u00a0%)"),
    ],
)
def test_posts_stand_empty_only_when_the_fill_rate_says_so(fill_rate, expected):
    assert findings.posts_left_empty(fill_rate).startswith(expected)


@pytest.mark.parametrize(
    ("after", "low", "high", "expected"),
    [
        (-328, -600, -50, "lukker gabet"),
        (-20, -300, 200, "kan lukke gabet, men det er ikke sikkert"),
        (900, 400, 1400, "mindsker gabet, men lukker det ikke"),
    ],
)
def test_levers_close_the_gap_only_when_the_numbers_do(after, low, high, expected):
    assert findings.closes_the_gap(after, low, high) == expected


@pytest.mark.parametrize(
    ("ratio", "low", "high", "expected"),
    [
        (2.2, 1.8, 2.7, "kom hurtigere videre"),
        (0.6, 0.4, 0.8, "kom langsommere videre"),
        (1.1, 0.8, 1.5, "kom hverken tydeligt hurtigere eller langsommere videre"),
    ],
)
def test_combined_track_faster_or_not(ratio, low, high, expected):
    assert findings.moves_faster(ratio, low, high) == expected


def test_a_zero_width_interval_is_an_assumption_or_not_estimated():
    assert findings.ci(-80, -80, assumed=True) == "antaget"
    assert findings.ci(0.915, 0.915) == "interval ikke estimeret"
    assert findings.ci(1200, 1500) == "95\u00a0%-interval 1.200 til 1.500"


def test_the_model_choice_sentence_follows_the_scores():
    close = {"projection_model": "log_linear", "choice_runner_up": "count_glm",
             "choice_relative_difference": 0.018, "choice_requested": False}  # fmt: skip
    assert "kun lidt bedre end" in findings.model_choice(close)
    clear = {**close, "choice_relative_difference": 0.4}
    assert "tydeligt bedre end" in findings.model_choice(clear)
    named = {**close, "choice_requested": True}
    assert "valgt i params.yaml" in findings.model_choice(named)
    for metrics in (close, clear, named):
        assert "pålidelige" not in findings.model_choice(metrics)


@pytest.mark.parametrize(
    ("change", "low", "high", "kind", "expected"),
    [
        (-37, -52, -17, "shortage", "mindsker manglen med 37 (95\u00a0%-interval 17 til 52)"),
        (-37, -52, -17, "surplus", "øger overskuddet med 37"),
        (12, 5, 20, "shortage", "øger manglen med 12 (95\u00a0%-interval 5 til 20)"),
        (12, 5, 20, "surplus", "mindsker overskuddet med 12"),
    ],
)
def test_a_lever_is_described_in_the_words_of_the_gap(change, low, high, kind, expected):
    assert findings.lever_effect(change, low, high, kind).startswith(expected)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Poisson-regression med spredningsestimat", "Poisson-regression med spredningsestimat"),
        ("Region Sjælland", "Region Sjælland"),
        ("Regionernes metode", "regionernes metode"),
        ("H-forløb i psykiatrien", "H-forløb i psykiatrien"),
        ("ETS", "ETS"),
        ("Log-lineær trend", "log-lineær trend"),
    ],
)
def test_labels_inside_a_sentence_keep_proper_nouns_and_abbreviations(label, expected):
    assert lower_first(label) == expected


def test_model_choice_keeps_the_capital_of_poisson():
    text = findings.model_choice({"projection_model": "count_glm", "choice_requested": True})
    assert "på Poisson-regression" in text


@pytest.mark.parametrize(
    ("after", "before", "expected"),
    [
        (-800.0, (-600.0, -900.0, -300.0), "øger overskuddet"),
        (-500.0, (-600.0, -900.0, -300.0), "mindsker overskuddet"),
        (-100.0, (300.0, 100.0, 500.0), "kan lukke gabet"),  # a shortage before: the old words
    ],
)
def test_levers_on_a_surplus_are_not_said_to_close_a_gap(after, before, expected):
    text = findings.closes_the_gap(after, after - 200, after + 200, before=before)
    assert text.startswith(expected), text
