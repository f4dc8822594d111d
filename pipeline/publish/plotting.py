"""One figure style for every stage: readable in print and in grey scale, Danish number axes.

matplotlib is imported inside the functions that draw: it takes a second to import, and the
leadership report only shows saved figures.
"""

from __future__ import annotations

import base64
import io
import math
from html import escape
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
            "figure.dpi": DPI,  # the dpi the PNGs are saved at: text is laid out once
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


def show(fig: Figure, alt: str, path: Path | None = None) -> None:
    """Display a figure with alt text (kept in the pages) and close it.

    A figure of panels side by side is also drawn with its panels stacked, and the page shows
    that version on a phone (an HTML ``<picture>``). With ``path`` the figure is also saved
    there as the stage's DVC plot, and the stacked one beside it under ``narrow/`` for the
    leadership page.
    """
    import matplotlib.pyplot as plt

    wide = _png(fig)
    narrow = _png(fig) if stack_panels(fig) else None
    plt.close(fig)
    if path is not None:
        write_bytes(Path(path), wide)
        if narrow is not None:
            write_bytes(narrow_path(Path(path)), narrow)
    _display(wide, narrow, alt)


def stack_panels(fig: Figure, min_width: float = 4.8) -> bool:
    """Lay the panels of ``fig`` out in one column, in reading order, each the size it had
    (at least ``min_width`` inches wide); False, and nothing changed, if it has one column."""
    from matplotlib.gridspec import GridSpec

    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
    if len({ax.get_subplotspec().colspan.start for ax in axes}) <= 1:
        return False
    nrows, ncols = axes[0].get_subplotspec().get_gridspec().get_geometry()
    for ax in fig.axes:
        if not ax.get_visible():
            ax.remove()  # the empty places of the last row
    width, height = fig.get_size_inches()
    grid = GridSpec(len(axes), 1, figure=fig)
    order = sorted(axes, key=lambda ax: (ax.get_subplotspec().rowspan.start,
                                         ax.get_subplotspec().colspan.start))  # fmt: skip
    for row, ax in enumerate(order):
        ax.set_subplotspec(grid[row, 0])
        # Panels that shared an axis hid the inner tick labels; stacked, each needs its own.
        ax.tick_params(labelleft=True, labelbottom=True)
    fig.set_size_inches(max(width / ncols, min_width), height / nrows * len(axes))
    fig.tight_layout()
    return True


def narrow_path(path: Path) -> Path:
    """Where the stacked version of the figure saved at ``path`` is kept."""
    return path.parent / "narrow" / path.name


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # bbox_inches="tight": a long title or axis label is never cut off.
    fig.savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
        pad_inches=0.08,
    )  # fmt: skip
    return buffer.getvalue()


def _display(
    wide: bytes, narrow: bytes | None, alt: str, caption: str | None = None, label: str = ""
) -> None:
    from IPython.display import display

    if narrow is None and caption is None:
        data = base64.b64encode(wide).decode("ascii")
        display(
            {"image/png": data, "text/plain": alt}, raw=True, metadata={"image/png": {"alt": alt}}
        )
        return
    html = figure_html(wide, narrow, alt, caption, label)
    display({"text/html": html, "text/plain": alt}, raw=True)


def figure_html(
    wide: bytes, narrow: bytes | None, alt: str, caption: str | None = None, label: str = ""
) -> str:
    """A figure as HTML: the stacked version for narrow screens, the caption (after its bold
    ``label``, e.g. "Figur 2.") kept with it."""

    def uri(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")

    source = (
        f'<source media="(max-width: 600px)" srcset="{uri(narrow)}">' if narrow is not None else ""
    )
    caption_html = ""
    if caption:
        bold = f"<strong>{escape(label)}</strong> " if label else ""
        caption_html = f"<figcaption>{bold}{escape(caption)}</figcaption>"
    return (
        f'<figure class="chart"><picture>{source}<img src="{uri(wide)}" alt="{escape(alt)}">'
        f"</picture>{caption_html}</figure>"
    )


def show_file(path: Path, alt: str, caption: str | None = None, label: str = "") -> None:
    """Display a saved figure (the leadership report reuses the stages'), its stacked version
    on narrow screens when there is one, and its caption kept with it."""
    path = Path(path)
    narrow = narrow_path(path)
    stacked = narrow.read_bytes() if narrow.exists() else None
    _display(path.read_bytes(), stacked, alt, caption, label)
