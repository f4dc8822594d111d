"""Danish number formatting for everything leadership reads: ``12.345``, ``2,5 %``.

A percent sign follows a non-breaking space, so ``2,5 %`` never breaks across lines. IPython is
imported inside ``text``: only notebooks display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

MONTHS = (
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
)


# A count hidden by disclosure control (Danmarks Statistik's mark for "diskretioneret"); the
# pages explain it. The same mark for every hidden cell: a reader must not tell which were
# small and which were hidden to protect them.
HIDDEN = ".."
# "95 %-interval" with the space that keeps the sign by its number.
CI95 = "95\u00a0%-interval"


def number(value: Any, decimals: int = 0) -> str:
    """``12345.6`` -> ``"12.346"``; ``2.25, 1`` -> ``"2,3"``; missing -> ``"–"``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".").replace("-", "−")


def count(value: Any) -> str:
    """A count of persons as published: hidden (``<NA>``) as ``HIDDEN``."""
    return HIDDEN if value is None or value is pd.NA or value != value else number(value)


def percent(share: Any, decimals: int = 1) -> str:
    """A share as Danish percent: ``0.025`` -> ``"2,5 %"``."""
    if share is None or share is pd.NA or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{number(100 * share, decimals)}\u00a0%"


def interval(low: Any, high: Any, formatter: Callable[[Any], str] = number) -> str:
    """``"1.200 til 1.500"``; ``"–"`` when either end is missing."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return "–"
    return f"{formatter(low)} til {formatter(high)}"


def join(items: list[str]) -> str:
    """Danish enumeration: ``["a", "b", "c"]`` -> ``"a, b og c"``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " og " + items[-1]


def date(value: Any) -> str:
    """``2026-03-31`` -> ``"31. marts 2026"``."""
    ts = pd.Timestamp(value)
    return f"{ts.day}. {MONTHS[ts.month - 1]} {ts.year}"


def quantity(value: Any, unit: str) -> str:
    """A value in its unit: shares as percent, counts as whole numbers."""
    return percent(value) if unit == "share" else number(value)


def text(markdown: str):
    """Computed narrative shown as text in the notebook and the pages (not as code output)."""
    from IPython.display import Markdown

    return Markdown(markdown)


# A cell that reads as a number (or an interval of numbers): right-aligned, tabular figures.
_NUMERIC = re.compile(
    r"^[−\-+]?[\d.]+(,\d+)?(\u00a0%| %)?( \([^)]*\))?"
    r"( til [−\-+]?[\d.]+(,\d+)?(\u00a0%| %)?)?$|^–$|^<\d+$|^\.\.$|^<0,001$"
)


@dataclass(frozen=True)
class Table:
    """A table for a page: plain HTML (no inline styles; the page's CSS aligns it) in a
    scrolling wrapper, numbers right-aligned under right-aligned headings. The same data give
    the same bytes (no random ids), and its text form is the table itself, not an object repr.
    """

    frame: pd.DataFrame
    numeric: tuple[bool, ...]
    counts: frozenset[str]

    def _repr_html_(self) -> str:
        head = "".join(
            f'<th class="{"num" if n else "text"}" scope="col">{escape(str(c))}</th>'
            for c, n in zip(self.frame.columns, self.numeric, strict=True)
        )
        rows = []
        for values in self.frame.itertuples(index=False):
            cells = []
            for column, value, numeric in zip(
                self.frame.columns, values, self.numeric, strict=True
            ):
                classes = ("num" if numeric else "text") + (
                    " count" if column in self.counts else ""
                )
                cells.append(f'<td class="{classes}">{escape(str(value))}</td>')
            rows.append(f"<tr>{''.join(cells)}</tr>")
        return (
            '<div class="table-scroll" tabindex="0" role="region" aria-label="Tabel">'
            f'<table class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def table(
    df: pd.DataFrame,
    decimals: int | dict[str, int] = 0,
    percent_columns=(),
    counts=(),
) -> Table:
    """A DataFrame as a table for the pages: Danish number formats, no index column.

    Columns about years ("År", "Fra år", "year") are shown without thousands separators.
    ``counts`` names the columns that count persons: their cells are marked so the report
    stage's safety check can verify that none shows fewer than ``report.min_cell``.
    """
    shown = {}
    numeric = []
    for col in df.columns:
        values = df[col]
        if _is_year_column(str(col)) and values.dtype.kind in "iuf":
            text = ["–" if v != v else f"{int(v)}" for v in values]
        elif col in percent_columns:
            text = [percent(v) for v in values]
        elif values.dtype.kind in "iuf":
            d = decimals.get(col, 0) if isinstance(decimals, dict) else decimals
            text = [number(v, d) for v in values]
        else:
            text = ["–" if v is None or (isinstance(v, float) and v != v) else str(v)
                    for v in values]  # fmt: skip
        shown[col] = text
        numeric.append(bool(len(text)) and all(_NUMERIC.match(t) for t in text))
    frame = pd.DataFrame(shown, columns=list(df.columns))
    return Table(frame, tuple(numeric), frozenset(counts))


YEAR_COLUMNS = {"år", "fra år", "til år", "startår", "kohorte", "year", "cohort"}


def _is_year_column(name: str) -> bool:
    return name.casefold().replace("_", " ") in YEAR_COLUMNS
