"""One figure style for every stage: readable in print and in grey scale, Danish number axes.

matplotlib is imported inside the functions that draw: it takes a second to import, and the
leadership report only shows saved figures.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.data.catalog import write_bytes
from pipeline.publish.fmt import number
from pipeline.publish.fmt import percent as pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Distinguishable in grey scale as well as in colour (dark, mid, light) plus marker shapes.
DPI = 110  # one resolution for the pages and the DVC plots: sharp in print, small enough to embed
COLORS = ("#1b3a5c", "#c0504d", "#7f7f7f", "#2e8b57", "#e0a030", "#6a4c93")
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (1, 1)))


def setup() -> None:
    """Apply the project's matplotlib style (call once at the top of a notebook)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(
        {
            "figure.figsize": (8, 4.5),
            "figure.dpi": 100,
            "font.size": 11,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#dddddd",
            "grid.linewidth": 0.6,
            "legend.frameon": False,
            "lines.linewidth": 2.0,
            "lines.markersize": 5,
            "axes.prop_cycle": cycler(color=COLORS)
            + cycler(marker=MARKERS)
            + cycler(linestyle=LINESTYLES),
            "svg.hashsalt": "laegedaekning",
        }
    )


def danish_axis(ax: Axes, axis: str = "y", decimals: int = 0, percent: bool = False) -> None:
    """Tick labels with Danish separators: ``12.000``, ``2,5 %``."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _: pct(v, decimals) if percent else number(v, decimals))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def year_axis(ax: Axes) -> None:
    """Whole years on the x axis, without thousands separators."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.xaxis.set_major_formatter("{x:.0f}")


def panel_grid(
    n: int, max_cols: int, panel_size: tuple[float, float], sharey: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels in rows of at most ``max_cols``; returns it and the ``n`` axes
    (row by row). Unused places in the last row are hidden."""
    import matplotlib.pyplot as plt

    ncols = min(max_cols, n)
    nrows = math.ceil(n / ncols)
    width, height = panel_size
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width * ncols, height * nrows), sharey=sharey, squeeze=False
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def show(fig, alt: str, path=None) -> None:
    """Display a figure with alt text (kept in the HTML pages) and close it.

    With ``path`` the figure is also saved there as the stage's DVC plot; it is rendered once
    and the same PNG is displayed.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    png = buffer.getvalue()
    if path is not None:
        write_bytes(path, png)
    _display_png(png, alt)


def _display_png(png: bytes, alt: str) -> None:
    from IPython.display import display

    data = base64.b64encode(png).decode("ascii")
    display({"image/png": data, "text/plain": alt}, raw=True, metadata={"image/png": {"alt": alt}})


def show_file(path, alt: str) -> None:
    """Display a saved PNG figure with alt text (the leadership report reuses the stages')."""
    _display_png(Path(path).read_bytes(), alt)
