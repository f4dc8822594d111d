"""Saved figures: drawn once, cropped to what is drawn, never cut off."""

from __future__ import annotations

import io
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

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


def two_panels():
    plotting.setup()
    fig, axes = plotting.panel_grid(3, 2, (4, 3), sharey=True)
    for i, ax in enumerate(axes):
        ax.plot([2010, 2015, 2020], [1000 * i, 2000, 3000 + i])
        ax.set_title(f"Region {i + 1}")
    fig.tight_layout()
    return fig


def test_the_stacked_version_drawn_in_a_second_process_is_the_same(monkeypatch):
    together = plotting._wide_and_narrow(two_panels())
    monkeypatch.setattr(plotting.os, "sched_getaffinity", lambda _: {0})  # one core: in turn
    in_turn = plotting._wide_and_narrow(two_panels())
    assert together[1] is not None
    assert together == in_turn
    plt.close("all")


def test_if_the_second_process_fails_the_stacked_version_is_drawn_here(monkeypatch):
    parent, stack = plotting.os.getpid(), plotting.stack_panels

    def fails_in_the_child(fig):
        if plotting.os.getpid() != parent:
            raise RuntimeError("the child fails")
        return stack(fig)

    expected = plotting._wide_and_narrow(two_panels())
    monkeypatch.setattr(plotting, "stack_panels", fails_in_the_child)
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


@pytest.mark.skipif(len(plotting.os.sched_getaffinity(0)) < 2, reason="one core: drawn in turn")
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
