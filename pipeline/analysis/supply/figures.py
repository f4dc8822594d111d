"""Figures of the supply stage: scenario fans, levers beside the inputs' uncertainty, regions,
demand definitions, base years, targets and the backtest.

matplotlib is imported inside the functions that draw: it takes a second to import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.data.contract import NATIONAL, REGIONS
from pipeline.publish.fmt import number
from pipeline.publish.labels import (
    DEMAND_LABELS,
    INPUT_LABELS,
    LEVER_LABELS,
    SCENARIO_LABELS,
    SPECIALTY_LABELS,
    label_of,
    lever_amount,
)
from pipeline.publish.plotting import COLORS, danish_axis, panel_grid, tight_layout, year_axis


def _errors(mid: pd.Series, low: pd.Series, high: pd.Series) -> list[np.ndarray]:
    """Error-bar lengths; never negative (the median lies inside its interval, and rounding
    cannot make a bar point the wrong way)."""
    return [
        np.clip((mid - low).to_numpy(float), 0, None),
        np.clip((high - mid).to_numpy(float), 0, None),
    ]


def plot_scenarios(
    summary: pd.DataFrame,
    scenarios: Sequence[str],
    geography: str = NATIONAL,
):
    """Specialists and the specialists needed (the headline definition) per scenario with 95 %
    bands; the doctors in training apart (dotted). The years are all ahead, so no initiatives
    are marked: a span over the whole chart would say nothing."""
    fig, axes = panel_grid(len(scenarios), 3, (4.4, 3.5), sharey=True)
    for ax, name in zip(axes, scenarios, strict=True):
        df = summary[(summary["scenario"] == name) & (summary["geography"] == geography)]
        needed = df["specialists"] + df["specialist_gap"]
        needed_low = df["specialists"] + df["specialist_gap_low"]
        needed_high = df["specialists"] + df["specialist_gap_high"]
        shown = needed.notna()
        if shown.sum() > 1:
            ax.fill_between(
                df["year"][shown],
                needed_low[shown],
                needed_high[shown],
                color=COLORS[1],
                alpha=0.18,
                linewidth=0,
            )
            ax.plot(
                df["year"][shown],
                needed[shown],
                color=COLORS[1],
                linestyle="--",
                label="Behov for speciallæger",
            )
        elif shown.any():
            ax.errorbar(
                df["year"][shown],
                needed[shown],
                yerr=_errors(needed[shown], needed_low[shown], needed_high[shown]),
                fmt="D",
                color=COLORS[1],
                label="Mål",
            )
        ax.fill_between(
            df["year"],
            df["specialists_low"],
            df["specialists_high"],
            color=COLORS[0],
            alpha=0.18,
            linewidth=0,
        )
        ax.plot(df["year"], df["specialists"], color=COLORS[0], label="Speciallæger")
        ax.plot(
            df["year"],
            df["trainees"],
            color=COLORS[2],
            linestyle=":",
            label="Læger under uddannelse (for sig)",
        )
        ax.set(title=label_of(SCENARIO_LABELS, name), xlabel="År")
        danish_axis(ax)
        year_axis(ax)
    axes[0].set_ylabel("Personer")
    axes[0].legend(loc="upper left", fontsize=7)
    tight_layout(fig)
    return fig


def plot_levers_and_uncertainty(levers: pd.DataFrame, sensitivity: pd.DataFrame):
    """Left: the change in specialists missing when each lever alone is moved (and in FTE,
    when the data give working time), with 95 % intervals. Right: the gap's 80 % and 95 %
    intervals when only one input is uncertain (all others at their central values)."""
    import matplotlib.pyplot as plt

    rows = max(len(levers), len(sensitivity))
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.6 * rows + 1.9))
    _lever_bars(left, levers)
    year = int(levers["year"].iloc[0]) if len(levers) else ""
    left.set_title(f"Tiltag ét ad gangen, {year}", fontsize=11)

    s = sensitivity.iloc[::-1]
    y = np.arange(len(s))
    colors = [COLORS[1] if i == "all" else COLORS[3] for i in s["input"]]
    right.barh(
        y, s["gap_high"] - s["gap_low"], left=s["gap_low"], color=colors, height=0.5, alpha=0.45
    )
    right.barh(y, s["gap_high80"] - s["gap_low80"], left=s["gap_low80"], color=colors, height=0.5)
    right.plot(s["gap"], y, "|", color="black", markersize=14)
    right.set_yticks(y, [INPUT_LABELS[i] for i in s["input"]], fontsize=8)
    right.set_title(f"Usikkerhed ét input ad gangen, {year}", fontsize=11)
    right.set_xlabel("Manglende speciallæger (80 % mørk, 95 % lys)")
    danish_axis(right, axis="x")
    right.grid(axis="y", visible=False)
    tight_layout(fig)
    return fig


def _lever_bars(ax, levers: pd.DataFrame) -> None:
    """Bars of the change in specialists missing per lever (and in FTE beside them)."""
    df = levers.iloc[::-1].dropna(subset=["specialist_change"])
    y = np.arange(len(df))
    fte = "fte_change" in df.columns and df["fte_change"].notna().any()
    height = 0.38 if fte else 0.55
    offset = height / 2 if fte else 0.0
    ax.barh(
        y + offset, df["specialist_change"], color=COLORS[0], height=height, label="Speciallæger"
    )
    ax.errorbar(
        df["specialist_change"],
        y + offset,
        xerr=_errors(
            df["specialist_change"], df["specialist_change_low"], df["specialist_change_high"]
        ),
        fmt="none",
        ecolor="black",
        capsize=3,
    )
    if fte:
        ax.barh(y - offset, df["fte_change"], color=COLORS[2], height=height, label="Årsværk")
        ax.errorbar(
            df["fte_change"],
            y - offset,
            xerr=_errors(df["fte_change"], df["fte_change_low"], df["fte_change_high"]),
            fmt="none",
            ecolor="black",
            capsize=3,
        )
        ax.legend(fontsize=8, loc="lower left")
    ax.axvline(0, color="#555555", linewidth=0.8)
    labels = []
    for r in df.itertuples():
        note = " – FTE ikke leveret" if r.lever == "fte_per_head" and not fte else ""
        labels.append(f"{LEVER_LABELS[r.lever]}{note}\n({lever_amount(r.lever, r.amount)})")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("Ændring i manglende (negativ = færre mangler)")
    danish_axis(ax, axis="x")
    ax.grid(axis="y", visible=False)


def plot_tornado(levers: pd.DataFrame):
    """The lever chart alone (the left panel of ``plot_levers_and_uncertainty``)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.75 * len(levers) + 1.4))
    _lever_bars(ax, levers)
    tight_layout(fig)
    return fig


def plot_regional_gap(summary: pd.DataFrame, scenarios: Sequence[str], year: int):
    """The specialist gap per region in ``year`` for some scenarios, with 95 % intervals."""
    import matplotlib.pyplot as plt

    df = summary[(summary["year"] == year) & (summary["geography"] != NATIONAL)]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    width = 0.8 / len(scenarios)
    hatches = ("", "//", "..", "xx", "\\\\", "oo", "++", "--")
    for i, name in enumerate(scenarios):
        d = df[df["scenario"] == name].set_index("geography").reindex(list(REGIONS))
        if d["specialist_gap"].isna().all():
            continue
        x = np.arange(len(REGIONS)) + (i - (len(scenarios) - 1) / 2) * width
        ax.bar(
            x,
            d["specialist_gap"],
            width=width,
            color=COLORS[i % len(COLORS)],
            hatch=hatches[i % len(hatches)],
            edgecolor="white",
            label=label_of(SCENARIO_LABELS, name),
        )
        ax.errorbar(
            x,
            d["specialist_gap"],
            yerr=_errors(d["specialist_gap"], d["specialist_gap_low"], d["specialist_gap_high"]),
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    if df["specialist_gap"].isna().all():  # national targets: no regional gap to draw
        ax.text(
            0.5,
            0.5,
            "Behovet er kun defineret for hele landet (nationale mål)",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_xticks(np.arange(len(REGIONS)), REGIONS)
    ax.set(title=f"Manglende speciallæger pr. region i {year}", ylabel="Speciallæger")
    danish_axis(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    tight_layout(fig)
    return fig


def plot_definitions(table: pd.DataFrame):
    """The national specialist gap under each demand definition the data allow, side by side,
    the headline marked."""
    import matplotlib.pyplot as plt

    df = table[(table["scope"] == "total") & table["available"] & table["gap"].notna()]
    fig, ax = plt.subplots(figsize=(7.5, 0.9 * max(len(df), 1) + 1.4))
    y = np.arange(len(df))
    colors = [COLORS[1] if h else COLORS[0] for h in df["headline"]]
    ax.barh(y, df["gap"], color=colors, height=0.55)
    ax.errorbar(
        df["gap"],
        y,
        xerr=_errors(df["gap"], df["gap_low"], df["gap_high"]),
        fmt="none",
        ecolor="black",
        capsize=4,
    )
    ax.axvline(0, color="#555555", linewidth=0.8)
    ax.set_yticks(
        y,
        [
            f"{DEMAND_LABELS[r.definition]}{' (overskrift)' if r.headline else ''}\n{int(r.year)}"
            for r in df.itertuples()
        ],
    )
    ax.set(
        title="Manglende speciallæger efter definition",
        xlabel="Speciallæger (95 %-interval)",
    )
    danish_axis(ax, axis="x")
    ax.grid(axis="y", visible=False)
    tight_layout(fig)
    return fig


def plot_base_years(table: pd.DataFrame):
    """The specialist gap in the shown year (95 % band) and in the start year against the
    base year assumed to be balanced."""
    import matplotlib.pyplot as plt

    year = int(table["year"].iloc[0])
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.fill_between(
        table["base_year"],
        table["gap_low"],
        table["gap_high"],
        color=COLORS[1],
        alpha=0.2,
        linewidth=0,
    )
    ax.plot(
        table["base_year"],
        table["gap"],
        color=COLORS[1],
        marker="o",
        label=f"Mangler i {year} (95 %-interval)",
    )
    ax.plot(
        table["base_year"],
        table["gap_start"],
        color=COLORS[0],
        marker="s",
        linestyle="--",
        label="Mangler i startåret",
    )
    chosen = table[table["is_base_year"]]
    if len(chosen):
        ax.axvline(chosen["base_year"].iloc[0], color="#555555", linewidth=0.8, linestyle=":")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set(
        title="Gabet afhænger af, hvilket år der antages at have været i balance",
        xlabel="Basisår",
        ylabel="Manglende speciallæger",
    )
    danish_axis(ax)
    year_axis(ax)
    ax.legend(fontsize=8)
    tight_layout(fig)
    return fig


def plot_targets(table: pd.DataFrame, scenarios: Sequence[str]):
    """Per target: the specialists in the target year per scenario (median and 95 % interval)
    against the target, with P(reach)."""
    import matplotlib.pyplot as plt

    targets = table[["specialty", "year", "target"]].drop_duplicates().reset_index(drop=True)
    fig, axes = plt.subplots(
        1,
        max(len(targets), 1),
        figsize=(6 * max(len(targets), 1), 0.5 * len(scenarios) + 1.8),
        squeeze=False,
    )
    for ax, t in zip(axes[0], targets.itertuples(), strict=False):
        d = table[(table["specialty"] == t.specialty) & (table["year"] == t.year)]
        d = d.set_index("scenario").reindex(list(scenarios)).dropna(subset=["specialists"])
        d = d.iloc[::-1]
        y = np.arange(len(d))
        ax.errorbar(
            d["specialists"],
            y,
            xerr=_errors(d["specialists"], d["specialists_low"], d["specialists_high"]),
            fmt="o",
            color=COLORS[0],
            capsize=4,
        )
        ax.axvline(t.target, color=COLORS[1], linestyle="--", label=f"Mål: {number(t.target)}")
        labels = [
            f"{label_of(SCENARIO_LABELS, name)} (P = {100 * p:.0f} %)"
            for name, p in zip(d.index, d["p_reach"], strict=True)
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set(
            title=f"{SPECIALTY_LABELS.get(t.specialty, t.specialty)} i {t.year}",
            xlabel="Speciallæger (95 %-interval)",
        )
        danish_axis(ax, axis="x")
        ax.legend(fontsize=8, loc="lower right")
    tight_layout(fig)
    return fig


def plot_backtest(result: pd.DataFrame):
    """Projected (median, 80 % and 95 % bands) against observed national headcounts from the
    backtest's start year."""
    import matplotlib.pyplot as plt

    national = result[result["geography"] == NATIONAL]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (grade, title) in zip(
        axes, (("specialist", "Speciallæger"), ("trainee", "Læger under uddannelse")), strict=True
    ):
        d = national[national["grade"] == grade]
        ax.fill_between(
            d["year"], d["low95"], d["high95"], color=COLORS[0], alpha=0.15, linewidth=0
        )
        ax.fill_between(d["year"], d["low80"], d["high80"], color=COLORS[0], alpha=0.3, linewidth=0)
        ax.plot(d["year"], d["observed"], color="black", marker="o", label="Data")
        ax.plot(
            d["year"],
            d["projected"],
            color=COLORS[0],
            linestyle="--",
            marker="s",
            label=f"Model fra {int(d['year'].min())} (80 % og 95 %)",
        )
        ax.set(title=title, xlabel="År", ylabel="Personer")
        ax.set_ylim(bottom=0)
        danish_axis(ax)
        year_axis(ax)
    axes[0].legend(loc="lower right", fontsize=8)
    tight_layout(fig)
    return fig
