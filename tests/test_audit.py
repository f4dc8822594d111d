"""The LP audit of published counts against known truth and against brute-force enumeration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.publish import audit as audit_module
from pipeline.publish.audit import Cell, Knowledge, Ratio, audit, disclosive, feasible_ranges


def ranges(cells, ratios=(), **kwargs) -> dict[str, tuple[float, float]]:
    table = feasible_ranges(cells, ratios, **kwargs)
    return {r.name: (r.low, r.high) for r in table.itertuples()}


def one_way(values: dict[str, int], hidden: set[str], total: bool = True) -> list[Cell]:
    """A one-way table (inner cells = its rows) with its total."""
    cells = [Cell(k, {k: 1}, None if k in hidden else v) for k, v in values.items()]
    if total:
        cells.append(Cell("total", dict.fromkeys(values, 1), sum(values.values())))
    return cells


# --- the rule --------------------------------------------------------------------------------
def test_an_interval_is_disclosive_when_narrower_than_min_cell():
    assert disclosive(3, 3, 5)  # pinned
    assert disclosive(1, 4, 5)  # 1 to 4: a small count for sure
    assert not disclosive(1, 6, 5)  # six possible values
    # Narrow large values too: a hidden 6 pinned beside a published 7 gives away the one who
    # did not convert, and the audit cannot know why a cell was hidden.
    assert disclosive(6, 8, 5)


# --- scenarios from the issue ----------------------------------------------------------------
def test_a_row_total_with_one_hidden_cell_gives_it_away():
    cells = one_way({"a": 3, "b": 10, "c": 12}, hidden={"a"})
    assert ranges(cells) == {"a": (3, 3)}
    problems = audit(cells)
    assert problems == [
        "a: can be narrowed to 3–3 from the published numbers (range < min_cell = 5)"
    ]


def test_a_complementary_cell_of_at_least_min_cell_protects_it():
    cells = one_way({"a": 3, "b": 10, "c": 12}, hidden={"a", "b"})
    assert ranges(cells) == {"a": (1, 12), "b": (1, 12)}
    assert audit(cells) == []


def test_a_small_complement_does_not_protect_either():
    # 3 and 2 hidden beside a published total: both are known to be 1 to 4.
    cells = one_way({"a": 3, "b": 2, "c": 12}, hidden={"a", "b"})
    assert ranges(cells) == {"a": (1, 4), "b": (1, 4)}
    assert len(audit(cells)) == 2


def test_a_published_share_with_its_denominator_pins_the_hidden_numerator():
    # "Fulgt 7 | H-forløb 6": the 6 is hidden, but 85,7 % of 7 can only be 6.
    cells = [
        Cell("followed", {"converted": 1, "not_converted": 1}, 7),
        Cell("converted", {"converted": 1}, None),
    ]
    share = Ratio("share", {"converted": 1}, {"converted": 1, "not_converted": 1}, 0.857, 0.0005)
    assert ranges(cells, [share]) == {"converted": (6, 6)}
    assert audit(cells, [share]) == [
        "converted: can be narrowed to 6–6 from the published numbers (range < min_cell = 5)"
    ]
    # Without the share, 1 to 7 converted: safe, and so is the one who did not.
    sensitive = {"followed - converted": {"not_converted": 1}}
    assert audit(cells, sensitive=sensitive) == []
    assert audit(cells, [share], sensitive=sensitive)[-1].startswith("followed - converted: ")


def test_the_national_total_minus_the_regions_shown_gives_a_hidden_region_away():
    regions = {"Hovedstaden": 61, "Sjælland": 30, "Syddanmark": 44, "Midtjylland": 52}
    cells = one_way({**regions, "Nordjylland": 3}, hidden={"Nordjylland"})
    assert ranges(cells) == {"Nordjylland": (3, 3)}
    assert audit(cells)
    # Hiding the neighbour too protects it ...
    cells = one_way({**regions, "Nordjylland": 3}, hidden={"Nordjylland", "Sjælland"})
    assert audit(cells) == []


def test_a_hidden_neighbour_whose_share_and_n_are_shown_gives_the_small_region_away():
    # The issue: region N (3 followed, 1 converted) hidden, neighbour M hidden, yet M's share
    # 75,0 % and its interval are shown; the Wilson interval's width gives M's n (40) away,
    # modelled here as a published count. With the national totals, N is recovered.
    inner = ["N_conv", "N_not", "M_conv", "M_not", "rest_conv", "rest_not"]
    truth = dict(zip(inner, [1, 2, 30, 10, 100, 50], strict=True))

    def count(keys):
        return sum(truth[k] for k in keys)

    followed = {
        "N": ["N_conv", "N_not"],
        "M": ["M_conv", "M_not"],
        "rest": ["rest_conv", "rest_not"],
    }
    cells = [
        Cell("national:followed", dict.fromkeys(inner, 1), count(inner)),
        Cell("national:converted", dict.fromkeys(inner[::2], 1), count(inner[::2])),
        Cell("N:followed", dict.fromkeys(followed["N"], 1), None),
        Cell("N:converted", {"N_conv": 1}, None),
        Cell("M:followed", dict.fromkeys(followed["M"], 1), None),
        Cell("M:converted", {"M_conv": 1}, None),
        Cell("rest:followed", dict.fromkeys(followed["rest"], 1), count(followed["rest"])),
        Cell("rest:converted", {"rest_conv": 1}, 100),
    ]
    assert audit(cells) == []  # counts alone: protected
    n_from_interval = Cell("M:n from the interval", dict.fromkeys(followed["M"], 1), 40)
    share = Ratio("M:share", {"M_conv": 1}, dict.fromkeys(followed["M"], 1), 0.75, 0.0005)
    found = ranges([*cells, n_from_interval], [share])
    assert found["N:followed"] == (3, 3)
    assert found["N:converted"] == (1, 1)
    assert len(audit([*cells, n_from_interval], [share])) == 4


def test_the_same_count_shown_on_another_page_gives_it_away():
    cells = [
        *one_way({"a": 3, "b": 10, "c": 12}, hidden={"a", "b"}),
        Cell("other page: a", {"a": 1}, 3),
    ]
    problems = audit(cells)
    assert any(p.startswith("a: ") for p in problems)
    assert any(p.startswith("b: ") for p in problems)  # 25 - 12 - 3


def test_a_nested_difference_can_be_pinned_while_both_counts_are_wide():
    # Three rows of followed (= converted + not converted). Rows 1 and 2 are hidden, totals are
    # published, and another page shows row 2's and 3's "not converted". Converted and followed
    # of row 1 stay wide, yet its 2 who did not convert are recovered.
    c = {1: 20, 2: 30, 3: 40}
    n = {1: 2, 2: 10, 3: 7}
    cells = [
        Cell("total:followed", {f"{o}{r}": 1 for o in "cn" for r in c}, sum(c.values()) + 19),
        Cell("total:converted", {f"c{r}": 1 for r in c}, sum(c.values())),
        Cell("row3:followed", {"c3": 1, "n3": 1}, c[3] + n[3]),
        Cell("row3:converted", {"c3": 1}, c[3]),
        Cell("other page: row2 not converted", {"n2": 1}, n[2]),
        *(Cell(f"row{r}:followed", {f"c{r}": 1, f"n{r}": 1}, None) for r in (1, 2)),
        *(Cell(f"row{r}:converted", {f"c{r}": 1}, None) for r in (1, 2)),
    ]
    found = ranges(cells)
    assert found["row1:converted"] == (1, 49)
    assert found["row1:followed"] == (3, 51)
    assert audit(cells) == []
    sensitive = {"row1: followed - converted": {"n1": 1}}
    assert audit(cells, sensitive=sensitive) == [
        "row1: followed - converted: can be narrowed to 2–2 from the published numbers "
        "(range < min_cell = 5)"
    ]


def test_published_small_counts_are_problems_too():
    cells = one_way({"a": 3, "b": 10}, hidden=set())
    assert audit(cells) == ["a: shows 3, a count below min_cell = 5"]
    assert audit(one_way({"a": 0, "b": 10}, hidden=set())) == []  # zeros describe nobody


def test_zeros_are_known_and_contradictions_are_reported():
    # A published zero margin fixes its inner cells: the hidden cell beside it is pinned.
    cells = [
        Cell("x", {"a": 1, "b": 1}, 4),
        Cell("zero", {"b": 1, "c": 1}, 0),
        Cell("a", {"a": 1}, None),
    ]
    assert ranges(cells) == {"a": (4, 4)}
    contradiction = [Cell("x", {"a": 1, "b": 1}, 4), Cell("y", {"a": 1, "b": 1}, 5)]
    with pytest.raises(ValueError, match="contradict"):
        feasible_ranges([*contradiction, Cell("a", {"a": 1}, None)])


def test_unbounded_cells_are_as_wide_as_can_be():
    cells = [Cell("a", {"a": 1}, None), Cell("b", {"b": 1}, 7)]
    assert ranges(cells)["a"] == (1, np.inf)
    assert audit(cells) == []


# --- LP ranges against brute force ------------------------------------------------------------
def brute_force(cells, ratios=()) -> dict[str, tuple[int, int]]:
    """Every integer solution, enumerated: inner cells fixed by a published cell of their own,
    the others from 0 to the smallest published total containing them."""
    keys = sorted({k for c in cells for k in c.terms})
    fixed = {next(iter(c.terms)): c.value for c in cells if c.published and len(c.terms) == 1}
    axes = []
    for k in keys:
        if k in fixed:
            axes.append(np.array([fixed[k]], dtype=np.int64))
        else:
            top = min(c.value for c in cells if c.published and k in c.terms)
            axes.append(np.arange(int(top) + 1))
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(keys))

    def form(terms):
        return np.array([terms.get(k, 0) for k in keys], dtype=float)

    ok = np.ones(len(grid), dtype=bool)
    for c in cells:
        values = grid @ form(c.terms)
        ok &= values == c.value if c.published else values >= 1
    for r in ratios:
        num, den = grid @ form(r.num), grid @ form(r.den)
        ok &= (den >= 1) & (np.abs(num - r.value * den) <= r.half_width * den + 1e-9)
    assert ok.any(), "the truth is a solution"
    solutions = grid[ok]
    return {
        c.name: (int((solutions @ form(c.terms)).min()), int((solutions @ form(c.terms)).max()))
        for c in cells
        if not c.published
    }


def two_way(rng, hide_margin: bool) -> list[Cell]:
    """A random 2 × 3 table (values 0..12) with row, column and grand totals; some non-zero
    cells hidden, sometimes a margin too."""
    values = rng.integers(0, 13, size=(2, 3))
    keys = {(i, j): f"x{i}{j}" for i in range(2) for j in range(3)}
    positive = [k for k in keys if values[k] > 0]
    size = min(len(positive), int(rng.integers(1, 5)))
    hidden = {keys[positive[i]] for i in rng.choice(len(positive), size=size, replace=False)}
    cells = [Cell(n, {n: 1}, None if n in hidden else int(values[k])) for k, n in keys.items()]
    margins = [(f"row{i}", [keys[i, j] for j in range(3)]) for i in range(2)]
    margins += [(f"col{j}", [keys[i, j] for i in range(2)]) for j in range(3)]
    for name, members in margins:
        value = int(sum(values[k] for k in keys if keys[k] in members))
        hide = hide_margin and name == "row0" and value > 0
        cells.append(Cell(name, dict.fromkeys(members, 1), None if hide else value))
    cells.append(Cell("total", dict.fromkeys(keys.values(), 1), int(values.sum())))
    return cells


@pytest.mark.parametrize("seed", range(8))
def test_lp_ranges_equal_the_integer_ranges_of_two_way_tables(seed):
    # A two-way table with its margins has a totally unimodular constraint matrix: the LP
    # vertices are integral, so the rounded LP range is the integer range.
    rng = np.random.default_rng(seed)
    for hide_margin in (False, True):
        cells = two_way(rng, hide_margin)
        exact = brute_force(cells)
        assert ranges(cells) == exact
        assert ranges(cells, integer=True) == exact


def test_with_a_rounded_share_the_lp_range_can_be_wider_than_the_integer_range():
    # a + b + c = 15 and a / (a + b) printed as 77 %: only 10, 3, 2 fits in whole numbers.
    cells = [
        Cell("a", {"a": 1}, None),
        Cell("b", {"b": 1}, None),
        Cell("c", {"c": 1}, None),
        Cell("total", {"a": 1, "b": 1, "c": 1}, 15),
    ]
    share = [Ratio("a / (a + b)", {"a": 1}, {"a": 1, "b": 1}, 0.77, 0.005)]
    exact = brute_force(cells, share)
    assert exact == {"a": (10, 10), "b": (3, 3), "c": (2, 2)}
    relaxed = ranges(cells, share)
    assert relaxed == {"a": (4, 10), "b": (1, 3), "c": (1, 10)}
    for name, (low, high) in exact.items():  # the relaxation contains the integer range
        assert relaxed[name][0] <= low and high <= relaxed[name][1]
    assert ranges(cells, share, integer=True) == exact
    # With a share on the page, the audit solves integer programmes by default.
    assert len(audit(cells, share)) == 3
    assert len(audit(cells, share, integer=False)) == 1  # only b (1 to 3) on the relaxation


# --- the solver ------------------------------------------------------------------------------
def test_both_lp_backends_agree(monkeypatch):
    cells = two_way(np.random.default_rng(5), True)
    warm = feasible_ranges(cells)
    monkeypatch.setattr(audit_module, "LP_BACKEND", "linprog")
    cold = feasible_ranges(cells)
    pd.testing.assert_frame_equal(warm, cold)


def test_hiding_a_cell_only_widens_what_a_reader_knows():
    cells = one_way({"a": 3, "b": 10, "c": 12}, hidden={"a"})
    knowledge = Knowledge(cells)
    assert knowledge.range({"a": 1}) == (3, 3)
    knowledge.hide(1)  # b
    assert knowledge.range({"a": 1}) == (1, 12)
    found = knowledge.narrow({"a": {"a": 1}, "b": {"b": 1}}, 5)
    assert found == {}


def test_what_a_stage_publishes_is_saved_for_the_report_stage(tmp_path):
    cells = [
        Cell("funnel:Sjælland:followed", {("2018", "Sjælland", "followed"): 1}, 7),
        Cell("funnel:Sjælland:converted", {("2018", "Sjælland", "followed+h"): 1}, None),
    ]
    ratios = [Ratio("share", {"a": 1}, {"a": 1, "b": 1}, None, 0.0005)]
    sensitive = {"funnel:Sjælland:followed-converted": {("2018", "Sjælland", "followed"): 1}}
    audit_module.save(tmp_path / "cells.json", cells, ratios, sensitive)
    assert audit_module.load(tmp_path / "cells.json") == (cells, ratios, sensitive)


def test_numpy_scalars_in_keys_are_saved_as_python_values(tmp_path):
    key = (np.int64(2018), ("Sjælland", np.bool_(True), np.float64(0.5)))
    audit_module.save(tmp_path / "cells.json", [Cell("c", {key: np.float64(1)}, np.int64(7))])
    (cell,), _, _ = audit_module.load(tmp_path / "cells.json")
    assert cell.terms == {(2018, ("Sjælland", True, 0.5)): 1.0}
    assert cell.value == 7 and type(cell.value) is int
    with pytest.raises(TypeError, match="set cannot be written"):
        audit_module.save(tmp_path / "other.json", [Cell("c", {"a": 1}, {1})])
    assert not (tmp_path / "other.json").exists()
