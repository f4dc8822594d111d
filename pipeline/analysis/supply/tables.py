"""The supply stage's tables and sentences in Danish (computed from its results)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from pipeline.analysis.supply.model import NO_CHANGE, Inputs, scenario_levers
from pipeline.data.contract import GEOGRAPHIES, NATIONAL
from pipeline.publish.fmt import interval, number, percent
from pipeline.publish.labels import GRADE_LABELS, LEVER_LABELS, SCENARIO_LABELS, label_of

LEVER_UNITS = {
    "extra_h_posts": "{:+g} H-forløb om året",
    "combined_track_share": "{pct} af I-lægerne på sammenhængende forløb",
    "foreign_per_year": "{:g} rekrutteret om året",
    "exit_reduction_over_65": "{pct} færre afgange over 65 år",
}


def lever_amount(lever: str, amount: float | None) -> str:
    if amount is None:
        return "som i data"
    return LEVER_UNITS[lever].format(amount, pct=percent(amount, 0))


def scenario_description(levers: dict[str, Any]) -> str:
    changed = [f"{LEVER_LABELS[k]}: {lever_amount(k, v)}" for k, v in levers.items()
               if v != NO_CHANGE.get(k)]  # fmt: skip
    return "; ".join(changed) or "ingen ændringer"


def comparison_table(comparison: pd.DataFrame, params: dict[str, Any], after: int) -> pd.DataFrame:
    """One row per scenario: its levers, and the gap in each target year after ``after`` (the
    last data year, where every scenario has the observed gap) with the change from the
    baseline in the last one."""
    df = comparison[comparison["year"] > after]
    years = sorted(df["year"].unique())
    rows = []
    for name, g in df.groupby("scenario", sort=False):
        g = g.set_index("year")
        row = {"Scenarie": label_of(SCENARIO_LABELS, name),
               "Tiltag": scenario_description(scenario_levers(params, name))}  # fmt: skip
        for year in years:
            r = g.loc[year]
            row[f"Mangler i {year}"] = (
                f"{number(r['gap'])} ({interval(r['gap_low'], r['gap_high'])})"
            )
        last = g.loc[years[-1]]
        row[f"Ændring i {years[-1]}"] = (
            f"{number(last['change'])} ({interval(last['change_low'], last['change_high'])})"
        )
        rows.append(row)
    return pd.DataFrame(rows)


def tornado_table(levers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Tiltag": levers["lever"].map(LEVER_LABELS),
            "Ændring": [lever_amount(r.lever, r.amount) for r in levers.itertuples()],
            "År": levers["year"],
            "Ændring i manglende læger": [number(v) for v in levers["change"]],
            "95 %-interval": [
                interval(lo, hi)
                for lo, hi in zip(levers["change_low"], levers["change_high"], strict=True)
            ],
        }
    )


def regional_table(summary: pd.DataFrame, scenario: str, years: Sequence[int]) -> pd.DataFrame:
    df = summary[(summary["scenario"] == scenario) & summary["year"].isin(years)]
    return pd.DataFrame(
        {
            "Område": df["geography"].astype(str),
            "År": df["year"],
            "Læger": [number(v) for v in df["supply"]],
            "Behov": [number(v) for v in df["demand"]],
            "Manglende læger": [number(v) for v in df["gap"]],
            "95 %-interval": [
                interval(lo, hi) for lo, hi in zip(df["gap_low"], df["gap_high"], strict=True)
            ],
        }
    ).sort_values(
        ["År", "Område"],
        key=lambda s: s.map({g: i for i, g in enumerate(GEOGRAPHIES)}) if s.name == "Område" else s,
        ignore_index=True,
    )


def inputs_table(inputs: Inputs) -> pd.DataFrame:
    """The model's main inputs, with where each comes from."""
    p = inputs.params
    fill = inputs.h_filled_ref.sum() / max(inputs.h_advertised_ref.sum(), 1)
    conv = inputs.conversion
    rows = [
        ("Speciallæger i startåret", number(inputs.stock.sum()), f"data ({inputs.start_year})"),
        (
            "Læger under uddannelse i startåret",
            number(inputs.trainees.sum()),
            f"data ({inputs.start_year})",
        ),
        (
            "H-forløb opslået pr. år",
            number(inputs.h_advertised.sum(), 1),
            f"gennemsnit af de sidste {p['posts_reference_years']} år",
        ),
        ("Andel af H-forløb besat", percent(fill), f"de sidste {p['posts_reference_years']} år"),
        (
            "Andel i H-forløb i psykiatrien inden for horisonten, almindelig I-stilling",
            percent(conv["regular"][0]),
            "retention-trinnet",
        ),
        ("Samme, sammenhængende forløb", percent(conv["combined"][0]), "retention-trinnet"),
        (
            "Andel af I-lægerne på sammenhængende forløb nu",
            percent(inputs.combined_share_now),
            f"data, de sidste {p['posts_reference_years']} år",
        ),
        (
            "Andel af H-forløb, der gennemføres",
            percent(p["h_completion"]),
            "antagelse (data har ingen afsluttede forløb)",
        ),
        ("Varighed af H-forløb", f"{p['h_duration_years']} år", "målbeskrivelsen"),
        ("Udenlandske læger, der bliver", percent(p["foreign_completion"]), "antagelse"),
    ]
    return pd.DataFrame(rows, columns=["Input", "Værdi", "Kilde"])


def exit_table(rates: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Aldersgruppe": rates["age_band"],
            "Årlig afgang": [percent(v) for v in rates["exit_rate"]],
            "Standardfejl": [
                "–" if s == "assumed" else percent(se)
                for se, s in zip(rates["se"], rates["source"], strict=True)
            ],
            "Kilde": rates["source"].map(
                {"estimated": "estimeret fra data", "assumed": "antagelse (params.yaml)"}
            ),
        }
    )


def backtest_table(result: pd.DataFrame) -> pd.DataFrame:
    national = result[result["geography"] == NATIONAL]
    return pd.DataFrame(
        {
            "Gruppe": national["grade"].map(GRADE_LABELS),
            "År": national["year"],
            "Model": [number(v) for v in national["projected"]],
            "Data": [number(v) for v in national["observed"]],
            "Afvigelse": [percent(v) for v in national["ape"]],
        }
    )


def summary_text(comparison: pd.DataFrame, levers: pd.DataFrame, year: int) -> str:
    """The scenarios in a few Danish sentences."""
    at = comparison[comparison["year"] == year].set_index("scenario")
    base = at.loc["baseline"]
    text = (
        f"Uden nye tiltag mangler der {number(base['gap'])} læger i {year} (95 %-interval "
        f"{interval(base['gap_low'], base['gap_high'])})."
    )
    if "all_levers" in at.index:
        every = at.loc["all_levers"]
        text += (
            f" Med alle tiltag samtidig er tallet {number(every['gap'])} "
            f"({interval(every['gap_low'], every['gap_high'])}), "
            f"{number(-every['change'])} færre."
        )
    if len(levers):
        top = levers.iloc[0]
        text += (
            f" Alene flytter {LEVER_LABELS[top['lever']].lower()} "
            f"({lever_amount(top['lever'], top['amount'])}) mest: "
            f"{number(-top['change'])} færre manglende læger "
            f"({interval(-top['change_high'], -top['change_low'])})."
        )
    return text


def backtest_text(result: pd.DataFrame) -> str:
    national = result[(result["geography"] == NATIONAL) & (result["year"] > result["year"].min())]
    start, end = int(result["year"].min()), int(result["year"].max())
    parts = []
    for grade, label in (("specialist", "speciallæger"), ("trainee", "læger under uddannelse")):
        d = national[national["grade"] == grade]
        parts.append(f"{percent(d['ape'].mean())} (højst {percent(d['ape'].max())}) for {label}")
    return (
        f"Startet i {start} med de data, der fandtes da, ramte modellen antallet i "
        f"{start + 1}–{end} med en gennemsnitlig afvigelse på {parts[0]} og {parts[1]}."
    )
