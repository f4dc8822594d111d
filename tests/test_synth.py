"""The synthetic generator: seeded, contract-valid, calibrated to the published figures."""

from __future__ import annotations

import filecmp
import json

import numpy as np
import pandas as pd
import pytest
from conftest import DEMO, ROOT, run_cli

from pipeline.data.ingest import read_dataset
from pipeline.data.synth import SynthConfig, synthesize, write_synthetic


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
    result = run_cli("synth", "--out", str(tmp_path / "demo"), "--seed", "2013")
    assert result.returncode == 0, result.stderr
    assert files_identical(DEMO, tmp_path / "demo")
    assert "--seed 2013" in (DEMO / "README.md").read_text()
    assert (
        "python -m pipeline synth --out data/raw/demo --seed 2013"
        in (ROOT / "Makefile").read_text()
    )


def test_output_is_contract_valid_in_both_dialects(tmp_path):
    for dialect in ("standard", "danish"):
        out = tmp_path / dialect
        write_synthetic(out, SynthConfig(seed=3, first_year=2012, last_year=2019), dialect=dialect)
        dataset = read_dataset(out)
        assert dataset.synthetic
        assert dataset.extract_date == pd.Timestamp("2020-03-31")


def test_trainee_count_changes_only_trainees():
    base = synthesize(SynthConfig(seed=5, first_year=2014, last_year=2020))
    more = synthesize(SynthConfig(seed=5, first_year=2014, last_year=2020, trainees=5000))
    assert len(more["trainees"]) == 5000
    for name in ("patients", "physicians", "training_posts"):
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


# --- calibration to data/reference/published_figures.csv ----------------------------------------
@pytest.fixture(scope="module")
def demo(demo_tables):
    return demo_tables


def test_patients_calibrated(demo):
    national = demo["patients"].groupby("year")["patients"].sum()
    assert 110_000 <= national[2013] <= 130_000
    assert 155_000 <= national[2019] <= 175_000
    child = demo["patients"].query("age_group == 'child_adolescent'").groupby("year")["patients"]
    assert child.sum()[2017] == pytest.approx(35_578, rel=0.05)
    assert child.sum()[2022] == pytest.approx(43_530, rel=0.05)


def test_physicians_calibrated(demo):
    ph = demo["physicians"]
    year = ph[ph["year"] == 2020]
    specialists = (
        year[year["grade"] == "specialist"].groupby("specialty", observed=True)["headcount"].sum()
    )
    assert 900 <= specialists["psychiatry"] <= 1_100
    assert 220 <= specialists["child_adolescent_psychiatry"] <= 300
    over_65 = year[year["age_band"].isin(["65-69", "70+"])]["headcount"].sum()
    assert 0.22 <= over_65 / year["headcount"].sum() <= 0.32


def test_training_posts_calibrated(demo):
    posts = demo["training_posts"]
    per_year = posts.groupby(["year", "post_type"], observed=True)["advertised"].sum().unstack()
    assert per_year["I"].between(100, 155).all()
    assert per_year["H"].between(70, 110).all()
    around_2017 = posts[(posts["post_type"] == "H") & posts["year"].between(2016, 2018)]
    unfilled = 1 - around_2017["filled"].sum() / around_2017["advertised"].sum()
    assert 0.22 <= unfilled <= 0.38


def test_conversion_calibrated_and_faster_on_combined_track(demo):
    t = demo["trainees"]
    followed = t[t["i_start"] <= t["extract_date"] - pd.DateOffset(years=3)]
    in_psychiatry = followed["h_specialty"].isin(["psychiatry", "child_adolescent_psychiatry"])
    converted = in_psychiatry & (
        followed["h_start"] <= followed["i_start"] + pd.DateOffset(years=3)
    )
    assert 0.50 <= converted.mean() <= 0.70
    combined = followed["combined_track"].to_numpy()
    assert combined.sum() >= 20
    assert converted[combined].mean() > converted[~combined].mean() + 0.1
    median_days = (followed["h_start"] - followed["i_start"]).dt.days.groupby(combined).median()
    assert median_days[True] < median_days[False]
    assert np.isin(demo["trainees"]["extract_date"].dt.year, [2026]).all()
