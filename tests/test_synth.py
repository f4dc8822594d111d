"""The synthetic generator: seeded, contract-valid, consistent between its tables.

The committed demo's calibration to the published figures: test_demo_calibration.py.
"""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO, ROOT, run_cli

from pipeline import cli
from pipeline.data.contract import SPECIALTIES
from pipeline.data.ingest import read_dataset
from pipeline.data.synth import (
    SCENARIOS,
    SynthConfig,
    synthesize,
    synthesize_with_truth,
    write_synthetic,
)
from pipeline.errors import InputError


def files_identical(a, b) -> bool:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    _match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return not mismatch and not errors


def test_same_seed_gives_identical_bytes(tmp_path):
    result_a = run_cli(
        "synth",
        "--out",
        str(tmp_path / "a"),
        "--seed",
        "11",
        "--last-year",
        "2020",
        "--first-year",
        "2014",
    )
    result_b = run_cli(
        "synth",
        "--out",
        str(tmp_path / "b"),
        "--seed",
        "11",
        "--last-year",
        "2020",
        "--first-year",
        "2014",
    )
    assert result_a.returncode == 0 and result_b.returncode == 0, result_a.stderr
    assert files_identical(tmp_path / "a", tmp_path / "b")


def test_different_seeds_differ(tmp_path):
    write_synthetic(tmp_path / "a", SynthConfig(seed=1, first_year=2014, last_year=2020))
    write_synthetic(tmp_path / "b", SynthConfig(seed=2, first_year=2014, last_year=2020))
    assert (tmp_path / "a" / "trainees.csv").read_bytes() != (
        tmp_path / "b" / "trainees.csv"
    ).read_bytes()


def test_committed_demo_is_the_documented_command_output(tmp_path):
    """data/raw/demo is exactly `python -m pipeline synth --out data/raw/demo --seed 2013`."""
    marker = json.loads((DEMO / "synthetic.json").read_text())
    assert marker["seed"] == 2013
    result = run_cli("synth", "--out", str(tmp_path / "demo"), "--seed", "2013", fresh=True)
    assert result.returncode == 0, result.stderr
    assert files_identical(DEMO, tmp_path / "demo")
    assert "--seed 2013" in (DEMO / "README.md").read_text()
    assert (
        "python -m pipeline synth --out data/raw/demo --seed 2013"
        in (ROOT / "Makefile").read_text()
    )


@pytest.mark.parametrize(
    ("config", "dialect"),
    [
        (SynthConfig(seed=3, first_year=2012, last_year=2019), "standard"),
        (SynthConfig(seed=3, first_year=2012, last_year=2019), "danish"),
        (SynthConfig(seed=4, scenario="reversed"), "standard"),
        (SynthConfig(seed=5, first_year=2019, last_year=2023), "standard"),  # the shortest
    ],
    ids=["short-standard", "short-danish", "reversed", "five-years"],
)
def test_output_is_contract_valid(tmp_path, config, dialect):
    """Every file passes ingest, in both dialects, for every scenario and span."""
    write_synthetic(tmp_path, config, dialect=dialect)
    dataset = read_dataset(tmp_path)
    assert dataset.synthetic
    assert dataset.extract_date == pd.Timestamp(f"{config.last_year + 1}-03-31")
    assert set(dataset.tables) == {
        "patients",
        "physicians",
        "training_posts",
        "trainees",
        "specialist_posts",
        "initiatives",
    }
    marker = json.loads((tmp_path / "synthetic.json").read_text())
    assert marker["planted"]["scenario"] == config.scenario
    assert "python -m pipeline synth" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_fewer_than_five_years_is_refused():
    with pytest.raises(InputError, match="at least five years"):
        synthesize(SynthConfig(first_year=2020, last_year=2023))


def test_trainee_count_changes_only_trainees():
    base = synthesize(SynthConfig(seed=5, first_year=2014, last_year=2020))
    more = synthesize(SynthConfig(seed=5, first_year=2014, last_year=2020, trainees=5000))
    assert len(more["trainees"]) == 5000
    for name in base:
        if name != "trainees":
            pd.testing.assert_frame_equal(base[name], more[name])


def test_large_run_is_seeded_and_valid_on_a_sample(tmp_path):
    config = SynthConfig(seed=9, trainees=200_000)
    first, second = synthesize(config)["trainees"], synthesize(config)["trainees"]
    pd.testing.assert_frame_equal(first, second)
    assert first["person_id"].is_unique
    write_synthetic(tmp_path / "big", config)
    sample = pd.read_csv(tmp_path / "big" / "trainees.csv", dtype=str, keep_default_na=False)
    sample.sample(5000, random_state=1).to_csv(tmp_path / "big" / "trainees.csv", index=False)
    read_dataset(tmp_path / "big")  # raises if any sampled row breaks the contract


# --- the generator's construction, on a seed other than the demo's ----------------------------
@pytest.fixture(scope="module")
def other():
    """A dataset of another seed with its planted truth (the demo's are tested in
    test_demo_calibration.py)."""
    return synthesize_with_truth(SynthConfig(seed=21))


def h_starts(trainees: pd.DataFrame) -> pd.Series:
    """H-starts in psychiatry per (year, region of the I-post, specialty of the H-post)."""
    t = trainees[trainees["h_specialty"].isin(SPECIALTIES)]
    keys = [t["h_start"].dt.year.rename("year"), t["region"], t["h_specialty"].rename("specialty")]
    return t.groupby(keys).size()


def test_filled_h_posts_are_the_trainees_h_starts(other):
    """In every cell, filled H-posts = the trainees' H-starts + those of doctors whose I-post is
    before the data, and the README's per-year numbers of the latter are exact."""
    tables, truth = other
    posts = tables["training_posts"].query("post_type == 'H'")
    filled = posts.set_index(["year", "region", "specialty"])["filled"]
    starts = h_starts(tables["trainees"]).reindex(filled.index, fill_value=0)
    outside = filled - starts
    assert (outside >= 0).all()
    per_year = outside.groupby(level="year").sum()
    assert {int(y): int(n) for y, n in per_year.items()} == truth["h_starts_before_data"][
        "per_year"
    ]
    # Doctors from before the data fill posts in the first years only.
    assert per_year.loc[2014:].sum() <= 5


def test_filled_i_posts_are_the_trainees_i_starts(other):
    tables, _ = other
    posts = tables["training_posts"].query("post_type == 'I'")
    filled = posts.set_index(["year", "region", "specialty"])["filled"]
    t = tables["trainees"]
    starts = t.groupby([t["i_start"].dt.year.rename("year"), t["region"], t["specialty"]]).size()
    assert (starts.reindex(filled.index, fill_value=0).to_numpy() == filled.to_numpy()).all()


def test_physicians_trainees_are_the_doctors_in_post(other):
    """Trainees in physicians.csv on 31 December 2018: doctors in an I-post then, or in an
    H-post in psychiatry (at most four years old) -- bounded by the trainees table."""
    tables, _ = other
    ph = tables["physicians"]
    in_post = ph.query("year == 2018 and grade == 'trainee'")["headcount"].sum()
    t = tables["trainees"]
    ref = pd.Timestamp("2018-12-31")
    in_i = (t["i_start"] <= ref) & (t["i_end"] >= ref)
    in_h = (
        t["h_specialty"].isin(SPECIALTIES)
        & (t["h_start"] <= ref)
        & (t["h_start"] > ref - pd.DateOffset(years=4))
    )
    # H-courses left early make the count smaller than the upper bound, never larger.
    assert 0.85 * (in_i | in_h).sum() <= in_post <= (in_i | in_h).sum()


def test_fte_follows_the_planted_pattern(other):
    tables, truth = other
    ph = tables["physicians"]
    per_head = ph.groupby(["sex", "age_band"])[["fte", "headcount"]].sum()
    per_head = per_head[per_head["headcount"] >= 30]
    ratio = per_head["fte"] / per_head["headcount"]
    for (sex, band), value in ratio.items():
        assert value == pytest.approx(truth["fte_per_head"][sex][band], abs=0.015), (sex, band)
    assert (ph["fte"] <= ph["headcount"]).all()


def test_specialist_posts_add_up(other):
    tables, _ = other
    sp = tables["specialist_posts"].set_index(["year", "region", "specialty"])
    heads = (
        tables["physicians"]
        .query("grade == 'specialist'")
        .groupby(["year", "region", "specialty"])["headcount"]
        .sum()
    )
    pd.testing.assert_series_equal(sp["filled"], heads.reindex(sp.index), check_names=False)
    assert (sp["funded"] >= sp["filled"]).all() and (sp["locum"] >= 0).all()
    vacancy = (sp["funded"] - sp["filled"] + sp["locum"]).sum() / sp["funded"].sum()
    assert 0.05 <= vacancy <= 0.25


def test_patients_are_a_trend_with_autocorrelated_noise_and_a_pandemic_dip(other):
    tables, _ = other
    total = tables["patients"].groupby("year")["patients"].sum()
    growth = np.log(total).diff().dropna()
    assert growth[2020] < -0.02  # the pandemic year
    other_years = growth.drop([2020, 2021, 2022])
    assert (other_years > 0).all() and (other_years < 0.08).all()
    # Residuals around a smooth (quadratic) trend wander: not white noise around a line.
    years = total.index.to_numpy().astype(float)
    keep = ~np.isin(years, [2020, 2021])
    fit = np.polyfit(years[keep], np.log(total.to_numpy())[keep], 2)
    residual = np.log(total.to_numpy())[keep] - np.polyval(fit, years[keep])
    assert 0.003 < residual.std() < 0.03


# --- the reversed scenario ----------------------------------------------------------------------
def test_reversed_scenario_reverses_the_findings():
    tables = synthesize(SynthConfig(seed=8, scenario="reversed"))
    patients = tables["patients"].groupby("year")["patients"].sum()
    physicians = tables["physicians"].groupby("year")["headcount"].sum()
    years = patients.index.to_numpy()
    slope = {
        name: np.polyfit(years, np.log(series.to_numpy()), 1)[0]
        for name, series in (("patients", patients), ("physicians", physicians))
    }
    assert slope["physicians"] > slope["patients"] + 0.02  # physicians clearly faster
    posts = tables["training_posts"].groupby(["year", "post_type"])[["advertised", "filled"]].sum()
    assert (posts["filled"] / posts["advertised"] >= 0.96).all()
    assert not tables["trainees"]["combined_track"].any()  # nobody on a combined track
    specialists = tables["physicians"].query("grade == 'specialist'").groupby("year")["headcount"]
    per_patient = specialists.sum() / patients
    assert per_patient[2025] > 1.2 * per_patient[2013]  # supply outgrows demand
    sp = tables["specialist_posts"]
    assert (sp["funded"] - sp["filled"] + sp["locum"]).sum() < 0.03 * sp["funded"].sum()


def test_default_scenario_keeps_the_shortage(other):
    """The same checks hold the other way round in the default scenario."""
    tables, _ = other
    patients = tables["patients"].groupby("year")["patients"].sum()
    physicians = tables["physicians"].groupby("year")["headcount"].sum()
    assert physicians[2025] / patients[2025] < 0.9 * physicians[2013] / patients[2013]
    assert tables["trainees"]["combined_track"].any()


def test_scenario_option_on_the_command_line(tmp_path):
    result = run_cli(
        "synth", "--out", str(tmp_path), "--seed", "2", "--first-year", "2015", "--scenario",
        "reversed",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "synthetic.json").read_text())["scenario"] == "reversed"
    # The command line lists the scenarios itself (it does not import pandas to parse).
    synth = cli.build_parser()._subparsers._group_actions[0].choices["synth"]
    scenario = next(a for a in synth._actions if a.dest == "scenario")
    assert set(scenario.choices) == set(SCENARIOS)
    assert "--scenario reversed" in (tmp_path / "README.md").read_text(encoding="utf-8")
