"""Real extracts, tried as a region's analyst would: one corpus of defects and unusual-but-valid
variants built from synthetic data.

* Every defect gives one clear line per problem (``file:row: column: ...`` or
  ``params.yaml: key: ...``), exit 1, no traceback, and nothing written.
* Every valid variant is read, and (marked ``long``) runs end to end through ``dvc repro`` on a
  copy of the project, after which every interval in ``reports/metrics.json`` and in the
  published tables contains its point.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import BIN, SMALL, read_rows, run_cli, write_rows

from benchmarks.common import copy_project, env
from pipeline.data import read
from pipeline.data.cpr import looks_like_cpr
from pipeline.data.ingest import read_dataset
from pipeline.data.synth import SynthConfig, write_synthetic

LINE = re.compile(r"^(params\.yaml|[\w./-]+)(:\d+)?: [^:]+: .+|^[\w./-]+: .+")


# --- building variants from the small synthetic dataset --------------------------------------
def edit(path: Path, change: Callable[[list[list[str]]], None]) -> None:
    rows = read_rows(path)
    change(rows)
    write_rows(path, rows)


def column(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


def duplicated_header(d: Path) -> None:
    def change(rows):
        rows[0].append("patients")
        for row in rows[1:]:
            row.append(row[column(rows, "patients")])

    edit(d / "patients.csv", change)


def year_2099(d: Path) -> None:
    edit(d / "patients.csv", lambda rows: rows[5].__setitem__(column(rows, "year"), "2099"))


def overlapping_i_posts(d: Path) -> None:
    def change(rows):
        first = rows[1]
        twin = list(first)
        twin[column(rows, "i_start")] = first[column(rows, "i_start")]
        twin[column(rows, "i_start")] = str(
            (pd.Timestamp(first[column(rows, "i_start")]) + pd.Timedelta(days=30)).date()
        )
        twin[column(rows, "specialty")] = "child_adolescent_psychiatry"
        rows.insert(2, twin)

    edit(d / "trainees.csv", change)


def huge_count(d: Path) -> None:
    edit(d / "patients.csv", lambda rows: rows[4].__setitem__(column(rows, "patients"), "9" * 420))


def overflowing_count(d: Path) -> None:
    value = "99999999999999999999"  # 20 digits: wraps around in 64 bits
    edit(d / "patients.csv", lambda rows: rows[4].__setitem__(column(rows, "patients"), value))


def folder_named_like_a_file(d: Path) -> None:
    (d / "patients.csv").unlink()
    (d / "patients.csv").mkdir()


def fifo_named_like_a_file(d: Path) -> None:
    (d / "patients.csv").unlink()
    os.mkfifo(d / "patients.csv")


def windows_1252_line(d: Path) -> None:
    """Line 12 re-saved as Windows-1252 in a file whose other lines are UTF-8 (with æ)."""
    path = d / "trainees.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    region = lines[0].split(",").index("region")
    cells = lines[11].split(",")
    cells[region] = "Sjælland"
    encoded = [line.encode("utf-8") for line in lines]
    encoded[11] = ",".join(cells).encode("cp1252")
    assert any("æ" in line for i, line in enumerate(lines) if i != 11)
    path.write_bytes(b"\n".join(encoded))


def cpr_variants(d: Path) -> None:
    def change(rows):
        ids = column(rows, "person_id")
        for row, value in zip(
            rows[2:6], ["CPR0101901234", "010190 1234", "010190/1234", "101901234"], strict=True
        ):
            row[ids] = value

    edit(d / "trainees.csv", change)


def cpr_header(d: Path) -> None:
    def change(rows):
        rows[0].append("010190-1234")
        for row in rows[1:]:
            row.append("x")

    edit(d / "patients.csv", change)


def link_outside(d: Path) -> None:
    outside = d.parent / "elsewhere.csv"
    shutil.copy(d / "patients.csv", outside)
    (d / "patients.csv").unlink()
    (d / "patients.csv").symlink_to(outside)


def formula_without_value(d: Path) -> None:
    """A workbook written by a program: the formula has no saved value."""
    pd.read_csv(d / "patients.csv").to_excel(d / "patients.xlsx", index=False)
    (d / "patients.csv").unlink()
    with zipfile.ZipFile(d / "patients.xlsx") as z:
        files = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    xml = files[sheet].decode()
    xml = re.sub(r'<c r="D3"( [^>]*)?><v>[^<]*</v></c>', '<c r="D3"><f>D2+1</f></c>', xml, count=1)
    files[sheet] = xml.encode()
    with zipfile.ZipFile(d / "patients.xlsx", "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


DEFECTS = {
    "duplicated identical header": (
        duplicated_header,
        "patients.csv:1: patients: column appears twice",
    ),
    "a patients year of 2099": (
        year_2099,
        "year: 2099 is after the extract date",
    ),
    "overlapping I-posts for one person": (
        overlapping_i_posts,
        "a doctor holds one I-post at a time",
    ),
    "a count of 420 digits": (huge_count, "has 420 digits, too many for a count"),
    "a count that overflows 64 bits": (overflowing_count, "has 20 digits, too many for a count"),
    "a folder named patients.csv": (folder_named_like_a_file, "patients.csv: is a directory"),
    "a FIFO named patients.csv": (fifo_named_like_a_file, "patients.csv: is a named pipe"),
    "one Windows-1252 line in a UTF-8 file": (
        windows_1252_line,
        "trainees.csv:12: cannot be read as UTF-8 (looks like Windows-1252)",
    ),
    "CPR numbers with prefix, space, slash, lost zero": (
        cpr_variants,
        "trainees.csv:3: person_id: looks like a CPR number",
    ),
    "a CPR number as a column header": (
        cpr_header,
        "patients.csv:1: column 5: the column name looks like a CPR number",
    ),
    "a link to a file outside the data directory": (
        link_outside,
        "patients.csv: is a link to a file outside the data directory",
    ),
    "a formula without a saved value": (
        formula_without_value,
        "patients.xlsx:3: D: a formula without a saved value",
    ),
}


@pytest.fixture
def extract(small_dataset, tmp_path) -> Path:
    out = tmp_path / "extract"
    shutil.copytree(small_dataset, out)
    return out


def assert_clear_refusal(result: subprocess.CompletedProcess, expected: str) -> list[str]:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("progress:")]
    assert lines, "no message"
    assert all(LINE.match(line) for line in lines), lines
    assert any(expected in line for line in lines), lines
    return lines


@pytest.mark.parametrize("case", list(DEFECTS))
def test_a_defect_gets_one_clear_line_and_no_traceback(case, extract):
    damage, expected = DEFECTS[case]
    damage(extract)
    result = run_cli("validate", str(extract), timeout=120)  # a FIFO must not hang it
    lines = assert_clear_refusal(result, expected)
    assert not any(looks_like_cpr(line) for line in lines), "a CPR number was echoed"


# The defects of reading (the cells themselves); the rules on values then see the same cells
# (test_a_valid_variant_reads_the_same_when_its_files_are_large, tests/test_read.py).
READING_DEFECTS = [
    "duplicated identical header",
    "a count of 420 digits",
    "one Windows-1252 line in a UTF-8 file",
    "CPR numbers with prefix, space, slash, lost zero",
    "a CPR number as a column header",
]


@pytest.mark.parametrize("case", READING_DEFECTS)
def test_a_defect_in_a_large_csv_file_gets_the_same_line(case, extract, monkeypatch):
    """Large files are parsed by Arrow; whatever it cannot read as pandas would goes to pandas,
    so a defect is named exactly as in a small file."""
    monkeypatch.setattr(read, "ARROW_BYTES", 0)  # every file counts as large
    damage, expected = DEFECTS[case]
    damage(extract)
    assert_clear_refusal(run_cli("validate", str(extract), timeout=120), expected)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"data": {"duckdb_memory_limit": "lots"}}, "data.duckdb_memory_limit: 'lots' is not"),
        ({"data": {"contacts_tolerance": -1}}, "data.contacts_tolerance: -1 is negative"),
        ({"report": {"min_cell": 0}}, "report.min_cell: 0 would publish"),
        ({"report": {"min_cell": -3}}, "report.min_cell: -3 would publish"),
        ({"supply": {"h_completion": 1.5}}, "supply.h_completion: 1.5 is a probability"),
    ],
)
def test_bad_parameters_stop_validate_and_every_stage_before_anything_runs(
    change, expected, small_dataset, tmp_path
):
    project = tmp_path / "project"
    project.mkdir()
    params = yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))
    for section, values in change.items():
        params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    result = run_cli("validate", str(small_dataset), "--params", str(project))
    assert_clear_refusal(result, f"params.yaml: {expected}")


def test_a_failed_stage_writes_nothing_and_says_why_when_reports_cannot_be_written(
    tmp_path, small_dataset
):
    """`reports` is a file, not a directory (works as root too, unlike a read-only folder)."""
    project = copy_project(tmp_path / "project", data=small_dataset)
    (project / "reports").mkdir(exist_ok=True)
    shutil.rmtree(project / "reports")
    (project / "reports").write_text("not a directory")
    result = run_cli("run", "ingest", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "reports" in result.stderr.strip().splitlines()[-1]
    assert not (project / "data" / "processed").exists()


# --- valid variants --------------------------------------------------------------------------
def every_post_filled(d: Path) -> None:
    def change(rows):
        for row in rows[1:]:
            row[column(rows, "filled")] = row[column(rows, "advertised")]

    edit(d / "training_posts.csv", change)


def nobody_on_a_combined_track(d: Path) -> None:
    def change(rows):
        for row in rows[1:]:
            row[column(rows, "combined_track")] = "false"

    edit(d / "trainees.csv", change)


def one_region_without_trainees(d: Path) -> None:
    def change(rows):
        rows[1:] = [r for r in rows[1:] if r[column(rows, "region")] != "Sjælland"]

    edit(d / "trainees.csv", change)


def workbook_with_serials_formulas_and_notes(d: Path) -> None:
    """trainees.xlsx: a notes sheet first, the data sheet named 'trainees', i_start as date
    serials without a date format, and a formula with its saved value."""
    import openpyxl

    df = pd.read_csv(d / "trainees.csv", dtype=str, keep_default_na=False)
    wb = openpyxl.Workbook()
    wb.active.title = "Noter"
    wb.active["A1"] = "Udtræk fra HR, se fanen trainees"
    ws = wb.create_sheet("trainees")
    ws.append(list(df.columns))
    epoch = pd.Timestamp("1899-12-30")
    for row in df.itertuples(index=False):
        values = list(row)
        i_start = df.columns.get_loc("i_start")
        values[i_start] = int((pd.Timestamp(values[i_start]) - epoch).days)
        ws.append(values)
    wb.save(d / "trainees.xlsx")
    (d / "trainees.csv").unlink()
    # A formula with its saved value, as Excel writes it: birth_year of row 2 = 1990 + 0.
    with zipfile.ZipFile(d / "trainees.xlsx") as z:
        files = {n: z.read(n) for n in z.namelist()}
    name = "xl/worksheets/sheet2.xml"
    xml = files[name].decode()
    birth = df.loc[0, "birth_year"]
    xml = re.sub(
        r'<c r="C2"( [^>]*)?>(<is><t>|<v>)[^<]*(</t></is>|</v>)</c>',
        f'<c r="C2"><f>{birth}+0</f><v>{birth}</v></c>',
        xml,
        count=1,
    )
    files[name] = xml.encode()
    with zipfile.ZipFile(d / "trainees.xlsx", "w") as z:
        for n, data in files.items():
            z.writestr(n, data)


def danish_csv(d: Path) -> None:
    write_synthetic(d, SMALL, dialect="danish")


def utf16_and_tabs(d: Path) -> None:
    df = pd.read_csv(d / "physicians.csv", dtype=str, keep_default_na=False)
    df.to_csv(d / "physicians.csv", sep="\t", index=False, encoding="utf-16")
    df = pd.read_csv(d / "training_posts.csv", dtype=str, keep_default_na=False)
    df.to_csv(d / "training_posts.csv", sep="\t", index=False)


def no_break_spaces_in_codes(d: Path) -> None:
    def change(rows):
        for row in rows[1:]:
            if row[column(rows, "region")] == "Sjælland":
                row[column(rows, "region")] = "Region\u00a0Sjælland"

    edit(d / "patients.csv", change)


def contacts_only(d: Path) -> None:
    write_synthetic(d, SynthConfig(**{**SMALL.__dict__, "patient_scale": 0.01, "contacts": 20_000}))
    (d / "patients.csv").unlink()


def contacts_and_patients(d: Path) -> None:
    write_synthetic(d, SynthConfig(**{**SMALL.__dict__, "patient_scale": 0.01, "contacts": 20_000}))


VARIANTS = {
    "every post filled": every_post_filled,
    "nobody on a combined track": nobody_on_a_combined_track,
    "one region without trainees": one_region_without_trainees,
    "xlsx with date serials, a formula and a notes sheet": workbook_with_serials_formulas_and_notes,
    "Danish CSV (;, decimal comma, Windows-1252)": danish_csv,
    "UTF-16 and tab-separated files": utf16_and_tabs,
    "no-break spaces in region names": no_break_spaces_in_codes,
    "contacts only": contacts_only,
    "contacts and patients": contacts_and_patients,
}


@pytest.fixture(scope="module")
def variants(tmp_path_factory, small_dataset) -> dict[str, Path]:
    made = {}
    for name, make in VARIANTS.items():
        out = tmp_path_factory.mktemp("variant") / re.sub(r"\W+", "_", name).strip("_")[:40]
        shutil.copytree(small_dataset, out)
        make(out)
        made[name] = out
    return made


@pytest.mark.parametrize("case", list(VARIANTS))
def test_a_valid_variant_is_read(case, variants):
    dataset = read_dataset(variants[case])
    assert len(dataset.tables["trainees"]) > 0
    if case == "no-break spaces in region names":
        assert "Sjælland" in set(dataset.tables["patients"]["region"].astype(str))
    if case.startswith("xlsx"):
        source = dataset.sources["trainees"]
        assert source.sheet == "trainees"
        assert dataset.tables["trainees"]["i_start"].notna().all()


@pytest.mark.parametrize("case", [c for c in VARIANTS if "xlsx" not in c])
def test_a_valid_variant_reads_the_same_when_its_files_are_large(case, variants, monkeypatch):
    expected = read_dataset(variants[case])
    monkeypatch.setattr(read, "ARROW_BYTES", 0)
    for name, table in read_dataset(variants[case]).tables.items():
        pd.testing.assert_frame_equal(table, expected.tables[name], obj=name)


def short_history(years: int) -> SynthConfig:
    return SynthConfig(seed=5, first_year=2010, last_year=2010 + years - 1)


def test_the_shortest_history_the_models_accept_and_one_year_fewer(tmp_path):
    """Nine years (2010-2018) is the fewest the defaults accept (a backtest window of eight
    years plus one to test on); eight years gets one line naming the minimum."""
    shortest = tmp_path / "nine"
    write_synthetic(shortest, short_history(9))
    assert run_cli("validate", str(shortest)).returncode == 0
    too_short = tmp_path / "eight"
    write_synthetic(too_short, short_history(8))
    result = run_cli("validate", str(too_short))
    assert_clear_refusal(result, "needs at least backtest_min_years + 1 = 9")


# --- intervals contain their point -----------------------------------------------------------
POINT_COLUMNS = (
    "cif", "rate", "gap", "ratio", "odds_ratio_per_year", "fill_rate", "estimate", "effect",
    "share", "forecast", "change", "value",
)  # fmt: skip


def interval_violations(metrics: dict, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Every value with `_ci_low/_ci_high` or `_pi_low/_pi_high` (or a `low/high` pair) lies
    inside its interval, in the metrics and in the published tables."""
    found = []

    def walk(d: dict, path: str) -> None:
        for key, value in d.items():
            if isinstance(value, dict):
                walk(value, f"{path}{key}.")
                continue
            m = re.fullmatch(r"(.+)_(ci|pi)_low", key)
            if not m:
                continue
            base, kind = m.groups()
            point, high = d.get(base), d.get(f"{base}_{kind}_high")
            if None in (point, value, high):
                continue
            if not value - 1e-9 <= point <= high + 1e-9:
                found.append(f"metrics {path}{base}: {point} not in [{value}, {high}]")

    walk(metrics, "")
    for name, df in tables.items():
        for low in [c for c in df.columns if str(c).endswith("_low")]:
            stem = str(low)[: -len("_low")]
            high = f"{stem}_high"
            if high not in df:
                continue
            points = [stem] if stem in df else [c for c in POINT_COLUMNS if c in df]
            if stem in ("ci", "pi") and not points:
                continue
            for point in points[:1]:
                values = pd.to_numeric(df[point], errors="coerce")
                lo = pd.to_numeric(df[low], errors="coerce")
                hi = pd.to_numeric(df[high], errors="coerce")
                bad = (values < lo - 1e-9) | (values > hi + 1e-9)
                if bad.any():
                    row = df[bad].iloc[0].to_dict()
                    found.append(f"{name}: {point} outside [{low}, {high}] e.g. {row}")
    return found


def published(project: Path) -> tuple[dict, dict[str, pd.DataFrame]]:
    metrics = json.loads((project / "reports" / "metrics.json").read_text(encoding="utf-8"))
    tables = {
        p.relative_to(project / "reports" / "tables").as_posix(): pd.read_parquet(p)
        for p in sorted((project / "reports" / "tables").rglob("*.parquet"))
    }
    return metrics, tables


def test_interval_check_catches_a_point_outside_its_interval():
    metrics = {"supply": {"levers": {"x": {"gap_change": 0.0, "gap_change_pi_low": -24.0,
                                           "gap_change_pi_high": -4.0}}}}  # fmt: skip
    assert interval_violations(metrics, {}) == [
        "metrics supply.levers.x.gap_change: 0.0 not in [-24.0, -4.0]"
    ]
    table = pd.DataFrame({"cif": [0.5, 0.2], "ci_low": [0.4, 0.3], "ci_high": [0.6, 0.4]})
    assert len(interval_violations({}, {"t": table})) == 1


@pytest.mark.slow
def test_demo_metrics_and_tables_keep_every_point_inside_its_interval():
    """The committed metrics, and the demo's tables where a repro has made them."""
    root = Path(__file__).resolve().parents[1]
    metrics = json.loads((root / "reports" / "metrics.json").read_text(encoding="utf-8"))
    assert interval_violations(metrics, {}) == []


FAST_PARAMS = {
    "growth": {"simulations": 1000, "ets_bootstrap": 100},
    "supply": {"simulations": 100},
}


@pytest.mark.long
@pytest.mark.parametrize("case", list(VARIANTS))
def test_a_valid_variant_runs_end_to_end(case, variants, tmp_path):
    project = copy_project(tmp_path / "project", data=variants[case])
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    for section, values in FAST_PARAMS.items():
        params[section].update(values)
    (project / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    result = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=project, env=env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert (project / "reports" / "site" / "ledelse.html").exists()
    metrics, tables = published(project)
    assert interval_violations(metrics, tables) == []
