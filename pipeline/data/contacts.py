"""Patients per year from contact-level data, out of core with DuckDB.

A register extract of psychiatric contacts holds tens to hundreds of millions of rows: one per
contact, with ``person_id``, ``contact_date``, ``region`` and ``age_group``. It may be one
``contacts.parquet`` or a directory ``contacts/`` of parquet files. DuckDB reads it in streaming
fashion, under a memory limit, and counts distinct persons per year, region and age group.

How a person counts: once in every (year, region, age group) cell where they had a contact that
year. A person with contacts in two regions, or in both child & adolescent and adult psychiatry,
in the same year counts once in each of those cells, as in the regions' own statistics per
region, so regional figures add up to slightly more than the number of distinct persons in the
country; that national number is also reported (``persons_per_year``).

DuckDB is imported inside ``aggregate``: only extracts with contacts need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data import contract, cpr
from pipeline.data.contract import (
    MAX_LINES_PER_CHECK,
    UNKNOWN_CODE,
    code_lookup,
    normalise_name,
    rename_hint,
)
from pipeline.data.cpr import cpr_sql_predicate, looks_like_cpr
from pipeline.errors import InputError

log = logging.getLogger(__name__)

NAME = "contacts"


@dataclass
class ContactCounts:
    """What the contacts gave: patients per cell, distinct persons per year, rows read."""

    patients: pd.DataFrame
    persons_per_year: pd.DataFrame
    rows: int
    source: str


def find(raw_dir: Path) -> Path | None:
    """``contacts.parquet`` or a ``contacts/`` directory of parquet files, if present."""
    file, directory = raw_dir / f"{NAME}.parquet", raw_dir / NAME
    if file.exists() and directory.exists():
        raise InputError(
            f"{NAME}.parquet: both {file.name} and {directory.name}/ are in "
            f"{raw_dir}; keep only one"
        )
    if file.exists():
        return file
    if directory.is_dir():
        if not any(directory.glob("*.parquet")):
            raise InputError(f"{NAME}/: the directory holds no .parquet files")
        return directory
    return None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _lookup_sql(codes: dict[str, str]) -> str:
    rows = ", ".join(f"({_quote(k)}, {_quote(v)})" for k, v in codes.items())
    return f"(VALUES {rows})"


def aggregate(
    path: Path,
    rename: dict[str, str] | None = None,
    extract_date: pd.Timestamp | None = None,
    memory_limit: str = "3GB",
    threads: int | None = None,
) -> ContactCounts:
    """Validate the contacts and count distinct persons per year, region and age group.

    DuckDB spills to a private temporary directory (mode 0700, outside the project) that is
    removed on success, failure and interrupt: what it spills is person ids.

    Raises
    ------
    InputError
        One line per problem, ``file:row: column: what is wrong`` (rows count from 1 in each
        parquet file), as many examples per kind of problem as for the CSV files plus a line
        counting the rest; DuckDB's own errors as one line, running out of memory as such.
    """
    import duckdb

    shown = f"{NAME}/" if path.is_dir() else path.name
    # Mode 0700, named after this process so that the next run can clean up after a kill.
    spill = tempfile.mkdtemp(prefix=f"laegedaekning-duckdb-{os.getpid()}-")
    con = duckdb.connect(config={"temp_directory": spill})
    try:
        con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        # Progress is logged by _with_progress; DuckDB's own bar would print into the log.
        # Cosmetic: in a Jupyter kernel without ipywidgets DuckDB refuses progress settings.
        with contextlib.suppress(duckdb.Error):
            con.execute("SET enable_progress_bar_print = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        return _aggregate(con, path, shown, rename, extract_date)
    except duckdb.OutOfMemoryException:
        raise InputError(
            f"{shown}: DuckDB ran out of memory counting the contacts "
            f"(params.yaml: data.duckdb_memory_limit = {memory_limit}); raise the limit, or free "
            "disk space in the temporary directory it spills to"
        ) from None
    except duckdb.Error as exc:
        raise InputError(f"{shown}: cannot be counted with DuckDB ({_first_line(exc)})") from None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _aggregate(
    con: Any,
    path: Path,
    shown: str,
    rename: dict[str, str] | None,
    extract_date: pd.Timestamp | None,
) -> ContactCounts:
    import duckdb

    pattern = str(path / "*.parquet") if path.is_dir() else str(path)
    source = (
        f"read_parquet({_quote(pattern)}, filename = true, file_row_number = true, "
        "union_by_name = true)"
    )
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{shown}: cannot be read as parquet ({_first_line(exc)})") from None
    types = {name: kind for name, kind, *_ in described}
    mapping = {normalise_name(k): normalise_name(v) for k, v in (rename or {}).items()}
    columns: dict[str, str] = {}
    for name in types:
        if name in ("filename", "file_row_number"):
            continue
        columns.setdefault(mapping.get(normalise_name(name), normalise_name(name)), name)
    spec = contract.CONTACTS
    missing = [c for c in spec.column_names if c not in columns]
    if missing:
        raise InputError(
            [f"{shown}:1: {c}: column is missing; {rename_hint(NAME, c)}" for c in missing]
        )

    def col(name: str) -> str:
        return '"' + columns[name].replace('"', '""') + '"'

    date_type = types[columns["contact_date"]].upper()
    if date_type.startswith(("DATE", "TIMESTAMP")):
        date_sql = f"CAST({col('contact_date')} AS DATE)"
    else:
        text = f"trim(CAST({col('contact_date')} AS VARCHAR))"
        date_sql = (
            f"CAST(coalesce(try_strptime({text}, '%Y-%m-%d'), "
            f"try_strptime({text}, '%d-%m-%Y')) AS DATE)"
        )
    region_codes = code_lookup(spec.column("region"))
    group_codes = code_lookup(spec.column("age_group"))
    con.execute(f"""
        CREATE TEMP VIEW contacts AS
        SELECT filename, file_row_number + 1 AS row_number,
               trim(CAST({col("person_id")} AS VARCHAR)) AS person_id,
               CAST({col("contact_date")} AS VARCHAR) AS date_text,
               {date_sql} AS contact_date,
               CAST({col("region")} AS VARCHAR) AS region_text,
               r.code AS region,
               CAST({col("age_group")} AS VARCHAR) AS age_group_text,
               g.code AS age_group
        FROM {source}
        LEFT JOIN {_lookup_sql(region_codes)} r(alias, code)
               ON r.alias = lower(trim(CAST({col("region")} AS VARCHAR)))
        LEFT JOIN {_lookup_sql(group_codes)} g(alias, code)
               ON g.alias = lower(trim(CAST({col("age_group")} AS VARCHAR)))
    """)
    limit = pd.Timestamp(extract_date).date().isoformat() if extract_date is not None else None
    checks = {
        "person_id": ("person_id IS NULL OR person_id = ''", "is empty; a value is required"),
        "cpr": (cpr_sql_predicate("person_id"), cpr.MESSAGE),
        "contact_date": (
            "contact_date IS NULL",
            "is not a real date; write YYYY-MM-DD or DD-MM-YYYY, or store a parquet date",
        ),
        "future": (
            f"contact_date > DATE {_quote(limit)}" if limit else "false",
            f"is after the extract date {limit}; the data cannot describe the future",
        ),
        "region": (
            "region IS NULL",
            UNKNOWN_CODE + ", ".join(contract.REGIONS),
        ),
        "age_group": (
            "age_group IS NULL",
            UNKNOWN_CODE + ", ".join(contract.AGE_GROUPS),
        ),
    }
    log.info("contacts: checking and counting %s", shown)
    counted, failures, total = _count_and_check(
        con, pattern, col, date_sql, types[columns["person_id"]].upper(), limit,
        region_codes, group_codes,
    )  # fmt: skip
    if total == 0:
        raise InputError(f"{shown}: the file is empty; it needs contact rows")
    problems = []
    for key, count in failures.items():
        if not count:
            continue
        sql, message = checks[key]
        if key in ("cpr", "future"):  # found in the scan; the rows are counted only now
            count = int(_run(con, f"SELECT count(*) FROM contacts WHERE {sql}", "checking")[0])
        column = {"cpr": "person_id", "future": "contact_date"}.get(key, key)
        value = {
            "person_id": "NULL",
            "cpr": "NULL",
            "contact_date": "date_text",
            "future": "date_text",
            "region": "region_text",
            "age_group": "age_group_text",
        }[key]
        rows = con.execute(
            f"SELECT filename, row_number, {value} FROM contacts WHERE {sql} "
            f"ORDER BY filename, row_number LIMIT {MAX_LINES_PER_CHECK}"
        ).fetchall()
        for filename, row, text in rows:
            where = Path(filename).name if not path.is_dir() else f"{NAME}/{Path(filename).name}"
            quoted = (
                f'"{text}" '
                if text is not None
                and key not in ("person_id", "cpr")
                and not looks_like_cpr(str(text))
                else ""
            )
            problems.append(f"{where}:{row}: {column}: {quoted}{message}")
        if count > MAX_LINES_PER_CHECK:
            problems.append(
                f"{shown}: {column}: ... and {count - MAX_LINES_PER_CHECK:,} more rows with "
                "the same problem"
            )
    if problems:
        raise InputError(problems)
    log.info("contacts: %s rows valid", f"{total:,}")
    national = counted["national"] == 1
    patients = (
        counted.loc[~national, ["year", "region", "age_group", "persons"]]
        .rename(columns={"persons": "patients"})
        .reset_index(drop=True)
    )
    persons = counted.loc[national, ["year", "persons"]].reset_index(drop=True)
    return ContactCounts(patients, persons, total, shown)


def _count_and_check(
    con: Any,
    pattern: str,
    col: Any,
    date_sql: str,
    id_type: str,
    limit: str | None,
    region_codes: dict[str, str],
    group_codes: dict[str, str],
) -> tuple[pd.DataFrame, dict[str, int], int]:
    """Distinct persons per (year, region, age group) and per year, the rows failing each
    check and the rows read, in one scan of the data (checks are aggregates of the counting
    scan).

    The scan groups by the region and age group as written; the codes are then looked up once
    per distinct value. Only where two spellings of one code occur (``Hovedstaden`` beside
    ``Region Hovedstaden``) would a person be counted in both, and the cells are counted again
    with the codes mapped row by row. The CPR check runs on the distinct ids.
    """
    source = f"read_parquet({_quote(pattern)}, union_by_name = true)"
    text_id = not id_type.startswith(("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "UINTEGER"))
    person = f"trim(CAST({col('person_id')} AS VARCHAR))" if text_id else col("person_id")
    # Plain aggregates rather than FILTERs: ids present counted (an empty text id as absent),
    # rows without a date are the cells without a year, and the latest date tells whether any
    # row is after the extract date (those rows are counted only then).
    present = f"NULLIF({person}, '')" if text_id else person
    # An integer id can look like a CPR number only with nine digits or more (a CPR typed
    # into a spreadsheet loses its leading zero): counted in the scan, checked only if any.
    candidates = "count(*)" if text_id else f"count(*) FILTER (WHERE abs({person}) >= 100000000)"
    cells = _frame(
        con,
        f"""
        SELECT CAST(year({date_sql}) AS INTEGER) AS year,
               CAST({col("region")} AS VARCHAR) AS region_text,
               CAST({col("age_group")} AS VARCHAR) AS age_group_text,
               CAST(count(DISTINCT {person}) AS BIGINT) AS persons,
               count(*) AS rows,
               count({present}) AS ids,
               max({date_sql}) AS last_date,
               {candidates} AS cpr_candidates,
               grouping(region_text) AS national
        FROM {source}
        GROUP BY GROUPING SETS ((year, region_text, age_group_text), (year))""",
        "checking and counting",
    )
    in_cells = cells[cells["national"] == 0]
    cpr_ids = 0
    if in_cells["cpr_candidates"].sum() > 0:
        (cpr_ids,) = _run(
            con,
            # Distinct raw ids first (casting and trimming every row costs more than the
            # scan), and the test as a FILTER: as a WHERE, DuckDB pushes it below the DISTINCT.
            f"SELECT count(*) FILTER (WHERE {cpr_sql_predicate('trim(CAST(id AS VARCHAR))')}) "
            f"FROM (SELECT DISTINCT {col('person_id')} AS id FROM {source})",
            "checking ids",
        )
    con.register("cell_texts", cells[["region_text", "age_group_text"]].drop_duplicates())
    codes = con.execute(f"""
        SELECT t.region_text, t.age_group_text, r.code AS region, g.code AS age_group
        FROM cell_texts t
        LEFT JOIN {_lookup_sql(region_codes)} r(alias, code)
               ON r.alias = lower(trim(t.region_text))
        LEFT JOIN {_lookup_sql(group_codes)} g(alias, code)
               ON g.alias = lower(trim(t.age_group_text))""").df()
    con.unregister("cell_texts")
    cells = cells.merge(codes, on=["region_text", "age_group_text"], how="left").sort_values(
        ["year", "region", "age_group", "national"], na_position="last", ignore_index=True
    )
    in_cells = cells[cells["national"] == 0]
    after = limit is not None and (in_cells["last_date"] > pd.Timestamp(limit)).any()
    failures = {
        "person_id": int((in_cells["rows"] - in_cells["ids"]).sum()),
        "cpr": int(cpr_ids),
        "contact_date": int(in_cells.loc[in_cells["year"].isna(), "rows"].sum()),
        "future": int(after),  # the rows are counted with the examples
        "region": int(in_cells.loc[in_cells["region"].isna(), "rows"].sum()),
        "age_group": int(in_cells.loc[in_cells["age_group"].isna(), "rows"].sum()),
    }
    total = int(in_cells["rows"].sum())
    spellings = in_cells.groupby(["region", "age_group"])[["region_text", "age_group_text"]]
    if any(failures.values()) or (spellings.nunique() <= 1).all().all():
        return cells, failures, total
    # Two spellings of one code: count again with the codes mapped row by row (exact).
    recount = _frame(
        con,
        """
        SELECT CAST(year(contact_date) AS INTEGER) AS year, region, age_group,
               CAST(count(DISTINCT person_id) AS BIGINT) AS persons,
               grouping(region) AS national
        FROM contacts
        GROUP BY GROUPING SETS ((year, region, age_group), (year)) ORDER BY ALL""",
        "counting distinct persons",
    )
    return recount, failures, total


def _run(con, sql: str, what: str) -> tuple:
    return _with_progress(con, lambda: con.execute(sql).fetchall()[0], what)


def _frame(con, sql: str, what: str) -> pd.DataFrame:
    return _with_progress(con, lambda: con.execute(sql).df(), what)


def _with_progress(con, work, what: str):
    """Run a query, logging DuckDB's own progress estimate every few seconds."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as exc:  # re-raised in the calling thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    started = time.perf_counter()
    thread.start()
    while thread.is_alive():
        thread.join(timeout=5)
        if thread.is_alive():
            progress = con.query_progress()
            done = f"{progress:.0f} % done" if progress is not None and progress >= 0 else "running"
            log.info("contacts: %s, %s (%.0f s)", what, done, time.perf_counter() - started)
    if "error" in result:
        raise result["error"]
    return result["value"]
