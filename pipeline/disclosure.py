"""Disclosure control: no published figure describes fewer persons than ``report.min_cell``.

Every table and curve meant for a page passes through here, so every report inherits the rule.
A zero is shown as zero: it describes nobody.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

SUPPRESSED = "<{min_cell}"


def suppress_counts(
    df: pd.DataFrame,
    counts: str | Iterable[str],
    min_cell: int,
    dependent: Iterable[str] = (),
    complementary: bool = False,
) -> pd.DataFrame:
    """Hide counts of 1 to ``min_cell - 1`` persons, and what can be derived from them.

    Parameters
    ----------
    df
        A table of aggregates.
    counts
        Columns holding numbers of persons. A cell below ``min_cell`` becomes ``"<5"``
        (for ``min_cell=5``).
    min_cell
        The disclosure threshold (``params.yaml: report.min_cell``).
    dependent
        Columns computed from the row's persons (shares, rates, intervals): they become
        missing wherever one of the row's count cells is hidden.
    complementary
        The rows add up to a total published elsewhere (a national figure, say). When a column
        hides exactly one cell, its smallest other positive cell is hidden too, so the hidden
        value cannot be recovered by subtraction.

    Returns
    -------
    DataFrame
        A copy; count columns that needed suppression hold text.
    """
    counts = [counts] if isinstance(counts, str) else list(counts)
    out = df.copy()
    label = SUPPRESSED.format(min_cell=min_cell)
    hidden_rows = pd.Series(False, index=out.index)
    for col in counts:
        values = pd.to_numeric(out[col], errors="coerce")
        hide = (values > 0) & (values < min_cell)
        if complementary and hide.sum() == 1 and len(values) > 1:
            others = values.where(~hide & (values > 0))
            if others.notna().any():
                hide |= values.index == others.idxmin()
        if hide.any():
            out[col] = out[col].astype(object).where(~hide, label)
        hidden_rows |= hide
    for col in dependent:
        out[col] = out[col].where(~hidden_rows)
    return out
