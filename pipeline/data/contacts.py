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
    sums = ", ".join(f"count(*) FILTER (WHERE {sql}) AS {key}" for key, (sql, _) in checks.items())
    log.info("contacts: checking %s", shown)
    counts = _run(con, f"SELECT count(*) AS rows, {sums} FROM contacts", "checking")
    total, failures = int(counts[0]), dict(zip(checks, counts[1:], strict=True))
    if total == 0:
        raise InputError(f"{shown}: the file is empty; it needs contact rows")
    problems = []
    for key, count in failures.items():
        if not count:
            continue
        sql, message = checks[key]
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
    log.info("contacts: %s rows valid; counting distinct persons", f"{total:,}")
    # One scan for both counts: per cell, and per year across cells (grouping(region) = 1).
    counted = _frame(
        con,
        """
        SELECT year, region, age_group, CAST(count(DISTINCT person_id) AS BIGINT) AS persons,
               grouping(region) AS national
        FROM (SELECT CAST(year(contact_date) AS INTEGER) AS year, region, age_group, person_id
              FROM contacts)
        GROUP BY GROUPING SETS ((year, region, age_group), (year)) ORDER BY ALL""",
        "counting distinct persons",
    )
    national = counted["national"] == 1
    patients = (
        counted[~national]
        .drop(columns="national")
        .rename(columns={"persons": "patients"})
        .reset_index(drop=True)
    )
    persons = counted.loc[national, ["year", "persons"]].reset_index(drop=True)
    return ContactCounts(patients, persons, total, shown)


def _run(con, sql: str, what: str) -> tuple:
    return _with_progress(con, lambda: con.execute(sql).fetchone(), what)


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
