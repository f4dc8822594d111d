"""The CPR detector: every format caught, realistic non-CPR values left alone, and the four
entry points (one string, pandas column, DuckDB, page text) giving the same answer."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import DEMO

from pipeline.data.cpr import (
    MESSAGE,
    cpr_mask,
    cpr_sql_predicate,
    looks_like_cpr,
    normalise_cpr,
    page_has_cpr,
)
from pipeline.data.read import read_csv

CPR_FORMS = [
    "010190-1234",
    "0101901234",
    "010190 1234",
    "010190/1234",
    "010190_1234",
    "010190.1234",
    "CPR0101901234",
    "cpr: 010190-1234",
    "cpr:010190-1234",
    "CPR-nr. 311299-9999",
    " 0101901234 ",
    "101901234",  # the leading zero lost when the column was read as a number
    "101901234.0",  # ... and written back as a float
    "2902001234",  # 29 February: allowed for every year, the century is unknown
    "0101901234.0",
    "id 010190-1234 (old)",
]
NOT_CPR = [
    "2019-09-01",
    "31-08-2020",
    "20190901",
    "2019-09-01 12:30:00",
    "T0000123",
    "P0881273",
    "12345",
    "9999999999",
    "3213991234",  # day 32
    "3102991234",  # 31 February
    "0001901234",  # day 0
    "0113901234",  # month 13
    "20.5",
    "2019",
    "",
    "101901234 and more",  # nine digits count only as a whole cell
    "0101901234567",  # inside a longer run of digits
    "12345678901",
    "1010190-1234",
    "010190--1234",
    "Hovedstaden",
    "child_adolescent_psychiatry",
    "PKDAHNBOEGLCMJPF",
]


def sql_answers(values: list[str | None]) -> list[bool]:
    frame = pd.DataFrame({"x": pd.Series(values, dtype=object)})
    con = duckdb.connect()
    con.register("frame", frame)
    rows = con.execute(f"SELECT {cpr_sql_predicate('x')} FROM frame").fetchall()
    con.close()
    return [bool(value) for (value,) in rows]


def all_answers(values: list[str]) -> dict[str, list[bool]]:
    return {
        "looks_like_cpr": [looks_like_cpr(v) for v in values],
        "cpr_mask": cpr_mask(pd.Series(values, dtype="string[pyarrow]")).tolist(),
        "cpr_mask(object)": cpr_mask(pd.Series(values, dtype=object)).tolist(),
        "sql": sql_answers(values),
    }


def test_every_cpr_form_is_caught_by_every_entry_point():
    for name, answers in all_answers(CPR_FORMS).items():
        missed = [v for v, hit in zip(CPR_FORMS, answers, strict=True) if not hit]
        assert missed == [], f"{name} missed {missed}"


def test_realistic_non_cpr_values_are_left_alone():
    for name, answers in all_answers(NOT_CPR).items():
        flagged = [v for v, hit in zip(NOT_CPR, answers, strict=True) if hit]
        assert flagged == [], f"{name} flagged {flagged}"


def test_numeric_columns_catch_integer_ids_with_the_leading_zero_lost():
    ints = pd.Series([101901234, 3112991234, 2019, 12345, 9999999999, 3213991234, -101901234])
    assert cpr_mask(ints).tolist() == [True, True, False, False, False, False, False]
    nullable = pd.Series([101901234, None, 20], dtype="Int64")
    assert cpr_mask(nullable).tolist() == [True, False, False]
    arrow = pd.Series([101901234, None], dtype="int64[pyarrow]")
    assert cpr_mask(arrow).tolist() == [True, False]
    floats = pd.Series([101901234.0, 3112991234.0, 101901234.5, 20.5, np.nan, np.inf])
    assert cpr_mask(floats).tolist() == [True, True, False, False, False, False]


def test_other_column_types():
    categorical = pd.Series(["adult", "010190-1234", None, "adult"], dtype="category")
    assert cpr_mask(categorical).tolist() == [False, True, False, False]
    dates = pd.Series(pd.to_datetime(["2019-09-01", "1990-01-01"]))
    assert not cpr_mask(dates).any()
    assert not cpr_mask(pd.Series([True, False])).any()
    index = pd.Index([10, 11, 12])
    assert cpr_mask(pd.Series(["x", "0101901234", "y"], index=index)).index.equals(index)


def test_every_day_and_month_against_the_calendar():
    """All 10,000 DDMM prefixes: a date when 2000 (a leap year) has that day."""
    prefixes = [f"{n:04d}" for n in range(10_000)]

    def real(ddmm: str) -> bool:
        try:
            date(2000, int(ddmm[2:]), int(ddmm[:2]))
        except ValueError:
            return False
        return True

    expected = [real(p) for p in prefixes]
    assert sum(expected) == 366
    texts = [f"{p}901234" for p in prefixes]
    assert cpr_mask(pd.Series(texts, dtype="string[pyarrow]")).tolist() == expected
    assert [looks_like_cpr(t) for t in texts] == expected
    assert sql_answers(texts) == expected
    numbers = pd.Series([int(t) for t in texts])  # 9 digits below 1000..., 10 digits above
    assert cpr_mask(numbers).tolist() == expected


def random_strings(rng: np.random.Generator, n: int) -> list[str]:
    """Strings built from the pieces that make the detector's decisions hard: real and unreal
    dates, every separator and some that are not, digits right before or after, letters, a
    float's ".0", nine-digit numbers, two tokens in one string."""

    def pick(options: list[str]) -> str:
        return str(options[rng.integers(len(options))])

    def digits(low: int, high: int) -> str:
        return "".join(pick(list("0123456789")) for _ in range(rng.integers(low, high + 1)))

    def token() -> str:
        day_month = pick(["0101", "3112", "2902", "3004", "1506", "3213", "3102", "0013", "0000"])
        separator = pick(["-", " ", "/", "_", ".", "", "", "--", ":"])
        serial = digits(4, 4) if rng.random() < 0.8 else digits(3, 5)
        return day_month + digits(2, 2) + separator + serial

    def part() -> str:
        kind = rng.integers(6)
        if kind <= 2:
            return token()
        if kind == 3:
            return pick(["1", "2", "3", "9"]) + pick(["01", "12", "13", "31"]) + digits(6, 6)
        if kind == 4:
            return digits(1, 12)
        return pick(["CPR", "cpr: ", "T", "P", "x", "æ", "Region ", " ", "-", ".0", "\t", " / "])

    return ["".join(part() for _ in range(rng.integers(1, 4))) for _ in range(n)]


def test_the_four_entry_points_agree_on_generated_strings():
    texts = random_strings(np.random.default_rng(2013), 600)
    answers = all_answers(texts)
    assert 60 < sum(answers["looks_like_cpr"]) < 540  # both answers well represented
    for name, got in answers.items():
        differ = [
            t for t, a, b in zip(texts, answers["looks_like_cpr"], got, strict=True) if a != b
        ]
        assert differ == [], f"{name} disagrees with looks_like_cpr on {differ}"
    # Page text: the token rule; the nine-digit rule is for whole cells only.
    for text in texts:
        nine_digit_cell = (
            text.strip().removesuffix(".0").isdigit() and len(text.strip().removesuffix(".0")) == 9
        )
        if not nine_digit_cell:
            assert page_has_cpr(text) == looks_like_cpr(text), text


def test_sql_handles_null_and_integer_columns():
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT {cpr_sql_predicate('CAST(x AS VARCHAR)')} FROM "
        "(VALUES (101901234::BIGINT), (3112991234), (NULL), (2019)) t(x)"
    ).fetchall()
    assert [r[0] for r in rows] == [True, True, False, False]


def test_no_false_alarm_on_the_demo_data():
    files = sorted(DEMO.glob("*.csv"))
    assert len(files) == 6  # the four required files, specialist_posts and initiatives
    for path in DEMO.iterdir():
        assert not looks_like_cpr(path.name)
    for path in files:
        df, _, _ = read_csv(path)
        for column in df.columns:
            assert not looks_like_cpr(column), (path.name, column)
            flagged = cpr_mask(df[column])
            assert not flagged.any(), (path.name, column, df[column][flagged].head().tolist())


def test_pages():
    assert page_has_cpr("<p>Personnummer 010190-1234</p>")
    assert page_has_cpr("cpr 0101901234\n")
    assert not page_has_cpr("Patienter 2019: 165.000; udtræk 2026-03-31, 30-34 år, 101901234")
    assert not page_has_cpr("kontakter: 12.345.678; id 20190901123456")


def test_normalise_gives_one_form_per_person():
    forms = [
        "010190-1234",
        "0101901234",
        "CPR0101901234",
        "101901234",
        "101901234.0",
        " 010190 1234",
    ]
    assert {normalise_cpr(f) for f in forms} == {"0101901234"}
    assert normalise_cpr("T0000123") is None
    assert normalise_cpr("3213991234") is None
    with pytest.raises(ValueError, match="more than one"):
        normalise_cpr("010190-1234 020290-1234")
    with pytest.raises(ValueError, match="other digits"):
        normalise_cpr("010190-1234 nr 2")


def test_the_message_names_the_remedy_and_no_value():
    assert "pseudonymise" in MESSAGE and "not shown" in MESSAGE
    assert not any(c.isdigit() for c in MESSAGE)
