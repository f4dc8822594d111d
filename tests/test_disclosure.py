"""Suppression of linked tables: the issue's scenarios, simulated doctors and the demo data, each
checked by the independent LP audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.analysis.retention import model as retention
from pipeline.data import contract
from pipeline.publish.audit import Cell, audit, feasible_ranges
from pipeline.publish.disclosure import (
    LinkedTables,
    gauss_suppression,
    mask_dependent,
    protect_table,
)

MIN_CELL = 5
MEASURES = {
    "i_starts": None,
    "completed_i": "completed_i",
    "followed": "full_followup",
    "h_within_horizon": "h_within_horizon",
}
NESTED = {"h_within_horizon": "followed", "followed": "i_starts", "completed_i": "i_starts"}
# child, ancestor: every nested difference that counts persons
PAIRS = [
    ("h_within_horizon", "followed"),
    ("h_within_horizon", "i_starts"),
    ("followed", "i_starts"),
    ("completed_i", "i_starts"),
]
# The retention page's funnels.
FUNNELS = {
    "funnel_cohort": ["cohort"],
    "funnel_region": ["region"],
    "funnel_specialty": ["specialty"],
    "funnel_track": ["track"],
    "funnel_cohort_region_specialty": ["cohort", "region", "specialty"],
    "total": [],
}


def simulate(
    rng, n, regions=contract.REGIONS, cohorts=range(2016, 2024), followed_until=2021, p_h=0.55
) -> pd.DataFrame:
    """Doctors: cohort, region, specialty, track and the funnel's flags (H-post within the
    horizon only among the fully followed)."""
    cohort = rng.choice(np.asarray(cohorts), n)
    followed = cohort <= followed_until
    return pd.DataFrame(
        {
            "cohort": cohort,
            "region": pd.Categorical(rng.choice(list(regions), n), contract.REGIONS, ordered=True),
            "specialty": rng.choice(list(contract.SPECIALTIES), n, p=[0.7, 0.3]),
            "track": rng.random(n) < 0.3,
            "completed_i": rng.random(n) < 0.85,
            "full_followup": followed,
            "h_within_horizon": followed & (rng.random(n) < p_h),
        }
    )


def group(n, region, followed=0, converted=0, completed=None, cohort=2018) -> pd.DataFrame:
    """``n`` doctors in one region: the first ``followed`` followed, the first ``converted`` of
    them converted."""
    completed = n if completed is None else completed
    i = np.arange(n)
    return pd.DataFrame(
        {
            "cohort": cohort,
            "region": pd.Categorical([region] * n, contract.REGIONS, ordered=True),
            "specialty": "psychiatry",
            "track": False,
            "completed_i": i < completed,
            "full_followup": i < followed,
            "h_within_horizon": i < converted,
        }
    )


def linked(doctors, tables, dims=None, min_cell=MIN_CELL) -> LinkedTables:
    dims = dims or sorted({d for by in tables.values() for d in by})
    out = LinkedTables(doctors, dims, MEASURES, min_cell, NESTED)
    for name, by in tables.items():
        out.add(name, by)
    return out


def assert_protected(
    tables: LinkedTables, shown: dict[str, pd.DataFrame], min_cell=MIN_CELL, audited=False
):
    """No published count or nested difference of 1 to min_cell - 1, and the audit passes."""
    for name, frame in shown.items():
        for measure in MEASURES:
            values = frame[measure].dropna()
            assert not values.between(1, min_cell - 1).any(), (name, measure)
            assert frame[measure].isna().equals(frame[measure + "_suppressed"])
        for child, ancestor in PAIRS:
            both = frame[[ancestor, child]].dropna()
            difference = both[ancestor] - both[child]
            assert not difference.between(1, min_cell - 1).any(), (name, child, ancestor)
    if not audited:
        assert audit(tables.cells(), min_cell=min_cell, sensitive=tables.sensitive()) == []


def hidden_cells(shown: dict[str, pd.DataFrame]) -> int:
    return sum(
        int(frame[[m + "_suppressed" for m in MEASURES]].sum().sum()) for frame in shown.values()
    )


# --- the algorithm --------------------------------------------------------------------------
def test_gaussian_elimination_hides_the_classic_rectangle():
    # A 2 × 2 table with its margins; cell a is primary. Publishing every candidate but the
    # other three inner cells keeps a out of the published span.
    members = [[0], [1], [2], [3], [0, 1], [2, 3], [0, 2], [1, 3], [0, 1, 2, 3]]
    x = np.zeros((4, len(members)))
    for j, m in enumerate(members):
        x[m, j] = 1
    primary = np.zeros(len(members), dtype=bool)
    primary[0] = True
    order = [8, 4, 5, 6, 7, 3, 2, 1]  # totals first, then large inner cells
    hidden = gauss_suppression(x, primary, order)
    assert np.flatnonzero(hidden).tolist() == [0, 1, 2, 3]
    # A protected difference (row 1 minus cell a = cell b) counts as primary too.
    extra = np.array([[-1.0], [1.0], [0.0], [0.0]])
    only_b = gauss_suppression(x[:, [4, 1]], np.array([False, False]), [0, 1], extra)
    assert only_b.tolist() == [False, True]


# --- the scenarios --------------------------------------------------------------------
def test_a_region_of_three_trainees_cannot_be_recovered():
    rng = np.random.default_rng(2)
    big = simulate(rng, 600, regions=contract.REGIONS[:4], cohorts=[2018], followed_until=2018)
    small = group(3, "Nordjylland", followed=3, converted=1)
    doctors = pd.concat([big, small], ignore_index=True)
    tables = linked(doctors, {"funnel_region": ["region"], "total": []})
    shown = tables.protect()
    region = shown["funnel_region"].set_index("region")
    assert region.loc["Nordjylland", list(MEASURES)].isna().all()
    neighbours = region.drop(index="Nordjylland")
    for measure in MEASURES:  # each hidden count has a hidden companion
        assert neighbours[measure].isna().sum() >= 1, measure
    assert shown["total"][list(MEASURES)].notna().all(axis=None)  # national totals published
    assert_protected(tables, shown)
    # Shares follow the rule: none where a count of the row is hidden.
    funnel = retention.funnel(doctors.assign(time=1.0, event=0), ["region"]).set_index("region")
    with_counts = region.join(funnel[["share", "share_low", "share_high"]])
    masked = mask_dependent(with_counts, list(MEASURES), ["share", "share_low", "share_high"])
    assert masked.loc["Nordjylland", ["share", "share_low", "share_high"]].isna().all()
    assert masked.loc[neighbours.index[neighbours["followed"].isna()], "share"].isna().all()
    # The reader cannot get the 3 followed and the 1 converted back.
    found = feasible_ranges(tables.cells()).set_index("name")
    for measure in ("followed", "h_within_horizon"):
        low, high = found.loc[f"funnel_region:Nordjylland:{measure}", ["low", "high"]]
        assert high - low >= MIN_CELL


def test_one_converted_of_eight_is_hidden_and_so_is_the_share():
    # 40 trainees in five regions of 8; in one, 1 of the 8 followed converted ("12,5 % of 8").
    frames = [group(8, r, followed=8, converted=5) for r in contract.REGIONS[1:]]
    doctors = pd.concat([group(8, "Hovedstaden", followed=8, converted=1), *frames])
    tables = linked(doctors, {"funnel_region": ["region"], "total": []})
    shown = tables.protect()
    capital = shown["funnel_region"].set_index("region").loc["Hovedstaden"]
    assert pd.isna(capital["h_within_horizon"])
    share = pd.DataFrame({"share": [1 / 8]}, index=[0]).join(
        shown["funnel_region"].iloc[[0]].reset_index(drop=True)
    )
    assert mask_dependent(share, list(MEASURES), ["share"])["share"].isna().all()
    assert_protected(tables, shown)


def test_one_doctor_who_did_not_convert_hides_the_converted():
    # "Fulgt 7 | H-forløb 6": the 6 is hidden (the 1 who did not convert is the small count).
    doctors = pd.concat(
        [
            group(7, "Sjælland", followed=7, converted=6),
            *(group(30, r, followed=30, converted=15) for r in contract.REGIONS[2:]),
        ]
    )
    tables = linked(doctors, {"funnel_region": ["region"], "total": []})
    shown = tables.protect()
    row = shown["funnel_region"].set_index("region").loc["Sjælland"]
    assert pd.isna(row["h_within_horizon"])
    assert "funnel_region:Sjælland:followed-h_within_horizon" in tables.sensitive()
    assert_protected(tables, shown)


def test_simulated_doctors_in_linked_tables_are_protected():
    doctors = simulate(np.random.default_rng(11), 500)
    tables = linked(
        doctors,
        {
            "cohort": ["cohort"],
            "region": ["region"],
            "track": ["track"],
            "cohort_region": ["cohort", "region"],
            "total": [],
        },
        dims=["cohort", "region", "track"],
    )
    shown = tables.protect()
    assert set(shown) == {"cohort", "region", "track", "cohort_region", "total"}
    assert len(shown["cohort_region"]) == 8 * 5
    assert_protected(tables, shown)


def test_the_demo_data_linked_as_on_the_retention_page(demo_tables):
    # ~1,900 doctors, 16 cohorts × 5 regions × 2 specialties × 2 tracks, five funnels and the
    # national total (its speed is measured in benchmarks, not asserted here).
    doctors = retention.prepare(demo_tables["trainees"], 3, [2010, 2015, 2020])
    # The funnel counts H-posts within the horizon among the fully followed only.
    doctors["h_within_horizon"] &= doctors["full_followup"]
    tables = linked(doctors, FUNNELS, dims=["cohort", "region", "specialty", "track"])
    shown = tables.protect()
    assert audit(tables.cells(), sensitive=tables.sensitive()) == []
    assert_protected(tables, shown, audited=True)
    detailed = shown["funnel_cohort_region_specialty"]
    assert len(detailed) == 16 * 5 * 2
    # The one-way funnels keep most of their numbers.
    for name in ("funnel_cohort", "funnel_region", "funnel_specialty", "funnel_track", "total"):
        assert shown[name][list(MEASURES)].notna().to_numpy().mean() > 0.7, name


# --- how much is hidden ------------------------------------------------------------------------
def test_nothing_is_hidden_without_small_counts_and_little_with_one():
    rng = np.random.default_rng(3)
    doctors = simulate(rng, 4000, regions=contract.REGIONS[:3], cohorts=[2016, 2017, 2018])
    tables = {"region": ["region"], "cohort": ["cohort"], "total": []}
    shown = linked(doctors, tables).protect()
    assert hidden_cells(shown) == 0
    with_small = pd.concat([doctors, group(3, "Nordjylland", followed=3, converted=1)])
    small = linked(with_small, tables)
    shown = small.protect()
    assert shown["region"].set_index("region").loc["Nordjylland", list(MEASURES)].isna().all()
    # Nordjylland's four counts and a companion for each (Nordjylland's cohort 2018 is inside
    # a published cohort total, which needs a companion region too).
    assert hidden_cells(shown) <= 12
    assert_protected(small, shown)


def test_the_same_input_gives_the_same_pattern():
    doctors = simulate(np.random.default_rng(7), 300)
    tables = {"cohort_region": ["cohort", "region"], "region": ["region"], "total": []}
    first = linked(doctors, tables).protect()
    second = linked(doctors.sample(frac=1, random_state=1), tables).protect()
    for name in tables:
        pd.testing.assert_frame_equal(first[name], second[name])


# --- tables held only aggregated -----------------------------------------------------------
def reader_cells(df, dims, shown, frames, count="filled", bound=None) -> list[Cell]:
    """The reader's view of protect_table's output, built from the frames alone: inner cells
    are the table's rows (split into the count and the rest of its bound), and every margin row
    sums those that match it."""
    keys = [tuple(r) for r in df[dims].astype(str).to_numpy()]
    cells = []
    for key, by in frames.items():
        frame = shown[key]
        for row in frame.itertuples(index=False):
            match = (
                np.logical_and.reduce(
                    [df[b].astype(str).to_numpy() == str(getattr(row, b)) for b in by]
                )
                if by
                else np.ones(len(df), bool)
            )
            inside = [k for k, m in zip(keys, match, strict=True) if m]
            value = getattr(row, count)
            cells.append(
                Cell(
                    f"{by}{row}",
                    {(*k, count): 1 for k in inside},
                    None if pd.isna(value) else value,
                )
            )
            if bound:
                terms = {(*k, part): 1 for k in inside for part in (count, "rest")}
                cells.append(Cell(f"{by}{row}:{bound}", terms, getattr(row, bound)))
    return cells


def test_posts_protected_with_their_regional_and_national_margins(demo_tables):
    posts = demo_tables["training_posts"]
    dims = ["year", "region", "specialty", "post_type"]
    national, regional = ["year", "post_type", "specialty"], ["region", "post_type", "specialty"]
    shown = protect_table(
        posts,
        ["filled"],
        dims,
        MIN_CELL,
        margins=[national, regional],
        within={"filled": "advertised"},
    )
    assert set(shown) == {",".join(national), ",".join(regional)}
    for frame in shown.values():
        assert not frame["filled"].dropna().between(1, MIN_CELL - 1).any()
        assert frame["advertised"].notna().all()  # public, never hidden
    frames = {",".join(national): national, ",".join(regional): regional}
    cells = reader_cells(posts, dims, shown, frames, bound="advertised")
    assert audit(cells) == []


def test_a_count_is_protected_against_its_public_bound():
    # The reader sees how many posts were advertised, so a hidden count of filled posts lies
    # between 1 and that. With 9 advertised, a hidden 3 and a companion (against the total)
    # are safe; with 4 advertised, the 3 is within 1 to 4 whatever is hidden.
    df = pd.DataFrame({"region": ["A", "B", "C"], "advertised": [9, 20, 30], "filled": [3, 15, 25]})
    shown = protect_table(df, ["filled"], ["region"], MIN_CELL, within={"filled": "advertised"})
    assert shown["table"]["filled"].isna().tolist() == [True, True, False]
    frames = {"table": ["region"], "total": []}
    cells = reader_cells(df, ["region"], shown, frames, bound="advertised")
    assert audit(cells) == []
    tiny = df.assign(advertised=[4, 20, 30])
    with pytest.raises(ValueError, match="published in full narrow"):
        protect_table(tiny, ["filled"], ["region"], MIN_CELL, within={"filled": "advertised"})


def test_a_small_table_with_all_its_margins():
    df = pd.DataFrame(
        {
            "year": [2020, 2020, 2020, 2021, 2021, 2021],
            "region": ["A", "B", "C"] * 2,
            "filled": [12, 3, 20, 15, 0, 18],
            "rate": [0.9, 0.5, 0.8, 0.95, np.nan, 0.85],
        }
    )
    shown = protect_table(df, ["filled"], ["year", "region"], MIN_CELL)
    assert set(shown) == {"table", "year", "region", "total"}
    table = shown["table"]
    assert table["filled"].dtype == "Int64"
    # The 3 and its companion in the same year; the region margin of 3 and a companion margin.
    assert table["filled"].isna().tolist() == [True, True, False, False, False, False]
    assert shown["region"]["filled"].isna().tolist() == [True, True, False]
    assert table.loc[4, "filled"] == 0  # zeros are published
    rate = mask_dependent(table, ["filled"], ["rate"])["rate"]
    assert rate.isna().tolist() == [True, True, False, False, True, False]
    assert shown["total"]["filled"].iloc[0] == 68
    cells = [
        Cell(f"inner {i}", {i: 1}, None if pd.isna(v) else v) for i, v in enumerate(table["filled"])
    ]
    for by in ("year", "region"):
        for key, frame in shown[by].groupby(by):
            rows = table.index[table[by] == key]
            value = frame["filled"].iloc[0]
            cells.append(
                Cell(f"{by} {key}", dict.fromkeys(rows, 1), None if pd.isna(value) else value)
            )
    cells.append(Cell("total", dict.fromkeys(table.index, 1), 68))
    assert audit(cells) == []


# --- input checks ------------------------------------------------------------------------------
def test_bad_input_is_refused():
    doctors = simulate(np.random.default_rng(1), 50)
    with pytest.raises(ValueError, match="min_cell"):
        LinkedTables(doctors, ["region"], MEASURES, 0)
    with pytest.raises(ValueError, match="unknown measure"):
        LinkedTables(doctors, ["region"], MEASURES, 5, {"h_within_horizon": "nope"})
    broken = doctors.assign(full_followup=False, h_within_horizon=True)
    with pytest.raises(ValueError, match="not in its parent 'followed'"):
        LinkedTables(broken, ["region"], MEASURES, 5, NESTED)
    tables = LinkedTables(doctors, ["region"], MEASURES, 5, NESTED)
    with pytest.raises(ValueError, match="not among dims"):
        tables.add("t", ["cohort"])
    with pytest.raises(ValueError, match="protect"):
        tables.cells()
