"""One figure style for every stage: readable in print and in grey scale, Danish number axes.

matplotlib is imported inside the functions that draw: it takes a second to import, and the
leadership report only shows saved figures.
"""

from __future__ import annotations

import base64
import functools
import io
import itertools
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import forked, progress
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
            # Titles at the top of their axes, where matplotlib's automatic placement puts them
            # in these figures too (ticks below, no offset text): the same pixels, without
            # measuring every y tick label again before each title is drawn (6-8 % of the
            # figures' CPU). A figure with ticks on top would need ``set_title(y=...)``.
            "axes.titley": 1.0,
            # Whole numbers on the axes, never "+2.001e4" beside them: an offset text is hard to
            # read for the pages' readers, and a title would not move above it.
            "axes.formatter.useoffset": False,
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


def tight_layout(fig: Figure) -> None:
    """Lay ``fig`` out as ``fig.tight_layout()`` does, once, where it is drawn.

    The layout measures every text of the figure, about as long as building the figure itself.
    Left to the drawing (``show``, which draws in a forked child in a stage, or any other
    draw), it is computed there, at the point and the dpi ``fig.tight_layout()`` at the end
    of the figure function would have used, so the pictures are the same bytes.
    """
    fig.set_layout_engine(_tight_once()())


@functools.cache
def _tight_once() -> type:
    """The layout engine of ``tight_layout`` (a class made on first use: matplotlib is imported
    inside functions)."""
    from matplotlib.layout_engine import TightLayoutEngine

    class TightOnce(TightLayoutEngine):
        def execute(self, fig: Figure) -> None:
            fig.tight_layout()  # leaves no engine behind, as a direct call does

    return TightOnce


def _settle(fig: Figure) -> None:
    """Compute a layout ``tight_layout`` left for later, now (at the figure's own dpi)."""
    engine = fig.get_layout_engine()
    if isinstance(engine, _tight_once()):
        engine.execute(fig)


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

    In a stage run by the runner (``dvc repro``) the figure is drawn in a forked copy of the
    kernel while the notebook goes on (``Drawings``): the cell shows the alt text until the
    picture replaces it, at the latest in the runner's last cell. The executed notebook, the
    files and the pages are the same bytes as when drawn here, as in JupyterLab.
    """
    import matplotlib.pyplot as plt

    if progress.running_as_stage() and forked.available():
        DRAWINGS.submit(fig, alt, path)
    else:
        wide, narrow = _wide_and_narrow(fig)
        _publish(wide, narrow, alt, path)
    plt.close(fig)


def _publish(
    wide: bytes, narrow: bytes | None, alt: str, path: Path | None, display_id: str | None = None
) -> None:
    if path is not None:
        write_bytes(Path(path), wide)
        if narrow is not None:
            write_bytes(narrow_path(Path(path)), narrow)
    _display(wide, narrow, alt, display_id=display_id)


def _wide_and_narrow(fig: Figure) -> tuple[bytes, bytes | None]:
    """The figure as drawn, and with its panels stacked if it has panels side by side.

    With a second core the stacked version is drawn at the same time in a forked child
    (``forked``); if the child fails, it is drawn here.
    """
    _settle(fig)  # once, not in both processes
    if not _side_by_side(fig):
        return _png(fig), None
    if not forked.available():
        wide = _png(fig)
        return wide, _stacked_png(fig)
    job = forked.start(_stacked_png, fig)
    try:
        wide = _png(fig)
    except BaseException:
        job.cancel()
        raise
    try:
        return wide, job.result()
    except forked.ChildFailed:
        return wide, _stacked_png(fig)


def _both_in_turn(fig: Figure) -> tuple[bytes, bytes | None]:
    wide = _png(fig)
    return wide, _stacked_png(fig) if _side_by_side(fig) else None


@dataclass
class _Drawing:
    job: forked.Job
    figure: Figure  # kept to draw it here if the child fails
    alt: str
    path: Path | None
    display_id: str


class Drawings:
    """Figures being drawn in forked children while the stage's notebook goes on.

    At most one child per core draws at a time. A finished drawing is saved and shown when the
    next figure is submitted and after every cell (IPython's ``post_execute``); the runner's
    last cell waits for the rest (``progress.finish``). Its picture replaces the placeholder
    output through the display id, so the executed notebook holds the picture in the cell that
    made the figure, as if drawn there.
    """

    def __init__(self) -> None:
        self._pending: list[_Drawing] = []
        self._numbers = itertools.count(1)
        self._hooked = False

    def submit(self, fig: Figure, alt: str, path: Path | None) -> None:
        from IPython.display import display

        self._hook()
        self.collect(wait=False)
        while len(self._pending) >= forked.cores():
            self._finish(self._pending.pop(0))
        display_id = f"figure-{next(self._numbers)}"
        display({"text/plain": alt}, raw=True, display_id=display_id)
        self._pending.append(_Drawing(forked.start(_both_in_turn, fig), fig, alt, path, display_id))

    def collect(self, wait: bool = True) -> None:
        """Save and show the finished drawings, in the order they were submitted (all of them,
        waiting for each, with ``wait``)."""
        while self._pending and (wait or self._pending[0].job.ready()):
            self._finish(self._pending.pop(0))

    def _finish(self, drawing: _Drawing) -> None:
        try:
            wide, narrow = drawing.job.result()
        except forked.ChildFailed:
            wide, narrow = _both_in_turn(drawing.figure)
        _publish(wide, narrow, drawing.alt, drawing.path, display_id=drawing.display_id)

    def _hook(self) -> None:
        if self._hooked:
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.events.register("post_execute", lambda: self.collect(wait=False))
        progress.at_finish(self.collect)
        self._hooked = True


DRAWINGS = Drawings()


def _stacked_png(fig: Figure) -> bytes:
    stack_panels(fig)
    return _png(fig)


def _panels(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]


def _side_by_side(fig: Figure) -> bool:
    return len({ax.get_subplotspec().colspan.start for ax in _panels(fig)}) > 1


def stack_panels(fig: Figure, min_width: float = 4.8) -> bool:
    """Lay the panels of ``fig`` out in one column, in reading order, each the size it had
    (at least ``min_width`` inches wide); False, and nothing changed, if it has one column."""
    from matplotlib.gridspec import GridSpec

    if not _side_by_side(fig):
        return False
    _settle(fig)  # the figure as laid out side by side is what is stacked
    axes = _panels(fig)
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


PAD_INCHES = 0.08  # white margin around what is drawn
EDGE_BAND = 10  # pixels: ink this close to the edge has its artists measured


def _png(fig: Figure) -> bytes:
    """``fig`` as PNG at ``DPI``, cropped to what is drawn plus ``PAD_INCHES``.

    The figure is drawn once and cropped to its ink. ``savefig(bbox_inches="tight")`` draws it
    twice (once only to measure the text), and drawing text is most of a stage's figure time.
    Ink near the figure's edge may be a label that goes beyond it: then the artists' extents
    are measured, and if any reaches outside, the figure is saved the measuring way, which
    widens the image. Nothing is ever cut off.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba
    from matplotlib.image import imsave

    _settle(fig)  # before the dpi changes
    fig.set_dpi(DPI)
    shown_on = fig.canvas
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())
        background = np.round(np.array(to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
        # One comparison per pixel: RGBA as one 32-bit word (a quarter of the work of four).
        ink = pixels.view(np.uint32)[..., 0] != background.view(np.uint32)[0]
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        height, width = ink.shape
        # A band, not the edge line alone: the edge may fall in the gap between two words of
        # a label that is cut off. Nothing drawn at all is left to savefig too.
        measure = rows.size == 0 or (
            (
                min(rows[0], cols[0]) < EDGE_BAND
                or rows[-1] >= height - EDGE_BAND
                or cols[-1] >= width - EDGE_BAND
            )
            and _reaches_outside(fig, canvas.get_renderer())
        )
    finally:
        fig.set_canvas(shown_on)
    if measure:
        return _png_measured(fig)
    pad = round(PAD_INCHES * DPI)
    top, left = rows[0] - pad, cols[0] - pad
    size = (rows[-1] - rows[0] + 1 + 2 * pad, cols[-1] - cols[0] + 1 + 2 * pad)
    # The margin is background, also where the ink is closer to the edge than the margin.
    cropped = np.empty((*size, 4), np.uint8)
    cropped[:] = background
    inside = pixels[max(top, 0) : top + size[0], max(left, 0) : left + size[1]]
    down, right = max(-top, 0), max(-left, 0)
    cropped[down : down + inside.shape[0], right : right + inside.shape[1]] = inside
    buffer = io.BytesIO()
    # A memoryview of RGBA bytes: imsave encodes it as is, exactly as savefig does its own.
    imsave(
        buffer, memoryview(cropped), format="png", dpi=DPI,
        metadata={"Software": None},
    )  # fmt: skip
    return buffer.getvalue()


def _reaches_outside(fig: Figure, renderer: object) -> bool:
    """Whether any artist of ``fig`` (text included) extends beyond the figure."""
    box = fig.get_tightbbox(renderer)  # inches
    width, height = fig.get_size_inches()
    return box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height


def _png_measured(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
        pad_inches=PAD_INCHES,
    )  # fmt: skip
    return buffer.getvalue()


def _display(
    wide: bytes,
    narrow: bytes | None,
    alt: str,
    caption: str | None = None,
    label: str = "",
    display_id: str | None = None,
) -> None:
    """Show the figure; with ``display_id``, in place of the output shown under that id."""
    from IPython.display import display, update_display

    if narrow is None and caption is None:
        data = base64.b64encode(wide).decode("ascii")
        bundle = {"image/png": data, "text/plain": alt}
        metadata = {"image/png": {"alt": alt}}
    else:
        bundle = {"text/html": figure_html(wide, narrow, alt, caption, label), "text/plain": alt}
        metadata = {}
    if display_id is None:
        display(bundle, raw=True, metadata=metadata)
    else:
        update_display(bundle, raw=True, metadata=metadata, display_id=display_id)


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
