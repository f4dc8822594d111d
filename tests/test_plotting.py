"""Saved figures: drawn once, cropped to what is drawn, never cut off."""

from __future__ import annotations

import io
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from pipeline import forked
from pipeline.publish import plotting


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def ink_margins(image: np.ndarray) -> tuple[int, int, int, int]:
    """White rows/columns above, below, left and right of what is drawn."""
    ink = (image != 255).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[0], len(ink) - 1 - rows[-1], cols[0], ink.shape[1] - 1 - cols[-1]


@pytest.fixture
def figure():
    plotting.setup()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([2010, 2020], [1000, 3000])
    ax.set_title("Patienter og læger")
    ax.set_ylabel("Antal")
    fig.tight_layout()
    yield fig
    plt.close(fig)


def test_a_figure_is_cropped_to_what_is_drawn_with_the_margin(figure):
    image = pixels(plotting._png(figure))
    pad = round(plotting.PAD_INCHES * plotting.DPI)
    assert ink_margins(image) == (pad, pad, pad, pad)
    # As savefig's own tight box would have it, give or take a few pixels of text box.
    measured = pixels(plotting._png_measured(figure))
    assert abs(image.shape[0] - measured.shape[0]) <= 6
    assert abs(image.shape[1] - measured.shape[1]) <= 6


@pytest.mark.parametrize("x", [-0.3, -0.2, -0.1, 0.8, 0.9, 0.95])
def test_a_label_beyond_the_edge_widens_the_image_instead_of_being_cut(figure, x):
    """Wherever the edge falls in the label (in a letter or between two words)."""
    label = figure.text(x, 0.5, "En lang etiket uden for figuren", transform=figure.transFigure)
    image = pixels(plotting._png(figure))
    # The whole label is in the image: the image is as wide as savefig's measured box.
    assert image.shape[1] == pixels(plotting._png_measured(figure)).shape[1]
    assert min(ink_margins(image)) > 0
    label.remove()


def test_the_same_figure_gives_the_same_bytes(figure):
    assert plotting._png(figure) == plotting._png(figure)


@pytest.mark.parametrize("offset", [False, True])
def test_titles_are_where_the_automatic_placement_puts_them_in_the_projects_figures(offset):
    """The style fixes titles at the top of their axes (no measuring pass before each title):
    the same pixels as matplotlib's automatic placement for panels in a row. The style also
    turns offset texts off: with one ("1e9" above the y axis) the automatic placement would move
    the title up, and the pixels differ."""
    import matplotlib as mpl

    plotting.setup()
    assert mpl.rcParams["axes.titley"] == 1.0 and not mpl.rcParams["axes.formatter.useoffset"]

    def drawn(titley: float | None) -> np.ndarray:
        with mpl.rc_context({"axes.titley": titley, "axes.formatter.useoffset": offset}):
            fig, axes = plotting.panel_grid(3, 2, (4, 3), sharey=not offset)
            for i, ax in enumerate(axes):
                ax.plot([2010, 2015, 2020], [1000 * i, 2000, 3000 + i])
                ax.set_title(f"Region {i + 1} med en lang titel")
            if offset:
                axes[0].plot([2010, 2020], [1e9, 1e9 + 1])
            fig.tight_layout()
            image = pixels(plotting._png(fig))
            plt.close(fig)
            return image

    fixed, automatic = drawn(1.0), drawn(None)
    same = fixed.shape == automatic.shape and (fixed == automatic).all()
    assert same != offset


def two_panels(deferred: bool = False, layout: bool = True):
    plotting.setup()
    fig, axes = plotting.panel_grid(3, 2, (4, 3), sharey=True)
    for i, ax in enumerate(axes):
        ax.plot([2010, 2015, 2020], [1000 * i, 2000, 3000 + i])
        ax.set_title(f"Region {i + 1} med en lang titel")
    if layout:
        plotting.tight_layout(fig) if deferred else fig.tight_layout()
    return fig


@pytest.mark.parametrize("one_core", [False, True])
def test_a_layout_left_to_the_drawing_gives_the_pictures_of_one_made_at_once(monkeypatch, one_core):
    if one_core:
        monkeypatch.setattr(forked, "available", lambda: False)
    at_once = plotting._wide_and_narrow(two_panels())
    plain = two_panels(deferred=True)
    assert plotting._png(plain) == at_once[0]  # JupyterLab's way: drawn in turn
    assert plotting._wide_and_narrow(two_panels(deferred=True)) == at_once
    assert plotting._png(two_panels(layout=False)) != at_once[0]  # the layout is not a no-op here
    plt.close("all")


def test_the_stacked_version_drawn_in_a_second_process_is_the_same(monkeypatch):
    together = plotting._wide_and_narrow(two_panels())
    monkeypatch.setattr(forked, "available", lambda: False)  # one core: in turn
    in_turn = plotting._wide_and_narrow(two_panels())
    assert together[1] is not None
    assert together == in_turn
    plt.close("all")


def failing_in_a_child(function):
    """``function`` as it runs here, and failing in any forked child."""
    parent = os.getpid()

    def wrapped(fig):
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return function(fig)

    return wrapped


def test_if_the_second_process_fails_the_stacked_version_is_drawn_here(monkeypatch):
    expected = plotting._wide_and_narrow(two_panels())
    monkeypatch.setattr(plotting, "stack_panels", failing_in_a_child(plotting.stack_panels))
    assert plotting._wide_and_narrow(two_panels()) == expected
    plt.close("all")


def test_a_figure_of_one_column_has_no_stacked_version(figure):
    assert plotting._wide_and_narrow(figure)[1] is None


def test_ink_near_the_edge_inside_the_figure_is_not_measured_again(figure, monkeypatch):
    figure.tight_layout(pad=0.05)  # labels a pixel or two from the edge, none beyond it

    def measured(_fig):
        raise AssertionError("measured again although nothing reaches outside")

    monkeypatch.setattr(plotting, "_png_measured", measured)
    image = pixels(plotting._png(figure))
    pad = round(plotting.PAD_INCHES * plotting.DPI)
    assert ink_margins(image) == (pad, pad, pad, pad)


@pytest.mark.skipif(not forked.available(), reason="one core: drawn in turn")
def test_a_warning_while_the_second_process_draws_reaches_the_notebook(monkeypatch):
    stack = plotting.stack_panels

    def warns(fig):
        warnings.warn("the stacked layout could not be applied", UserWarning, stacklevel=1)
        return stack(fig)

    monkeypatch.setattr(plotting, "stack_panels", warns)
    with pytest.warns(UserWarning, match="stacked layout could not"):
        _wide, narrow = plotting._wide_and_narrow(two_panels())
    assert narrow is not None
    plt.close("all")


# --- drawn in the background (a stage run by the runner) ----------------------------------
needs_two_cores = pytest.mark.skipif(not forked.available(), reason="one core: drawn in turn")


def _square(x: int) -> int:
    warnings.warn(f"squared {x}", UserWarning, stacklevel=1)
    return x * x


def _fails() -> None:
    raise RuntimeError("the child fails")


@needs_two_cores
def test_a_forked_job_returns_its_value_and_raises_its_warnings_here():
    job = forked.start(_square, 7)
    with pytest.warns(UserWarning, match="squared 7"):
        assert job.result() == 49
    failed = forked.start(_fails)
    with pytest.raises(forked.ChildFailed):
        failed.result()


@needs_two_cores
def test_a_forked_child_dies_with_its_parent(tmp_path):
    """A stopped stage's kernel leaves no drawing child behind."""
    import subprocess
    import sys
    import time

    script = (
        "import sys, time\n"
        "from pipeline import forked\n"
        "job = forked.start(time.sleep, 600)\n"
        "print(job.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    for _ in range(100):
        try:
            with open(f"/proc/{child}/stat") as fh:
                if fh.read().split(") ")[1].startswith("Z"):  # gone, waiting to be reaped
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the child {child} outlived its parent")


class Shown:
    """What the notebook would show: placeholders by display id, then their pictures."""

    def __init__(self, monkeypatch):
        import IPython.display

        self.outputs: dict[str, dict] = {}
        self.order: list[str] = []
        monkeypatch.setattr(IPython.display, "display", self._display)
        monkeypatch.setattr(IPython.display, "update_display", self._update)

    def _display(self, bundle, raw=False, metadata=None, display_id=None):
        self.order.append(display_id)
        self.outputs[display_id] = {"data": bundle, "metadata": metadata or {}}

    def _update(self, bundle, raw=False, metadata=None, display_id=None):
        assert display_id in self.outputs, "an update for a figure never shown"
        self.outputs[display_id] = {"data": bundle, "metadata": metadata or {}}


def one_panel():
    plotting.setup()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([2010, 2020], [1000, 3000])
    fig.tight_layout()
    return fig


@needs_two_cores
def test_figures_drawn_in_the_background_are_the_figures_drawn_in_turn(tmp_path, monkeypatch):
    """Same files, same pictures, in the cells that made them; more figures than cores."""
    makers = [two_panels, one_panel, one_panel]
    expected = [plotting._wide_and_narrow(make()) for make in makers]
    shown = Shown(monkeypatch)
    drawings = plotting.Drawings()
    for number, make in enumerate(makers):
        drawings.submit(make(), f"figur {number}", tmp_path / f"f{number}.png")
    placeholders = {k: v["data"] for k, v in shown.outputs.items()}
    assert list(placeholders.values())[-1] == {"text/plain": "figur 2"}  # not drawn yet
    drawings.collect()
    assert len(shown.order) == len(makers)  # one output per figure, updated in place
    for number, (id_, (wide, narrow)) in enumerate(zip(shown.order, expected, strict=True)):
        assert (tmp_path / f"f{number}.png").read_bytes() == wide
        narrow_file = plotting.narrow_path(tmp_path / f"f{number}.png")
        assert (narrow_file.read_bytes() if narrow_file.exists() else None) == narrow
        data = shown.outputs[id_]["data"]
        assert data["text/plain"] == f"figur {number}"
        assert ("text/html" if narrow is not None else "image/png") in data
    plt.close("all")


@needs_two_cores
def test_a_figure_whose_child_fails_is_drawn_here(tmp_path, monkeypatch):
    expected = plotting._wide_and_narrow(two_panels())
    Shown(monkeypatch)
    monkeypatch.setattr(plotting, "_both_in_turn", failing_in_a_child(plotting._both_in_turn))
    drawings = plotting.Drawings()
    drawings.submit(two_panels(), "figur", tmp_path / "f.png")
    drawings.collect()
    assert (tmp_path / "f.png").read_bytes() == expected[0]
    assert plotting.narrow_path(tmp_path / "f.png").read_bytes() == expected[1]
    plt.close("all")


def test_figures_are_drawn_in_the_background_only_for_the_runner(monkeypatch, tmp_path):
    """In JupyterLab (no runner's setup cell) a figure is drawn before show() returns."""
    submitted = []
    monkeypatch.setattr(plotting.DRAWINGS, "submit", lambda *a: submitted.append(a))
    Shown(monkeypatch)
    monkeypatch.setattr(plotting.progress, "running_as_stage", lambda: False)
    plotting.show(one_panel(), "figur", tmp_path / "a.png")
    assert submitted == [] and (tmp_path / "a.png").exists()
    monkeypatch.setattr(plotting.progress, "running_as_stage", lambda: True)
    plotting.show(one_panel(), "figur", tmp_path / "b.png")
    assert len(submitted) == int(forked.available())
