"""Read the input files of the data contract, validate them and write typed tables.

Reading accepts what real extracts look like: CSV separated by ``,`` or ``;``, UTF-8 with or without
BOM or Windows-1252, decimal commas, an ``.xlsx`` file instead of any CSV, column names in any case,
and a site's own column names mapped through ``params.yaml: data.rename``.

Validation is two pandera schemas per file: the first checks the text of every cell (format, codes,
CPR-like identifiers), the second the parsed values (ranges, keys, dates in order). Every problem
becomes one line ``file:row: column: what is wrong`` where ``row`` is the row in the file as a
spreadsheet shows it (the header is row 1). All problems in all files are collected before anything
is reported, so one run shows everything to fix.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from pipeline.data import contacts, contract, cpr, read
from pipeline.data.catalog import DATASET_INFO
from pipeline.data.contract import (
    MAX_LINES_PER_CHECK,
    UNKNOWN_CODE,
    Column,
    FileSpec,
    code_lookup,
    normalise_name,
    rename_hint,
)
from pipeline.data.cpr import cpr_mask, looks_like_cpr
from pipeline.errors import InputError

log = logging.getLogger(__name__)

SYNTHETIC_MARKER = "synthetic.json"
# Cells are read as Arrow-backed text: vectorised string checks and a quarter of the memory.
MAX_DIGITS = 15  # a count with more digits is a column mix-up, and would overflow 64 bits

_INT = r"[+-]?\d+"
_FLOAT = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)"
_YEAR = r"\d{4}"
_ISO_DATE = r"\d{4}-\d{1,2}-\d{1,2}"
_DK_DATE = r"\d{1,2}-\d{1,2}-\d{4}"
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "ja": True, "nej": False}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass
class Source:
    """Where one table came from and how it was read."""

    file: str
    rows: int
    encoding: str | None
    separator: str | None
    ignored_columns: list[str] = field(default_factory=list)
    absent_columns: list[str] = field(default_factory=list)  # optional columns not given
    sheet: str | None = None  # the workbook sheet read, for .xlsx files


@dataclass
class Dataset:
    """The validated, typed input: one DataFrame per contract file."""

    tables: dict[str, pd.DataFrame]
    sources: dict[str, Source]
    raw_dir: str
    synthetic: bool
    # From contacts: distinct persons per year nationally (cells may count a person twice).
    contact_persons: pd.DataFrame | None = None

    @property
    def extract_date(self) -> pd.Timestamp:
        return self.tables["trainees"]["extract_date"].max()

    def info(self) -> dict[str, Any]:
        """Plain description of the dataset, stored next to the processed tables."""
        years = {
            name: [int(df["year"].min()), int(df["year"].max())]
            for name, df in self.tables.items()
            if "year" in df
        }
        for name, column in (("trainees", "i_start"), ("initiatives", "start")):
            if name in self.tables:
                dates = self.tables[name][column]
                years[name] = [int(dates.dt.year.min()), int(dates.dt.year.max())]
        return {
            "raw_dir": self.raw_dir,
            "synthetic": self.synthetic,
            "extract_date": self.extract_date.date().isoformat(),
            "files": {name: asdict(src) for name, src in self.sources.items()},
            "years": years,
        }


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def read_dataset(
    raw_dir: Path | str,
    rename: dict[str, dict[str, str]] | None = None,
    contacts_tolerance: float = 0.0,
    duckdb_memory_limit: str = "3GB",
    root: Path | str | None = None,
) -> Dataset:
    """Read and validate every contract file in ``raw_dir``.

    Parameters
    ----------
    raw_dir
        Directory holding ``patients``, ``physicians``, ``training_posts`` and ``trainees`` as
        ``.csv`` or ``.xlsx``, and optionally ``contacts.parquet`` (or ``contacts/``), from
        which the patients are then counted (``patients.csv`` becomes optional).
    rename
        Per file, the site's column names mapped onto the contract's, e.g.
        ``{"patients": {"aar": "year"}}``.
    contacts_tolerance
        Largest relative difference allowed between ``patients.csv`` and the patients counted
        from the contacts.
    duckdb_memory_limit
        Memory DuckDB may use while counting contacts.
    root
        The project root: the dataset records ``raw_dir`` relative to it (pages never show an
        absolute path); outside it, only the directory's name.

    Returns
    -------
    Dataset
        Typed tables: codes as ordered categoricals, dates as datetimes, flags as booleans.

    Raises
    ------
    InputError
        With one line per problem in any file, when anything is wrong.
    """
    raw_dir = Path(raw_dir)
    rename = rename or {}
    problems: list[str] = []
    if not raw_dir.is_dir():
        raise InputError(f"{raw_dir}: data directory not found (params.yaml: data.raw_dir)")
    problems += read.check_directory(raw_dir)
    known = [*contract.BY_NAME, contract.CONTACTS.name]
    for name in sorted(set(rename) - set(known)):
        problems.append(
            f"params.yaml: data.rename.{name}: no input file is called {name!r}; "
            f"use one of {', '.join(known)}"
        )
    try:
        contacts_path = contacts.find(raw_dir)
    except InputError as exc:
        problems.extend(exc.problems)
        contacts_path = None
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, Source] = {}
    rows: dict[str, np.ndarray] = {}  # each table's row numbers in its file
    for spec in contract.FILES:
        given = any((raw_dir / f"{spec.name}.{ext}").exists() for ext in ("csv", "xlsx"))
        if not given and (spec.optional or (spec.name == "patients" and contacts_path)):
            continue  # an optional file left out, or patients counted from the contacts below
        try:
            raw, source = read_raw(raw_dir, spec, rename.get(spec.name, {}))
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        log.info("ingest: %s: %s rows read", source.file, f"{source.rows:,}")
        table, table_problems = validate_table(raw, spec, source.file, source.absent_columns)
        problems.extend(table_problems)
        tables[spec.name] = table
        sources[spec.name] = source
        rows[spec.name] = raw.index.to_numpy()
    if not problems:
        problems += _across_files(tables, sources, rows)
    persons = None
    if contacts_path is not None and not problems:
        extract = tables["trainees"]["extract_date"].max() if "trainees" in tables else None
        try:
            counted = contacts.aggregate(
                contacts_path, rename.get("contacts"), extract, duckdb_memory_limit
            )
        except InputError as exc:
            problems.extend(exc.problems)
        else:
            derived = _typed_patients(counted.patients)
            if "patients" in tables:
                problems += compare_patients(
                    tables["patients"],
                    derived,
                    sources["patients"].file,
                    counted.source,
                    contacts_tolerance,
                )
            tables["patients"] = derived
            sources["patients"] = Source(
                f"patients counted from {counted.source}", len(derived), None, None
            )
            sources["contacts"] = Source(counted.source, counted.rows, None, None)
            persons = counted.persons_per_year
    if problems:
        raise InputError(problems)
    synthetic = (raw_dir / SYNTHETIC_MARKER).exists()
    return Dataset(tables, sources, _shown_dir(raw_dir, root), synthetic, persons)


def _shown_dir(raw_dir: Path, root: Path | str | None) -> str:
    """``raw_dir`` as pages may show it: relative to the project, never absolute."""
    if root is None:
        return raw_dir.as_posix() if not raw_dir.is_absolute() else raw_dir.name
    try:
        return raw_dir.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return raw_dir.name


def _across_files(
    tables: dict[str, pd.DataFrame], sources: dict[str, Source], rows: dict[str, np.ndarray]
) -> list[str]:
    """Rules that need more than one row or file: no year after the extract date, and one
    I-post at a time per doctor."""
    problems = []
    extract = tables["trainees"]["extract_date"].max()
    for name, table in tables.items():
        if "year" not in table:
            continue
        late = np.flatnonzero(table["year"].to_numpy() > extract.year)
        for i in late[:MAX_LINES_PER_CHECK]:
            problems.append(
                f"{sources[name].file}:{rows[name][i]}: year: {table['year'].iloc[i]} is after "
                f"the extract date {extract.date().isoformat()} (trainees.csv: extract_date); "
                "the data cannot describe the future"
            )
        if len(late) > MAX_LINES_PER_CHECK:
            problems.append(
                f"{sources[name].file}: year: ... and {len(late) - MAX_LINES_PER_CHECK:,} more "
                "rows after the extract date"
            )
    problems += _overlapping_i_posts(tables["trainees"], sources["trainees"].file, rows["trainees"])
    return problems


def _overlapping_i_posts(trainees: pd.DataFrame, file: str, rows: np.ndarray) -> list[str]:
    """A doctor holds one I-post at a time: a start before the end of the same person's previous
    I-post (or while it is still open) is an error naming both rows."""
    person = pyarrow.array(trainees["person_id"].astype(str).array)
    start = trainees["i_start"].to_numpy("datetime64[ns]")
    end = trainees["i_end"].fillna(trainees["extract_date"]).to_numpy("datetime64[ns]")
    # By person, then start; stable, so equal starts keep the file's order. (Arrow's sort of a
    # million ids takes a tenth of pandas' two-key sort_values.)
    order = pc.sort_indices(
        pyarrow.table({"person": person, "start": start.view("int64")}),
        sort_keys=[("person", "ascending"), ("start", "ascending")],
    ).to_numpy()
    sorted_person = person.take(pyarrow.array(order))
    same = pc.equal(sorted_person[1:], sorted_person[:-1]).to_numpy(zero_copy_only=False)
    overlap = np.flatnonzero(same & (start[order][1:] <= end[order][:-1]))
    problems = []
    for i in overlap[:MAX_LINES_PER_CHECK]:
        now, before = order[i + 1], order[i]
        problems.append(
            f"{file}:{rows[now]}: i_start: {pd.Timestamp(start[now]).date().isoformat()} is "
            f"before the end of the same person's I-post in row {rows[before]} "
            f"({pd.Timestamp(end[before]).date().isoformat()}); a doctor holds one I-post at a "
            "time, so end the first (i_end) or correct the dates"
        )
    return problems


def _typed_patients(counts: pd.DataFrame) -> pd.DataFrame:
    spec = contract.PATIENTS
    return pd.DataFrame(
        {
            "year": counts["year"].astype("int64"),
            "region": pd.Categorical(
                counts["region"], list(spec.column("region").codes), ordered=True
            ),
            "age_group": pd.Categorical(
                counts["age_group"], list(spec.column("age_group").codes), ordered=True
            ),
            "patients": counts["patients"].astype("int64"),
        }
    )


def compare_patients(
    given: pd.DataFrame, counted: pd.DataFrame, file: str, source: str, tolerance: float
) -> list[str]:
    """Cells where ``patients.csv`` and the contacts disagree by more than ``tolerance``."""
    key = ["year", "region", "age_group"]
    left = given.assign(row=given.index + 2, **{k: given[k].astype(str) for k in key[1:]})
    right = counted.assign(**{k: counted[k].astype(str) for k in key[1:]})
    both = left.merge(
        right, on=key, how="outer", suffixes=("_file", "_contacts"), indicator="present"
    )
    both[["patients_file", "patients_contacts"]] = both[
        ["patients_file", "patients_contacts"]
    ].fillna(0)
    difference = (both["patients_file"] - both["patients_contacts"]).abs()
    allowed = tolerance * both[["patients_file", "patients_contacts"]].max(axis=1)
    problems = []
    for r in both[difference > allowed].sort_values(key).itertuples():
        cell = f"({r.year}, {r.region}, {r.age_group})"
        if r.present == "right_only":
            problems.append(
                f"{file}: year, region, age_group: {cell} has "
                f"{int(r.patients_contacts):,} persons in {source} but no row"
            )
        else:
            problems.append(
                f"{file}:{int(r.row)}: patients: {int(r.patients_file):,} in the file "
                f"but {int(r.patients_contacts):,} distinct persons in {source} for "
                f"{cell} (data.contacts_tolerance = {tolerance:g})"
            )
    return problems


def validate_dir(
    raw_dir: Path | str, rename: dict[str, dict[str, str]] | None = None, **options
) -> str:
    """Validate ``raw_dir``; return a one-line summary, raise ``InputError`` on any problem."""
    return summary(read_dataset(raw_dir, rename, **options), raw_dir)


def summary(dataset: Dataset, raw_dir: Path | str) -> str:
    """What a valid dataset holds, in one line."""
    parts = [f"{src.file} {src.rows:,} rows" for src in dataset.sources.values()]
    kind = "synthetic " if dataset.synthetic else ""
    return (
        f"{raw_dir}: valid {kind}dataset ({', '.join(parts)}; "
        f"extract date {dataset.extract_date.date().isoformat()})"
    )


def write_processed(dataset: Dataset, out_dir: Path | str) -> None:
    """Write the typed tables as parquet plus ``dataset.json``, replacing ``out_dir`` at once.

    Everything is written to a temporary directory beside ``out_dir`` first, so a failure leaves
    the previous output (or nothing) behind, never half of it.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        for name, df in dataset.tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        if dataset.contact_persons is not None:
            dataset.contact_persons.to_parquet(tmp / "contact_persons.parquet", index=False)
        info = json.dumps(dataset.info(), indent=2, sort_keys=True, ensure_ascii=False)
        (tmp / DATASET_INFO).write_text(info + "\n", encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def read_raw(
    raw_dir: Path, spec: FileSpec, rename: dict[str, str] | None = None
) -> tuple[pd.DataFrame, Source]:
    """Read one contract file as text cells, indexed by the row number in the file.

    Column names are normalised (case, spaces) and renamed to the contract's; columns outside the
    contract are dropped (and listed in the returned ``Source``), so nothing unexpected passes
    ingest. Every cell, kept or dropped, and every column name is scanned for CPR-like values
    first: a CPR number never passes ingest and is never echoed.
    """
    csv_path, xlsx_path = raw_dir / f"{spec.name}.csv", raw_dir / f"{spec.name}.xlsx"
    present = [p for p in (csv_path, xlsx_path) if p.exists() or p.is_symlink()]
    if len(present) == 2:
        raise InputError(
            f"{spec.name}.csv: both {csv_path.name} and {xlsx_path.name} are in {raw_dir.name}/; "
            "keep only one"
        )
    if not present:
        raise InputError(
            f"{csv_path.name}: file not found in {raw_dir.name}/ (expected {csv_path.name} or "
            f"{xlsx_path.name})"
        )
    path = present[0]
    read.check_file(path, raw_dir)
    sheet = None
    if path.suffix == ".xlsx":
        (df, sheet), encoding, sep = read.read_xlsx(path, spec.name), None, None
    else:
        df, encoding, sep = read.read_csv(path)
    if len(df) == 0:
        raise InputError(f"{path.name}: the file is empty; it needs a header row and data rows")
    problems = _cpr_problems(df, path.name)
    if problems:
        raise InputError(problems)

    mapping = {normalise_name(k): normalise_name(v) for k, v in (rename or {}).items()}
    names = [mapping.get(n, n) for n in (normalise_name(c) for c in df.columns)]
    seen: dict[str, int] = {}
    for pos, name in enumerate(names):
        if name in seen:
            problems.append(
                f"{path.name}:1: {name}: column appears twice (columns {seen[name] + 1} and "
                f"{pos + 1}{', after renaming' if mapping else ''}); keep one"
            )
        seen.setdefault(name, pos)
    for col in spec.columns:
        if col.required and col.name not in seen:
            hint = rename_hint(spec.name, col.name)
            problems.append(f"{path.name}:1: {col.name}: column is missing; {hint}")
    if problems:
        raise InputError(problems)
    df.columns = names
    ignored = [n for n in names if n not in spec.column_names]
    df = df[[c for c in spec.column_names if c in seen]].copy()
    absent = [col.name for col in spec.columns if col.name not in df]
    for name in absent:  # optional columns left out: empty, and not checked
        df[name] = ""
    for col in spec.columns:
        text = df[col.name].fillna("")
        tidy = partial(_tidy, kind=col.kind)
        # Once per distinct value where values repeat (a code column has a handful).
        df[col.name] = _per_distinct(text, tidy) if col.kind in _REPEATING else tidy(text)
    source = Source(path.name, len(df), encoding, sep, ignored, absent, sheet)
    return df, source


def _tidy(text: pd.Series, kind: str) -> pd.Series:
    """Cell text as it is checked and parsed: without surrounding spaces, a Unicode space in a
    code as a plain one, an Excel date serial in a date column as its ISO date."""
    if kind in ("code", "codes"):
        # A non-breaking or other Unicode space (copied from a web page) is a space.
        text = text.str.replace(_SPACES, " ", regex=True)
    text = text.str.strip()
    return read.excel_serial_dates(text) if kind == "date" else text


def _cpr_problems(df: pd.DataFrame, file: str) -> list[str]:
    """Every column name and cell that looks like a CPR number, the value not shown."""
    problems = []
    for position, name in enumerate(df.columns, start=1):
        if looks_like_cpr(str(name)):
            problems.append(f"{file}:1: column {position}: the column name {cpr.MESSAGE}")
            continue
        rows = df.index[cpr_mask(df.iloc[:, position - 1]).to_numpy()]
        for row in rows[:MAX_LINES_PER_CHECK]:
            problems.append(f"{file}:{row}: {name}: {cpr.MESSAGE}")
        if len(rows) > MAX_LINES_PER_CHECK:
            problems.append(
                f"{file}:{rows[MAX_LINES_PER_CHECK]}: {name}: ... and "
                f"{len(rows) - MAX_LINES_PER_CHECK:,} more rows that look like CPR numbers"
            )
    return problems


# Unicode spaces (no-break, thin, ideographic, ...) that RE2's \s does not match.
_SPACES = "[\\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]+"


# --------------------------------------------------------------------------------------------
# Parsing cell text into typed values (invalid text becomes missing; the raw schema reports it)
# --------------------------------------------------------------------------------------------
def _map_distinct(text: pd.Series, mapping: dict[str, Any]) -> pd.Series:
    """``text.map(mapping)``, looking up each distinct value once (a column of codes has a
    handful of them and may have millions of rows)."""
    positions, distinct = pd.factorize(text)
    values = pd.Series([mapping.get(v) for v in distinct], dtype=object)
    mapped = values.to_numpy()[positions]
    mapped[positions < 0] = None
    return pd.Series(mapped, index=text.index, dtype=object)


def _parse_codes(text: pd.Series, col: Column) -> pd.Series:
    norm = text.str.lower().str.replace("–", "-", regex=False)
    codes = _map_distinct(norm, code_lookup(col))
    return pd.Categorical(codes, categories=list(col.codes), ordered=True)


def _parse_dates(text: pd.Series) -> pd.Series:
    """ISO or Danish dates; anything else, and impossible dates, become missing."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
    for pattern, format in ((_ISO_DATE, "%Y-%m-%d"), (_DK_DATE, "%d-%m-%Y")):
        shaped = text.str.fullmatch(pattern).fillna(False).astype(bool)
        if shaped.any():  # most extracts use one format: skip the other's parsing
            parsed[shaped] = pd.to_datetime(text[shaped], format=format, errors="coerce")
    return parsed


# Kinds whose values repeat (years, counts, codes, dates): parsed and checked once per distinct
# value. A million trainees hold a few thousand distinct dates; ids and free text do not repeat.
_REPEATING = {"year", "int", "float", "code", "codes", "date", "bool"}


# A column's distinct values, by its Arrow data (immutable, so an entry cannot go stale; it
# goes with the data): the column's checks and its parsing share one factorisation, which for
# a million cells costs more than the checks themselves.
_DISTINCT: dict[int, tuple[weakref.ref, np.ndarray, pd.Series]] = {}


def _arrow_data(text: pd.Series) -> object | None:
    """The immutable Arrow array behind an Arrow-backed string column (None for any other):
    the key of ``_DISTINCT``. pandas keeps it in a private attribute, read only here."""
    return getattr(text.array, "_pa_array", None)


def _distinct(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``text``'s codes (one per row) and distinct values."""
    data = _arrow_data(text)
    known = _DISTINCT.get(id(data)) if data is not None else None
    if known is not None and known[0]() is data:
        return known[1], known[2]
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=text.dtype)
    _remember(text, codes, distinct)
    return codes, distinct


def _remember(text: pd.Series, codes: np.ndarray, distinct: pd.Series) -> None:
    data = _arrow_data(text)
    if data is not None:
        key = id(data)
        gone = weakref.ref(data, lambda _: _DISTINCT.pop(key, None))
        # Kept while the column is: in the smallest integer type (a code column's in a byte).
        small = codes.astype(np.min_scalar_type(max(len(distinct) - 1, 0)), copy=False)
        _DISTINCT[key] = (gone, small, distinct)


def _per_distinct(text: pd.Series, fn: Callable[[pd.Series], Any]) -> pd.Series:
    """``fn(text)``, computed once per distinct value and spread back to the rows."""
    codes, distinct = _distinct(text)
    result = pd.Series(fn(distinct))
    out = pd.Series(result.array.take(codes), index=text.index, name=text.name)
    if out.dtype == text.dtype:  # text made from text (tidied): its distinct values are known
        inner, uniques = pd.factorize(result, use_na_sentinel=False)
        _remember(out, inner[codes], pd.Series(uniques, dtype=text.dtype))
    return out


def _on_distinct(fn: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
    """A check of text cells made once per distinct value (a missing answer fails)."""

    def check(text: pd.Series) -> pd.Series:
        codes, distinct = _distinct(text)
        ok = pd.Series(fn(distinct)).fillna(False).to_numpy(dtype=bool)
        # Most checks pass everywhere: then nothing is spread back.
        passed = np.ones(len(text), bool) if ok.all() else ok[codes]
        return pd.Series(passed, index=text.index, name=text.name)

    return check


def _parse_distinct(text: pd.Series, col: Column) -> pd.Series:
    """:func:`_parse`, once per distinct value where values repeat."""
    if col.kind not in _REPEATING:
        return _parse(text, col)
    return _per_distinct(text, lambda distinct: _parse(distinct, col))


def _parse(text: pd.Series, col: Column) -> pd.Series:
    if col.kind in ("year", "int"):
        whole = text.str.fullmatch(_INT) & (text.str.lstrip("+-").str.len() <= MAX_DIGITS)
        return pd.to_numeric(text.where(whole), errors="coerce").astype("Int64")
    if col.kind == "float":
        clean = text.where(text.str.fullmatch(_FLOAT)).str.replace(",", ".", regex=False)
        return pd.to_numeric(clean, errors="coerce").astype("Float64")
    if col.kind == "code":
        return pd.Series(_parse_codes(text, col), index=text.index)
    if col.kind == "date":
        return _parse_dates(text)
    if col.kind == "bool":
        return _map_distinct(text.str.lower(), _BOOLS).astype("boolean")
    if col.kind == "codes":
        lookup = code_lookup(col)
        return (
            text.map(
                lambda v: "|".join(lookup.get(p.strip().lower(), "?") for p in str(v).split("|")),
                na_action="ignore",
            )
            .where(text != "")
            .astype("string")
        )
    return text.astype("string")


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------
# A failure message is built from the failing row: (typed frame, raw frame, row) -> text.
Message = Callable[[pd.DataFrame, pd.DataFrame, int], str]


@dataclass(frozen=True)
class _Rule:
    column: str
    message: Message


def _quote(raw: pd.DataFrame, row: int, column: str) -> str:
    """A cell as a message shows it: short, invisible characters made visible, and never a
    value that looks like a CPR number."""
    value = str(raw.at[row, column])
    if looks_like_cpr(value):
        return "(a value that looks like a CPR number, not shown)"
    shown = "".join(
        c if c.isprintable() and not (c.isspace() and c != " ") else f"<U+{ord(c):04X}>"
        for c in value
    )
    return f'"{shown}"' if len(shown) <= 40 else f'"{shown[:37]}..."'


@cache
def _schemas(
    spec: FileSpec, key_columns: tuple[str, ...]
) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema, dict[str, _Rule]]:
    rules: dict[str, _Rule] = {}

    def check(rule_id: str, column: str, fn: Callable, message: Message) -> pa.Check:
        rules[rule_id] = _Rule(column, message)
        return pa.Check(fn, error=rule_id, name=rule_id)

    def text_check(rule_id: str, column: str, fn: Callable, message: Message) -> pa.Check:
        return check(rule_id, column, _on_distinct(fn), message)

    raw_columns: dict[str, pa.Column] = {}
    typed_columns: dict[str, pa.Column] = {}
    for col in spec.columns:
        name = col.name
        raw_checks = []
        if not col.nullable:
            raw_checks.append(
                text_check(
                    f"{name}.required",
                    name,
                    lambda s: s != "",
                    lambda t, r, i: "is empty; a value is required",
                )
            )
        raw_checks.extend(_format_checks(col, text_check))
        raw_columns[name] = pa.Column(checks=raw_checks, nullable=False)

        typed_checks = []
        if col.min is not None:
            lo, what = col.min, "counts" if col.kind == "int" else "values"
            typed_checks.append(
                check(
                    f"{name}.min",
                    name,
                    lambda s, lo=lo: s.isna() | (s >= lo),
                    lambda t, r, i, lo=lo, n=name, w=what: (
                        f"{_quote(r, i, n)} is below {lo:g}; {w} must be >= {lo:g}"
                    ),
                )
            )
        if col.max is not None:
            hi = col.max
            typed_checks.append(
                check(
                    f"{name}.max",
                    name,
                    lambda s, hi=hi: s.isna() | (s <= hi),
                    lambda t, r, i, hi=hi, n=name: f"{_quote(r, i, n)} is above {hi:g}",
                )
            )
        typed_columns[name] = pa.Column(checks=typed_checks, nullable=True, required=False)

    key, key_label = list(key_columns), ", ".join(key_columns)

    def first_with_same_key(t: pd.DataFrame, i: int) -> int:
        same = (t[key] == t.loc[i, key]).all(axis=1)
        return int(same.idxmax())

    # Rows whose key did not parse were reported already; they are not compared.
    wide = [
        check(
            "key.unique",
            key_label,
            lambda d: d[key].isna().any(axis=1) | ~d.duplicated(key, keep="first"),
            lambda t, r, i: (
                f"duplicate key ({key_label}) = "
                f"({', '.join(str(r.at[i, k]) for k in key)}); this combination is already in row "
                f"{first_with_same_key(t, i)}, and each may occur once"
            ),
        )
    ]
    wide += [check(rule_id, column, fn, msg) for rule_id, column, fn, msg in _row_rules(spec)]
    raw = pa.DataFrameSchema(raw_columns, strict=False)
    typed = pa.DataFrameSchema(typed_columns, checks=wide, strict=False)
    return raw, typed, rules


def _format_checks(col: Column, check: Callable) -> list[pa.Check]:
    name = col.name
    empty_ok = lambda s: s == ""  # noqa: E731
    if col.kind == "year":
        return [
            check(
                f"{name}.format",
                name,
                lambda s: empty_ok(s) | s.str.fullmatch(_YEAR),
                lambda t, r, i: f"{_quote(r, i, name)} is not a year; write four digits, e.g. 2019",
            )
        ]
    if col.kind == "int":
        return [
            check(
                f"{name}.format",
                name,
                lambda s: empty_ok(s) | s.str.fullmatch(_INT),
                lambda t, r, i: (
                    f"{_quote(r, i, name)} is not a whole number; write digits only, "
                    f"without thousands separators"
                ),
            ),
            check(
                f"{name}.size",
                name,
                lambda s: ~s.str.fullmatch(_INT) | (s.str.lstrip("+-").str.len() <= MAX_DIGITS),
                lambda t, r, i: (
                    f"{_quote(r, i, name)} has {len(r.at[i, name].lstrip('+-'))} digits, too "
                    f"many for a count (at most {MAX_DIGITS}); check the column"
                ),
            ),
        ]
    if col.kind == "float":
        return [
            check(
                f"{name}.format",
                name,
                lambda s: empty_ok(s) | s.str.fullmatch(_FLOAT),
                lambda t, r, i: f"{_quote(r, i, name)} is not a number; write e.g. 12.5 or 12,5",
            )
        ]
    if col.kind == "code":
        lookup = code_lookup(col)
        allowed = ", ".join(col.codes)
        return [
            check(
                f"{name}.code",
                name,
                lambda s: (
                    empty_ok(s)
                    | s.str.lower().str.replace("–", "-", regex=False).isin(list(lookup))
                ),
                lambda t, r, i: f"{_quote(r, i, name)} {UNKNOWN_CODE}{allowed}",
            )
        ]
    if col.kind == "codes":
        lookup = code_lookup(col)
        allowed = ", ".join(col.codes)
        return [
            check(
                f"{name}.codes",
                name,
                lambda s: (
                    empty_ok(s)
                    | s.map(
                        lambda v: all(p.strip().lower() in lookup for p in str(v).split("|")),
                        na_action="ignore",
                    )
                    .fillna(False)
                    .astype(bool)
                ),
                lambda t, r, i: (
                    f"{_quote(r, i, name)} holds a code that is not known; separate codes "
                    f"with | and use: {allowed}"
                ),
            )
        ]
    if col.kind == "date":

        def shaped(s: pd.Series) -> pd.Series:
            return s.str.fullmatch(_ISO_DATE) | s.str.fullmatch(_DK_DATE)

        return [
            check(
                f"{name}.date_format",
                name,
                lambda s: empty_ok(s) | shaped(s),
                lambda t, r, i: (
                    f"{_quote(r, i, name)} is not a date; write YYYY-MM-DD or DD-MM-YYYY"
                ),
            ),
            check(
                f"{name}.date_real",
                name,
                # _parse_dates gives NaT for text of neither shape and for impossible dates.
                lambda s: ~shaped(s) | _parse_dates(s).notna(),
                lambda t, r, i: f"{_quote(r, i, name)} is not a real calendar date",
            ),
        ]
    if col.kind == "bool":
        return [
            check(
                f"{name}.bool",
                name,
                lambda s: empty_ok(s) | s.str.lower().isin(list(_BOOLS)),
                lambda t, r, i: (
                    f"{_quote(r, i, name)} is not a yes/no value; use true/false, 1/0 or ja/nej"
                ),
            )
        ]
    return []


def _row_rules(spec: FileSpec) -> list[tuple[str, str, Callable, Message]]:
    """Rules across columns of one row, as (id, column reported, check, message)."""

    def iso(t: pd.DataFrame, i: int, c: str) -> str:
        return t.at[i, c].date().isoformat()

    if spec.name == "training_posts":
        return [
            (
                "filled_le_advertised",
                "filled",
                lambda d: (
                    d["filled"].isna() | d["advertised"].isna() | (d["filled"] <= d["advertised"])
                ),
                lambda t, r, i: (
                    f"{t.at[i, 'filled']} posts filled but only "
                    f"{t.at[i, 'advertised']} advertised; filled must be <= advertised"
                ),
            )
        ]
    if spec.name != "trainees":
        return []
    rules: list[tuple[str, str, Callable, Message]] = []
    for later in ("i_end", "h_start", "exit_date"):
        rules.append(
            (
                f"{later}_after_i_start",
                later,
                lambda d, c=later: d[c].isna() | d["i_start"].isna() | (d[c] >= d["i_start"]),
                lambda t, r, i, c=later: f"{iso(t, i, c)} is before i_start {iso(t, i, 'i_start')}",
            )
        )
    for date_col in ("i_start", "i_end", "h_start", "exit_date"):
        rules.append(
            (
                f"{date_col}_after_extract",
                date_col,
                lambda d, c=date_col: (
                    d[c].isna() | d["extract_date"].isna() | (d[c] <= d["extract_date"])
                ),
                lambda t, r, i, c=date_col: (
                    f"{iso(t, i, c)} is after extract_date "
                    f"{iso(t, i, 'extract_date')}; the data cannot describe the future"
                ),
            )
        )
    rules += [
        (
            "h_specialty_without_h_start",
            "h_specialty",
            lambda d: d["h_specialty"].isna() | d["h_start"].notna(),
            lambda t, r, i: (
                f"{_quote(r, i, 'h_specialty')} is given but h_start is empty; give both or neither"
            ),
        ),
        (
            "h_start_without_h_specialty",
            "h_specialty",
            lambda d: d["h_start"].isna() | d["h_specialty"].notna(),
            lambda t, r, i: "is empty but h_start is given; say which specialty the H-post is in",
        ),
        (
            "exit_and_h_start",
            "exit_date",
            lambda d: d["exit_date"].isna() | d["h_start"].isna(),
            lambda t, r, i: (
                "is given although the doctor started an H-post (h_start); "
                "exit_date is only for doctors who left without one"
            ),
        ),
        (
            "age_at_i_start",
            "birth_year",
            lambda d: (
                d["birth_year"].isna()
                | d["i_start"].isna()
                | (d["i_start"].dt.year - d["birth_year"]).between(20, 75)
            ),
            lambda t, r, i: (
                f"{t.at[i, 'birth_year']} makes the doctor "
                f"{t.at[i, 'i_start'].year - t.at[i, 'birth_year']} years old at i_start; "
                f"expected 20 to 75"
            ),
        ),
    ]
    return rules


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def validate_table(
    raw: pd.DataFrame, spec: FileSpec, file: str, absent: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[str]]:
    """Check one file's text cells and parsed values; return the typed table and the problems.

    ``absent`` are optional columns the file left out: they are not checked, and a key column
    among them is not part of the key.
    """
    key = tuple(k for k in spec.key if k not in absent)
    raw_schema, typed_schema, rules = _schemas(spec, key)
    failures = [f for f in _failures(raw_schema, raw) if rules[f[0]].column not in absent]
    typed = pd.DataFrame({col.name: _parse_distinct(raw[col.name], col) for col in spec.columns})
    # Cells that already failed their format check are left out of the value checks.
    for rule_id, row in failures:
        column = rules[rule_id].column
        if column in typed:
            typed.at[row, column] = pd.NA
    failures += _failures(typed_schema, typed)
    problems = _messages(failures, rules, typed, raw, spec, file)
    if problems:
        return typed, problems
    return _final_types(typed, spec), []


def _failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> list[tuple[str, int]]:
    try:
        schema.validate(df, lazy=True, inplace=True)  # no copy: nothing is coerced
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        pairs = pd.DataFrame(
            {"check": cases["check"].astype(str), "row": cases["index"].astype(int)}
        )
        return list(pairs.drop_duplicates().itertuples(index=False, name=None))
    return []


def _messages(
    failures: list[tuple[str, int]],
    rules: dict[str, _Rule],
    typed: pd.DataFrame,
    raw: pd.DataFrame,
    spec: FileSpec,
    file: str,
) -> list[str]:
    order = {name: pos for pos, name in enumerate(spec.column_names)}
    by_rule: dict[str, list[int]] = {}
    for rule_id, row in failures:
        by_rule.setdefault(rule_id, []).append(row)
    lines: list[tuple[int, int, str]] = []
    for rule_id, rows in by_rule.items():
        rule = rules[rule_id]
        rows = sorted(set(rows))
        column_pos = order.get(rule.column.split(",")[0], len(order))
        for row in rows[:MAX_LINES_PER_CHECK]:
            text = rule.message(typed, raw, row)
            lines.append((row, column_pos, f"{file}:{row}: {rule.column}: {text}"))
        if len(rows) > MAX_LINES_PER_CHECK:
            rest = rows[MAX_LINES_PER_CHECK:]
            text = (
                f"{file}:{rest[0]}: {rule.column}: ... and {len(rest):,} more rows with the same "
                f"problem (rows {rest[0]} to {rest[-1]})"
            )
            lines.append((rows[MAX_LINES_PER_CHECK - 1], column_pos, text))
    return [text for _, _, text in sorted(lines)]


def _final_types(typed: pd.DataFrame, spec: FileSpec) -> pd.DataFrame:
    out = typed.reset_index(drop=True)
    for col in spec.columns:
        if col.kind in ("year", "int"):
            out[col.name] = out[col.name].astype("int64")
        elif col.kind == "float":
            out[col.name] = out[col.name].astype("float64")
        elif col.kind == "bool":
            out[col.name] = out[col.name].astype(bool)
        elif col.kind == "id":
            out[col.name] = out[col.name].astype(str)
        elif col.kind in ("text", "codes"):
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
    return out


# --------------------------------------------------------------------------------------------
# What was read (for the ingest notebook)
# --------------------------------------------------------------------------------------------


def national_totals(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Patients by age group and physicians by grade, national, per year (wide)."""
    patients = tables["patients"].pivot_table(
        index="year", columns="age_group", values="patients", aggfunc="sum", observed=True
    )
    physicians = tables["physicians"].pivot_table(
        index="year", columns="grade", values="headcount", aggfunc="sum", observed=True
    )
    out = pd.concat(
        [patients.add_prefix("patients_"), physicians.add_prefix("physicians_")], axis=1
    )
    out.columns = [str(c) for c in out.columns]
    return out.reset_index()


def metrics(dataset: Dataset) -> dict[str, Any]:
    """Small facts about the input for ``reports/metrics.json``."""
    info = dataset.info()
    return {
        "rows": {name: src.rows for name, src in dataset.sources.items()},
        "first_year": info["years"]["patients"][0],
        "last_year": info["years"]["patients"][1],
        "extract_date": info["extract_date"],
        "synthetic": info["synthetic"],
    }
