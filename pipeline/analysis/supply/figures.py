"""Figures of the supply stage: scenario fans, the lever chart, regions and the backtest.

matplotlib is imported inside the functions that draw: it takes a second to import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.analysis.supply.tables import lever_amount
from pipeline.data.contract import NATIONAL, REGIONS
from pipeline.publish.labels import LEVER_LABELS, SCENARIO_LABELS, label_of
from pipeline.publish.plotting import COLORS, danish_axis, panel_grid, year_axis


def plot_scenarios(summary: pd.DataFrame, scenarios: Sequence[str], geography: str = NATIONAL):
    """Supply and demand per scenario with 95 % bands (a fan chart per scenario)."""
    fig, axes = panel_grid(len(scenarios), 3, (4.4, 3.5), sharey=True)
    for ax, name in zip(axes, scenarios, strict=True):
        df = summary[(summary["scenario"] == name) & (summary["geography"] == geography)]
        for what, color, style, label in (
            ("demand", COLORS[1], "--", "Behov"),
            ("supply", COLORS[0], "-", "Læger"),
        ):
            ax.fill_between(
                df["year"],
                df[f"{what}_low"],
                df[f"{what}_high"],
                color=color,
                alpha=0.18,
                linewidth=0,
            )
            ax.plot(df["year"], df[what], color=color, linestyle=style, marker="", label=label)
        ax.set(title=label_of(SCENARIO_LABELS, name), xlabel="År")
        danish_axis(ax)
        year_axis(ax)
    axes[0].set_ylabel("Læger")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_tornado(levers: pd.DataFrame):
    """Change in the gap when each lever alone is moved: bars with 95 % intervals."""
    import matplotlib.pyplot as plt

    df = levers.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(df) + 1.4))
    y = np.arange(len(df))
    ax.barh(y, df["change"], color=COLORS[0], height=0.55)
    ax.errorbar(
        df["change"],
        y,
        xerr=[df["change"] - df["change_low"], df["change_high"] - df["change"]],
        fmt="none",
        ecolor="black",
        capsize=4,
    )
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(
        y,
        [f"{LEVER_LABELS[r.lever]}\n({lever_amount(r.lever, r.amount)})" for r in df.itertuples()],
    )
    year = int(df["year"].iloc[0]) if len(df) else ""
    ax.set(
        title=f"Ændring i underskuddet af læger i {year}, ét tiltag ad gangen",
        xlabel="Ændring i antal manglende læger (negativ = færre mangler)",
    )
    danish_axis(ax, axis="x")
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def plot_regional_gap(summary: pd.DataFrame, scenarios: Sequence[str], year: int):
    """The gap per region in ``year`` for some scenarios, with 95 % intervals."""
    import matplotlib.pyplot as plt

    df = summary[(summary["year"] == year) & (summary["geography"] != NATIONAL)]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / len(scenarios)
    hatches = ("", "//", "..", "xx", "\\\\", "oo")
    for i, name in enumerate(scenarios):
        d = df[df["scenario"] == name].set_index("geography").reindex(list(REGIONS))
        x = np.arange(len(REGIONS)) + (i - (len(scenarios) - 1) / 2) * width
        ax.bar(
            x,
            d["gap"],
            width=width,
            color=COLORS[i],
            hatch=hatches[i],
            edgecolor="white",
            label=label_of(SCENARIO_LABELS, name),
        )
        ax.errorbar(
            x,
            d["gap"],
            yerr=[d["gap"] - d["gap_low"], d["gap_high"] - d["gap"]],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_xticks(np.arange(len(REGIONS)), REGIONS)
    ax.set(title=f"Manglende læger pr. region i {year}", ylabel="Læger")
    danish_axis(ax)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_backtest(result: pd.DataFrame):
    """Projected against observed national headcounts from the backtest's start year."""
    import matplotlib.pyplot as plt

    national = result[result["geography"] == NATIONAL]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (grade, title) in zip(
        axes, (("specialist", "Speciallæger"), ("trainee", "Læger under uddannelse")), strict=True
    ):
        d = national[national["grade"] == grade]
        ax.plot(d["year"], d["observed"], color="black", marker="o", label="Data")
        ax.plot(
            d["year"],
            d["projected"],
            color=COLORS[0],
            linestyle="--",
            marker="s",
            label=f"Model fra {int(d['year'].min())}",
        )
        ax.set(title=title, xlabel="År", ylabel="Personer")
        ax.set_ylim(bottom=0)
        danish_axis(ax)
        year_axis(ax)
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
