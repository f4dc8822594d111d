"""Pseudonymising extracts keyed by CPR: deterministic per key, different keys differ, no
CPR-like value in the output, the output passes validation, keys kept out of the project, and
every refusal one line without the value and with nothing written."""

from __future__ import annotations

import hmac
import shutil
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SMALL, run_cli
from test_cpr import CPR_FORMS, NOT_CPR, random_strings

from pipeline import cli
from pipeline.data import pseudonymise
from pipeline.data.cpr import cpr_mask, looks_like_cpr, normalise_cpr
from pipeline.data.ingest import validate_dir
from pipeline.data.pseudonymise import (
    ID_PROBLEMS,
    new_key,
    pseudonym,
    pseudonymise_dir,
    read_key,
)
from pipeline.data.read import read_csv
from pipeline.data.synth import write_synthetic
from pipeline.errors import InputError

# The usual ways a CPR number arrives: with a dash, bare, prefixed, with a space or slash, as a
# number that lost its leading zero.
FORMS = [
    lambda c: f"{c[:6]}-{c[6:]}",
    lambda c: c,
    lambda c: f"CPR{c}",
    lambda c: f"{c[:6]} {c[6:]}",
    lambda c: str(int(c)),
    lambda c: f"cpr: {c[:6]}/{c[6:]}",
]


def fake_cprs(n: int, seed: int) -> list[str]:
    """``n`` distinct CPR numbers (ten digits) with real birth dates 1940-2004."""
    rng = np.random.default_rng(seed)
    born = np.datetime64("1940-01-01") + rng.integers(0, 65 * 365, size=2 * n)
    serial = rng.integers(0, 10_000, size=2 * n)
    # dict: distinct, in the order drawn
    numbers = dict.fromkeys(
        pd.Timestamp(d).strftime("%d%m%y") + f"{s:04d}" for d, s in zip(born, serial, strict=True)
    )
    return list(numbers)[:n]


@dataclass
class Extract:
    raw: Path  # trainees with CPR numbers in mixed forms, contacts.parquet with int64 CPRs
    trainee_cprs: list[str]
    contact_cprs: np.ndarray  # per contact row, the CPR number as ten digits
    key_a: Path
    key_b: Path
    root: Path


@pytest.fixture(scope="module")
def extract(tmp_path_factory) -> Extract:
    root = tmp_path_factory.mktemp("pseudonymise")
    raw = root / "extract_2021"
    write_synthetic(raw, replace(SMALL, patient_scale=0.002, contacts=5_000))
    trainees_path = raw / "trainees.csv"
    trainees = pd.read_csv(trainees_path, dtype=str, keep_default_na=False)
    contacts = pq.read_table(raw / "contacts.parquet")
    ids = contacts.column("person_id").to_numpy()
    cprs = fake_cprs(len(trainees) + int(ids.max()) + 1, seed=1)
    trainee_cprs = cprs[: len(trainees)]
    trainees["person_id"] = [FORMS[i % len(FORMS)](c) for i, c in enumerate(trainee_cprs)]
    trainees.to_csv(trainees_path, index=False, lineterminator="\n")
    contact_cprs = np.array(cprs[len(trainees) :])[ids]
    as_numbers = pa.array([int(c) for c in contact_cprs], pa.int64())  # leading zeros lost
    pq.write_table(contacts.set_column(0, "person_id", as_numbers), raw / "contacts.parquet")
    keys = root / "keys"
    keys.mkdir()
    new_key(keys / "a.key")
    new_key(keys / "b.key")
    return Extract(raw, trainee_cprs, contact_cprs, keys / "a.key", keys / "b.key", root)


@pytest.fixture(scope="module")
def pseudonymised(extract) -> Path:
    out = extract.root / "out_a"
    pseudonymise_dir(extract.raw, out, extract.key_a)
    return out


@pytest.fixture
def small_extract(extract, tmp_path) -> Path:
    """A writable copy of the extract without contacts, for one test to damage."""
    out = tmp_path / "in"
    shutil.copytree(extract.raw, out, ignore=shutil.ignore_patterns("contacts*"))
    return out


def cells(path: Path) -> pd.DataFrame:
    """A file's cells as ingest reads them (CSV) or as stored (parquet)."""
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    return read_csv(path)[0]


def assert_no_cpr(directory: Path) -> None:
    """No CPR-like file name, column name or cell anywhere under ``directory``."""
    for path in sorted(directory.rglob("*")):
        assert not looks_like_cpr(path.name), "a CPR-like file name"
        if path.suffix in (".csv", ".parquet"):
            df = cells(path)
            for column in df.columns:
                assert not looks_like_cpr(str(column)), f"{path.name}: a CPR-like header"
                hits = cpr_mask(df[column])
                assert not hits.any(), f"{path.name}: {column}: {int(hits.sum())} CPR-like cells"
        elif path.is_file():
            assert not looks_like_cpr(path.read_text(encoding="utf-8")), path.name


def files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def refusal(call) -> list[str]:
    with pytest.raises(InputError) as caught:
        call()
    return caught.value.problems


# --------------------------------------------------------------------------------------------
# What a run writes
# --------------------------------------------------------------------------------------------
def test_output_passes_validation_and_holds_no_cpr(extract, pseudonymised):
    assert "valid synthetic dataset" in validate_dir(pseudonymised)
    assert_no_cpr(pseudonymised)
    trainees = cells(pseudonymised / "trainees.csv")
    assert trainees["person_id"].str.fullmatch("P[A-P]{16}").all()
    assert trainees["person_id"].nunique() == len(extract.trainee_cprs)
    # Files without person ids are copied byte for byte; other columns are untouched.
    for name in ("patients.csv", "physicians.csv", "training_posts.csv", "synthetic.json"):
        assert (pseudonymised / name).read_bytes() == (extract.raw / name).read_bytes()
    before = cells(extract.raw / "trainees.csv")
    pd.testing.assert_frame_equal(
        trainees.drop(columns="person_id"), before.drop(columns="person_id")
    )
    assert not (pseudonymised / "README.md").exists()  # outside the contract: left out
    assert stat.S_IMODE(pseudonymised.stat().st_mode) == 0o700


def test_one_person_one_pseudonym_whatever_the_form(extract, pseudonymised):
    key = read_key(extract.key_a)
    trainees = cells(pseudonymised / "trainees.csv")
    expected = [pseudonym(key, c) for c in extract.trainee_cprs]
    assert trainees["person_id"].tolist() == expected
    contacts = pq.read_table(pseudonymised / "contacts.parquet")
    assert contacts.schema.field("person_id").type == pa.string()
    assert contacts.column("person_id").to_pylist() == [
        pseudonym(key, c) for c in extract.contact_cprs
    ]
    # The documented formula, computed independently: "P" + 64 bits of HMAC-SHA256 as A-P.
    digest = hmac.new(key, b"0101901234", "sha256").hexdigest()[:16]
    letters = "".join("ABCDEFGHIJKLMNOP"[int(h, 16)] for h in digest)
    assert pseudonym(key, "0101901234") == "P" + letters


def test_vectorised_ids_agree_with_normalise_cpr(extract):
    """The fast paths for the usual id shapes give what normalise_cpr and pseudonym() give."""
    key = read_key(extract.key_a)
    texts = random_strings(np.random.default_rng(7), 1500) + CPR_FORMS + NOT_CPR + [" ", "\t"]
    names, kinds = pseudonymise._Pseudonymiser(key).ids(pa.array([*texts, None]))
    names = names.to_pylist()
    assert kinds[-1] == pseudonymise._KINDS.index("empty") and names[-1] is None
    for text, name, kind in zip(texts, names, kinds.tolist(), strict=False):
        try:
            cpr = normalise_cpr(text)
        except ValueError as exc:
            expected = "many" if "more than one" in str(exc) else "digits"
        else:
            expected = "empty" if not text.strip() else ("ok" if cpr else "not_cpr")
        assert pseudonymise._KINDS[kind] == expected, text
        assert name == (pseudonym(key, cpr) if expected == "ok" else None), text
    assert {pseudonymise._KINDS[k] for k in kinds} == set(pseudonymise._KINDS)
    assert (kinds == 0).sum() > 100

    numbers = pa.array([101901234, 3112991234, 12, None, 101901234], pa.int64())
    names, kinds = pseudonymise._Pseudonymiser(key).ids(numbers)
    one, two = pseudonym(key, "0101901234"), pseudonym(key, "3112991234")
    assert names.to_pylist() == [one, two, None, None, one]
    assert [pseudonymise._KINDS[k] for k in kinds] == ["ok", "ok", "not_cpr", "empty", "ok"]


def test_same_key_same_bytes_and_same_pseudonyms_across_yearly_extracts(
    extract, pseudonymised, tmp_path
):
    again = tmp_path / "again"
    summary = pseudonymise_dir(extract.raw, again, extract.key_a)
    assert files(again) == files(pseudonymised)
    assert summary.files == 8 and summary.left_out == ["README.md"]
    assert summary.rows == len(extract.trainee_cprs) + len(extract.contact_cprs)
    assert summary.persons == len(extract.trainee_cprs) + len(set(extract.contact_cprs))

    # A later extract: half the doctors, each CPR number in another form; contacts as text in
    # a contacts/ directory of two files.
    later = tmp_path / "extract_2022"
    later.mkdir()
    half = len(extract.trainee_cprs) // 2
    trainees = cells(extract.raw / "trainees.csv").iloc[half:].copy()
    trainees["person_id"] = [
        FORMS[(i + 1) % len(FORMS)](c) for i, c in enumerate(extract.trainee_cprs[half:], half)
    ]
    trainees.to_csv(later / "trainees.csv", index=False, sep=";", encoding="cp1252")
    (later / "contacts").mkdir()
    contacts = pq.read_table(extract.raw / "contacts.parquet")
    text_ids = pa.array([f"{c[:6]}-{c[6:]}" for c in extract.contact_cprs])
    contacts = contacts.set_column(0, "person_id", text_ids)
    pq.write_table(contacts.slice(0, 1000), later / "contacts" / "part-1.parquet")
    pq.write_table(contacts.slice(1000), later / "contacts" / "part-2.parquet")
    pseudonymise_dir(later, tmp_path / "later_out", extract.key_a)

    first = cells(pseudonymised / "trainees.csv")["person_id"].iloc[half:].tolist()
    second = cells(tmp_path / "later_out" / "trainees.csv")["person_id"].tolist()
    assert second == first
    both = pq.read_table(tmp_path / "later_out" / "contacts").column("person_id").to_pylist()
    assert both == pq.read_table(pseudonymised / "contacts.parquet").column("person_id").to_pylist()


def test_different_keys_give_unrelated_pseudonyms(extract, pseudonymised, small_extract, tmp_path):
    pseudonymise_dir(small_extract, tmp_path / "out_b", extract.key_b)
    a = cells(pseudonymised / "trainees.csv")["person_id"]
    b = cells(tmp_path / "out_b" / "trainees.csv")["person_id"]
    assert len(a) == len(b) and not set(a) & set(b)


def test_xlsx_and_another_id_column(small_extract, extract, tmp_path):
    rows = 40  # openpyxl is slow; a few rows show the point
    trainees = cells(small_extract / "trainees.csv").head(rows)
    trainees = trainees.rename(columns={"person_id": "CPR nr"})
    # Excel stores a CPR number typed without a dash as a number: the leading zero is lost.
    cprs = extract.trainee_cprs[:rows]
    trainees["CPR nr"] = [int(c) for c in cprs]
    trainees.to_excel(small_extract / "trainees.xlsx", index=False)
    (small_extract / "trainees.csv").unlink()
    out = tmp_path / "out"
    pseudonymise_dir(small_extract, out, extract.key_a, column="cpr_nr")
    assert not (out / "trainees.xlsx").exists()
    written = cells(out / "trainees.csv")
    key = read_key(extract.key_a)
    assert written["CPR nr"].tolist() == [pseudonym(key, c) for c in cprs]
    validate_dir(out, {"trainees": {"cpr_nr": "person_id"}})
    assert_no_cpr(out)


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------
def test_new_key_is_private_random_and_never_overwritten(tmp_path):
    path = tmp_path / "k.key"
    new_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) and text.endswith("\n")
    assert len(read_key(path)) == 32
    before = path.read_bytes()
    assert "already exists" in refusal(lambda: new_key(path))[0]
    assert path.read_bytes() == before
    new_key(tmp_path / "other.key")
    assert (tmp_path / "other.key").read_bytes() != before


def test_key_inside_a_project_is_refused(tmp_path, small_extract):
    inside = ROOT / "some.key"
    lines = refusal(lambda: new_key(inside))
    assert "inside a git work tree or DVC project" in lines[0]
    assert not inside.exists()
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", inside))
    assert "inside a git work tree or DVC project" in lines[0]
    for marker in (".git", "dvc.yaml"):  # a key put there by other means
        project = tmp_path / f"project{marker}"
        (project / "keys").mkdir(parents=True)
        (project / marker).touch()
        key = project / "keys" / "k.key"
        key.write_text("ab" * 32 + "\n")
        key.chmod(0o600)
        lines = refusal(lambda key=key: pseudonymise_dir(small_extract, tmp_path / "out", key))
        assert lines == [
            f"{key}: the key file is inside a git work tree or DVC project ({project}); keep "
            "the key outside every project, e.g. in your home directory, so it can never be "
            "committed or pushed"
        ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content, mode, expected",
    [
        (
            "ab" * 32 + "\n",
            0o644,
            "other users can access the key file (mode 644); make it private with: chmod 600",
        ),
        ("", 0o600, "the key file is empty"),
        ("not a key at all\n", 0o600, "is not a key made by --new-key (64 hexadecimal characters)"),
        ("ab" * 31 + "\n", 0o600, "is not a key made by --new-key"),
    ],
)
def test_bad_key_files_are_refused(small_extract, tmp_path, content, mode, expected):
    key = tmp_path / "bad.key"
    key.write_text(content)
    key.chmod(mode)
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", key))
    assert len(lines) == 1 and expected in lines[0] and lines[0].startswith(f"{key}: ")
    assert "--new-key" in lines[0] or "chmod" in lines[0]
    missing = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", tmp_path / "no"))
    assert missing == [
        f"{tmp_path / 'no'}: key file not found; make one with: python -m "
        "pipeline pseudonymise --new-key PATH (outside the project)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.key", "in"]


def test_key_beside_the_data_is_refused(small_extract, extract, tmp_path):
    key = small_extract / "key.hex"
    shutil.copyfile(extract.key_a, key)
    key.chmod(0o600)
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", key))
    assert lines == [
        f"{key}: the key file is inside {small_extract}; keep the key apart from the data"
    ]


# --------------------------------------------------------------------------------------------
# Refusals: one line each, no value, nothing written
# --------------------------------------------------------------------------------------------
def set_cell(directory: Path, file: str, row: int, column: str, value: str) -> None:
    df = cells(directory / file)
    df.loc[row, column] = value  # the index is the row number in the file
    df.to_csv(directory / file, index=False, lineterminator="\n")


def test_ids_that_are_not_cpr_numbers_are_refused_without_the_value(
    small_extract, extract, tmp_path
):
    set_cell(small_extract, "trainees.csv", 5, "person_id", "T0000123")
    set_cell(small_extract, "trainees.csv", 9, "person_id", "")
    set_cell(small_extract, "trainees.csv", 12, "person_id", "010190-1234 020290-4321")
    set_cell(small_extract, "trainees.csv", 14, "person_id", "010190-1234 nr. 2")
    set_cell(small_extract, "trainees.csv", 7, "h_specialty", "cpr 311299-1234")
    set_cell(small_extract, "patients.csv", 3, "region", "3112991234")
    out = tmp_path / "out"
    lines = refusal(lambda: pseudonymise_dir(small_extract, out, extract.key_a))
    assert lines == [
        "patients.csv:3: region: looks like a CPR number, but only the id column person_id is "
        "pseudonymised; remove this column from the extract, or name it with --column (the "
        "value is not shown)",
        "trainees.csv:5: person_id: is not a CPR number, so it cannot be pseudonymised; is the "
        "file already pseudonymised? (the value is not shown)",
        "trainees.csv:7: h_specialty: looks like a CPR number, but only the id column person_id "
        "is pseudonymised; remove this column from the extract, or name it with --column (the "
        "value is not shown)",
        "trainees.csv:9: person_id: is empty; every row needs the person's CPR number",
        "trainees.csv:12: person_id: holds more than one CPR-like number; keep one per cell "
        "(the value is not shown)",
        "trainees.csv:14: person_id: holds other digits besides a CPR-like number; keep only "
        "the CPR number in the cell (the value is not shown)",
    ]
    text = "\n".join(lines)
    assert "T0000123" not in text and "1234" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]  # no output, no temporary


def test_an_already_pseudonymised_extract_is_refused(pseudonymised, extract, tmp_path):
    no_contacts = tmp_path / "in"
    shutil.copytree(pseudonymised, no_contacts, ignore=shutil.ignore_patterns("contacts*"))
    lines = refusal(lambda: pseudonymise_dir(no_contacts, tmp_path / "out", extract.key_a))
    assert lines[0].startswith("trainees.csv:2: person_id: is not a CPR number")
    assert "already pseudonymised" in lines[0]
    assert lines[-1].startswith("trainees.csv:52: person_id: ... and ")  # 50 shown, then a count
    assert len(lines) == 51


def test_contacts_problems_name_file_row_and_column(small_extract, extract, tmp_path):
    pq.write_table(
        pa.table(
            {
                "Person_ID": pa.array([101901234, 3112991234, 12345, None], pa.int64()),
                "contact_date": pa.array(pd.to_datetime(["2019-01-01"] * 4).date, pa.date32()),
                "region": pa.array(["Hovedstaden"] * 4).dictionary_encode(),
                "age_group": ["adult", "adult", "adult", "adult"],
                "note": ["", "", "cpr 010190-1234", ""],
                "ward": pa.array([1, 2, 101901234, 4], pa.int64()),
            }
        ),
        small_extract / "contacts.parquet",
    )
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", extract.key_a))
    other = (
        "looks like a CPR number, but only the id column person_id is pseudonymised; remove "
        "this column from the extract, or name it with --column (the value is not shown)"
    )
    assert lines == [
        f"contacts.parquet:3: Person_ID: {ID_PROBLEMS['not_cpr']}",
        f"contacts.parquet:3: note: {other}",
        f"contacts.parquet:3: ward: {other}",
        f"contacts.parquet:4: Person_ID: {ID_PROBLEMS['empty']}",
    ]
    assert not (tmp_path / "out").exists()
    (small_extract / "contacts.parquet").write_bytes(b"PAR1 not really parquet")
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", extract.key_a))
    assert lines == ["contacts.parquet: cannot be read as parquet (ArrowInvalid)"]


def test_a_collision_stops_the_run(small_extract, extract, tmp_path, monkeypatch):
    def one_digest(self, cprs: list[bytes]) -> bytes:  # every CPR number gets the same 64 bits
        return bytes(8 * len(cprs))

    monkeypatch.setattr(pseudonymise._Pseudonymiser, "_digests", one_digest)
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", extract.key_a))
    assert len(lines) == 1 and "got a pseudonym already given to another CPR number" in lines[0]
    assert not (tmp_path / "out").exists()


def test_cpr_like_names_and_symlinks_are_refused(small_extract, extract, tmp_path):
    (small_extract / "0101901234.csv").write_text("x\n1\n")
    df = cells(small_extract / "physicians.csv")
    df.rename(columns={"fte": "010190-1234"}).to_csv(small_extract / "physicians.csv", index=False)
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("x\n")
    (small_extract / "link.csv").symlink_to(outside)
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", extract.key_a))
    assert lines == [
        f"{small_extract}/: entry 1 (in name order) has a name that looks like a CPR number; "
        "rename it (the name is not shown)",
        f"{small_extract}/link.csv: a symbolic link to outside the input directory; copy the "
        "file in instead",
    ]
    (small_extract / "0101901234.csv").unlink()
    (small_extract / "link.csv").unlink()
    lines = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "out", extract.key_a))
    assert lines == [
        "physicians.csv:1: column 8: the column name looks like a CPR number; rename the column "
        "(the name is not shown)"
    ]


def test_directories_are_checked(small_extract, extract, tmp_path):
    same = refusal(lambda: pseudonymise_dir(small_extract, small_extract, extract.key_a))
    assert same == [
        f"{small_extract}: is the input directory; write the pseudonymised copy elsewhere"
    ]
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.csv").write_text("x\n")
    lines = refusal(lambda: pseudonymise_dir(small_extract, busy, extract.key_a))
    assert "exists and is not empty" in lines[0]
    named = refusal(lambda: pseudonymise_dir(small_extract, tmp_path / "0101901234", extract.key_a))
    assert named == [
        "the output directory's path has a part that looks like a CPR number; rename it (the "
        "path is not shown)"
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    pseudonymise_dir(small_extract, empty, extract.key_a)  # an empty directory is fine
    assert (empty / "trainees.csv").exists()


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def test_cli_new_key(tmp_path, capsys):
    key = tmp_path / "cli.key"
    assert (
        cli._dispatch(cli.build_parser().parse_args(["pseudonymise", "--new-key", str(key)])) == 0
    )
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "readable by you only" in capsys.readouterr().out
    inside = ["pseudonymise", "--new-key", str(ROOT / "some.key")]
    with pytest.raises(InputError, match="inside a git work tree"):
        cli._dispatch(cli.build_parser().parse_args(inside))
    assert not (ROOT / "some.key").exists()
    both = ["pseudonymise", str(tmp_path), "--new-key", str(tmp_path / "x.key")]
    with pytest.raises(InputError, match="--new-key makes a key and nothing else"):
        cli._dispatch(cli.build_parser().parse_args(both))
    with pytest.raises(InputError, match="IN_DIR, OUT_DIR and --key-file are needed"):
        cli._dispatch(cli.build_parser().parse_args(["pseudonymise", str(tmp_path)]))


def test_cli_refusal_is_one_line_per_problem(small_extract, extract, tmp_path):
    set_cell(small_extract, "trainees.csv", 4, "person_id", "P0881273")
    set_cell(small_extract, "trainees.csv", 6, "person_id", "")
    out = tmp_path / "out"
    result = run_cli("pseudonymise", str(small_extract), str(out), "--key-file", str(extract.key_a))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert result.stderr.splitlines() == [
        "trainees.csv:4: person_id: is not a CPR number, so it cannot be pseudonymised; is the "
        "file already pseudonymised? (the value is not shown)",
        "trainees.csv:6: person_id: is empty; every row needs the person's CPR number",
    ]
    assert not out.exists()
