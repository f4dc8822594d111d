"""Initiatives marked on a region's time-series charts: a start line, a shaded span, a short label.

Every chart of a region over the years shows what the region (and the country) did when, so a
reader does not take a change for chance that followed an initiative, nor credit an initiative
with a change that came before it. Any stage draws them with one call after plotting its data::

    from pipeline.publish.marks import mark_initiatives

    initiatives = catalog.load_optional("initiatives")  # None without initiatives.csv
    ax.plot(years, values)
    mark_initiatives(ax, initiatives, "Nordjylland", specialty="psychiatry")

The x axis is in calendar years with year ``t`` drawn at ``x = t`` (``plotting.year_axis``).
A year's point stands for the whole year, so a date is placed relative to the year's middle
(``year_position``): a year's point lies inside an initiative's span exactly when the initiative
covers at least half of that year, the rule by which the initiatives stage counts a year as
treated (``treatment_years`` in its model).

Readable in grey scale and kept off the data: spans are a light grey wash (regional) or a light
hatch (national) under the data, the start is a dashed dark-grey line, and the labels sit in a
band added above the data, staggered when starts are close.

matplotlib is imported inside ``mark_initiatives``: it takes a second to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from pipeline.data.contract import NATIONAL

if TYPE_CHECKING:
    from collections.abc import Mapping

    from matplotlib.axes import Axes

SPAN_COLOR = "#000000"
SPAN_ALPHA = 0.07  # a wash that darkens no line or marker drawn on top of it
HATCH_COLOR = "#c8c8c8"  # light: a national span often covers most of a chart
LINE_COLOR = "#404040"
LABEL_SIZE = 7
HEADROOM = 0.10  # share of the y range added above the data per row of labels
MAX_LABEL_ROWS = 3
# Space kept free on either side of a label, as a share of the chart's width.
LABEL_MARGIN = 0.02


def year_position(date: Any) -> float:
    """The x position of a date on a year axis whose year ``t`` stands at ``x = t``.

    Year ``t``'s point stands for the whole year and sits at its middle, 1 July 00:00; a month
    is a twelfth of the year and a date the middle of its day. A year's point then lies inside
    an initiative's span exactly when the initiative covers at least half of that year by the
    initiatives stage's rule (``treatment_years``: a start in January-June treats its own year,
    an end in July-December too).

    >>> round(year_position("2019-07-01"), 2)
    2019.0
    >>> round(year_position("2019-01-01"), 2)
    2018.5
    """
    ts = pd.Timestamp(date)
    return ts.year - 0.5 + (ts.month - 1 + (ts.day - 0.5) / ts.days_in_month) / 12


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or str(value) == ""


def initiatives_for(
    initiatives: pd.DataFrame, region: str, *, specialty: str | None = None
) -> pd.DataFrame:
    """The initiatives that concern a chart of ``region``: its own and the national ones.

    Parameters
    ----------
    initiatives
        The contract's ``initiatives`` table or the ``initiatives/register`` dataset: at least
        ``initiative_id``, ``region``, ``specialty`` (empty = both specialties), ``start`` and
        ``end`` (empty = ongoing).
    region
        A region, or ``Danmark`` for a national chart (only national initiatives then).
    specialty
        The chart's specialty; None for a chart of both, which shows every initiative. A chart
        of one specialty shows the initiatives for it and those for both.

    Returns
    -------
    DataFrame
        The matching rows with a valid start, sorted by start.
    """
    if initiatives is None or not len(initiatives):
        return pd.DataFrame(columns=["initiative_id", "region", "specialty", "start", "end"])
    regions = initiatives["region"].astype(str)
    keep = (regions == region) | (regions == NATIONAL)
    if specialty is not None:
        keep &= initiatives["specialty"].map(lambda s: _blank(s) or str(s) == specialty)
    keep &= initiatives["start"].map(lambda s: not _blank(s))
    out = initiatives[keep.to_numpy()]
    order = out["start"].map(pd.Timestamp).argsort(kind="stable")
    return out.iloc[order.to_numpy()]


def mark_initiatives(
    ax: Axes,
    initiatives: pd.DataFrame,
    region: str,
    *,
    specialty: str | None = None,
    labels: Mapping[str, str] | None = None,
    highlight: str | None = None,
) -> list[str]:
    """Draw each of the region's and the national initiatives on a year axis.

    Call it after the data are drawn and the x limits set: it keeps the x limits, draws an
    ongoing initiative to the right edge and leaves out initiatives entirely outside the chart.
    The y axis gains a band at the top for the labels; its tick marks stay within the data.

    Parameters
    ----------
    ax
        A chart with calendar years on the x axis (year ``t`` at ``x = t``).
    initiatives
        The initiatives (see ``initiatives_for``).
    region
        The chart's region (``Danmark``: a national chart).
    specialty
        The chart's specialty, or None for both (see ``initiatives_for``).
    labels
        Optional label per ``initiative_id``; default the id itself (a short code).
    highlight
        An ``initiative_id`` whose span alone is shaded (a chart about that initiative); the
        others get their start (and end) lines and labels only. None: every span is shaded.

    Returns
    -------
    list of str
        The ids of the initiatives drawn, in order of start.
    """
    from matplotlib.ticker import FixedLocator
    from matplotlib.transforms import blended_transform_factory

    chosen = initiatives_for(initiatives, region, specialty=specialty)
    left, right = ax.get_xlim()
    # Panels sharing a y axis share one band: the data's limits and the band's rows are kept
    # on the axes, so marking panel after panel does not stack band on band.
    siblings = ax.get_shared_y_axes().get_siblings(ax)
    shared = next((a._initiative_band for a in siblings if hasattr(a, "_initiative_band")), None)
    if shared is None:
        shared = {"limits": ax.get_ylim(), "rows": 0}
        for sibling in siblings:
            sibling._initiative_band = shared
    bottom, top = shared["limits"]
    drawn: list[tuple[str, float]] = []
    for item in chosen.to_dict("records"):
        start = year_position(item["start"])
        end = right if _blank(item.get("end")) else year_position(item["end"])
        if start > right or end < left:
            continue
        national = str(item["region"]) == NATIONAL
        span = {"zorder": 0, "linewidth": 0, "label": "_nolegend_"}
        if national:  # hatched, so a national initiative differs from a regional one in grey
            span |= {"facecolor": "none", "edgecolor": HATCH_COLOR, "hatch": "//"}
        else:
            span |= {"facecolor": SPAN_COLOR, "alpha": SPAN_ALPHA}
        if highlight is None or str(item["initiative_id"]) == highlight:
            ax.axvspan(max(start, left), min(end, right), **span)
        if start >= left:
            ax.axvline(start, color=LINE_COLOR, linewidth=0.9, linestyle="--", zorder=1)
        if not _blank(item.get("end")) and end <= right:
            ax.axvline(end, color=LINE_COLOR, linewidth=0.7, linestyle=":", zorder=1)
        drawn.append((str(item["initiative_id"]), max(start, left)))
    ax.set_xlim(left, right)  # spans reaching beyond the chart must not widen it
    if not drawn:
        return []

    # Labels in rows in a band above the data. Each goes on the first row where it overlaps no
    # label already there (measured as drawn, with a margin for a later tight_layout), and is
    # pulled left when it would run past the right edge.
    height = top - bottom
    ticks = [t for t in ax.get_yticks() if bottom <= t <= top]
    transform = blended_transform_factory(ax.transData, ax.transData)
    canvas = ax.figure.canvas
    get_renderer = getattr(canvas, "get_renderer", None) or ax.figure._get_renderer
    renderer = get_renderer()
    axes_box = ax.get_window_extent(renderer)
    margin = LABEL_MARGIN * axes_box.width
    rows: list[list[tuple[float, float]]] = []
    placed = []
    for ident, x in drawn:
        text = ax.text(
            x,
            top,
            f" {(labels or {}).get(ident, ident)}",
            transform=transform,
            fontsize=LABEL_SIZE,
            color=LINE_COLOR,
            ha="left",
            va="center",
            clip_on=True,
            zorder=3,
        )
        box = text.get_window_extent(renderer)
        if box.x1 > axes_box.x1:  # past the right edge: end the label at the edge instead
            text.set_horizontalalignment("right")
            text.set_x(right)
            box = text.get_window_extent(renderer)
        extent = (box.x0 - margin, box.x1 + margin)
        row = next(
            (
                i
                for i, used in enumerate(rows)
                if all(extent[0] > b or extent[1] < a for a, b in used)
            ),
            len(rows),
        )
        row = min(row, MAX_LABEL_ROWS - 1)
        if row == len(rows):
            rows.append([])
        rows[row].append(extent)
        placed.append((text, row))
    shared["rows"] = max(shared["rows"], len(rows))
    ax.set_ylim(bottom, top + HEADROOM * height * shared["rows"])
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    for text, row in placed:
        text.set_y(top + HEADROOM * height * (row + 0.5))
    return [ident for ident, _ in drawn]
