"""One detector for CPR-like values, for every place that scans input or published pages.

A Danish CPR number is ``DDMMYY-SSSS``: a date of birth and four serial digits. Since 2007 the
modulus-11 check no longer holds for every number, so it cannot be used to tell CPR numbers
apart from other ten-digit values; the date part can. A value looks like a CPR number when it
holds a *token*:

* six digits whose first four are a real day and month (``DDMM``, day 01-31 and valid for the
  month; 29 February is allowed for every ``YY`` because the century is unknown),
* optionally one separator among ``-``, space, ``/``, ``_`` and ``.``,
* four digits,

not inside a longer run of digits, but possibly right after letters (``CPR0101901234``,
``cpr:010190-1234``). A cell that is nine digits and nothing else (optionally with the ``.0`` a
float export adds) also counts when it is a CPR number whose leading zero was lost
(``101901234`` is ``0101901234`` read as a number), and so does an integer of nine or ten
digits in a numeric column (``int64`` ids in parquet).

Plain dates (``2019-09-01``, ``01-09-2019``, ``20190901``), counts, pseudonyms such as
``T0000123`` and ten-digit numbers whose first four digits are no day and month do not look like
a CPR number. About 3.7 % of random ten-digit numbers do (366 of the 10,000 ``DDMM`` prefixes are
dates); that is the price of catching real ones.

Four entry points give the same answer on the same text (the tests compare them):

* :func:`looks_like_cpr` for one string (a cell, a column name, a file name),
* :func:`cpr_mask` for a pandas column of millions of rows (vectorised with Arrow),
* :func:`cpr_sql_predicate` for DuckDB over register-sized parquet files,
* :func:`page_has_cpr` for the text of a rendered page.

Messages about a CPR-like value never contain the value (:data:`MESSAGE`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "MANY",
    "MESSAGE",
    "OTHER_DIGITS",
    "PAGE_PATTERN",
    "PREFILTER",
    "cpr_mask",
    "cpr_sql_predicate",
    "looks_like_cpr",
    "normalise_cpr",
    "numeric_mask_arrow",
    "page_has_cpr",
    "text_mask_arrow",
]

MESSAGE = (
    "looks like a CPR number; replace it with a pseudonym before ingest "
    "(python -m pipeline pseudonymise), the value is not shown"
)
# Why normalise_cpr cannot give the one CPR number of a cell (ValueError's text).
MANY = "holds more than one CPR-like number"
OTHER_DIGITS = "holds other digits besides a CPR-like number"

# Days in each month, index 1-12; February has 29 because the century of YY is unknown.
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_SEPARATORS = "-/ _."

# Python's re, for single strings: a token not inside a longer run of digits. re.ASCII keeps
# \d to 0-9 (other scripts' digits are no CPR number) as in RE2 below.
PAGE_PATTERN = re.compile(rf"(?<!\d)(\d\d)(\d\d)(\d\d)[{_SEPARATORS}]?(\d{{4}})(?!\d)", re.ASCII)
# A whole cell of nine digits (a CPR number that lost its leading zero as a number), with the
# ".0" of a float export. Whitespace is spelled out so Python and RE2 agree on it exactly.
_WS = r"[ \t\r\n]*"
_NINE_DIGITS = re.compile(rf"{_WS}([0-9]{{9}})(?:\.0)?{_WS}", re.ASCII)

# RE2 (Arrow, DuckDB) has no look-around, so the vectorised forms work differently: a cheap
# prefilter finds candidates (every token and every nine-digit cell contains nine digits in a
# row, allowing one separator after the sixth), then each "six digits, separator, four digits"
# token bounded by non-digits is joined into a run of ten digits, and a value looks like a CPR
# number when one of its maximal digit runs has exactly ten digits and a real DDMM. The join
# consumes the character after a token, so a token right after another one is skipped; a second
# pass joins those (the first pass leaves no separated token in its way).
PREFILTER = rf"[0-9]{{6}}[{_SEPARATORS}]?[0-9]{{3}}"
_JOIN = rf"(^|[^0-9])([0-9]{{6}})[{_SEPARATORS}]([0-9]{{4}})([^0-9]|$)"
_JOINED = r"\1\2\3\4"
_BARE_TOKEN = rf"^[0-9]{{6}}[{_SEPARATORS}]?[0-9]{{4}}$"
_NINE_DIGITS_RE2 = rf"^{_WS}(?P<digits>[0-9]{{9}})(?:\.0)?{_WS}$"


# --------------------------------------------------------------------------------------------
# One string
# --------------------------------------------------------------------------------------------
def _real_day_and_month(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]


def _tokens(text: str) -> list[str]:
    """The CPR-like tokens in ``text`` as ten digits each, in order of appearance."""
    return [
        "".join(m.groups())
        for m in PAGE_PATTERN.finditer(text)
        if _real_day_and_month(int(m.group(1)), int(m.group(2)))
    ]


def _nine_digit_cell(text: str) -> str | None:
    """Ten digits when ``text`` is a nine-digit CPR number that lost its leading zero."""
    m = _NINE_DIGITS.fullmatch(text)
    if m is None:
        return None
    digits = "0" + m.group(1)
    return digits if _real_day_and_month(int(digits[:2]), int(digits[2:4])) else None


def looks_like_cpr(text: str) -> bool:
    """Whether one string (a cell, a column name, a file name) holds a CPR-like value.

    Parameters
    ----------
    text
        The string as read, e.g. ``"010190-1234"``, ``"CPR0101901234"`` or ``"101901234.0"``.

    Returns
    -------
    bool
        True when ``text`` holds a CPR-like token anywhere, or is as a whole a nine-digit
        CPR number that lost its leading zero.

    Examples
    --------
    >>> looks_like_cpr("cpr: 010190-1234"), looks_like_cpr("101901234")
    (True, True)
    >>> looks_like_cpr("2019-09-01"), looks_like_cpr("3213991234")
    (False, False)
    """
    return bool(_tokens(text)) or _nine_digit_cell(text) is not None


def normalise_cpr(text: str) -> str | None:
    """The ten digits of the one CPR number a cell holds, or None when it holds none.

    Separators, a letter prefix and a float export's ``.0`` are dropped and a lost leading zero
    is restored, so ``"010190-1234"``, ``"CPR0101901234"`` and ``"101901234"`` all give
    ``"0101901234"``.

    Raises
    ------
    ValueError
        When the cell holds more than one CPR-like number, or digits besides the one it holds
        (then it is not clear which part identifies the person). The message does not contain
        the value.
    """
    text = text.strip()
    nine = _nine_digit_cell(text)
    if nine is not None:
        return nine
    matches = [
        m
        for m in PAGE_PATTERN.finditer(text)
        if _real_day_and_month(int(m.group(1)), int(m.group(2)))
    ]
    if not matches:
        return None
    if len(matches) > 1:
        raise ValueError(MANY)
    m = matches[0]
    rest = text[: m.start()] + text[m.end() :]
    if rest.endswith(".0") and m.end() == len(text) - 2:
        rest = rest[:-2]
    if any(c.isdigit() for c in rest):
        raise ValueError(OTHER_DIGITS)
    return "".join(m.groups())


def page_has_cpr(text: str) -> bool:
    """Whether the text of a rendered page shows anything CPR-like.

    The same token rule as :func:`looks_like_cpr`; the nine-digit rule is for whole cells and
    does not apply to running text (pages write large numbers with thousands separators).
    """
    return bool(_tokens(text))


# --------------------------------------------------------------------------------------------
# Columns (pandas, Arrow)
# --------------------------------------------------------------------------------------------
def _real_day_and_month_np(day: np.ndarray, month: np.ndarray) -> np.ndarray:
    month_ok = (month >= 1) & (month <= 12)
    limit = _DAYS_IN_MONTH[np.where(month_ok, month, 0)]
    return month_ok & (day >= 1) & (day <= limit)


def _integer_mask(values: np.ndarray) -> np.ndarray:
    """CPR-like integers: nine or ten digits (a leading zero lost) with a real DDMM."""
    values = values.astype(np.int64, copy=False)
    digits_ok = (values >= 10**8) & (values < 10**10)
    day, month = values // 10**8, (values // 10**6) % 100
    return digits_ok & _real_day_and_month_np(day, month)


def _arrow_real_day_and_month(digits: pa.Array, start: int, day_width: int) -> np.ndarray:
    """Whether strings of digits hold a real DDMM at ``start`` (day ``day_width`` digits)."""
    month_start = start + day_width
    day = pc.utf8_slice_codeunits(digits, start, month_start)
    month = pc.utf8_slice_codeunits(digits, month_start, month_start + 2)
    return _real_day_and_month_np(
        pc.cast(day, pa.int64()).to_numpy(), pc.cast(month, pa.int64()).to_numpy()
    )


def text_mask_arrow(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """:func:`looks_like_cpr` for every string of an Arrow array (null is False).

    Vectorised with Arrow's RE2 kernels: only candidates (nine digits in a row) get the full
    check, so a column of pseudonyms costs one regular-expression scan.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        on_dictionary = text_mask_arrow(values.dictionary)
        indices = values.indices.to_numpy(zero_copy_only=False)
        valid = values.indices.is_valid().to_numpy(zero_copy_only=False)
        return valid & on_dictionary[np.where(valid, indices, 0)]
    values = values.cast(pa.large_string())
    hit = np.zeros(len(values), dtype=bool)
    candidate = pc.fill_null(pc.match_substring_regex(values, PREFILTER), False)
    positions = np.flatnonzero(candidate.to_numpy(zero_copy_only=False))
    if positions.size == 0:
        return hit
    text = values.take(pa.array(positions))

    # Fast path for the usual shape of an id column, a bare token: no joining needed.
    bare = pc.match_substring_regex(text, _BARE_TOKEN).to_numpy(zero_copy_only=False)
    if bare.any():
        tokens = text.filter(pa.array(bare))
        hit[positions[bare]] = _arrow_real_day_and_month(tokens, 0, 2)
    if bare.all():
        return hit
    positions, text = positions[~bare], text.filter(pa.array(~bare))

    joined = pc.replace_substring_regex(text, _JOIN, _JOINED)
    joined = pc.replace_substring_regex(joined, _JOIN, _JOINED)
    runs = pc.split_pattern_regex(joined, "[^0-9]+")
    flat = pc.list_flatten(runs)
    parent = pc.list_parent_indices(runs).to_numpy(zero_copy_only=False)
    ten = pc.equal(pc.utf8_length(flat), 10).to_numpy(zero_copy_only=False)
    if ten.any():
        real = _arrow_real_day_and_month(flat.filter(pa.array(ten)), 0, 2)
        hit[positions[parent[ten][real]]] = True

    nine = pc.extract_regex(text, _NINE_DIGITS_RE2)
    is_nine = nine.is_valid().to_numpy(zero_copy_only=False)
    if is_nine.any():
        digits = pc.struct_field(nine.filter(pa.array(is_nine)), [0])
        # Zero-padded to DDMMYYSSSS the day is 0D: real when D is not 0, for every month.
        hit[positions[is_nine]] |= _arrow_real_day_and_month(digits, 0, 1)
    return hit


def numeric_mask_arrow(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """CPR-like values in an Arrow integer or floating-point array (null is False)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_floating(values.type):
        numbers = values.to_numpy(zero_copy_only=False)  # null -> nan
        whole = np.isfinite(numbers) & (numbers == np.floor(numbers))
        whole &= (numbers >= 0) & (numbers < 10**10)
        return whole & _integer_mask(np.where(whole, numbers, 0))
    numbers = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)
    if numbers.dtype.kind == "u":  # uint64 above int64's range is no CPR number
        numbers = np.where(numbers < 10**10, numbers, 0)
    return _integer_mask(numbers)


def cpr_mask(values: pd.Series) -> pd.Series:
    """Which values of a column look like a CPR number, vectorised.

    Parameters
    ----------
    values
        Any column: text (``string[pyarrow]``, ``string``, ``object``), integers (``int64``,
        ``Int64``, Arrow integers), floats, categoricals. Missing values are False; columns of
        dates, times and booleans cannot hold a CPR number and are all False.

    Returns
    -------
    pandas.Series
        Boolean, with the index of ``values``: :func:`looks_like_cpr` of each cell's text,
        and for numbers whether the integer has nine or ten digits and a real ``DDMM``.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        on_categories = cpr_mask(pd.Series(dtype.categories))
        codes = values.cat.codes.to_numpy()
        result = np.where(codes >= 0, on_categories.to_numpy()[codes], False)
        return pd.Series(result, index=values.index, dtype=bool)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return pd.Series(False, index=values.index, dtype=bool)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return pd.Series(False, index=values.index, dtype=bool)
    if pd.api.types.is_numeric_dtype(dtype):
        result = numeric_mask_arrow(pa.array(values, from_pandas=True))
        return pd.Series(result, index=values.index, dtype=bool)
    text = values if dtype == "string[pyarrow]" else values.astype("string[pyarrow]")
    result = text_mask_arrow(pa.array(text.array))
    return pd.Series(result, index=values.index, dtype=bool)


# --------------------------------------------------------------------------------------------
# DuckDB
# --------------------------------------------------------------------------------------------
def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_real_day_and_month(day: str, month: str) -> str:
    days = (
        f"CASE {month} WHEN 2 THEN 29 WHEN 4 THEN 30 WHEN 6 THEN 30 WHEN 9 THEN 30 "
        f"WHEN 11 THEN 30 ELSE 31 END"
    )
    return f"({month} BETWEEN 1 AND 12 AND {day} BETWEEN 1 AND {days})"


def cpr_sql_predicate(column_sql: str) -> str:
    """A DuckDB boolean expression: whether ``column_sql`` looks like a CPR number.

    Parameters
    ----------
    column_sql
        A VARCHAR expression, e.g. ``'CAST("person_id" AS VARCHAR)'`` (an integer column cast to
        text is checked by the nine-digit rule and the ten-digit token rule).

    Returns
    -------
    str
        SQL giving the same answer as :func:`looks_like_cpr` (False for NULL). A prefilter
        rejects values without nine digits in a row before any further work, so a column of
        pseudonyms costs one regular-expression scan.

    Examples
    --------
    >>> import duckdb
    >>> sql = cpr_sql_predicate("x")
    >>> duckdb.sql(f"SELECT {sql} FROM (VALUES ('CPR0101901234'), ('T0000123')) t(x)").fetchall()
    [(True,), (False,)]
    """
    x = f"({column_sql})"
    join, joined = _sql_string(_JOIN), _sql_string(_JOINED)
    runs = (
        f"regexp_extract_all(regexp_replace(regexp_replace({x}, {join}, {joined}, 'g'), "
        f"{join}, {joined}, 'g'), '[0-9]+')"
    )
    # TRY_CAST: runs shorter than ten digits reach the casts too (AND does not short-circuit).
    run_day = "TRY_CAST(substr(r, 1, 2) AS INTEGER)"
    run_month = "TRY_CAST(substr(r, 3, 2) AS INTEGER)"
    token = (
        f"list_bool_or([length(r) = 10 AND "
        f"{_sql_real_day_and_month(run_day, run_month)} FOR r IN {runs}])"
    )
    nine = f"regexp_extract({x}, {_sql_string(_NINE_DIGITS_RE2)}, 1)"
    nine_day = f"TRY_CAST(substr({nine}, 1, 1) AS INTEGER)"
    nine_month = f"TRY_CAST(substr({nine}, 2, 2) AS INTEGER)"
    nine_cell = (
        f"(regexp_full_match({x}, {_sql_string(_NINE_DIGITS_RE2[1:-1])}) AND "
        f"{_sql_real_day_and_month(nine_day, nine_month)})"
    )
    return (
        f"(CASE WHEN {x} IS NULL OR NOT regexp_matches({x}, {_sql_string(PREFILTER)}) "
        f"THEN false ELSE coalesce({token}, false) OR {nine_cell} END)"
    )
