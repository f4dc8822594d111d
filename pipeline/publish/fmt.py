"""Danish number formatting for everything leadership reads: ``12.345``, ``2,5 %``.

pandas and IPython are imported inside the functions that need them: the command line formats
numbers without them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

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


def number(value: Any, decimals: int = 0) -> str:
    """``12345.6`` -> ``"12.346"``; ``2.25, 1`` -> ``"2,3"``; missing -> ``"–"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, str):
        return value
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".").replace("-", "−")


def percent(share: Any, decimals: int = 1) -> str:
    """A share as Danish percent: ``0.025`` -> ``"2,5 %"``."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    return f"{number(100 * share, decimals)} %"


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
    import pandas as pd

    ts = pd.Timestamp(value)
    return f"{ts.day}. {MONTHS[ts.month - 1]} {ts.year}"


def quantity(value: Any, unit: str) -> str:
    """A value in its unit: shares as percent, counts as whole numbers."""
    return percent(value) if unit == "share" else number(value)


def text(markdown: str):
    """Computed narrative shown as text in the notebook and the pages (not as code output)."""
    from IPython.display import Markdown

    return Markdown(markdown)


def table(
    df: pd.DataFrame,
    decimals: int | dict[str, int] = 0,
    percent_columns=(),
    counts=(),
) -> Styler:
    """A DataFrame styled for display with Danish separators and no index column.

    Columns about years ("År", "Fra år", "year") are shown without thousands separators.
    ``counts`` names the columns that count persons: their cells are marked so the report
    stage's safety check can verify that none shows fewer than ``report.min_cell``.
    """
    import pandas as pd

    formats: dict[str, Any] = {}
    for col in df.columns:
        if _is_year_column(str(col)) and df[col].dtype.kind in "iuf":
            formats[col] = lambda v: "–" if v is None or v != v else f"{int(v)}"
        elif col in percent_columns:
            formats[col] = lambda v: percent(v)
        elif df[col].dtype.kind in "iuf":
            d = decimals.get(col, 0) if isinstance(decimals, dict) else decimals
            formats[col] = lambda v, d=d: number(v, d)
    text = [c for c in df.columns if c not in formats]
    styler = df.style.format(formats, na_rep="–").hide(axis="index")
    if counts:
        classes = pd.DataFrame("", index=df.index, columns=df.columns)
        classes[list(counts)] = "count"
        styler = styler.set_td_classes(classes)
    return styler.set_properties(subset=text, **{"text-align": "left"}) if text else styler


YEAR_COLUMNS = {"år", "fra år", "til år", "startår", "kohorte", "year", "cohort"}


def _is_year_column(name: str) -> bool:
    return name.casefold().replace("_", " ") in YEAR_COLUMNS
