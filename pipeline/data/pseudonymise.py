"""Pseudonymise extracts keyed by CPR number before they enter the project.

HR systems and the national registers deliver extracts keyed by CPR number. The pipeline accepts
only pseudonyms (``pipeline.data.ingest`` refuses anything CPR-like), so the first step on a real
extract, on the machine where the CPR extract is kept, is::

    python -m pipeline pseudonymise --new-key ~/keys/psykiatri.key            # once
    python -m pipeline pseudonymise EXTRACT data/raw/x2026 --key-file ~/keys/psykiatri.key

How a pseudonym is made
-----------------------
The CPR number is first normalised to its ten digits (``010190-1234``, ``0101901234``,
``CPR0101901234`` and the integer ``101901234`` are one person), then::

    pseudonym = "P" + letters(HMAC-SHA256(key, ten digits as ASCII)[:8])

where ``letters`` writes each of the 16 half-bytes (64 bits) as one of the letters ``A``-``P``
(``0`` -> ``A`` ... ``f`` -> ``P``: hexadecimal with letters for digits). A pseudonym has no
digits, so it can never look like a CPR number, a date or a count, and spreadsheets never turn
it into a number. (With hexadecimal digits about one pseudonym in 2,000 would contain ten digits
in a row that read as a CPR number, some 5,000 of them for 10 million persons, and every check
for CPR-like values would stop on them.)

* The same key gives the same pseudonym for the same person in every extract and year, so
  extracts can be linked; a different key gives unrelated pseudonyms.
* Without the key nobody can compute a pseudonym from a CPR number or the other way round
  (the key is 256 random bits). *With* the key, anyone can: there are only about 366 million
  possible CPR numbers, so trying them all takes minutes. The key is therefore as sensitive as the
  CPR numbers themselves: keep it where the CPR extracts are kept, never in the project, never
  with the pseudonymised data, and never share it with whoever receives the pseudonymised data.
  The command refuses a key file inside a git work tree or a DVC project.
* 64 bits make a collision (two persons, one pseudonym) unlikely: for ``n`` persons the chance
  is about ``n**2 / 2**65``, i.e. 2.7e-6 at 10 million persons (every Dane who ever had a CPR
  number) and 5e-11 for 50,000 doctors. A run that meets one stops with an error rather than
  merge two persons.
* Pseudonymised data is still personal data under the GDPR (the key holder can re-identify it);
  the output directory is created readable by its owner only.

What is written
---------------
Every file of the data contract in ``IN_DIR`` is read as ingest reads it and scanned for
CPR-like values (:mod:`pipeline.data.cpr`) in every cell, column name and file name. Files with
the id column (``person_id``, or ``--column``) are rewritten with pseudonyms in that column:
``trainees`` as UTF-8 CSV with the same columns and separator (an ``.xlsx`` becomes ``.csv``;
only its first sheet is read, as by ingest), ``contacts.parquet`` or ``contacts/*.parquet``
streamed in record batches with the id column as text. The other contract files are copied
byte for byte (an ``.xlsx`` is written as CSV, so other sheets, comments and document properties
stay behind). ``synthetic.json`` is kept so demo data stays labelled; anything else is left out
and listed.

Nothing is written unless everything is right: the output is built in a temporary directory
beside ``OUT_DIR`` and renamed at the end. Every problem is one line ``file:row: column: what is
wrong`` and no line contains a value from the files.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.data import contacts, contract
from pipeline.data import cpr as cpr_module
from pipeline.data.cpr import (
    _arrow_real_day_and_month,
    looks_like_cpr,
    normalise_cpr,
    numeric_mask_arrow,
    text_mask_arrow,
)
from pipeline.data.read import read_csv, read_xlsx
from pipeline.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["PREFIX", "Summary", "new_key", "pseudonym", "pseudonymise_dir", "read_key"]

PREFIX = "P"
KEY_BYTES = 32
# Half-bytes written as letters: hexadecimal whose digits 0-9 are the letters A-J.
_LETTERS = str.maketrans("0123456789abcdef", "ABCDEFGHIJKLMNOP")
# A directory holding one of these is a project the key must stay out of.
PROJECT_MARKERS = (".git", "dvc.yaml", ".dvc")
KEPT_AS_IS = ("synthetic.json",)  # marks demo data; without it reports lose their banner
BATCH_ROWS = 1_000_000  # parquet rows in memory at a time
PROGRESS_ROWS = 10_000_000  # log a line per this many contact rows
CACHE_SIZE = 1_000_000  # distinct CPR numbers whose pseudonym is kept (about 300 MB)
MAX_LINES_PER_CHECK = 50  # per file, column and kind of problem, as ingest

NEW_KEY_HINT = "make one with: python -m pipeline pseudonymise --new-key PATH (outside the project)"
OTHER_COLUMN = (
    "looks like a CPR number, but only the id column {id} is pseudonymised; remove this "
    "column from the extract, or name it with --column (the value is not shown)"
)
ID_PROBLEMS = {
    "empty": "is empty; every row needs the person's CPR number",
    "not_cpr": (
        "is not a CPR number, so it cannot be pseudonymised; is the file already "
        "pseudonymised? (the value is not shown)"
    ),
    "many": f"{cpr_module.MANY}; keep one per cell (the value is not shown)",
    "digits": (
        f"{cpr_module.OTHER_DIGITS}; keep only the CPR number in the cell (the value is not shown)"
    ),
}
_KINDS = ("ok", *ID_PROBLEMS)


@dataclass
class Summary:
    """What a run wrote."""

    out_dir: str
    files: int  # files written
    rows: int  # rows whose id was replaced by a pseudonym
    persons: int  # distinct persons (distinct CPR numbers) over all files
    left_out: list[str] = field(default_factory=list)  # files in IN_DIR outside the contract

    def __str__(self) -> str:
        text = (
            f"{self.out_dir}: {self.files} files written, {self.rows:,} rows pseudonymised, "
            f"{self.persons:,} distinct persons"
        )
        if self.left_out:
            text += f"; left out (not part of the contract): {', '.join(self.left_out)}"
        return text


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------
def pseudonym(key: bytes, cpr: str) -> str:
    """The pseudonym of one normalised CPR number (ten digits, see ``normalise_cpr``)."""
    return PREFIX + hmac.digest(key, cpr.encode("ascii"), "sha256")[:8].hex().translate(_LETTERS)


def _project_problem(path: Path, what: str) -> str | None:
    """Why ``path`` may not hold a key: it is inside a git work tree or a DVC project."""
    resolved = path.expanduser().resolve()
    for parent in resolved.parents:
        for marker in PROJECT_MARKERS:
            if (parent / marker).exists():
                return (
                    f"{path}: the {what} is inside a git work tree or DVC project ({parent}); "
                    f"keep the key outside every project, e.g. in your home directory, so it can "
                    f"never be committed or pushed"
                )
    return None


def new_key(path: Path | str) -> None:
    """Write a fresh random key (32 bytes from ``secrets``, as 64 hex characters) to ``path``.

    The file is created readable and writable by its owner only (mode 0o600) and never
    overwrites anything: a new key changes every pseudonym.

    Parameters
    ----------
    path
        Where to write the key; the directory must exist and must not be inside a git work
        tree or a DVC project.

    Raises
    ------
    InputError
        When ``path`` exists, its directory does not, or it is inside a project.
    """
    path = Path(path)
    problem = _project_problem(path, "key file")
    if problem:
        raise InputError(problem)
    if not path.expanduser().parent.is_dir():
        raise InputError(f"{path}: the directory does not exist; create it first")
    try:
        # O_EXCL: never overwrite, and never follow a symbolic link planted at the path.
        fd = os.open(path.expanduser(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(
            f"{path}: already exists; a key is never overwritten (a new key changes every "
            f"pseudonym), choose another path"
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        os.fchmod(fd, 0o600)  # whatever the umask
        fh.write(secrets.token_hex(KEY_BYTES) + "\n")


def _key_problems(path: Path) -> tuple[bytes | None, list[str]]:
    path = path.expanduser()
    # Where the key is matters even before it exists: a key inside a project is refused first.
    problem = _project_problem(path, "key file")
    problems = [problem] if problem else []
    if not path.exists():
        return None, [*problems, f"{path}: key file not found; {NEW_KEY_HINT}"]
    if not path.is_file():
        return None, [*problems, f"{path}: the key file is not a file"]
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        problems.append(
            f"{path}: other users can access the key file (mode {mode:o}); make it private "
            f"with: chmod 600 {path}"
        )
    if path.stat().st_size > 1024:
        return None, [*problems, f"{path}: is not a key file (too large); {NEW_KEY_HINT}"]
    text = path.read_bytes().strip()
    if not text:
        return None, [*problems, f"{path}: the key file is empty; {NEW_KEY_HINT}"]
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        return None, [
            *problems,
            f"{path}: is not a key made by --new-key (64 hexadecimal characters); {NEW_KEY_HINT}",
        ]
    return (None if problems else key), problems


def read_key(path: Path | str) -> bytes:
    """The 32 key bytes in ``path``, after checking where the file is and who can read it.

    Raises
    ------
    InputError
        When the file is missing, empty, not 64 hex characters, readable by group or others,
        or inside a git work tree or DVC project. The key is never shown.
    """
    key, problems = _key_problems(Path(path))
    if problems:
        raise InputError(problems)
    assert key is not None
    return key


# --------------------------------------------------------------------------------------------
# Problems, pseudonyms, persons
# --------------------------------------------------------------------------------------------
class _Problems:
    """Lines ``file:row: column: what``, at most MAX_LINES_PER_CHECK per file, column, kind."""

    def __init__(self) -> None:
        self._lines: list[tuple[int, int, int, str]] = []
        self._shown: dict[tuple[str, str, str], int] = {}
        self._more: dict[tuple[str, str, str], list[int]] = {}  # count, first row, last row
        self._files: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._lines)

    def _order(self, file: str) -> int:
        return self._files.setdefault(file, len(self._files))

    def line(self, file: str, text: str, row: int = 0, column: int = 0) -> None:
        self._lines.append((self._order(file), row, column, text))

    def rows(self, file: str, rows: np.ndarray, column: str, position: int, what: str) -> None:
        """Rows (numbered as the user sees them) where ``column`` has the problem ``what``."""
        if rows.size == 0:
            return
        key = (file, column, what)
        shown = self._shown.get(key, 0)
        room = max(MAX_LINES_PER_CHECK - shown, 0)
        for row in rows[:room].tolist():
            self.line(file, f"{file}:{row}: {column}: {what}", row, position)
        self._shown[key] = shown + min(room, rows.size)
        rest = rows[room:]
        if rest.size:
            count, first, _ = self._more.get(key, [0, int(rest[0]), 0])
            self._more[key] = [count + int(rest.size), first, int(rest[-1])]

    def lines(self) -> list[str]:
        lines = list(self._lines)
        for (file, column, _), (count, first, last) in self._more.items():
            text = (
                f"{file}:{first}: {column}: ... and {count:,} more rows with the same problem "
                f"(rows {first} to {last})"
            )
            lines.append((self._order(file), first, 1 << 30, text))
        return [text for *_, text in sorted(lines, key=lambda item: item[:3])]


class _Persons:
    """Distinct (CPR number, pseudonym) pairs over all files, as integers.

    16 bytes per person (160 MB for 10 million), compacted as batches come in, for the count
    in the summary and the collision check.
    """

    def __init__(self) -> None:
        self._cpr: list[np.ndarray] = []
        self._code: list[np.ndarray] = []
        self._pending = 0

    def add(self, cpr: np.ndarray, code: np.ndarray) -> None:
        self._cpr.append(cpr)
        self._code.append(code)
        self._pending += len(cpr)
        if self._pending > 8_000_000:
            self._compact()

    def _compact(self) -> tuple[np.ndarray, np.ndarray]:
        cpr = np.concatenate([np.empty(0, np.int64), *self._cpr])
        code = np.concatenate([np.empty(0, np.uint64), *self._code])
        cpr, first = np.unique(cpr, return_index=True)
        code = code[first]
        self._cpr, self._code, self._pending = [cpr], [code], len(cpr)
        return cpr, code

    def count_and_collisions(self) -> tuple[int, int]:
        cpr, code = self._compact()
        return len(cpr), len(cpr) - len(np.unique(code))


_OK, _EMPTY, _NOT_CPR = (_KINDS.index(k) for k in ("ok", "empty", "not_cpr"))
# Shapes of a trimmed id cell normalised without Python per value (the usual ones); anything
# else goes through normalise_cpr, which gives the same answer on these.
_BARE_TOKEN = r"^[0-9]{6}[-/ _.]?[0-9]{4}$"
_NINE_DIGITS = r"^[0-9]{9}(\.0)?$"


def _letters(digests: bytes) -> pa.Array:
    """Pseudonyms ``P`` + 16 letters A-P from concatenated 8-byte digests, vectorised."""
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8)
    n = raw.shape[0]
    chars = np.empty((n, 17), dtype=np.uint8)
    chars[:, 0] = ord(PREFIX)
    chars[:, 1::2] = (raw >> 4) + ord("A")
    chars[:, 2::2] = (raw & 0x0F) + ord("A")
    offsets = np.arange(0, 17 * (n + 1), 17, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


class _Pseudonymiser:
    """Pseudonyms for Arrow arrays of ids: each distinct value of a batch is normalised and
    hashed once, recent CPR numbers' digests are cached across batches, and everything else is
    vectorised (a register extract has hundreds of millions of rows)."""

    def __init__(self, key: bytes) -> None:
        # HMAC's keyed inner and outer states, copied per message: a third of hmac.digest's time.
        self._mac = hmac.new(key, digestmod="sha256")
        self._cache: dict[bytes, bytes] = {}
        self.persons = _Persons()

    def _digests(self, cprs: list[bytes]) -> bytes:
        """The first 8 bytes of HMAC-SHA256 of each CPR number (ten ASCII digits), joined."""
        cache, mac, out = self._cache, self._mac, []
        for cpr in cprs:
            digest = cache.get(cpr)
            if digest is None:
                if len(cache) >= CACHE_SIZE:  # bounded memory on register-sized extracts
                    cache.clear()
                one = mac.copy()
                one.update(cpr)
                digest = cache[cpr] = one.digest()[:8]
            out.append(digest)
        return b"".join(out)

    def _named(self, kinds: np.ndarray, numbers: np.ndarray, indices: np.ndarray) -> pa.Array:
        """Per row, the pseudonym of its distinct value (null when it has none).

        ``kinds`` and ``numbers`` (the CPR number as an integer) are per distinct value,
        ``indices`` per row (``-1`` for null).
        """
        good = np.flatnonzero(kinds == _OK)
        ten_digits = pc.utf8_lpad(pa.array(numbers[good]).cast(pa.string()), 10, "0")
        digests = self._digests(ten_digits.cast(pa.binary()).to_pylist())
        self.persons.add(numbers[good], np.frombuffer(digests, dtype=">u8").astype(np.uint64))
        position = np.full(len(kinds) + 1, -1, dtype=np.int64)  # last: null rows
        position[good] = np.arange(len(good))
        rows = position[indices]
        return _letters(digests).take(pa.array(rows, mask=rows < 0))

    def ids(self, values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray] | None:
        """Pseudonyms for an id column, and per row the index of its kind in ``_KINDS``.

        None when the column's type cannot hold CPR numbers (dates, binary, ...).
        """
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        kind = values.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return self._text_ids(values)
        if pa.types.is_integer(kind) or pa.types.is_floating(kind):
            return self._number_ids(values)
        return None

    def _text_ids(self, values: pa.Array) -> tuple[pa.Array, np.ndarray]:
        encoded = pc.dictionary_encode(values)
        distinct = encoded.dictionary
        kinds, numbers = _normalise_text(distinct)
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        kinds = np.append(kinds, _EMPTY)  # index -1: null
        return self._named(kinds[:-1], numbers, indices), kinds[indices]

    def _number_ids(self, values: pa.Array) -> tuple[pa.Array, np.ndarray]:
        cpr_like = numeric_mask_arrow(values)  # whole numbers of 9-10 digits with a real DDMM
        present = values.is_valid().to_numpy(zero_copy_only=False)
        kinds = np.where(cpr_like, _OK, _NOT_CPR).astype(np.int8)
        kinds[~present] = _EMPTY
        numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
        numbers = np.where(cpr_like, numbers, 0).astype(np.int64)
        encoded = pc.dictionary_encode(pa.array(numbers))
        distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
        distinct_kinds = np.where(distinct > 0, _OK, _NOT_CPR).astype(np.int8)
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        return self._named(distinct_kinds, distinct, indices), kinds


def _normalise_text(distinct: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct id text: its kind (index in ``_KINDS``) and its CPR number as an integer
    (0 when it has none)."""
    n = len(distinct)
    kinds = np.full(n, _NOT_CPR, dtype=np.int8)
    numbers = np.zeros(n, dtype=np.int64)
    text = pc.utf8_trim_whitespace(distinct)
    empty = pc.equal(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
    kinds[empty] = _EMPTY
    done = empty.copy()
    for shape, day_width in ((_BARE_TOKEN, 2), (_NINE_DIGITS, 1)):
        matches = pc.match_substring_regex(text, shape).to_numpy(zero_copy_only=False)
        if not matches.any():
            continue
        digits = pc.replace_substring_regex(text.filter(pa.array(matches)), r"\.0$|[^0-9]", "")
        real = _arrow_real_day_and_month(digits, 0, day_width)
        where = np.flatnonzero(matches)
        kinds[where[real]] = _OK
        numbers[where] = pc.cast(digits, pa.int64()).to_numpy()
        numbers[where[~real]] = 0
        done[where] = True
    for i in np.flatnonzero(~done).tolist():
        try:
            cpr = normalise_cpr(distinct[i].as_py())
        except ValueError as exc:
            kinds[i] = _KINDS.index("many" if str(exc) == cpr_module.MANY else "digits")
        else:
            if cpr is not None:
                kinds[i], numbers[i] = _OK, int(cpr)
    return kinds, numbers


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _scan_names(in_dir: Path, problems: _Problems) -> None:
    """File and directory names that look like CPR numbers (not shown), and symbolic links
    leading out of ``in_dir`` (shown by name)."""
    root = in_dir.resolve()

    def walk(directory: Path, shown: str) -> None:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
        for number, entry in enumerate(entries, start=1):
            if looks_like_cpr(entry.name):
                problems.line(
                    shown,
                    f"{shown}: entry {number} (in name order) has a name that looks like a CPR "
                    f"number; rename it (the name is not shown)",
                )
                continue
            if entry.is_symlink() and not _inside(entry.resolve(), root):
                problems.line(
                    shown,
                    f"{shown}{entry.name}: a symbolic link to outside the input directory; "
                    f"copy the file in instead",
                )
                continue
            if entry.is_dir() and not entry.is_symlink():
                walk(entry, f"{shown}{entry.name}/")

    walk(in_dir, f"{in_dir}/")


def _headers(names: list[str], file: str, problems: _Problems) -> None:
    for position, name in enumerate(names, start=1):
        if looks_like_cpr(str(name)):
            problems.line(
                file,
                f"{file}:1: column {position}: the column name looks like a CPR number; rename "
                f"the column (the name is not shown)",
                1,
                position,
            )


def _id_position(names: list[str], column: str, file: str, problems: _Problems) -> int | None:
    wanted = contract.normalise_name(column)
    found = [i for i, name in enumerate(names) if contract.normalise_name(name) == wanted]
    if len(found) > 1:
        problems.line(
            file,
            f"{file}:1: {column}: column appears twice (columns "
            f"{', '.join(str(i + 1) for i in found)}); keep one",
            1,
        )
        return None
    return found[0] if found else None


def _report_ids(
    kinds: np.ndarray, first_row: int, file: str, column: str, position: int, problems: _Problems
) -> int:
    """Report rows whose id could not be pseudonymised; return the number of good rows."""
    for index, kind in enumerate(_KINDS[1:], start=1):
        rows = np.flatnonzero(kinds == index) + first_row
        problems.rows(file, rows, column, position, ID_PROBLEMS[kind])
    return int((kinds == 0).sum())


def _other_columns_arrow(
    batch: pa.RecordBatch,
    skip: int | None,
    first_row: int,
    file: str,
    id_column: str,
    problems: _Problems,
) -> None:
    for position, (name, values) in enumerate(zip(batch.schema.names, batch.columns, strict=True)):
        if position == skip:
            continue
        kind = values.type.value_type if pa.types.is_dictionary(values.type) else values.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            mask = text_mask_arrow(values)
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
            if pa.types.is_dictionary(values.type):
                values = values.dictionary_decode()
            mask = numeric_mask_arrow(values)
        else:  # dates, times, booleans, ...: no CPR number fits
            continue
        rows = np.flatnonzero(mask) + first_row
        problems.rows(file, rows, name, position + 1, OTHER_COLUMN.format(id=id_column))


def _table_file(
    path: Path,
    tmp: Path,
    column: str,
    required: bool,
    pseudonymiser: _Pseudonymiser,
    problems: _Problems,
) -> int:
    """One CSV or .xlsx contract file: scan, and write it (pseudonymised when it has the id
    column). Returns the number of rows pseudonymised."""
    file = path.name
    try:
        if path.suffix == ".xlsx":
            (df, _), sep = read_xlsx(path, path.stem), ","
        else:
            df, _, sep = read_csv(path)
    except InputError as exc:
        for text in exc.problems:
            problems.line(file, text)
        return 0
    names = [str(c) for c in df.columns]
    _headers(names, file, problems)
    position = _id_position(names, column, file, problems)
    if position is None and required:
        problems.line(
            file,
            f"{file}:1: {column}: column is missing; name the column that holds the CPR "
            f"numbers with --column",
            1,
        )
    table = pa.Table.from_pandas(df, preserve_index=False)
    batch = table.combine_chunks().to_batches()[0] if len(df) else None
    if batch is not None:
        _other_columns_arrow(batch, position, 2, file, column, problems)
    done = 0
    if position is not None and batch is not None:
        result = pseudonymiser.ids(batch.column(position))
        assert result is not None  # CSV cells are text
        names_out, kinds = result
        done = _report_ids(kinds, 2, file, names[position], position + 1, problems)
        df[df.columns[position]] = pd.array(names_out.to_pylist(), dtype="string[pyarrow]")
    if problems:
        return done
    target = tmp / f"{path.stem}.csv"
    if position is None and path.suffix == ".csv":
        shutil.copyfile(path, target)  # unchanged, byte for byte
    else:
        df.to_csv(target, index=False, sep=sep, encoding="utf-8", lineterminator="\n")
    return done


def _parquet_file(
    path: Path,
    shown: str,
    target: Path,
    column: str,
    pseudonymiser: _Pseudonymiser,
    problems: _Problems,
) -> int:
    """One parquet file of contacts, streamed batch by batch. Returns rows pseudonymised."""
    try:
        source = pq.ParquetFile(path)
        schema = source.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        problems.line(shown, f"{shown}: cannot be read as parquet ({type(exc).__name__})")
        return 0
    names = schema.names
    _headers(names, shown, problems)
    position = _id_position(names, column, shown, problems)
    if position is None:
        problems.line(
            shown,
            f"{shown}:1: {column}: column is missing; name the column that holds the CPR "
            f"numbers with --column",
            1,
        )
        return 0
    id_name = names[position]
    # The id column becomes text; schema metadata (pandas', a writer's) may describe the source
    # and is not carried over.
    out_schema = schema.set(position, pa.field(id_name, pa.string())).remove_metadata()
    if source.metadata.num_rows >= PROGRESS_ROWS:
        log.info("pseudonymise: %s: %s rows", shown, f"{source.metadata.num_rows:,}")
    writer = None
    done = rows = 0
    try:
        for batch in _readable(source.iter_batches(batch_size=BATCH_ROWS), shown):
            first_row = rows + 1  # rows count from 1 in each parquet file, as contacts does
            _other_columns_arrow(batch, position, first_row, shown, column, problems)
            result = pseudonymiser.ids(batch.column(position))
            if result is None:
                problems.line(
                    shown,
                    f"{shown}:1: {id_name}: a column of type {batch.column(position).type} "
                    f"cannot hold CPR numbers",
                    1,
                )
                return 0
            pseudonyms, kinds = result
            done += _report_ids(kinds, first_row, shown, id_name, position + 1, problems)
            rows += batch.num_rows
            if not problems:  # once anything is wrong, only scan on to report everything
                if writer is None:
                    writer = pq.ParquetWriter(target, out_schema, compression="zstd")
                columns = list(batch.columns)
                columns[position] = pseudonyms
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=out_schema))
            if rows // PROGRESS_ROWS != (rows - batch.num_rows) // PROGRESS_ROWS:
                log.info("pseudonymise: %s: %s rows done", shown, f"{rows:,}")
        if writer is None and not problems:  # no rows: an empty file with the schema
            writer = pq.ParquetWriter(target, out_schema, compression="zstd")
    finally:
        if writer is not None:
            writer.close()
    return done


def _readable(batches: Iterator[pa.RecordBatch], shown: str) -> Iterator[pa.RecordBatch]:
    """The batches, with a damaged file reported as bad input rather than a traceback (the
    error's text is not shown: it may quote data)."""
    rows = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"{shown}: cannot be read as parquet after {rows:,} rows ({type(exc).__name__})"
            ) from None
        rows += batch.num_rows
        yield batch


def _plan(
    in_dir: Path, problems: _Problems
) -> tuple[list[Path], Path | None, list[Path], list[str]]:
    """The contract files in ``in_dir``: tables, contacts, kept as is, and names left out."""
    tables = []
    for spec in contract.FILES:
        present = [in_dir / f"{spec.name}.{ext}" for ext in ("csv", "xlsx")]
        present = [p for p in present if p.is_file()]
        if len(present) == 2:
            problems.line(
                present[0].name,
                f"{spec.name}.csv: both {spec.name}.csv and {spec.name}.xlsx are in {in_dir}; "
                f"keep only one",
            )
        tables.extend(present[:1])
    try:
        contacts_path = contacts.find(in_dir)
    except InputError as exc:
        for text in exc.problems:
            problems.line(contacts.NAME, text)
        contacts_path = None
    kept = [in_dir / name for name in KEPT_AS_IS if (in_dir / name).is_file()]
    used = {p.name for p in (*tables, *kept)} | ({contacts_path.name} if contacts_path else set())
    left_out = [
        p.name
        for p in sorted(in_dir.iterdir())
        if p.name not in used and not looks_like_cpr(p.name)
    ]
    return tables, contacts_path, kept, left_out


def _check_dirs(in_dir: Path, out_dir: Path) -> list[str]:
    # Paths end up in messages, logs and the pipeline's dataset.json: never a CPR number.
    named = [
        f"the {what} directory's path has a part that looks like a CPR number; rename it (the "
        f"path is not shown)"
        for what, path in (("input", in_dir), ("output", out_dir))
        if any(looks_like_cpr(part) for part in path.absolute().parts)
    ]
    if named:
        return named
    if not in_dir.is_dir():
        return [f"{in_dir}: input directory not found"]
    source, target = in_dir.resolve(), out_dir.resolve()
    if source == target:
        return [f"{out_dir}: is the input directory; write the pseudonymised copy elsewhere"]
    if _inside(target, source):
        return [
            f"{out_dir}: is inside the input directory {in_dir}; write the pseudonymised copy "
            f"elsewhere"
        ]
    if out_dir.exists() and not out_dir.is_dir():
        return [f"{out_dir}: exists and is not a directory"]
    if out_dir.is_dir() and any(out_dir.iterdir()):
        return [
            f"{out_dir}: exists and is not empty; give a new or empty directory (nothing is "
            f"ever overwritten)"
        ]
    return []


def pseudonymise_dir(
    in_dir: Path | str,
    out_dir: Path | str,
    key_file: Path | str,
    column: str = "person_id",
) -> Summary:
    """Copy the extract in ``in_dir`` to ``out_dir`` with CPR numbers replaced by pseudonyms.

    Parameters
    ----------
    in_dir
        An extract in the contract's layout whose id column holds CPR numbers in any of the
        usual forms (``010190-1234``, ``0101901234``, ``CPR0101901234``, integer ``101901234``).
    out_dir
        Where to write the pseudonymised extract; must not exist or be empty. It passes
        ``python -m pipeline validate`` when ``in_dir`` is valid apart from the CPR numbers.
    key_file
        A key made by :func:`new_key`, outside any project and readable by its owner only.
    column
        The id column, matched like ingest matches column names (case, spaces, dashes).

    Returns
    -------
    Summary
        Files written, rows pseudonymised, distinct persons, files left out.

    Raises
    ------
    InputError
        One line per problem (``file:row: column: what is wrong``, never a value) when an id is
        not a CPR number or empty, a CPR-like value is in any other column, column name or file
        name, the directories or the key file are not right, or two persons would share a
        pseudonym. Nothing is written then.
    """
    in_dir, out_dir, key_file = Path(in_dir), Path(out_dir), Path(key_file)
    early = _check_dirs(in_dir, out_dir)
    key, key_problems = _key_problems(key_file)
    early += key_problems
    resolved_key = key_file.expanduser().resolve()
    for directory in (in_dir, out_dir):
        if _inside(resolved_key, directory.resolve()):
            early.append(
                f"{key_file}: the key file is inside {directory}; keep the key apart from the data"
            )
    if early:
        raise InputError(early)
    assert key is not None

    problems = _Problems()
    _scan_names(in_dir, problems)
    tables, contacts_path, kept, left_out = _plan(in_dir, problems)
    if not any(p.stem == "trainees" for p in tables) and contacts_path is None:
        problems.line(
            str(in_dir),
            f"{in_dir}: neither trainees (.csv or .xlsx) nor contacts found; nothing to "
            f"pseudonymise",
        )
    if problems:
        raise InputError(problems.lines())

    pseudonymiser = _Pseudonymiser(key)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Private (0o700), beside out_dir so the final rename is atomic.
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.pseudonymise-"))
    try:
        rows = 0
        for path in tables:
            required = path.stem == "trainees"
            rows += _table_file(path, tmp, column, required, pseudonymiser, problems)
        if contacts_path is not None:
            if contacts_path.is_dir():
                (tmp / contacts_path.name).mkdir()
                parts = sorted(contacts_path.glob("*.parquet"))
            else:
                parts = [contacts_path]
            for part in parts:
                relative = part.relative_to(in_dir)
                rows += _parquet_file(
                    part, relative.as_posix(), tmp / relative, column, pseudonymiser, problems
                )
        for path in kept:
            if looks_like_cpr(path.read_text(encoding="utf-8", errors="replace")):
                problems.line(
                    path.name,
                    f"{path.name}: holds something that looks like a CPR number; remove it "
                    f"(the value is not shown)",
                )
            else:
                shutil.copyfile(path, tmp / path.name)
        persons, collisions = pseudonymiser.persons.count_and_collisions()
        if collisions:
            problems.line(
                str(in_dir),
                f"{in_dir}: {collisions:,} CPR number(s) got a pseudonym already given to "
                f"another CPR number (a 64-bit collision, chance about "
                f"{persons**2 / 2**65:.1g}); make a new key with --new-key and pseudonymise "
                f"every extract again",
            )
        if problems:
            raise InputError(problems.lines())
        files = sum(1 for p in tmp.rglob("*") if p.is_file())
        if out_dir.is_dir():
            out_dir.rmdir()  # empty (checked above); rename cannot replace it on every system
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Summary(str(out_dir), files, rows, persons, left_out)
