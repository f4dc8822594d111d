"""Figures of the initiatives stage: one figure per initiative, one row per outcome.

Each row has three panels:

1. the outcome over time in the initiative's region against the weighted mean of the other
   regions (``published.comparison_series``: hidden cells are gaps), with the region's
   initiatives marked (``pipeline.publish.marks``);
2. the event study: the region's difference to the other regions year by year, measured
   against the reference years (hollow points at 0), with pointwise 95 % intervals;
3. the placebo distribution: the studentised estimates of the placebo initiatives, which the
   randomisation test ranks the initiative's own against (vertical line).

A national initiative has no comparison: its figure shows the whole country's outcome only.

matplotlib is imported inside the functions that draw: it takes a second to import.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipeline.analysis.initiatives import model
from pipeline.analysis.initiatives.tables import (
    outcome_text,
    p_text,
    reason_text,
    region_text,
)
from pipeline.publish.fmt import number
from pipeline.publish.fmt import percent as pct
from pipeline.publish.marks import mark_initiatives
from pipeline.publish.plotting import (
    COLORS,
    LINESTYLES,
    MARKERS,
    panel_grid,
    tight_layout,
    year_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PANEL_SIZE = (4.3, 3.3)
# The y axis of the development panel; the conversion outcome's years are I-start cohorts.
Y_LABELS = {
    "h_fill_rate": "Andel besat",
    "i_fill_rate": "Andel besat",
    "conversion": "Andel i H-forløb i psykiatrien",
    "specialist_exits": "Nettoafgang pr. år",
    "specialists": "Indeks (årene før start = 100)",
}
COHORT_OUTCOMES = frozenset({"conversion"})
REFERENCE_COLOR = "#7f7f7f"
TITLE_WIDTH = 38  # characters per line of a panel title


def _title(ax: Axes, text: str) -> None:
    ax.set_title("\n".join(textwrap.wrap(text, TITLE_WIDTH)), fontsize=10)


def _unit_axis(ax: Axes, unit: str, axis: str = "y") -> None:
    """Differences of shares in percentage points (``0.05`` -> ``5``), relative changes in
    percent; Danish separators."""
    from matplotlib.ticker import FuncFormatter

    if unit == "percent":
        fmt = FuncFormatter(lambda v, _: pct(v, 0))
    else:
        fmt = FuncFormatter(lambda v, _: number(100 * v, 0))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _empty(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        "\n".join(textwrap.wrap(text, 34)),
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=9,
        color="#404040",
    )


def plot_development(
    ax: Axes,
    series: pd.DataFrame,
    outcome: str,
    region: str,
    register: pd.DataFrame,
    *,
    specialty: str | None = None,
    initiative_id: str | None = None,
) -> None:
    """Panel 1: the region's outcome and the other regions' weighted mean, with the region's
    initiatives marked (the span of ``initiative_id`` alone shaded)."""
    from matplotlib.ticker import FuncFormatter

    s = series.sort_values("year")
    national = region == model.NATIONAL
    ax.plot(
        s["year"],
        s["treated"],
        color=COLORS[0],
        marker=MARKERS[0],
        linestyle=LINESTYLES[0],
        label=region_text(region).capitalize(),
    )
    if not national:
        ax.plot(
            s["year"],
            s["others"],
            color=COLORS[1],
            marker=MARKERS[1],
            linestyle=LINESTYLES[1],
            label="Øvrige regioner",
        )
    ax.set_ylabel(Y_LABELS.get(outcome, ""))
    ax.set_xlabel("Startår i I-stilling" if outcome in COHORT_OUTCOMES else "År")
    if len(s) and (s["scale"] == "index").all():
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: number(v, 0)))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: pct(v, 0)))
    years = s["year"].to_numpy()
    if len(years):
        ax.set_xlim(years.min() - 0.6, years.max() + 0.6)
    if not np.isfinite(s[["treated", "others"]].to_numpy(dtype=float)).any():
        if not len(s) or (s["scale"] == "level").all():
            ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, "Alle år skjult (små tal)", transform=ax.transAxes, ha="center")
    year_axis(ax)
    _title(ax, outcome_text(outcome))
    mark_initiatives(ax, register, region, specialty=specialty, highlight=initiative_id)
    ax.legend(loc="best", fontsize=7)


def plot_event_study(
    ax: Axes,
    study: pd.DataFrame,
    reference_years: tuple[int, ...],
    start_year: int,
    unit: str,
    outcome: str = "",
) -> None:
    """Panel 2: leads and lags with 95 % intervals; reference years hollow at 0."""
    from matplotlib.ticker import MaxNLocator

    s = study.sort_values("event_time")
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.axvline(-0.5, color="#404040", linewidth=0.9, linestyle="--")
    reference = np.array([y - start_year for y in reference_years], dtype=float)
    if len(reference):
        ax.plot(
            reference,
            np.zeros(len(reference)),
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=REFERENCE_COLOR,
            label="Referenceår (= 0)",
        )
    low = (s["estimate"] - s["ci_low"]).to_numpy(dtype=float)
    high = (s["ci_high"] - s["estimate"]).to_numpy(dtype=float)
    has_ci = np.isfinite(low).all() and np.isfinite(high).all()
    ax.errorbar(
        s["event_time"],
        s["estimate"],
        yerr=np.vstack([low, high]) if has_ci else None,
        fmt="s",
        color=COLORS[0],
        ecolor=COLORS[0],
        capsize=3,
        label="Forskel med 95 %-interval" if has_ci else "Forskel",
    )
    if outcome in COHORT_OUTCOMES:
        ax.set_xlabel("Årgange fra start (0 = første årgang med tiltaget)")
    else:
        ax.set_xlabel("År fra start (0 = første år med tiltaget)")
    ax.set_ylabel("Procentpoint" if unit != "percent" else "Forskel i %")
    _unit_axis(ax, unit)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    _title(ax, "Forskel til de øvrige regioner pr. år")
    ax.legend(loc="upper left", fontsize=7)


def plot_placebos(ax: Axes, placebos: pd.DataFrame, p_value: float | None) -> None:
    """Panel 3: the placebo initiatives' studentised estimates and the initiative's own."""
    others = placebos.loc[~placebos["actual"], "statistic"].to_numpy(dtype=float)
    actual = placebos.loc[placebos["actual"], "statistic"].to_numpy(dtype=float)
    ax.hist(others, bins=min(15, max(5, len(others) // 3)), color="#bdbdbd", edgecolor="white")
    for value in actual:
        ax.axvline(value, color=COLORS[1], linewidth=2.2, label="Tiltaget")
    ax.set_xlabel("Standardiseret estimat (estimat / standardfejl)")
    ax.set_ylabel("Placebo-tiltag")
    ax.text(
        0.98,
        0.95,
        f"p = {p_text(p_value)}",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=8,
    )
    _title(ax, f"Tiltaget blandt {len(others)} placebo-tiltag")
    ax.legend(loc="upper left", fontsize=7)


def plot_initiative(
    initiative: Mapping[str, Any],
    results: pd.DataFrame,
    series: pd.DataFrame,
    studies: pd.DataFrame,
    placebos: pd.DataFrame,
    register: pd.DataFrame,
) -> Figure | None:
    """One initiative's figure: a row per outcome with a series (see the module docstring).

    Parameters
    ----------
    initiative
        Its row of ``initiatives/register``.
    results
        ``model.evaluate``'s results (or the effects table with ``reference_years`` added
        from the results); the rows of this initiative are used.
    series, studies, placebos
        ``published.series_table``, ``published.event_study_table`` and
        ``published.placebo_table`` (all initiatives; filtered here).
    register
        All initiatives, to mark the region's others too.

    Returns
    -------
    Figure or None
        None when no outcome of the initiative has data to show.
    """
    ident = str(initiative["initiative_id"])
    region = str(initiative["region"])
    specialty = str(initiative.get("specialty") or "") or None
    rows = results[results["initiative_id"].astype(str) == ident]
    mine = series[series["initiative_id"] == ident]
    outcomes = [o for o in rows["outcome"] if (mine["outcome"] == o).any()]
    if not outcomes:
        return None
    national = region == model.NATIONAL
    ncols = 1 if national else 3
    fig, axes = panel_grid(len(outcomes) * ncols, ncols, PANEL_SIZE)
    for i, outcome in enumerate(outcomes):
        row = rows[rows["outcome"] == outcome].iloc[0].to_dict()
        ax = axes[i * ncols : (i + 1) * ncols]
        plot_development(
            ax[0],
            mine[mine["outcome"] == outcome],
            outcome,
            region,
            register,
            specialty=specialty,
            initiative_id=ident,
        )
        if national:
            continue
        study = studies[(studies["initiative_id"] == ident) & (studies["outcome"] == outcome)]
        result = row.get("result")
        reference = result.reference_years if isinstance(result, model.EffectResult) else ()
        estimated = isinstance(result, model.EffectResult) and len(result.event_study)
        if len(study) and not pd.isna(row["start_year"]):
            plot_event_study(
                ax[1], study, reference, int(row["start_year"]), str(row["unit"]), outcome
            )
        elif estimated:  # every year of the event study rests on a hidden cell
            _empty(ax[1], "Ingen år at vise i event study: alle bygger på små tal")
        else:
            why = reason_text(row) if row["reason"] else "for få år før og efter start"
            _empty(ax[1], f"Ingen event study: {why}")
        pl = placebos[(placebos["initiative_id"] == ident) & (placebos["outcome"] == outcome)]
        if len(pl) > 1:
            p = row.get("p_value")
            plot_placebos(ax[2], pl, None if pd.isna(p) else float(p))
        else:
            _empty(ax[2], f"Ingen placebo-fordeling: {reason_text(row)}")
    tight_layout(fig)
    return fig
