"""Validation of the data contract: every kind of error names its file, row and column."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL, find_row, read_rows, run_cli, set_cell, write_rows

from pipeline.data import contract
from pipeline.data.ingest import (
    MAX_LINES_PER_CHECK,
    _overlapping_i_posts,
    read_dataset,
    validate_dir,
)
from pipeline.errors import InputError


def problems(directory, rename=None) -> list[str]:
    with pytest.raises(InputError) as info:
        read_dataset(directory, rename)
    return info.value.problems


def assert_problem(lines: list[str], file: str, row: int, column: str, text: str) -> None:
    """Exactly the expected ``file:row: column: ...`` line is among the problems."""
    prefix = f"{file}:{row}: {column}: "
    matching = [line for line in lines if line.startswith(prefix)]
    assert matching, f"no problem starting {prefix!r} in:\n" + "\n".join(lines)
    assert any(text in line for line in matching), f"{text!r} not in {matching}"


def test_valid_dataset_reads_typed_tables(small_dataset):
    dataset = read_dataset(small_dataset)
    trainees = dataset.tables["trainees"]
    assert trainees["i_start"].dtype.kind == "M"
    assert trainees["combined_track"].dtype == bool
    assert list(trainees["region"].cat.categories) == list(contract.REGIONS)
    assert dataset.tables["patients"]["patients"].dtype == "int64"
    assert dataset.synthetic
    assert "valid synthetic dataset" in validate_dir(small_dataset)


# --- one test per kind of error ----------------------------------------------------------------
def test_missing_file(dataset_copy):
    (dataset_copy / "physicians.csv").unlink()
    lines = problems(dataset_copy)
    assert lines == [
        f"physicians.csv: file not found in {dataset_copy.name}/ "
        "(expected physicians.csv or physicians.xlsx)"
    ]


def test_missing_column_points_to_rename(dataset_copy):
    rows = read_rows(dataset_copy / "patients.csv")
    rows[0][rows[0].index("patients")] = "antal"
    write_rows(dataset_copy / "patients.csv", rows)
    lines = problems(dataset_copy)
    assert_problem(lines, "patients.csv", 1, "patients", "column is missing")
    assert "data.rename.patients" in lines[0]


def test_wrong_type(dataset_copy):
    set_cell(dataset_copy, "patients", 4, "patients", "mange")
    set_cell(dataset_copy, "physicians", 5, "fte", "1.2.3")
    lines = problems(dataset_copy)
    assert_problem(lines, "patients.csv", 4, "patients", '"mange" is not a whole number')
    assert_problem(lines, "physicians.csv", 5, "fte", '"1.2.3" is not a number')


def test_unknown_code(dataset_copy):
    set_cell(dataset_copy, "physicians", 3, "grade", "consultant")
    set_cell(dataset_copy, "patients", 2, "region", "Fyn")
    lines = problems(dataset_copy)
    assert_problem(lines, "physicians.csv", 3, "grade", '"consultant" is not a known code')
    assert_problem(lines, "patients.csv", 2, "region", "use one of: Hovedstaden, Sjælland")


def test_out_of_range(dataset_copy):
    set_cell(dataset_copy, "physicians", 7, "headcount", "-2")
    set_cell(dataset_copy, "patients", 3, "year", "1850")
    lines = problems(dataset_copy)
    assert_problem(lines, "physicians.csv", 7, "headcount", '"-2" is below 0')
    assert_problem(lines, "patients.csv", 3, "year", '"1850" is below 1950')


def test_filled_above_advertised(dataset_copy):
    row = find_row(dataset_copy, "training_posts", post_type="H")
    advertised = int(read_rows(dataset_copy / "training_posts.csv")[row - 1][4])
    set_cell(dataset_copy, "training_posts", row, "filled", str(advertised + 3))
    lines = problems(dataset_copy)
    assert_problem(lines, "training_posts.csv", row, "filled", "filled must be <= advertised")


def test_duplicate_key(dataset_copy):
    rows = read_rows(dataset_copy / "patients.csv")
    rows.append(list(rows[5]))
    write_rows(dataset_copy / "patients.csv", rows)
    lines = problems(dataset_copy)
    assert_problem(
        lines,
        "patients.csv",
        len(rows),
        "year, region, age_group",
        "duplicate key (year, region, age_group) = (" + ", ".join(rows[5][:3]) + ")",
    )
    assert len(lines) == 1, "only the repeated row is reported, not its first occurrence"


def test_i_end_before_i_start(dataset_copy):
    row = find_row(dataset_copy, "trainees", i_end="*")
    set_cell(dataset_copy, "trainees", row, "i_end", "2001-01-01")
    assert_problem(problems(dataset_copy), "trainees.csv", row, "i_end", "is before i_start")


def test_h_start_before_i_start(dataset_copy):
    row = find_row(dataset_copy, "trainees", h_start="*")
    set_cell(dataset_copy, "trainees", row, "h_start", "2001-01-01")
    assert_problem(problems(dataset_copy), "trainees.csv", row, "h_start", "is before i_start")


def test_date_after_extract_date(dataset_copy):
    row = find_row(dataset_copy, "trainees", exit_date="*")
    set_cell(dataset_copy, "trainees", row, "exit_date", "2099-01-01")
    assert_problem(
        problems(dataset_copy), "trainees.csv", row, "exit_date", "is after extract_date"
    )


def test_impossible_date(dataset_copy):
    set_cell(dataset_copy, "trainees", 2, "i_start", "2019-02-30")
    set_cell(dataset_copy, "trainees", 3, "i_start", "31-04-2019")
    set_cell(dataset_copy, "trainees", 4, "i_start", "2019/03/01")
    lines = problems(dataset_copy)
    assert_problem(lines, "trainees.csv", 2, "i_start", '"2019-02-30" is not a real calendar date')
    assert_problem(lines, "trainees.csv", 3, "i_start", '"31-04-2019" is not a real calendar date')
    assert_problem(lines, "trainees.csv", 4, "i_start", "is not a date; write YYYY-MM-DD")


def test_h_specialty_without_h_start(dataset_copy):
    row = find_row(dataset_copy, "trainees", h_start="", exit_date="")
    set_cell(dataset_copy, "trainees", row, "h_specialty", "psychiatry")
    assert_problem(
        problems(dataset_copy), "trainees.csv", row, "h_specialty", "but h_start is empty"
    )


def test_bad_boolean(dataset_copy):
    set_cell(dataset_copy, "trainees", 6, "foreign_graduate", "måske")
    assert_problem(
        problems(dataset_copy), "trainees.csv", 6, "foreign_graduate", "is not a yes/no value"
    )


@pytest.mark.parametrize("content", ["", "\n\n", "year,region,age_group,patients\n"])
def test_empty_file(dataset_copy, content):
    (dataset_copy / "patients.csv").write_text(content, encoding="utf-8")
    assert problems(dataset_copy) == [
        "patients.csv: the file is empty; it needs a header row and data rows"
    ]


@pytest.mark.parametrize("cpr", ["0101901234", "010190-1234"])
def test_cpr_like_person_id_is_rejected_without_echoing_it(dataset_copy, cpr):
    set_cell(dataset_copy, "trainees", 5, "person_id", cpr)
    lines = problems(dataset_copy)
    assert_problem(lines, "trainees.csv", 5, "person_id", "looks like a CPR number")
    assert not any(cpr in line for line in lines), "a CPR-like value must never be printed"


def test_cpr_column_outside_the_contract_is_refused_without_echoing_it(dataset_copy):
    """A CPR column never passes ingest, even one the contract would drop; the value is not
    shown and the rest is summarised."""
    rows = read_rows(dataset_copy / "trainees.csv")
    rows[0].append("cpr")
    for row in rows[1:]:
        row.append("0101901234")
    write_rows(dataset_copy / "trainees.csv", rows)
    lines = problems(dataset_copy)
    assert lines[0].startswith("trainees.csv:2: cpr: looks like a CPR number")
    assert "more rows that look like CPR numbers" in lines[-1]
    assert not any("0101901234" in line for line in lines)


def test_a_column_outside_the_contract_is_dropped(dataset_copy):
    rows = read_rows(dataset_copy / "trainees.csv")
    rows[0].append("note")
    for row in rows[1:]:
        row.append("anything")
    write_rows(dataset_copy / "trainees.csv", rows)
    dataset = read_dataset(dataset_copy)
    assert "note" not in dataset.tables["trainees"]
    assert dataset.sources["trainees"].ignored_columns == ["note"]


def test_both_csv_and_xlsx(dataset_copy):
    pd.read_csv(dataset_copy / "patients.csv").to_excel(dataset_copy / "patients.xlsx", index=False)
    assert problems(dataset_copy) == [
        f"patients.csv: both patients.csv and patients.xlsx are in {dataset_copy.name}/; "
        "keep only one"
    ]


def test_ragged_row(dataset_copy):
    path = dataset_copy / "patients.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] += ",extra"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_problem(problems(dataset_copy), "patients.csv", 4, "-", "the row has 5 fields")


def test_every_problem_in_every_file_is_reported_at_once(dataset_copy):
    set_cell(dataset_copy, "patients", 2, "patients", "x")
    set_cell(dataset_copy, "physicians", 2, "age_band", "20-24")
    set_cell(dataset_copy, "trainees", 2, "sex", "X")
    files = {line.split(":")[0] for line in problems(dataset_copy)}
    assert files == {"patients.csv", "physicians.csv", "trainees.csv"}


def test_repeated_problem_is_summarised(dataset_copy):
    rows = read_rows(dataset_copy / "physicians.csv")
    for row in rows[1:]:
        row[rows[0].index("grade")] = "x"
    write_rows(dataset_copy / "physicians.csv", rows)
    lines = problems(dataset_copy)
    assert len(lines) == MAX_LINES_PER_CHECK + 1
    assert re.search(r"\.\.\. and [\d,]+ more rows with the same problem", lines[-1])


# --- what real extracts look like ----------------------------------------------------------------
def test_danish_dialect_reads_identically(small_dataset, tmp_path):
    """';' separators, decimal commas, DD-MM-YYYY, ja/nej and Windows-1252 give the same tables."""
    from pipeline.data.synth import write_synthetic

    danish = tmp_path / "danish"
    write_synthetic(danish, SMALL, dialect="danish")
    raw = (danish / "patients.csv").read_bytes()
    assert b"Sj\xe6lland" in raw and b";" in raw  # really Windows-1252 and semicolons
    standard, local = read_dataset(small_dataset), read_dataset(danish)
    for name in standard.tables:
        pd.testing.assert_frame_equal(standard.tables[name], local.tables[name])
    assert local.sources["patients"].encoding == "cp1252"


def test_bom_case_and_spaces_in_column_names(dataset_copy):
    path = dataset_copy / "patients.csv"
    text = (
        path.read_text(encoding="utf-8")
        .replace("age_group", "Age Group", 1)
        .replace("year", "YEAR", 1)
    )
    path.write_text("\ufeff" + text, encoding="utf-8")
    assert read_dataset(dataset_copy).tables["patients"].columns.tolist() == [
        "year",
        "region",
        "age_group",
        "patients",
    ]


def test_rename_maps_a_sites_column_names(dataset_copy):
    rows = read_rows(dataset_copy / "patients.csv")
    rows[0] = ["Aar", "Region", "Aldersgruppe", "Antal"]
    write_rows(dataset_copy / "patients.csv", rows)
    rename = {"patients": {"aar": "year", "aldersgruppe": "age_group", "Antal": "patients"}}
    assert len(read_dataset(dataset_copy, rename).tables["patients"]) == len(rows) - 1


def test_rename_of_unknown_file_is_an_error(dataset_copy):
    lines = problems(dataset_copy, {"patienter": {"aar": "year"}})
    assert lines[0].startswith("params.yaml: data.rename.patienter: no input file")


def test_region_names_as_written_in_extracts(dataset_copy):
    set_cell(dataset_copy, "patients", 2, "region", "Region Hovedstaden")
    set_cell(dataset_copy, "patients", 3, "region", "sjaelland")
    set_cell(dataset_copy, "patients", 4, "region", "SYDDANMARK")
    regions = read_dataset(dataset_copy).tables["patients"]["region"]
    assert regions.iloc[0] == "Hovedstaden" and regions.iloc[1] == "Sjælland"
    assert regions.iloc[2] == "Syddanmark"


def test_xlsx_replaces_csv(dataset_copy):
    csv_path = dataset_copy / "trainees.csv"
    before = read_dataset(dataset_copy).tables["trainees"]
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    for col in ("i_start", "extract_date"):  # real Excel date cells
        frame[col] = pd.to_datetime(frame[col])
    frame.to_excel(dataset_copy / "trainees.xlsx", index=False)
    csv_path.unlink()
    dataset = read_dataset(dataset_copy)
    pd.testing.assert_frame_equal(dataset.tables["trainees"], before)
    assert dataset.sources["trainees"].file == "trainees.xlsx"


def test_xlsx_problems_name_the_spreadsheet_row(dataset_copy):
    frame = pd.read_csv(dataset_copy / "patients.csv", dtype=str, keep_default_na=False)
    frame.loc[2, "patients"] = "-7"
    frame.to_excel(dataset_copy / "patients.xlsx", index=False)
    (dataset_copy / "patients.csv").unlink()
    assert_problem(problems(dataset_copy), "patients.xlsx", 4, "patients", "is below 0")


# --- the command line ----------------------------------------------------------------------------
def test_validate_command_on_bad_data(dataset_copy):
    set_cell(dataset_copy, "patients", 3, "patients", "-1")
    set_cell(dataset_copy, "trainees", 4, "person_id", "1111111118")
    result = run_cli("validate", str(dataset_copy), fresh=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert lines == [
        'patients.csv:3: patients: "-1" is below 0; counts must be >= 0',
        "trainees.csv:4: person_id: looks like a CPR number; replace it with a pseudonym "
        "before ingest (python -m pipeline pseudonymise), the value is not shown",
    ]


def test_validate_command_on_good_data(small_dataset):
    result = run_cli("validate", str(small_dataset), fresh=True)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip().splitlines()) == 1
    assert result.stdout.startswith(f"{small_dataset}: valid synthetic dataset")


def test_validate_command_on_missing_directory(tmp_path):
    result = run_cli("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"{tmp_path / 'nowhere'}: data directory not found "
        "(params.yaml: data.raw_dir)"
    )


def test_overlapping_i_posts_are_found_as_a_plain_loop_finds_them():
    """Every overlap, with both rows, in the order of person and start (ties: file order), on
    data with repeated people, equal starts and open posts."""

    rng = np.random.default_rng(3)
    n = 400
    start = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), unit="D")
    end = start + pd.to_timedelta(rng.integers(30, 900, n), unit="D")
    end = end.where(rng.random(n) > 0.2)  # open posts run to the extract date
    trainees = pd.DataFrame(
        {
            "person_id": pd.array([f"P{k:03d}" for k in rng.integers(0, 150, n)], "string"),
            "i_start": start,
            "i_end": end,
            "extract_date": pd.Timestamp("2026-03-31"),
        }
    )
    trainees.loc[5, ["person_id", "i_start"]] = trainees.loc[4, ["person_id", "i_start"]].values
    # A new person whose second post starts on the day the first ends (an overlap of a day).
    trainees.loc[[6, 7], "person_id"] = "P000a"
    trainees.loc[6, "i_end"] = pd.Timestamp("2016-05-31")
    trainees.loc[7, "i_start"] = pd.Timestamp("2016-05-31")
    trainees.loc[6, "i_start"] = pd.Timestamp("2015-06-01")
    rows = np.arange(2, n + 2)
    expected = []
    ends = trainees["i_end"].fillna(trainees["extract_date"])
    for _, group in sorted(trainees.groupby("person_id"), key=lambda kv: kv[0]):
        order = sorted(group.index, key=lambda i: (trainees.at[i, "i_start"], i))
        for before, now in itertools.pairwise(order):
            if trainees.at[now, "i_start"] <= ends[before]:
                expected.append((rows[now], rows[before]))
    found = _overlapping_i_posts(trainees, "trainees.csv", rows)
    assert len(expected) > MAX_LINES_PER_CHECK  # the test reaches the cap
    assert (9, 8) in expected[:MAX_LINES_PER_CHECK]  # (row, earlier row); P000a sorts first
    named = [tuple(int(x) for x in re.findall(r"(?:csv:|row )(\d+)", line)) for line in found]
    assert named == expected[:MAX_LINES_PER_CHECK]


def test_a_columns_distinct_values_are_shared_but_never_stale():
    from pipeline.data import ingest as ingest_module

    before = len(ingest_module._DISTINCT)
    text = pd.Series([" a", "b", "a ", "b"], dtype="string[pyarrow]")
    tidy = ingest_module._per_distinct(text, lambda s: s.str.strip())
    codes, distinct = ingest_module._distinct(tidy)  # known from tidying: not factorised again
    assert list(distinct) == ["a", "b"] and list(codes) == [0, 1, 0, 1]
    check = ingest_module._on_distinct(lambda s: s != "b")
    assert list(check(tidy)) == [True, False, True, False]
    tidy[0] = "c"  # the column's data replaced: what was found for the old data is not used
    assert list(ingest_module._on_distinct(lambda s: s != "c")(tidy)) == [False, True, True, True]
    codes, distinct = ingest_module._distinct(tidy)
    assert list(distinct.take(codes)) == ["c", "b", "a", "b"]
    del text, tidy, codes, distinct
    assert len(ingest_module._DISTINCT) == before  # entries go with their data
