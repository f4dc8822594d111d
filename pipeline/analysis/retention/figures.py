"""Figures of the retention stage: incidence curves, forest plots, residuals, fill rates.

matplotlib and statsmodels are imported inside the functions that use them: they take seconds to
import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.analysis.retention.model import OUTCOMES
from pipeline.analysis.retention.tables import group_label, term_label
from pipeline.data import contract
from pipeline.publish.fmt import number
from pipeline.publish.labels import COVARIATE_LABELS, OUTCOME_LABELS, SPECIALTY_LABELS
from pipeline.publish.marks import mark_initiatives
from pipeline.publish.plotting import (
    COLORS,
    LINESTYLES,
    MARKERS,
    danish_axis,
    panel_grid,
    tight_layout,
    year_axis,
)


def plot_cif(
    curves: pd.DataFrame,
    horizon: float,
    max_years: float,
    outcomes: Sequence[str] = tuple(OUTCOMES.values()),
    by: str | None = None,
):
    """Cumulative incidence curves with 95 % bands: one panel per group of ``by`` (or one
    panel)."""
    groups = list(curves["group"].drop_duplicates()) if "group" in curves else [None]
    fig, axes = panel_grid(len(groups), 3, (4.4, 3.5), sharey=True)
    for ax, group in zip(axes, groups, strict=True):
        df = curves if group is None else curves[curves["group"] == group]
        for i, outcome in enumerate(outcomes):
            c = df[(df["outcome"] == outcome) & (df["time"] <= max_years)]
            ax.fill_between(
                c["time"],
                c["ci_low"],
                c["ci_high"],
                step="post",
                color=COLORS[i],
                alpha=0.15,
                linewidth=0,
            )
            ax.step(
                c["time"],
                c["cif"],
                where="post",
                color=COLORS[i],
                linestyle=LINESTYLES[i],
                marker="",
                label=OUTCOME_LABELS[outcome],
            )
        ax.axvline(horizon, color="#555555", linewidth=0.8, linestyle=":")
        ax.set(
            title="Alle" if group is None else group_label(by or "", group),
            xlabel="År siden start i I-stilling",
            xlim=(0, max_years),
            ylim=(0, 1),
        )
        danish_axis(ax, percent=True, decimals=0)
    axes[0].set_ylabel("Kumuleret andel")
    axes[0].legend(loc="upper left", fontsize=8)
    tight_layout(fig)
    return fig


def plot_forest(table: pd.DataFrame, title: str, xlabel: str = "Hazard ratio (log-skala)"):
    """Ratios with 95 % intervals on a log scale; reference line at 1."""
    import matplotlib.pyplot as plt

    df = table[table["estimable"]].iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * max(len(df), 2) + 1.2))
    y = np.arange(len(df))
    ax.errorbar(
        df["ratio"],
        y,
        xerr=[df["ratio"] - df["ci_low"], df["ci_high"] - df["ratio"]],
        fmt="s",
        color=COLORS[0],
        ecolor=COLORS[0],
        capsize=3,
    )
    ax.axvline(1, color="#555555", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, [term_label(t, r) for t, r in zip(df["term"], df["reference"], strict=True)])
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    ticks = [0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 10, 20]
    low, high = df["ci_low"].min(), df["ci_high"].max()
    ax.xaxis.set_major_locator(FixedLocator([t for t in ticks if low / 1.3 <= t <= high * 1.3]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 2 if v < 1 else 1)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(title=title, xlabel=xlabel)
    ax.grid(axis="y", visible=False)
    tight_layout(fig)
    return fig


def plot_schoenfeld(binned: pd.DataFrame, term: str):
    """Scaled Schoenfeld residuals of one term against time, averaged in bins of events
    (``model.binned_residuals``: no dot is one doctor), with a lowess smoother through the bins:
    a flat line means the hazard ratio is constant over time."""
    import matplotlib.pyplot as plt
    from statsmodels.nonparametric.smoothers_lowess import lowess

    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.scatter(binned["time"], binned["residual"], s=18, color=COLORS[2], marker="o",
               label="Gennemsnit af hændelser")  # fmt: skip
    if len(binned) >= 3:
        smooth = lowess(binned["residual"], binned["time"], frac=0.6)
        ax.plot(smooth[:, 0], smooth[:, 1], color=COLORS[0], marker="", label="Udglattet")
    overall = float((binned["residual"] * binned["events"]).sum() / binned["events"].sum())
    ax.axhline(overall, color=COLORS[1], linestyle="--", marker="", label="Konstant effekt")
    ax.set(
        title=f"Skalerede Schoenfeld-residualer: {COVARIATE_LABELS[term]}",
        xlabel="År siden start i I-stilling",
        ylabel="Log hazard ratio",
    )
    ax.legend(fontsize=8)
    tight_layout(fig)
    return fig


def plot_fill_rates(rates: pd.DataFrame, initiatives: pd.DataFrame | None = None):
    """National fill rate of I- and H-posts per year and specialty, with 95 % intervals; the
    national initiatives marked when ``initiatives`` is given."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, post_type in zip(axes, ("I", "H"), strict=True):
        for i, specialty in enumerate(contract.SPECIALTIES):
            df = rates[(rates["post_type"] == post_type) & (rates["specialty"] == specialty)]
            ax.fill_between(
                df["year"], df["ci_low"], df["ci_high"], color=COLORS[i], alpha=0.15, linewidth=0
            )
            ax.plot(
                df["year"],
                df["fill_rate"],
                color=COLORS[i],
                marker=MARKERS[i],
                linestyle=LINESTYLES[i],
                label=SPECIALTY_LABELS[specialty],
            )
        ax.set(title=f"{post_type}-stillinger: andel besat", xlabel="År", ylim=(0, 1.02))
        danish_axis(ax, percent=True, decimals=0)
        year_axis(ax)
    for ax in axes:  # after both panels are drawn: they share their y axis
        mark_initiatives(ax, initiatives, contract.NATIONAL)
    axes[0].set_ylabel("Andel besat")
    axes[0].legend(loc="lower left", fontsize=8)
    tight_layout(fig)
    return fig


def plot_funnel(table: pd.DataFrame):
    """Share of fully followed doctors in an H-post in psychiatry within the horizon, per cohort."""
    import matplotlib.pyplot as plt

    df = table[pd.to_numeric(table["share"], errors="coerce").notna()]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.fill_between(
        df["cohort"],
        df["share_low"],
        df["share_high"],
        color=COLORS[0],
        alpha=0.2,
        linewidth=0,
        label="95 %-interval",
    )
    ax.plot(df["cohort"], df["share"], color=COLORS[0], label="Andel i H-forløb i psykiatrien")
    ax.set(
        title="Andel i H-forløb i psykiatrien inden for horisonten, efter startår",
        xlabel="Startår i I-stilling",
        ylabel="Andel",
        ylim=(0, 1),
    )
    danish_axis(ax, percent=True, decimals=0)
    year_axis(ax)
    ax.legend(loc="lower left", fontsize=8)
    tight_layout(fig)
    return fig
