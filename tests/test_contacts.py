"""Patients counted from contact-level data with DuckDB, against pandas and the contract."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL

from pipeline.data import contacts
from pipeline.data.ingest import read_dataset
from pipeline.data.synth import write_synthetic
from pipeline.errors import InputError


def random_contacts(rng, n=5000) -> pd.DataFrame:
    people = rng.integers(0, 400, size=n)
    home = np.array(["Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland"])
    moved = rng.random(n) < 0.1  # some contacts in a second region the same year
    return pd.DataFrame(
        {
            "person_id": [f"P{p:05d}" for p in people],
            "contact_date": pd.to_datetime("2018-01-01")
            + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D"),
            "region": np.where(moved, home[(people + 1) % 5], home[people % 5]),
            "age_group": np.where(
                rng.random(n) < 0.05,
                "child_adolescent",
                np.where(people % 4 == 0, "child_adolescent", "adult"),
            ),
        }
    )


def pandas_count(df: pd.DataFrame) -> pd.DataFrame:
    """The same rule, independently: distinct persons per year, region and age group."""
    out = (
        df.assign(year=df["contact_date"].dt.year)
        .groupby(["year", "region", "age_group"])["person_id"]
        .nunique()
        .rename("patients")
        .reset_index()
    )
    return out.sort_values(["year", "region", "age_group"], ignore_index=True)


def as_compared(df: pd.DataFrame) -> pd.DataFrame:
    out = df.assign(region=df["region"].astype(str), age_group=df["age_group"].astype(str))
    out = out.astype({"year": "int64", "patients": "int64"})
    return out.sort_values(["year", "region", "age_group"], ignore_index=True)


@pytest.mark.parametrize("ids", ["text", "integer"])
def test_two_spellings_of_a_region_count_a_person_once(tmp_path, ids):
    """The scan groups by the region as written; where one region is written two ways, a
    person with contacts under both is still one patient of that region."""
    df = random_contacts(np.random.default_rng(2))
    df["region"] = df["region"].where(
        ~((df["region"] == "Hovedstaden") & (np.arange(len(df)) % 2 == 0)), "Region Hovedstaden"
    )
    if ids == "integer":
        df["person_id"] = df["person_id"].str[1:].astype("int64")
    df.to_parquet(tmp_path / "contacts.parquet", index=False)
    counted = contacts.aggregate(tmp_path / "contacts.parquet")
    expected = pandas_count(df.replace({"region": {"Region Hovedstaden": "Hovedstaden"}}))
    pd.testing.assert_frame_equal(
        as_compared(counted.patients), as_compared(expected), check_dtype=False
    )
    assert counted.rows == len(df)


def test_counts_match_pandas_including_people_in_two_cells(tmp_path):
    df = random_contacts(np.random.default_rng(1))
    df.to_parquet(tmp_path / "contacts.parquet", index=False)
    counted = contacts.aggregate(tmp_path / "contacts.parquet")
    pd.testing.assert_frame_equal(as_compared(counted.patients), as_compared(pandas_count(df)))
    expected_persons = df.groupby(df["contact_date"].dt.year)["person_id"].nunique()
    assert (
        counted.persons_per_year.set_index("year")["persons"].to_dict()
        == expected_persons.to_dict()
    )
    assert counted.rows == len(df)
    # People with contacts in two cells count in both: the cells add up to more than the persons.
    assert counted.patients["patients"].sum() > counted.persons_per_year["persons"].sum()


def test_one_person_counts_once_per_cell(tmp_path):
    df = pd.DataFrame(
        {
            "person_id": ["A", "A", "A", "A", "B"],
            "contact_date": pd.to_datetime(
                ["2019-01-05", "2019-06-01", "2019-07-01", "2020-02-02", "2019-03-03"]
            ),
            "region": ["Sjælland", "Sjælland", "Hovedstaden", "Sjælland", "Sjælland"],
            "age_group": ["adult"] * 5,
        }
    )
    df.to_parquet(tmp_path / "contacts.parquet", index=False)
    counted = contacts.aggregate(tmp_path / "contacts.parquet")
    cells = counted.patients.set_index(["year", "region"])["patients"]
    assert cells[(2019, "Sjælland")] == 2 and cells[(2019, "Hovedstaden")] == 1
    assert cells[(2020, "Sjælland")] == 1
    assert counted.persons_per_year.set_index("year")["persons"][2019] == 2


def test_a_directory_of_files_text_dates_and_own_column_names(tmp_path):
    df = random_contacts(np.random.default_rng(2), n=3000)
    folder = tmp_path / "contacts"
    folder.mkdir()
    renamed = df.rename(columns={"person_id": "PNR_pseudo", "contact_date": "Dato"})
    renamed["Dato"] = renamed["Dato"].dt.strftime("%d-%m-%Y")  # Danish text dates
    renamed.iloc[:1500].to_parquet(folder / "part-1.parquet", index=False)
    renamed.iloc[1500:].to_parquet(folder / "part-2.parquet", index=False)
    counted = contacts.aggregate(folder, {"PNR_pseudo": "person_id", "dato": "contact_date"})
    pd.testing.assert_frame_equal(as_compared(counted.patients), as_compared(pandas_count(df)))


def test_bad_contacts_name_the_file_row_and_column(tmp_path):
    df = random_contacts(np.random.default_rng(3), n=100)
    df["contact_date"] = df["contact_date"].dt.strftime("%Y-%m-%d")
    df.loc[4, "person_id"] = "0101901234"
    df.loc[7, "contact_date"] = "2019-02-30"
    df.loc[9, "region"] = "Fyn"
    df.loc[11, "contact_date"] = "2031-01-01"
    df.to_parquet(tmp_path / "contacts.parquet", index=False)
    with pytest.raises(InputError) as info:
        contacts.aggregate(tmp_path / "contacts.parquet", extract_date=pd.Timestamp("2026-03-31"))
    lines = info.value.problems
    assert "contacts.parquet:5: person_id: looks like a CPR number" in "\n".join(lines)
    assert not any("0101901234" in line for line in lines)
    assert 'contacts.parquet:8: contact_date: "2019-02-30" is not a real date' in "\n".join(lines)
    assert 'contacts.parquet:10: region: "Fyn" is not a known code' in "\n".join(lines)
    assert 'contacts.parquet:12: contact_date: "2031-01-01" is after the extract date' in "\n".join(
        lines
    )


def test_missing_column(tmp_path):
    random_contacts(np.random.default_rng(4), 10).drop(columns="region").to_parquet(
        tmp_path / "contacts.parquet", index=False
    )
    with pytest.raises(InputError, match=r"contacts\.parquet:1: region: column is missing"):
        contacts.aggregate(tmp_path / "contacts.parquet")


# --- inside ingest ------------------------------------------------------------------------------
@pytest.fixture
def with_contacts(tmp_path):
    out = tmp_path / "raw"
    write_synthetic(out, replace(SMALL, patient_scale=0.002, contacts=20_000))
    return out


def test_synthetic_contacts_agree_with_patients_csv(with_contacts):
    dataset = read_dataset(with_contacts)
    assert dataset.sources["contacts"].rows > 15_000
    given = pd.read_csv(with_contacts / "patients.csv")
    pd.testing.assert_frame_equal(as_compared(dataset.tables["patients"]), as_compared(given))


def test_patients_csv_is_optional_with_contacts(with_contacts):
    expected = as_compared(pd.read_csv(with_contacts / "patients.csv"))
    (with_contacts / "patients.csv").unlink()
    pd.testing.assert_frame_equal(
        as_compared(read_dataset(with_contacts).tables["patients"]), expected
    )


def test_disagreement_with_patients_csv_is_an_error(with_contacts):
    path = with_contacts / "patients.csv"
    rows = path.read_text().splitlines()
    year, region, group, count = rows[5].split(",")
    rows[5] = ",".join([year, region, group, str(int(count) + 3)])
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as info:
        read_dataset(with_contacts)
    assert info.value.problems == [
        f"patients.csv:6: patients: {int(count) + 3} in the file but {count} distinct persons in "
        f"contacts.parquet for ({year}, {region}, {group}) (data.contacts_tolerance = 0)"
    ]
    read_dataset(with_contacts, contacts_tolerance=0.5)  # a stated tolerance accepts it


def test_synthetic_contacts_are_seeded(tmp_path):
    config = replace(SMALL, patient_scale=0.001, contacts=5_000)
    write_synthetic(tmp_path / "a", config)
    write_synthetic(tmp_path / "b", config)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a" / "contacts.parquet"),
        pd.read_parquet(tmp_path / "b" / "contacts.parquet"),
    )
