"""Figures of the growth stage: index, fan charts, gap and backtest.

matplotlib is imported inside the functions that draw: it takes a second to import.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.data.contract import NATIONAL
from pipeline.publish.labels import GROUP_LABELS, MEASURE_LABELS, MODEL_LABELS
from pipeline.publish.marks import mark_initiatives
from pipeline.publish.plotting import COLORS, danish_axis, panel_grid, tight_layout, year_axis

# The specialty a patient or physician group belongs to, for the initiatives marked on it.
GROUP_SPECIALTY = {
    "total": None,
    "adult": "psychiatry",
    "child_adolescent": "child_adolescent_psychiatry",
}


def plot_index(
    index: pd.DataFrame,
    geographies: Sequence[str],
    groups: Sequence[str],
    base_year: int,
    initiatives: pd.DataFrame | None = None,
):
    """Patients and physicians as an index (base year = 100), one panel per geography/group,
    with the geography's (and the national) initiatives marked when ``initiatives`` is given."""

    panels = [(g, grp) for g in geographies for grp in groups]
    fig, axes = panel_grid(len(panels), 3, (4.2, 3.4), sharey=True)
    for ax, (geography, group) in zip(axes, panels, strict=True):
        for measure, color, marker in (
            ("patients", COLORS[0], "o"),
            ("physicians", COLORS[1], "s"),
        ):
            df = index[
                (index["geography"] == geography)
                & (index["group"] == group)
                & (index["measure"] == measure)
            ]
            ax.plot(
                df["year"],
                df["index"],
                color=color,
                marker=marker,
                linestyle="-" if measure == "patients" else "--",
                label=MEASURE_LABELS[measure],
            )
        ax.axhline(100, color="#555555", linewidth=0.8)
        title = geography if len(groups) == 1 else f"{geography}: {GROUP_LABELS[group]}"
        ax.set(title=title, xlabel="År")
        danish_axis(ax)
        year_axis(ax)
    # After every panel is drawn: the panels share their y axis, which must hold all the data.
    for ax, (geography, group) in zip(axes, panels, strict=True):
        mark_initiatives(ax, initiatives, geography, specialty=GROUP_SPECIALTY.get(group))
    axes[0].set_ylabel(f"Indeks ({base_year} = 100)")
    axes[0].legend(loc="upper left")
    tight_layout(fig)
    return fig


def plot_projection(
    projection: pd.DataFrame,
    panels: Sequence[tuple[str, str, str]],
    reference: pd.DataFrame | None = None,
    initiatives: pd.DataFrame | None = None,
):
    """Observed values, the forecast and its 80 % and 95 % intervals (a fan chart).

    ``panels`` are (measure, geography, group). Published reference points for national patients
    are drawn where ``reference`` is given, the geography's initiatives where ``initiatives``
    is.
    """

    fig, axes = panel_grid(len(panels), 2, (5.6, 3.8))
    for ax, (measure, geography, group) in zip(axes, panels, strict=True):
        df = projection[
            (projection["measure"] == measure)
            & (projection["geography"] == geography)
            & (projection["group"] == group)
        ]
        fc = df[df["forecast"].notna()]
        ax.fill_between(
            fc["year"],
            fc["lo95"],
            fc["hi95"],
            color=COLORS[0],
            alpha=0.15,
            linewidth=0,
            label="95 %-interval",
        )
        ax.fill_between(
            fc["year"],
            fc["lo80"],
            fc["hi80"],
            color=COLORS[0],
            alpha=0.30,
            linewidth=0,
            label="80 %-interval",
        )
        ax.plot(
            fc["year"],
            fc["forecast"],
            color=COLORS[0],
            linestyle="--",
            marker="",
            label="Fremskrivning",
        )
        ob = df[df["observed"].notna()]
        ax.plot(ob["year"], ob["observed"], color="black", marker="o", linestyle="-", label="Data")
        if reference is not None and measure == "patients" and geography == NATIONAL:
            ref = reference_points(reference, group)
            if len(ref):
                ax.scatter(
                    ref["year"],
                    ref["value"],
                    marker="D",
                    s=50,
                    facecolor="white",
                    edgecolor=COLORS[1],
                    linewidth=1.8,
                    zorder=5,
                    label="Publiceret tal",
                )
        ax.set(
            title=f"{MEASURE_LABELS[measure]}, {geography}"
            + ("" if group == "total" else f" ({GROUP_LABELS[group].lower()})"),
            xlabel="År",
            ylabel="Personer",
        )
        ax.set_ylim(bottom=0)
        danish_axis(ax)
        year_axis(ax)
        mark_initiatives(ax, initiatives, geography, specialty=GROUP_SPECIALTY.get(group))
    axes[0].legend(loc="upper left", fontsize=8)
    tight_layout(fig)
    return fig


def reference_points(reference: pd.DataFrame, group: str) -> pd.DataFrame:
    """Published national patient counts comparable to a patient series (for the charts)."""
    measure = {
        "total": "patients_regional_psychiatry",
        "child_adolescent": "patients_child_adolescent",
    }.get(group)
    ref = reference[(reference["measure"] == measure) & (reference["scope"] == "Denmark")]
    return pd.DataFrame(
        {
            "year": ref["year"].astype(int),
            "value": ref["value"].astype(float),
            "source": ref["source"],
        }
    )


def plot_gap(
    path: pd.DataFrame, geographies: Sequence[str], initiatives: pd.DataFrame | None = None
):
    """The gap over time with its 95 % interval, one panel per geography, with its
    initiatives marked when ``initiatives`` is given."""

    fig, axes = panel_grid(len(geographies), 3, (4.2, 3.4))
    for ax, geography in zip(axes, geographies, strict=True):
        df = path[path["geography"] == geography]
        ax.fill_between(
            df["year"],
            df["pi_low"],
            df["pi_high"],
            color=COLORS[1],
            alpha=0.2,
            linewidth=0,
            label="95 %-interval",
        )
        ax.plot(df["year"], df["gap"], color=COLORS[1], marker="", label="Manglende læger")
        observed = df[df["observed"]]
        ax.plot(
            observed["year"],
            observed["gap"],
            color="black",
            marker="o",
            linestyle="",
            label="Ud fra data",
        )
        ax.axhline(0, color="#555555", linewidth=0.8)
        ax.set(title=geography, xlabel="År", ylabel="Læger")
        danish_axis(ax)
        year_axis(ax)
        mark_initiatives(ax, initiatives, geography)
    axes[0].legend(loc="upper left", fontsize=8)
    tight_layout(fig)
    return fig


def plot_backtest(by_horizon: pd.DataFrame):
    """The backtest by years ahead, one line per model: the mean CRPS (lower is better) and the
    share of actual values inside the 95 % interval."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for model, df in by_horizon.groupby("model", sort=False):
        left.plot(df["horizon"], df["crps"], label=MODEL_LABELS[model])
        right.plot(df["horizon"], df["coverage95"], label=MODEL_LABELS[model])
    right.axhline(0.95, color="#555555", linewidth=0.8, linestyle=":")
    left.set(title="Gennemsnitlig CRPS (lavere er bedre)", xlabel="År frem", ylabel="CRPS")
    right.set(title="Andel inden for 95 %-intervallet", xlabel="År frem", ylabel="Andel")
    right.set_ylim(0, 1.02)
    danish_axis(left, decimals=3)
    danish_axis(right, percent=True, decimals=0)
    for ax in (left, right):
        ax.set_xticks(sorted(by_horizon["horizon"].unique()))
    left.legend(fontsize=8)
    tight_layout(fig)
    return fig
