"""The growth stage around its models: series, the backtest's bookkeeping, the gap, the paper's
claim and the growth parameters (the models themselves: tests/test_growth_models.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from pipeline.analysis.growth import gap, models, series, tables
from pipeline.analysis.growth.models import GrowthResult
from pipeline.data.contract import GEOGRAPHIES
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check

YEARS = np.arange(2010, 2026)  # sixteen years, as in the demo data


def trend_stationary(rng, g, sigma=0.02, level=20_000.0) -> pd.Series:
    """log y = a + log(1+g)·t + noise: the world of the log-linear and count models."""
    t = np.arange(len(YEARS))
    return pd.Series(
        np.rint(level * np.exp(np.log1p(g) * t + rng.normal(0, sigma, len(t)))), index=YEARS
    )


def random_walk(rng, g, sigma=0.02, level=20_000.0) -> pd.Series:
    """Growth rates drawn independently with mean g: the world of the average-growth method."""
    log_growth = rng.normal(np.log1p(g) - sigma**2 / 2, sigma, len(YEARS))
    return pd.Series(level * np.exp(np.cumsum(log_growth)), index=YEARS)


def ets_process(rng, g, sigma=0.02, alpha=0.5) -> pd.Series:
    """An additive-trend ETS process on logs with a constant trend log(1+g)."""
    level, trend, out = 9.0, np.log1p(g), []
    for shock in rng.normal(0, sigma, len(YEARS)):
        out.append(level + trend + shock)
        level += trend + alpha * shock
    return pd.Series(np.exp(out), index=YEARS)


# --- backtest ----------------------------------------------------------------------------------
def exact_series(growth_rate=0.05) -> pd.DataFrame:
    values = 1000 * (1 + growth_rate) ** np.arange(len(YEARS))
    return pd.DataFrame(
        {
            "measure": "patients",
            "geography": "Danmark",
            "group": "total",
            "year": YEARS,
            "value": values,
        }
    )


def test_backtest_on_a_series_with_a_known_answer():
    """Exact 5 % growth: trend models forecast it perfectly at every origin and horizon."""
    results = models.backtest(
        exact_series(),
        ["average_growth", "log_linear"],
        min_years=10,
        max_horizon=5,
        k=3,
    )
    expected_rows = sum(min(5, len(YEARS) - m) for m in range(10, len(YEARS)))
    assert len(results) == 2 * expected_rows
    assert (results["year"] == results["origin"] + results["horizon"]).all()
    assert results["origin"].min() == 2019 and results["year"].max() == 2025
    assert results["ape"].max() < 1e-9
    scores = models.backtest_scores(results)
    assert scores["mape"].max() < 1e-7


def test_backtest_never_sees_the_future():
    series = exact_series()
    series.loc[series["year"] == 2025, "value"] *= 10  # a shock in the last year
    results = models.backtest(series, ["log_linear"], min_years=10, max_horizon=5, k=3)
    before_shock = results[results["year"] < 2025]
    assert before_shock["ape"].max() < 1e-9
    hit = results[results["year"] == 2025]
    assert (hit["ape"] > 0.8).all() and not hit["covered95"].any()


# --- the gap -----------------------------------------------------------------------------------
def stub(centre: float, spread: float, last_year: int = 2025) -> GrowthResult:
    """A fitted model whose predictive distribution is known exactly (lognormal)."""
    return GrowthResult(
        "stub",
        0.0,
        0.0,
        0.0,
        last_year,
        _log_predict=lambda h: (np.full(len(h), centre), np.full(len(h), spread), math.inf),
    )


def gap_series() -> pd.DataFrame:
    rows = []
    for measure, base, now in (("patients", 1000.0, 1500.0), ("physicians", 100.0, 110.0)):
        for year, value in ((2013, base), (2025, now)):
            rows.append(
                {
                    "measure": measure,
                    "geography": "Danmark",
                    "group": "total",
                    "year": year,
                    "value": value,
                }
            )
    out = pd.DataFrame(rows)
    out["geography"] = pd.Categorical(out["geography"], GEOGRAPHIES)
    return out


def test_gap_from_data_is_the_closed_form():
    gaps = gap.gap(gap_series(), {}, base_year=2013, target_years=[2025], simulations=1000, seed=1)
    row = gaps.iloc[0]
    assert row["needed"] == pytest.approx(100 * 1500 / 1000)
    assert row["gap"] == pytest.approx(150 - 110) and row["observed"]


def test_gap_interval_propagates_both_projections_by_simulation():
    fits = {
        ("patients", "Danmark", "total"): stub(math.log(2000), 0.10),
        ("physicians", "Danmark", "total"): stub(math.log(120), 0.0),
    }
    row = gap.gap(
        gap_series(), fits, base_year=2013, target_years=[2030], simulations=200_000, seed=3
    ).iloc[0]
    ratio = 100 / 1000
    # With the physicians certain, the gap's quantiles are the patients' quantiles, shifted.
    assert row["pi_low"] == pytest.approx(ratio * 2000 * math.exp(-1.96 * 0.10) - 120, rel=0.01)
    assert row["pi_high"] == pytest.approx(ratio * 2000 * math.exp(1.96 * 0.10) - 120, rel=0.01)
    assert row["gap"] == pytest.approx(ratio * 2000 - 120)

    fits[("physicians", "Danmark", "total")] = stub(math.log(120), 0.10)
    row = gap.gap(
        gap_series(), fits, base_year=2013, target_years=[2030], simulations=200_000, seed=3
    ).iloc[0]
    endpoints = (
        ratio * 2000 * math.exp(-1.96 * 0.1) - 120 * math.exp(1.96 * 0.1),
        ratio * 2000 * math.exp(1.96 * 0.1) - 120 * math.exp(-1.96 * 0.1),
    )
    assert endpoints[0] < row["pi_low"] and row["pi_high"] < endpoints[1], (
        "independent draws give a narrower interval than adding the interval ends"
    )


def test_a_years_gap_interval_does_not_depend_on_the_other_years_asked_for():
    fits = {
        ("patients", "Danmark", "total"): stub(math.log(2000), 0.10),
        ("physicians", "Danmark", "total"): stub(math.log(120), 0.05),
    }
    kwargs = {"base_year": 2013, "simulations": 2000, "seed": 7}
    alone = gap.gap(gap_series(), fits, target_years=[2030], **kwargs).iloc[0]
    path = gap.gap(gap_series(), fits, target_years=range(2025, 2036), **kwargs)
    in_path = path[path["year"] == 2030].iloc[0]
    assert (alone["pi_low"], alone["pi_high"]) == (in_path["pi_low"], in_path["pi_high"])


REFERENCE = ROOT / "data" / "reference" / "published_figures.csv"


def national_series(years, patients, specialists) -> pd.DataFrame:
    """National totals: patients and (specialist) physicians by year."""
    rows = []
    for year, p, s in zip(years, patients, specialists, strict=True):
        rows.append(("patients", "Danmark", "total", year, float(p)))
        rows.append(("physicians", "Danmark", "total", year, float(s)))
    return pd.DataFrame(rows, columns=["measure", "geography", "group", "year", "value"])


def recheck_of(specialists: pd.DataFrame, physicians: pd.DataFrame | None = None):
    """The recheck from 2013 with the paper's three-year average and a minimum cell of 5."""
    return gap.seed_comparison(
        specialists,
        pd.read_csv(REFERENCE),
        first_base_year=2013,
        k=3,
        min_cell=5,
        physicians=physicians,
    )


def test_the_papers_claim_reproduced_for_each_base_year():
    """2 % and 0.6 % a year with the published specialist stock (977 + 259 in 2020) give more than
    100 short in 2022 only from 2016 or earlier: 173 from 2013, 111 from 2016, 72 from 2018."""
    assert gap.seed_gap(977 + 259, 0.02, 0.006, 2022 - 2013) > 100
    empty = pd.DataFrame(columns=["measure", "geography", "group", "year", "value"])
    recheck = recheck_of(empty)
    assert recheck.paper_stock == 1236 and recheck.target_year == 2022 and recheck.claim == 100
    paper = recheck.by_base_year.set_index("base_year")["paper_gap"]
    assert list(paper.index) == list(range(2013, 2019))
    assert paper[2013] == pytest.approx(172.77, abs=0.01)
    assert paper[2016] == pytest.approx(110.77, abs=0.01)
    assert paper[2018] == pytest.approx(71.95, abs=0.01)
    assert recheck.base_years_for_claim == [2013, 2014, 2015, 2016]
    text = tables.seed_comparison_text(recheck)
    assert "mere end 100 kun med basisår 2016 eller tidligere" in text
    assert "I data" not in text and "Målt direkte" not in text  # no data: no data side


def test_the_recheck_compares_specialists_with_specialists():
    """The data side starts from the specialists of the base year (not specialists plus
    trainees), grows them with the data's own average rates and measures the target year."""
    years = list(range(2010, 2023))
    patients = [1000 * 1.03**i for i in range(len(years))]
    specialists = [200 * 1.01**i for i in range(len(years))]
    trainees = national_series(years, patients, [s + 150 for s in specialists])
    recheck = recheck_of(national_series(years, patients, specialists), trainees)
    assert recheck.data_patient_growth == pytest.approx(0.03)
    assert recheck.data_specialist_growth == pytest.approx(0.01)
    row = recheck.by_base_year.set_index("base_year").loc[2013]
    assert row["data_stock"] == pytest.approx(specialists[3])
    assert row["data_method_gap"] == pytest.approx(specialists[3] * (1.03**9 - 1.01**9))
    expected = specialists[3] / patients[3] * patients[12] - specialists[12]
    assert row["data_observed_gap"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("patient_growth", "expected"),
    [
        (
            0.03,
            "mere end 100 speciallæger for at have lige så mange patienter pr. speciallæge "
            "som i basisåret med ethvert basisår fra 2013 til 2018",
        ),
        (
            0.00,
            "mere end 100 speciallæger for at have lige så mange patienter pr. speciallæge "
            "som i basisåret med intet basisår fra 2013 til 2018",
        ),
    ],
)
def test_the_recheck_sentence_follows_the_data(patient_growth, expected):
    years = list(range(2010, 2023))
    patients = [1000 * (1 + patient_growth) ** i for i in range(len(years))]
    specialists = [1000 * 1.005**i for i in range(len(years))]
    recheck = recheck_of(national_series(years, patients, specialists))
    text = tables.seed_comparison_text(recheck)
    assert expected in text
    # A surplus (patients flat, specialists growing) is said to be one.
    assert ("Et negativt tal er et overskud." in text) == (patient_growth == 0)
    table = tables.seed_comparison_table(recheck)
    assert list(table["Basisår"]) == [str(y) for y in range(2013, 2019)]


def test_the_recheck_leaves_out_a_small_count_and_what_gives_one_back():
    years = list(range(2010, 2023))
    patients = [1000.0] * len(years)
    few = national_series(years, patients, [4.0] * len(years))
    recheck = recheck_of(few)
    assert recheck.by_base_year["data_stock"].isna().all()
    # 300 specialists, but 3 other physicians: the method's result would give the 3 back.
    many = national_series(years, patients, [300.0] * len(years))
    everyone = national_series(years, patients, [303.0] * len(years))
    recheck = recheck_of(many, everyone)
    assert recheck.by_base_year["data_stock"].isna().all()
    assert "Målt direkte" not in tables.seed_comparison_text(recheck)


# --- series and parameters ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_series(demo_tables):
    return series.build_series(
        demo_tables, ["specialist", "trainee"], ["psychiatry", "child_adolescent_psychiatry"]
    )


def test_series_add_up(demo_series):
    s = demo_series.set_index(["measure", "geography", "group", "year"])["value"]
    for measure in ("patients", "physicians"):
        national = s.loc[measure, "Danmark", "total"]
        regions = sum(s.loc[measure, r, "total"] for r in GEOGRAPHIES[1:])
        parts = s.loc[measure, "Danmark", "adult"] + s.loc[measure, "Danmark", "child_adolescent"]
        pd.testing.assert_series_equal(national, regions, check_names=False)
        pd.testing.assert_series_equal(national, parts, check_names=False)


def test_index_is_100_in_the_base_year(demo_series):
    index = series.index_series(demo_series, 2013)
    assert np.allclose(index.loc[index["year"] == 2013, "index"], 100)


def test_modelled_series_are_every_national_group_and_regional_totals(demo_series):
    keys = series.modelled_series(demo_series).groupby(models.SERIES_KEYS, observed=True).ngroups
    assert keys == 2 * (3 + 5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"horizon_year": 2020}, "growth.horizon_year: 2020 is not after the last data year 2025"),
        ({"base_year": 2005}, "growth.base_year: 2005 is outside the data (2010–2025)"),
        ({"models": ["log_linear", "arima"]}, "growth.models: unknown model 'arima'"),
        ({"projection_model": "ets", "models": ["log_linear"]}, "growth.projection_model"),
        ({"target_years": [2040]}, "growth.target_years: 2040 is not between"),
        ({"backtest_min_years": 5}, "5 is below 8, the fewest years the models"),
        ({"choice_score": "mape"}, "growth.choice_score"),
        ({"ets_bootstrap": 50}, "growth.ets_bootstrap"),
        ({"physician_grades": ["consultant"]}, "growth.physician_grades"),
    ],
)
def test_bad_params_fail_clearly(change, message):
    params = {**DEFAULTS["growth"], **change}
    with pytest.raises(ParamError) as info:
        check({**DEFAULTS, "growth": params}, list(range(2010, 2026)))
    assert any(message in line for line in info.value.problems), info.value.problems


def test_a_series_with_a_small_count_is_withheld_with_its_complement(demo_series):
    """A region with three physicians in a year is left out of every published growth table,
    and so is the smallest other region (the nation minus the others would give it back)."""
    counts = demo_series.copy()
    mask = (
        (counts["geography"] == "Nordjylland")
        & (counts["measure"] == "physicians")
        & (counts["year"] == 2015)
    )
    counts.loc[mask, "value"] = 3.0
    withheld = series.withheld(counts, 5)
    assert "Nordjylland" in withheld.geographies and len(withheld.geographies) == 2
    shown = withheld.filter(counts)
    assert not shown["geography"].astype(str).isin(withheld.geographies).any()
    assert series.withheld(demo_series, 5).geographies == frozenset()  # the demo shows all
