"""Published figures (``data/reference/published_figures.csv``) next to the data's own values."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

Tables = dict[str, pd.DataFrame]

PSYCHIATRY_ADULT, PSYCHIATRY_CHILD = "psychiatry", "child_adolescent_psychiatry"


def _patients(t: Tables, year: int, group: str | None = None) -> float:
    df = t["patients"]
    df = df[df["year"] == year]
    if group:
        df = df[df["age_group"] == group]
    return float(df["patients"].sum()) if len(df) else float("nan")


def _specialists(t: Tables, year: int, specialty: str) -> float:
    df = t["physicians"]
    df = df[(df["year"] == year) & (df["grade"] == "specialist") & (df["specialty"] == specialty)]
    return float(df["headcount"].sum()) if len(df) else float("nan")


def _share_over_65(t: Tables, year: int) -> float:
    df = t["physicians"]
    df = df[df["year"] == year]
    total = df["headcount"].sum()
    old = df.loc[df["age_band"].isin(["65-69", "70+"]), "headcount"].sum()
    return float(old / total) if total else float("nan")


def _h_posts(t: Tables, year: int, specialty: str, what: str) -> float:
    df = t["training_posts"]
    df = df[(df["year"] == year) & (df["post_type"] == "H") & (df["specialty"] == specialty)]
    if not len(df):
        return float("nan")
    advertised, filled = df["advertised"].sum(), df["filled"].sum()
    return float(
        {
            "advertised": advertised,
            "filled": filled,
            "unfilled": advertised - filled,
            "unfilled_share": (advertised - filled) / advertised if advertised else float("nan"),
        }[what]
    )


# measure in the reference file -> (Danish label, value in the data for a year)
MEASURES: dict[str, tuple[str, Callable[[Tables, int], float]]] = {
    "patients_regional_psychiatry": ("Patienter i regionspsykiatrien", _patients),
    "patients_child_adolescent": (
        "Børn og unge i psykiatrien",
        lambda t, y: _patients(t, y, "child_adolescent"),
    ),
    "specialists_psychiatry": (
        "Speciallæger i psykiatri",
        lambda t, y: _specialists(t, y, PSYCHIATRY_ADULT),
    ),
    "specialists_child_adolescent_psychiatry": (
        "Speciallæger i børne- og ungdomspsykiatri",
        lambda t, y: _specialists(t, y, PSYCHIATRY_CHILD),
    ),
    "share_physicians_over_65": ("Andel af lægerne over 65 år", _share_over_65),
    "h_posts_advertised_adult": (
        "H-forløb opslået, voksenpsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_ADULT, "advertised"),
    ),
    "h_posts_filled_adult": (
        "H-forløb besat, voksenpsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_ADULT, "filled"),
    ),
    "h_posts_unfilled_adult": (
        "H-forløb ubesat, voksenpsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_ADULT, "unfilled"),
    ),
    "h_posts_advertised_child_adolescent": (
        "H-forløb opslået, børne- og ungdomspsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_CHILD, "advertised"),
    ),
    "h_posts_filled_child_adolescent": (
        "H-forløb besat, børne- og ungdomspsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_CHILD, "filled"),
    ),
    "h_posts_unfilled_share_adult": (
        "Andel ubesatte H-forløb, voksenpsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_ADULT, "unfilled_share"),
    ),
    "h_posts_unfilled_share_child_adolescent": (
        "Andel ubesatte H-forløb, børne- og ungdomspsykiatri",
        lambda t, y: _h_posts(t, y, PSYCHIATRY_CHILD, "unfilled_share"),
    ),
}


def compare_with_reference(tables: Tables, reference: pd.DataFrame) -> pd.DataFrame:
    """Each national published figure the data can speak to, with the data's value that year.

    Returns
    -------
    DataFrame
        Columns ``measure``, ``label``, ``year``, ``unit``, ``published``, ``data``, ``source``;
        ``data`` is missing when the year is outside the data.
    """
    ref = reference[(reference["scope"] == "Denmark") & reference["measure"].isin(list(MEASURES))]
    rows = []
    for rec in ref.itertuples(index=False):
        label, compute = MEASURES[rec.measure]
        year = int(str(rec.year)[:4])
        rows.append(
            {
                "measure": rec.measure,
                "label": label,
                "year": year,
                "unit": rec.unit,
                "published": float(rec.value),
                "data": compute(tables, year),
                "source": rec.source,
            }
        )
    return pd.DataFrame(rows).sort_values(["measure", "year"], kind="stable").reset_index(drop=True)
