"""Large CSV files are parsed by Arrow: the cells and row numbers are the ones pandas gives."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.data import read
from pipeline.errors import InputError

HEADER = "region,year,note\n"
BODIES = {
    "plain": "Nordjylland,2019,a\nSjælland,2020,b\n",
    "quoted separators and doubled quotes": (
        'Nordjylland,2019,"a, b"\nSjælland,2020,"sagde ""ja"""\n'
    ),
    "a line break inside quotes": 'Nordjylland,2019,"to\nlinjer"\nSjælland,2020,b\n',
    "empty and blank cells": "Nordjylland,,\n, ,  \nSjælland,2020,NA\n",
    "words pandas would read as missing": "NULL,nan,N/A\n#N/A,None,-NaN\n",
    "no final line break": "Nordjylland,2019,a\nSjælland,2020,b",
    "a blank line (pandas keeps its row number)": "Nordjylland,2019,a\n\nSjælland,2020,b\n",
    "only separators on a line": "Nordjylland,2019,a\n,,\nSjælland,2020,b\n",
}


@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("body", list(BODIES))
def test_arrow_reads_the_cells_pandas_reads(tmp_path, monkeypatch, body, sep):
    path = tmp_path / "patients.csv"
    text = (HEADER + BODIES[body]).replace(",", sep)
    path.write_text(text, encoding="utf-8")
    expected = read.read_csv(path)
    monkeypatch.setattr(read, "ARROW_BYTES", 0)
    calls = []
    arrow = read._read_with_arrow
    monkeypatch.setattr(read, "_read_with_arrow", lambda *a: calls.append(a) or arrow(*a))
    got = read.read_csv(path)
    assert calls, "Arrow was not asked"
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1:] == expected[1:]


def test_arrow_leaves_a_blank_line_and_a_bad_row_to_pandas():
    assert read._read_with_arrow("a,b\n1,2\n\n3,4\n", ",", 2) is None
    assert read._read_with_arrow("a,b\n1,2,3\n", ",", 2) is None
    assert read._read_with_arrow("a,b\n1\n", ",", 2) is None


def test_a_row_too_wide_in_a_large_file_is_named_as_in_a_small_one(tmp_path, monkeypatch):
    path = tmp_path / "patients.csv"
    path.write_text("region,year\nNordjylland,2019\nSjælland,2020,7\n", encoding="utf-8")
    with pytest.raises(InputError) as small:
        read.read_csv(path)
    monkeypatch.setattr(read, "ARROW_BYTES", 0)
    with pytest.raises(InputError) as large:
        read.read_csv(path)
    assert large.value.problems == small.value.problems
    assert "patients.csv:3:" in small.value.problems[0]
