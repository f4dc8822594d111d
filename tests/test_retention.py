"""I-to-H retention against known truth, an independent implementation, and the disclosure rule."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.retention import model as retention
from pipeline.analysis.retention import tables as retention_tables
from pipeline.data import contract
from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, check
from pipeline.publish.audit import audit, feasible_ranges

EXTRACT = pd.Timestamp("2026-03-31")
H_PSYCH, H_OTHER, EXIT = 0.45, 0.06, 0.12  # cause-specific hazards per year
HR_COMBINED = 2.0


def simulate_trainees(
    rng,
    n=800,
    p_combined=0.3,
    hr=HR_COMBINED,
    rates=(H_PSYCH, H_OTHER, EXIT),
    regions=contract.REGIONS,
    first=2010,
    last=2022,
) -> pd.DataFrame:
    """Trainees with constant cause-specific hazards (the combined track multiplies the H-post
    in psychiatry by ``hr``), staggered starts and censoring at the extract date. Region, sex,
    age and foreign degree are drawn but have no effect."""
    combined = rng.random(n) < p_combined
    start_days = rng.integers(
        0, (pd.Timestamp(f"{last}-12-31") - pd.Timestamp(f"{first}-01-01")).days, size=n
    )
    i_start = pd.Timestamp(f"{first}-01-01") + pd.to_timedelta(start_days, unit="D")
    rate_h = rates[0] * np.where(combined, hr, 1.0)
    draws = np.vstack(
        [
            rng.exponential(1 / rate_h),
            rng.exponential(1 / rates[1], n),
            rng.exponential(1 / rates[2], n),
        ]
    )
    first_cause = draws.argmin(axis=0)
    event_date = i_start + pd.to_timedelta(np.rint(draws.min(axis=0) * 365.25), unit="D")
    observed = event_date <= EXTRACT
    specialty = rng.choice(contract.SPECIALTIES, size=n)
    h = observed & (first_cause < 2)
    return pd.DataFrame(
        {
            "person_id": [f"S{i:06d}" for i in range(n)],
            "sex": rng.choice(["F", "M"], size=n),
            "birth_year": i_start.year - rng.integers(26, 36, size=n),
            "region": rng.choice(list(regions), size=n),
            "specialty": specialty,
            "i_start": i_start,
            "i_end": pd.NaT,
            "combined_track": combined,
            "foreign_graduate": rng.random(n) < 0.15,
            "h_start": event_date.where(h),
            "h_specialty": np.where(h, np.where(first_cause == 0, specialty, "other"), None),
            "exit_date": event_date.where(observed & (first_cause == 2)),
            "extract_date": EXTRACT,
        }
    )


def true_cif(t: float, p_combined=0.3) -> float:
    def cif(h):
        total = H_PSYCH * h + H_OTHER + EXIT
        return H_PSYCH * h / total * (1 - math.exp(-total * t))

    return p_combined * cif(HR_COMBINED) + (1 - p_combined) * cif(1.0)


def prepare(df, horizon=3):
    return retention.prepare(df, horizon, [2010, 2015, 2020])


def test_prepare_reads_categorical_and_text_columns_alike():
    """As ingest types them (categoricals, whose categories may come in any order) or as text;
    an unknown region is missing either way. Outcomes and periods follow the events."""
    trainees = simulate_trainees(np.random.default_rng(8), n=300)
    trainees.loc[0, "region"] = "Grønland"
    text = prepare(trainees)
    as_typed = trainees.copy()
    for column in ("sex", "region", "specialty", "h_specialty"):
        as_typed[column] = pd.Categorical(as_typed[column])  # alphabetical categories
    typed = prepare(as_typed)
    pd.testing.assert_frame_equal(typed, text)
    assert pd.isna(typed.loc[0, "region"])
    assert list(typed["region"].cat.categories) == list(contract.REGIONS)
    outcomes = {0: "censored", 1: "h_psychiatry", 2: "h_other", 3: "exit"}
    assert (typed["outcome"].astype(str) == typed["event"].map(outcomes)).all()
    assert (typed["track"] == np.where(trainees["combined_track"], "combined", "regular")).all()
    period = typed["cohort_period"].astype(str)
    assert (period[typed["cohort"] < 2015] == "2010–2014").all()
    assert (period[typed["cohort"] >= 2020] == "2020–").all()


def test_the_stage_reads_every_trainee_column_but_the_person_id():
    """The notebook loads only TRAINEE_COLUMNS: prepare needs nothing else."""
    trainees = simulate_trainees(np.random.default_rng(10), n=200)
    names = {c.name for c in contract.TRAINEES.columns}
    assert set(retention.TRAINEE_COLUMNS) == names - {"person_id"}
    pd.testing.assert_frame_equal(
        prepare(trainees[list(retention.TRAINEE_COLUMNS)]), prepare(trainees)
    )


def test_a_shared_dictionary_fits_each_group_once_with_the_same_results(monkeypatch):
    doctors = prepare(simulate_trainees(np.random.default_rng(9), n=600))
    curves = retention.cumulative_incidence(doctors, "region", 5)
    at = retention.incidence_at(doctors, 3, "region", 5)
    calls = []
    fit = retention._aalen_johansen
    monkeypatch.setattr(retention, "_aalen_johansen", lambda *a: calls.append(1) or fit(*a))
    fits = {}
    pd.testing.assert_frame_equal(
        retention.cumulative_incidence(doctors, "region", 5, fits=fits), curves
    )
    pd.testing.assert_frame_equal(retention.incidence_at(doctors, 3, "region", 5, fits=fits), at)
    assert len(calls) == len(fits) == doctors["region"].nunique()


# --- known truth ---------------------------------------------------------------------------------
def coverage_run(replicates: int, seed: int) -> tuple[list, list, list, list]:
    rng = np.random.default_rng(seed)
    truth = true_cif(3.0)
    cifs, cif_hits, log_hrs, hr_hits = [], [], [], []
    for _ in range(replicates):
        doctors = prepare(simulate_trainees(rng))
        at = retention.incidence_at(doctors, 3.0).iloc[0]
        cifs.append(at["cif"])
        cif_hits.append(at["ci_low"] <= truth <= at["ci_high"])
        hr = retention.fit_cox(doctors).ratio("combined_track")
        log_hrs.append(math.log(hr[0]))
        hr_hits.append(hr[1] <= HR_COMBINED <= hr[2])
    return cifs, cif_hits, log_hrs, hr_hits


def test_recovers_incidence_and_hazard_ratio_with_covering_intervals():
    """40 replicates: the mean estimates within twice their Monte Carlo error of the truth, and
    coverage no lower than 95 % minus three binomial standard errors (85 %)."""
    cifs, cif_hits, log_hrs, hr_hits = coverage_run(40, seed=11)
    assert np.mean(cifs) == pytest.approx(true_cif(3.0), abs=0.015)
    assert math.exp(np.mean(log_hrs)) == pytest.approx(HR_COMBINED, rel=0.08)
    assert np.mean(cif_hits) >= 0.85, f"CIF coverage {np.mean(cif_hits):.1%}"
    assert np.mean(hr_hits) >= 0.85, f"HR coverage {np.mean(hr_hits):.1%}"


@pytest.mark.long
def test_recovers_incidence_and_hazard_ratio_with_covering_intervals_full():
    """200 replicates: means within 0.01 / 5 % and coverage 91-99 %."""
    cifs, cif_hits, log_hrs, hr_hits = coverage_run(200, seed=11)
    assert np.mean(cifs) == pytest.approx(true_cif(3.0), abs=0.01)
    assert math.exp(np.mean(log_hrs)) == pytest.approx(HR_COMBINED, rel=0.05)
    assert 0.91 <= np.mean(cif_hits) <= 0.99, f"CIF coverage {np.mean(cif_hits):.1%}"
    assert 0.91 <= np.mean(hr_hits) <= 0.99, f"HR coverage {np.mean(hr_hits):.1%}"


def test_curve_approaches_the_true_incidence_over_time():
    doctors = prepare(simulate_trainees(np.random.default_rng(5), n=20_000))
    curves = retention.cumulative_incidence(doctors)
    for outcome, rate in (("h_psychiatry", None), ("exit", EXIT)):
        c = curves[curves["outcome"] == outcome]
        for t in (1.0, 2.0, 4.0):
            value = c[c["time"] <= t]["cif"].iloc[-1]
            if rate is None:
                expected = true_cif(t)
            else:
                expected = sum(
                    p
                    * EXIT
                    / (H_PSYCH * h + H_OTHER + EXIT)
                    * (1 - math.exp(-(H_PSYCH * h + H_OTHER + EXIT) * t))
                    for p, h in ((0.3, HR_COMBINED), (0.7, 1.0))
                )
            assert value == pytest.approx(expected, abs=0.015), (outcome, t)


# --- an independent implementation (lifelines) ------------------------------------------------
def test_cox_matches_lifelines():
    """Continuous times (no ties): the same model as lifelines' to its convergence tolerance."""
    from lifelines import CoxPHFitter

    doctors = prepare(simulate_trainees(np.random.default_rng(3), n=1500))
    doctors["time"] += np.random.default_rng(4).uniform(0, 1e-4, len(doctors))  # break ties
    ours = retention.fit_cox(doctors)
    x, _, _ = retention.design(doctors, 1)
    frame = x.assign(time=doctors["time"], status=(doctors["event"] == 1).astype(int))
    theirs = CoxPHFitter().fit(frame, "time", "status")
    table = ours.table.set_index("term")
    for term in x.columns:
        assert table.loc[term, "coef"] == pytest.approx(theirs.params_[term], abs=1e-4)
        assert table.loc[term, "se"] == pytest.approx(theirs.standard_errors_[term], rel=1e-3)


def test_cox_with_ties_is_close_to_lifelines():
    """Dates in days give ties: both use Efron's method, so every coefficient agrees."""
    from lifelines import CoxPHFitter

    doctors = prepare(simulate_trainees(np.random.default_rng(8), n=1500))
    ours = retention.fit_cox(doctors).table.set_index("term")
    x, _, _ = retention.design(doctors, 1)
    theirs = CoxPHFitter().fit(
        x.assign(time=doctors["time"], status=(doctors["event"] == 1).astype(int)), "time", "status"
    )
    for term in x.columns:
        assert ours.loc[term, "coef"] == pytest.approx(theirs.params_[term], abs=1e-5)
        assert ours.loc[term, "se"] == pytest.approx(theirs.standard_errors_[term], rel=1e-4)


def test_proportional_hazards_test_matches_lifelines():
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    doctors = prepare(simulate_trainees(np.random.default_rng(6), n=1500))
    doctors["time"] += np.random.default_rng(7).uniform(0, 1e-4, len(doctors))
    ours = retention.fit_cox(doctors).ph_test.set_index("term")
    x, _, _ = retention.design(doctors, 1)
    frame = x.assign(time=doctors["time"], status=(doctors["event"] == 1).astype(int))
    cph = CoxPHFitter().fit(frame, "time", "status")
    theirs = proportional_hazard_test(cph, frame, time_transform="rank").summary["test_statistic"]
    for term in x.columns:
        assert ours.loc[term, "chi2"] == pytest.approx(theirs[term], rel=1e-4, abs=1e-6)


def test_incidence_matches_lifelines_aalen_johansen():
    """lifelines jitters tied times at random (seeded here), so data without ties are used."""
    from lifelines import AalenJohansenFitter

    doctors = prepare(simulate_trainees(np.random.default_rng(9), n=3000))
    doctors["time"] += np.random.default_rng(10).uniform(0, 1e-4, len(doctors))
    ours = retention.cumulative_incidence(doctors)
    ours = ours[ours["outcome"] == "h_psychiatry"].set_index("time")["cif"]
    ajf = AalenJohansenFitter(seed=1).fit(doctors["time"], doctors["event"], event_of_interest=1)
    theirs = ajf.cumulative_density_.iloc[:, 0]
    for t in (0.5, 1.0, 2.0, 3.0, 5.0):
        assert ours[ours.index <= t].iloc[-1] == pytest.approx(
            theirs[theirs.index <= t].iloc[-1], abs=1e-6
        )


def test_without_competing_outcomes_incidence_is_one_minus_kaplan_meier():
    from lifelines import KaplanMeierFitter

    doctors = prepare(simulate_trainees(np.random.default_rng(12), n=2000, rates=(0.4, 1e-9, 1e-9)))
    doctors = doctors[doctors["event"].isin([0, 1])]
    ours = retention.cumulative_incidence(doctors)
    ours = ours[ours["outcome"] == "h_psychiatry"].set_index("time")["cif"]
    km = (
        KaplanMeierFitter()
        .fit(doctors["time"], doctors["event"] == 1)
        .survival_function_.iloc[:, 0]
    )
    for t in (1.0, 2.5, 6.0):
        assert ours[ours.index <= t].iloc[-1] == pytest.approx(
            1 - km[km.index <= t].iloc[-1], abs=1e-9
        )


# --- the funnel ------------------------------------------------------------------------------
def test_funnel_counts_and_wilson_interval():
    base = dict(
        sex="F",
        birth_year=1990,
        region="Hovedstaden",
        specialty="psychiatry",
        combined_track=False,
        foreign_graduate=False,
        h_specialty=None,
        h_start=pd.NaT,
        exit_date=pd.NaT,
        i_end=pd.NaT,
        extract_date=EXTRACT,
    )
    rows = []
    for i in range(10):  # followed three years, half in H within the horizon
        row = dict(
            base,
            person_id=f"a{i}",
            i_start=pd.Timestamp("2018-01-01"),
            i_end=pd.Timestamp("2018-12-31"),
        )
        if i < 5:
            row.update(h_start=pd.Timestamp("2020-01-01"), h_specialty="psychiatry")
        rows.append(row)
    rows.append(dict(base, person_id="b", i_start=pd.Timestamp("2025-01-01")))  # not followed
    rows.append(
        dict(
            base,
            person_id="c",
            i_start=pd.Timestamp("2018-01-01"),
            i_end=pd.Timestamp("2018-03-01"),
            exit_date=pd.Timestamp("2018-03-01"),
        )
    )
    table = retention.funnel(prepare(pd.DataFrame(rows)))
    row = table.iloc[0]
    assert (row["i_starts"], row["completed_i"], row["followed"], row["h_within_horizon"]) == (
        12,
        10,
        11,
        5,
    )
    assert row["share"] == pytest.approx(5 / 11)
    low, high = retention.wilson(np.array([5]), np.array([10]))
    assert (low[0], high[0]) == pytest.approx((0.2366, 0.7634), abs=1e-4)


# --- disclosure -----------------------------------------------------------------------------
def small_region(n_small: int = 3) -> pd.DataFrame:
    df = simulate_trainees(np.random.default_rng(2), n=600, regions=contract.REGIONS[:4])
    small = simulate_trainees(np.random.default_rng(3), n=n_small)
    small["region"] = "Nordjylland"
    small["person_id"] = [f"X{i}" for i in range(n_small)]
    return prepare(pd.concat([df, small], ignore_index=True))


def test_a_region_of_three_trainees_is_never_shown_nor_recoverable():
    """The issue's attack: the small region hidden, a neighbour hidden too, no share or
    interval beside either, and the national totals cannot give back its 3 followed and 1
    converted: the independent audit finds every hidden count's range at least min_cell wide."""
    doctors = small_region()
    funnels = retention.protected_funnels(doctors, 5)
    by_region = funnels.tables["region"].set_index("region")
    north = by_region.loc["Nordjylland"]
    assert north[list(retention.FUNNEL_COUNTS)].isna().any()
    assert north[["share", "share_low", "share_high"]].isna().all()
    hidden = by_region[by_region[list(retention.FUNNEL_COUNTS)].isna().any(axis=1)]
    assert len(hidden) >= 2, "a second region is hidden so the small one cannot be subtracted out"
    assert hidden[["share", "share_low", "share_high"]].isna().all(axis=None)
    assert audit(funnels.linked.cells(), (), 5, funnels.linked.sensitive()) == []
    ranges = feasible_ranges(funnels.linked.cells())
    assert (ranges["high"] - ranges["low"] >= 5).all()

    shown = lambda g: funnels.shown("region", g)  # noqa: E731
    curves = retention.cumulative_incidence(doctors, "region", 5, shown=shown)
    assert not set(hidden.index) & set(curves["group"])
    at = retention.incidence_at(doctors, 3, "region", 5, shown=shown).set_index("group")
    assert at.loc[list(hidden.index), ["cif", "ci_low", "ci_high"]].isna().all(axis=None)
    cox = retention.fit_cox(doctors, 5)
    assert not cox.table["term"].str.contains("Nordjylland").any()
    overall = retention.incidence_at(doctors, 3, None, 5)
    metrics = retention.metrics(funnels, overall, at.reset_index(), cox, 3)
    assert all(
        metrics[f"cif_h_at_horizon_{r.lower().replace('æ', 'ae')}"] is None for r in hidden.index
    )


def test_a_share_of_a_small_group_is_not_published():
    """40 trainees in a region, 8 of them followed and 1 converted: 12,5 % of 8 is one person,
    so neither the count nor the share appears, and the region's incidence is withheld."""
    doctors = small_region(40)
    north = doctors["region"] == "Nordjylland"
    doctors.loc[north, "full_followup"] = False
    first_eight = doctors.index[north][:8]
    doctors.loc[first_eight, "full_followup"] = True
    doctors.loc[north, "h_within_horizon"] = False
    doctors.loc[first_eight[:1], "h_within_horizon"] = True
    table = retention.protected_funnels(doctors, 5).tables["region"].set_index("region")
    assert pd.isna(table.loc["Nordjylland", "h_within_horizon"])
    assert pd.isna(table.loc["Nordjylland", "share"])


def test_no_published_pair_of_counts_differs_by_fewer_than_min_cell():
    """ "Fulgt 7 | H-forløb 6" gives away the one who did not convert: in every published funnel
    row, each count and each difference between nested counts is 0 or at least min_cell."""
    doctors = prepare(simulate_trainees(np.random.default_rng(21), n=900))
    for name, table in retention.protected_funnels(doctors, 5).tables.items():
        for child, parent in retention.FUNNEL_NESTED.items():
            both = table[[child, parent]].dropna()
            difference = both[parent] - both[child]
            assert not ((difference > 0) & (difference < 5)).any(), (name, child, parent)
        counts = table[list(retention.FUNNEL_COUNTS)]
        assert not ((counts > 0) & (counts < 5)).any(axis=None), name


def test_curve_points_rest_on_at_least_min_cell_events_and_at_risk():
    """No step of a published curve is one doctor's: between published points at least
    min_cell events of the outcome, and min_cell still at risk."""
    doctors = prepare(simulate_trainees(np.random.default_rng(4), n=300))
    curves = retention.cumulative_incidence(doctors, None, 5)
    time, event = doctors["time"].to_numpy(), doctors["event"].to_numpy()
    for code, outcome in retention.OUTCOMES.items():
        points = curves[curves["outcome"] == outcome]["time"].to_numpy()
        for before, after in pairwise(np.r_[0.0, points[1:]]):
            between = ((time > before) & (time <= after) & (event == code)).sum()
            assert between >= 5, (outcome, before, after, between)
            assert (time >= after).sum() >= 5
    uncut = retention.cumulative_incidence(doctors, None, 1)
    assert len(uncut) > len(curves)


def test_residual_plot_shows_bins_of_events_not_doctors():
    doctors = prepare(simulate_trainees(np.random.default_rng(6), n=500))
    cox = retention.fit_cox(doctors, 5)
    binned = retention.binned_residuals(cox.schoenfeld, "combined_track", 5)
    assert binned["events"].min() >= 5
    assert binned["events"].sum() == len(cox.schoenfeld)


# --- edge cases ----------------------------------------------------------------------------
def test_no_events_at_all():
    df = simulate_trainees(np.random.default_rng(1), n=200)
    df[["h_start", "exit_date"]] = pd.NaT
    df["h_specialty"] = None
    doctors = prepare(df)
    cox = retention.fit_cox(doctors)
    assert cox.table.empty and "kan ikke estimeres" in retention_tables.note_text(cox.notes[-1])
    assert retention.incidence_at(doctors, 3).iloc[0]["cif"] == 0
    assert (retention.cumulative_incidence(doctors)["cif"] == 0).all()
    assert "kan ikke estimeres" in retention_tables.notes_text(
        retention.fit_logistic(doctors).notes
    )


def test_everyone_censored_before_the_horizon():
    df = simulate_trainees(np.random.default_rng(1), n=200, first=2025, last=2025)
    df[["h_start", "exit_date"]] = pd.NaT
    df["h_specialty"] = None
    doctors = prepare(df)
    assert not doctors["full_followup"].any()
    assert np.isnan(retention.incidence_at(doctors, 3).iloc[0]["cif"])
    assert retention.funnel(doctors).iloc[0]["followed"] == 0
    assert retention.fit_cox(doctors).ratio("combined_track") is None


def test_one_region_only():
    doctors = prepare(simulate_trainees(np.random.default_rng(1), regions=["Sjælland"]))
    cox = retention.fit_cox(doctors)
    assert "Region er udeladt" in retention_tables.notes_text(cox.notes)
    assert cox.ratio("combined_track") is not None


def test_everyone_on_the_combined_track():
    doctors = prepare(simulate_trainees(np.random.default_rng(1), p_combined=1.0))
    cox = retention.fit_cox(doctors, 5)
    assert cox.ratio("combined_track") is None
    assert "sammenhængende forløb kan ikke estimeres" in retention_tables.notes_text(cox.notes)
    assert "kan ikke estimeres" in retention_tables.models_text(
        cox, retention.fit_logistic(doctors, 5)
    )
    funnels = retention.protected_funnels(doctors, 5)
    metrics = retention.metrics(funnels, retention.incidence_at(doctors, 3), pd.DataFrame(), cox, 3)
    assert metrics["hr_combined_track"] is None


# --- training posts and parameters -----------------------------------------------------------
def test_fill_rate_trend_recovers_a_known_trend():
    rng = np.random.default_rng(13)
    rows = []
    for year in range(2010, 2026):
        p = 1 / (1 + math.exp(-(0.2 + 0.1 * (year - 2010))))
        for region in contract.REGIONS:
            rows.append(
                {
                    "year": year,
                    "region": region,
                    "specialty": "psychiatry",
                    "post_type": "H",
                    "advertised": 200,
                    "filled": rng.binomial(200, p),
                }
            )
    trend = retention.fill_rate_trend(pd.DataFrame(rows)).iloc[0]
    assert trend["ci_low"] <= math.exp(0.1) <= trend["ci_high"]
    rates = retention.fill_rates(pd.DataFrame(rows))
    assert rates["fill_rate"].between(rates["ci_low"], rates["ci_high"]).all()


def test_bad_params():
    with pytest.raises(ParamError, match="cohort_periods"):
        check(
            {
                **DEFAULTS,
                "retention": {
                    "horizon_years": 3,
                    "cohort_periods": [2015, 2010],
                    "curve_max_years": 8,
                },
            }
        )
    with pytest.raises(ParamError, match="horizon_years"):
        check(
            {
                **DEFAULTS,
                "retention": {"horizon_years": 0, "cohort_periods": [2010], "curve_max_years": 8},
            }
        )


def test_wilson_is_missing_where_a_count_is_hidden_without_a_warning():
    """A hidden count (NaN) on either side gives no interval and no RuntimeWarning."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        low, high = retention.wilson(np.array([3.0, np.nan, 5.0, 2.0]), np.array([np.nan, 4, 4, 4]))
    assert np.isnan(low[:3]).all() and np.isnan(high[:3]).all()
    assert 0 < low[3] < 0.5 < high[3] < 1


def test_the_logistic_model_on_covariate_cells_equals_one_row_per_doctor():
    """fit_logistic fits one binomial cell per covariate pattern (a register has a million
    doctors); estimates and intervals are those of the per-doctor model."""
    import statsmodels.api as sm

    doctors = prepare(simulate_trainees(np.random.default_rng(3), n=3000))
    fitted = retention.fit_logistic(doctors).table.set_index("term")
    followed = doctors[doctors["full_followup"]]
    x, _, _ = retention.design(followed, 1)
    per_doctor = sm.GLM(
        followed["h_within_horizon"].to_numpy(dtype=float),
        sm.add_constant(x.to_numpy(dtype=float), has_constant="add"),
        family=sm.families.Binomial(),
    ).fit()
    ratios = np.exp(np.asarray(per_doctor.params)[1:])
    low = np.exp(np.asarray(per_doctor.conf_int())[1:, 0])
    assert len(fitted) == x.shape[1] >= 3
    np.testing.assert_allclose(fitted.loc[list(x.columns), "ratio"], ratios, rtol=1e-8)
    np.testing.assert_allclose(fitted.loc[list(x.columns), "ci_low"], low, rtol=1e-6)
