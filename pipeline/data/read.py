"""Reading an extract's files as text cells: what real extracts look like, decided per file.

A region's analyst exports from Excel, an HR system or a register, so a CSV file may be UTF-8
(with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252, separated by ``,``,
``;`` or a tab, and an ``.xlsx`` workbook may hold date serials, formulas and more than one
sheet. Each file's encoding and separator are decided from the file itself; a line that breaks
the decision is named (``patients.csv:812: cannot be read as UTF-8 (looks like Windows-1252)``)
instead of silently turning every "æ" of the file into mojibake.

Every function returns cells as text with the row numbers a spreadsheet shows (the header is
row 1, blank lines keep their number) as the index; validation is ``pipeline.data.ingest``'s job.
Special files (a directory, FIFO or device called ``patients.csv``) and symbolic links that lead
out of the data directory are refused by name before anything is opened: a FIFO would make
``validate`` wait forever, and a link could print another file's contents into a log.

openpyxl and pyarrow's CSV reader are imported inside the functions that read workbooks and
large files: only those need them.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import stat
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.data.cpr import looks_like_cpr
from pipeline.errors import InputError

log = logging.getLogger(__name__)

# Cells are read as Arrow-backed text: vectorised string checks and a quarter of the memory.
TEXT = "string[pyarrow]"
BIG_FILE_BYTES = 50 * 2**20  # files above this are parsed in chunks, logging progress
# Files above this are parsed by Arrow on every core (a million trainees: 2.6 s -> 0.4 s).
ARROW_BYTES = 2**20
CHUNK_ROWS = 500_000
SEPARATORS = {",": "komma", ";": "semikolon", "\t": "tabulator"}
MAX_BAD_LINES = 20  # lines named when a file mixes encodings
EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's date serials (1900 system)


def check_file(path: Path, raw_dir: Path) -> None:
    """Refuse a special file, or a link that leads outside ``raw_dir``, before opening it."""
    name = path.name
    if path.is_symlink():
        target = path.resolve()
        if not target.is_relative_to(raw_dir.resolve()):
            raise InputError(
                f"{name}: is a link to a file outside the data directory; copy the file into "
                f"{raw_dir.name}/ instead (nothing outside it is read)"
            )
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{name}: is a directory, not a file; put the {name} file here instead")
    if not stat.S_ISREG(mode):
        kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a special file (device/socket)"
        raise InputError(f"{name}: is {kind}, not a regular file; it is not read")


def check_directory(raw_dir: Path) -> list[str]:
    """Problems with the data directory's entries themselves: names that look like CPR numbers
    (the name is not shown) and links that lead outside it."""
    problems = []
    for entry in sorted(raw_dir.iterdir()):
        if looks_like_cpr(entry.name):
            problems.append(
                f"{raw_dir.name}/: a file name looks like a CPR number; rename it (the name is "
                "not shown)"
            )
        elif entry.is_symlink() and not entry.resolve().is_relative_to(raw_dir.resolve()):
            problems.append(
                f"{entry.name}: is a link to a file outside the data directory; copy the file "
                f"into {raw_dir.name}/ instead (nothing outside it is read)"
            )
    return problems


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------
def read_csv(path: Path) -> tuple[pd.DataFrame, str, str]:
    """Every cell of a CSV file as text, indexed by row number; and the file's encoding and
    separator, both decided from the file.

    Raises
    ------
    InputError
        For an empty file, mixed encodings (naming the lines), a separator that cannot be found,
        or a row with more fields than the header.
    """
    data = path.read_bytes()
    text, encoding = decode(data, path.name)
    if not text.strip():
        raise InputError(f"{path.name}: the file is empty; it needs a header row and data rows")
    header = text.split("\n", 1)[0]
    sep = _separator(header, path.name)
    options: dict[str, Any] = dict(
        sep=sep,
        dtype=TEXT,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,  # a blank line keeps its row number, as in a spreadsheet
    )
    header_names = next(csv.reader([header], delimiter=sep))
    try:
        df = _read_with_arrow(text, sep, len(header_names)) if len(data) >= ARROW_BYTES else None
        if df is None and len(data) < BIG_FILE_BYTES:
            df = pd.read_csv(io.StringIO(text), **options)
        elif df is None:
            df = _read_in_chunks(text, path.name, options)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path.name}: the file is empty; it needs a header row and data rows"
        ) from None
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            expected, line, saw = m.groups()
            raise InputError(
                f"{path.name}:{line}: -: the row has {saw} fields but the header has "
                f"{expected}; check the separator ({SEPARATORS[sep]}) and quoting of that row"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path.name}: cannot be read as CSV ({first})") from None
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    return _drop_blank_rows(_with_header(df, header_names)), encoding, sep


def decode(data: bytes, name: str) -> tuple[str, str]:
    """The text of a file and the encoding it was decided to be in.

    A byte-order mark decides (UTF-8, UTF-16); UTF-16 without one is recognised by its zero
    bytes. Otherwise the file is UTF-8 if every line is; if no line holds a UTF-8 character
    beyond ASCII and some line does not decode, the whole file is Windows-1252 (what Excel saves
    as "CSV" on a Danish Windows); a file with both kinds of lines is an error naming the lines
    that break the decision.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", name), "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(b"\x00") >= len(head) // 4:
        # ASCII text in UTF-16 without a BOM: every other byte is zero.
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        return _strict(data, encoding, name), "utf-16"
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return _newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad, utf8_beyond_ascii = [], False
    for number, line in enumerate(lines, start=1):
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
        else:
            utf8_beyond_ascii = utf8_beyond_ascii or not decoded.isascii()
    if utf8_beyond_ascii:
        problems = [
            f"{name}:{n}: cannot be read as UTF-8 (looks like Windows-1252); the rest of the "
            "file is UTF-8: save the whole file as UTF-8"
            for n in bad[:MAX_BAD_LINES]
        ]
        if len(bad) > MAX_BAD_LINES:
            problems.append(f"{name}: ... and {len(bad) - MAX_BAD_LINES} more such lines")
        raise InputError(problems)
    return _strict(data, "cp1252", name), "cp1252"


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return _newlines(data.decode(encoding))
    except UnicodeDecodeError as exc:
        newline = b"\n\x00" if encoding in ("utf-16", "utf-16-le") else b"\n"
        line = data[: exc.start].count(newline)
        shown = "Windows-1252" if encoding == "cp1252" else "UTF-16"
        raise InputError(
            f"{name}:{line + 1}: cannot be read as {shown}, the encoding the rest of the file "
            "is in; save the file as UTF-8"
        ) from None


def _newlines(text: str) -> str:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _separator(header: str, name: str) -> str:
    """The separator that splits the header line into the most columns (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    if counts[best] == 0:
        raise InputError(
            f"{name}:1: -: the header has one column only; separate columns with a comma, a "
            "semicolon or a tab"
        )
    return best


def _read_with_arrow(text: str, sep: str, columns: int) -> pd.DataFrame | None:
    """The cells of a large file parsed by Arrow's CSV reader on every core, as pandas would
    parse them (same quoting, every cell text, nothing read as missing), or None where pandas
    must read it: a blank line (Arrow would drop it, and with it the row numbers), or anything
    Arrow refuses (a row of the wrong width), whose exact problem pandas then names."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if text.startswith("\n") or "\n\n" in text:
        return None
    names = [f"c{i}" for i in range(columns)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values='"' in text),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid:
        return None
    text_type = pd.StringDtype("pyarrow")
    return table.to_pandas(types_mapper=lambda t: text_type if t == pa.string() else None)


def _read_in_chunks(text: str, name: str, options: dict[str, Any]) -> pd.DataFrame:
    parts, rows, size = [], 0, len(text)
    with io.StringIO(text) as fh:
        for chunk in pd.read_csv(fh, chunksize=CHUNK_ROWS, **options):
            parts.append(chunk)
            rows += len(chunk)
            done = min(100, 100 * fh.tell() / size)
            log.info("ingest: %s: %s rows read (%.0f %%)", name, f"{rows:,}", done)
    return pd.concat(parts, ignore_index=True)


def _with_header(df: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """The header as written: pandas renames a repeated name ``year.1``, which would hide it."""
    if len(header) == len(df.columns):
        df.columns = [h.strip() for h in header]
    return df


def _drop_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Leave out rows whose every cell is empty or white space (a spreadsheet's blank lines).

    Column by column on Arrow strings, only for the rows still blank: a file without blank
    lines is decided by its first column (converting every cell to a Python string and
    stripping it took 20 s of reading a million trainees).
    """
    blank = np.ones(len(df), dtype=bool)
    for i in range(df.shape[1]):
        if not blank.any():
            return df
        cells = df.iloc[np.flatnonzero(blank), i].astype(TEXT).fillna("")
        blank[np.flatnonzero(blank)] = (cells.str.strip() == "").to_numpy(dtype=bool)
    return df[~blank] if blank.any() else df


# --------------------------------------------------------------------------------------------
# Excel
# --------------------------------------------------------------------------------------------
def read_xlsx(path: Path, sheet: str | None = None) -> tuple[pd.DataFrame, str]:
    """Every cell of one sheet of a workbook as the text a CSV export would hold, indexed by row
    number; and the sheet's name.

    The sheet named ``sheet`` (the file's own name, e.g. ``patients``) is read if the workbook
    has one, otherwise the first sheet; other sheets (notes, pivots) are left alone. A formula
    is read as the value Excel saved with it; a formula saved without one (a workbook written
    by a program, never opened in Excel) is an error naming the cell.
    """
    import openpyxl

    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path.name}: cannot be read as an Excel workbook ({first})") from None
    try:
        names = values.sheetnames
        chosen = next((n for n in names if n.strip().casefold() == (sheet or "").casefold()), None)
        chosen = chosen or names[0]
        rows, problems = [], []
        numbers = []
        cells = zip(
            values[chosen].iter_rows(), formulas[chosen].iter_rows(values_only=True), strict=False
        )
        for value_row, formula_row in cells:
            texts = []
            for cell, formula in zip(value_row, formula_row, strict=False):
                value = getattr(cell, "value", None)
                if value is None and isinstance(formula, str) and formula.startswith("="):
                    problems.append(
                        f"{path.name}:{cell.row}: {cell.column_letter}: a formula without a "
                        "saved value; open the file in Excel and save it again"
                    )
                texts.append(excel_cell_text(value))
            if value_row:
                numbers.append(value_row[0].row)
                rows.append(texts)
    finally:
        values.close()
        formulas.close()
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError(f"{path.name}: the sheet {chosen!r} is empty")
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "" and all(r[len(header) - 1] == "" for r in rows):
        header.pop()  # trailing empty columns Excel keeps after a deletion
    df = pd.DataFrame([r[: len(header)] for r in rows[1:]], columns=header, dtype=TEXT)
    df.index = pd.Index(numbers[1:], name="row")
    return _drop_blank_rows(df), chosen


def excel_cell_text(value: Any) -> str:
    """The text a CSV export would hold for an Excel cell."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def excel_serial_dates(text: pd.Series) -> pd.Series:
    """Excel date serials (``43709``) in a date column as ISO dates (``2019-09-01``): a date
    column exported from Excel without a date format holds them. Other text is unchanged."""
    serial = text.str.fullmatch(r"\d{4,5}(\.0+)?").fillna(False).astype(bool)
    if not serial.any():
        return text
    days = pd.to_numeric(text[serial], errors="coerce").astype(int)
    converted = pd.Series(
        [(EXCEL_EPOCH + timedelta(days=int(d))).isoformat() for d in days],
        index=days.index,
        dtype=text.dtype,
    )
    return text.where(~serial, converted)


def describe(encoding: str | None, sep: str | None) -> tuple[str, str]:
    """Danish names of an encoding and a separator, for the ingest page."""
    names = {"utf-8": "UTF-8", "utf-16": "UTF-16", "cp1252": "Windows-1252", None: "Excel"}
    return names.get(encoding, str(encoding)), SEPARATORS.get(sep, "–") if sep else "–"
