"""The retention stage's tables and sentences in Danish: labels applied to the model's codes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from pipeline.analysis.retention.model import ModelResult, Note
from pipeline.publish.fmt import HIDDEN, Table, count, interval, number, percent
from pipeline.publish.fmt import table as styled_table
from pipeline.publish.labels import (
    COVARIATE_LABELS,
    GROUPING_LABELS,
    SPECIALTY_LABELS,
    TRACK_LABELS,
)

# Labels of each grouping's codes (region names and cohort years are their own labels).
CODE_LABELS: dict[str, dict[str, str]] = {"specialty": SPECIALTY_LABELS, "track": TRACK_LABELS}


def group_label(by: str, code: Any) -> str:
    """The Danish label of a group's code."""
    return CODE_LABELS.get(by, {}).get(str(code), str(code))


def term_label(term: str, reference: str = "") -> str:
    """``combined_track`` -> "Sammenhængende forløb (ja vs. nej)";
    ``region=Sjælland`` -> "Region: Sjælland (vs. Hovedstaden)"."""
    if "=" in term:
        factor, level = term.split("=", 1)
        return f"{COVARIATE_LABELS[factor]}: {level} (vs. {reference})"
    return "Samlet test" if term == "global" else COVARIATE_LABELS[term]


FUNNEL_COLUMNS = {
    "i_starts": "Startet i I-stilling",
    "completed_i": "Afsluttet I-stilling",
    "followed": "Fulgt hele horisonten",
    "h_within_horizon": "H-forløb i psykiatrien inden for horisonten",
}


def funnel_table(table: pd.DataFrame, groups: Sequence[str] = ()) -> Table:
    """The funnel for display, with the group columns ``groups`` labelled. The count columns
    are marked for the report stage's disclosure check."""
    out = pd.DataFrame(index=table.index)
    for column in groups:
        out[GROUPING_LABELS[column]] = [group_label(column, v) for v in table[column]]
    for column, title in FUNNEL_COLUMNS.items():
        out[title] = [count(v) for v in table[column]]
    out["Andel"] = [percent(v) for v in table["share"]]
    out["95 %-interval"] = [
        interval(lo, hi, percent)
        for lo, hi in zip(table["share_low"], table["share_high"], strict=True)
    ]
    return styled_table(out.reset_index(drop=True), counts=list(FUNNEL_COLUMNS.values()))


def incidence_table(at: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Cumulative incidence at the horizon, overall (``by=None``) or per group."""
    title = "Gruppe" if by is None else GROUPING_LABELS[by]
    groups = ["Alle"] * len(at) if by is None else [group_label(by, g) for g in at["group"]]
    return pd.DataFrame(
        {
            title: groups,
            "Kumuleret andel i H-forløb i psykiatrien": [percent(v) for v in at["cif"]],
            "95 %-interval": [
                interval(lo, hi, percent)
                for lo, hi in zip(at["ci_low"], at["ci_high"], strict=True)
            ],
        }
    )


def ratio_table(result: ModelResult, ratio_name: str) -> pd.DataFrame:
    t = result.table
    return pd.DataFrame(
        {
            "Forklarende variabel": [
                term_label(term, ref) for term, ref in zip(t["term"], t["reference"], strict=True)
            ],
            ratio_name: [
                "–" if not e else number(r, 2)
                for r, e in zip(t["ratio"], t["estimable"], strict=True)
            ],
            "95 %-interval": [
                interval(lo, hi, _ratio) if e else "kan ikke estimeres"
                for lo, hi, e in zip(t["ci_low"], t["ci_high"], t["estimable"], strict=True)
            ],
            "p-værdi": [
                "–" if not e else number(p, 3)
                for p, e in zip(t["p_value"], t["estimable"], strict=True)
            ],
        }
    )


def ph_table(ph: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Forklarende variabel": [term_label(t) for t in ph["term"]],
            "Chi²": [number(v, 2) for v in ph["chi2"]],
            "Frihedsgrader": ph["df"],
            "p-værdi": [p_value(v) for v in ph["p_value"]],
        }
    )


def fill_rate_table(shown: pd.DataFrame) -> Table:
    """Fill rates per region for display (``model.protected_fill_rates``: hidden counts shown
    as the hidden mark), the filled posts marked as counts."""
    out = pd.DataFrame(
        {
            "Region": shown["region"],
            "Stilling": shown["post_type"] + "-stilling",
            "Speciale": shown["specialty"].map(SPECIALTY_LABELS),
            "Opslået": [number(v) for v in shown["advertised"]],
            "Besat": [count(v) for v in shown["filled"]],
            "Andel besat": [percent(v) for v in shown["fill_rate"]],
            "95 %-interval": [
                interval(lo, hi, percent)
                for lo, hi in zip(shown["ci_low"], shown["ci_high"], strict=True)
            ],
        }
    )
    return styled_table(out, counts=["Besat"])


def trend_table(trend: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Stilling": trend["post_type"] + "-stilling",
            "Speciale": trend["specialty"].map(SPECIALTY_LABELS),
            "Odds for besættelse, ændring pr. år": [
                number(v, 3) for v in trend["odds_ratio_per_year"]
            ],
            "95 %-interval": [
                interval(lo, hi, lambda v: number(v, 3))
                for lo, hi in zip(trend["ci_low"], trend["ci_high"], strict=True)
            ],
            "p-værdi": [p_value(p) for p in trend["p_value"]],
        }
    )


def _ratio(value: float) -> str:
    return number(value, 2)


def p_value(p: float) -> str:
    return "<0,001" if p < 0.001 else number(p, 3)


def data_text(total: pd.DataFrame, first: int, last: int, horizon: float, min_cell: int) -> str:
    """What the data hold, from the published total funnel: doctors, cohorts, follow-up."""
    if not len(total):
        return "Data indeholder ingen læger i introduktionsstilling."
    row = total.iloc[0]
    return (
        f"Data omfatter {count(row['i_starts'])} læger, der begyndte i I-stilling i "
        f"{first}–{last}; {count(row['followed'])} af dem er fulgt mindst {number(horizon)} år. "
        f"Tal markeret {HIDDEN} er skjult, fordi de beskriver færre end {min_cell} personer "
        "eller kunne regnes ud fra andre tal."
    )


def note_text(note: Note) -> str:
    """One model note in Danish."""
    name = COVARIATE_LABELS.get(note.term, note.term)
    if note.kind == "constant" and note.term == "combined_track":
        who = "alle" if note.value == 1 else "ingen"
        return (
            f"Effekten af sammenhængende forløb kan ikke estimeres: {who} læger i data er på "
            "et sammenhængende forløb, så der er ingen at sammenligne med."
        )
    if note.kind == "constant":
        return f"{name} er udeladt: den varierer ikke i data."
    if note.kind == "small_group":
        return f"{name} er udeladt: færre end {note.min_cell} personer i en af grupperne."
    if note.kind == "single_level":
        return f"{name} er udeladt: alle tilhører {note.level or 'ingen'}."
    if note.kind == "merged":
        return (
            f"{name} {note.level} indgår i referencen ({note.value}): færre end "
            f"{note.min_cell} personer."
        )
    if note.kind == "no_events":
        return (
            "Ingen læger er startet i H-forløb i psykiatrien i data, så modellen kan ikke "
            "estimeres."
        )
    if note.kind == "no_terms":
        return "Ingen forklarende variable varierer i data."
    if note.kind == "not_estimable":
        return (
            f"{term_label(note.term, note.value or '')} kan ikke estimeres: ingen hændelser i "
            "den ene gruppe."
        )
    who = {"none_followed": "ingen", "all": "alle", "none": "ingen af"}[note.value]
    return (
        f"Den logistiske model kan ikke estimeres: {who} de fuldt fulgte læger skiftede til "
        "H-forløb i psykiatrien."
    )


def notes_text(notes: Sequence[Note]) -> str:
    """Why terms of a model are missing, as a list (empty when nothing is missing)."""
    return "\n".join(f"* {note_text(note)}" for note in notes)


def ph_text(ph: pd.DataFrame) -> str:
    terms = ph[ph["term"] != "global"]
    overall = ph[ph["term"] == "global"].iloc[0]
    flagged = terms[terms["p_value"] < 0.05]
    text = f"Den samlede test giver p = {number(overall['p_value'], 3)}. "
    if flagged.empty:
        # A test that does not reject is not proof that the assumption holds.
        return text + (
            "Ingen af de enkelte variable viser tegn på, at effekten ændrer sig over "
            "tiden (alle p ≥ 0,05): antagelsen om konstante hazard ratioer er ikke afvist."
        )
    names = ", ".join(term_label(t) for t in flagged["term"])
    return text + (
        f"For {names} er p < 0,05: effekten ser ud til at ændre sig over tiden, så "
        "hazard ratioen er et gennemsnit over forløbet og bør læses sammen med den "
        "logistiske model."
    )


def models_text(cox: ModelResult, logistic: ModelResult) -> str:
    """Does the logistic check agree with the Cox model on the combined track?"""
    hr, odds = cox.ratio("combined_track"), logistic.ratio("combined_track")
    if hr is None:
        return (
            "Effekten af sammenhængende forløb kan ikke estimeres med disse data (se "
            "bemærkningerne ovenfor)."
        )
    text = (
        f"Sammenhængende forløb: hazard ratio {number(hr[0], 2)} (95 %-interval "
        f"{interval(hr[1], hr[2], _ratio)})."
    )
    if odds is None:
        return text + " Den logistiske model kan ikke estimere effekten."
    same = (hr[0] > 1) == (odds[0] > 1)
    return text + (
        f" Den logistiske model giver odds ratio {number(odds[0], 2)} "
        f"({interval(odds[1], odds[2], _ratio)}); "
        + (
            "de to modeller peger i samme retning."
            if same
            else "de to modeller peger i hver sin retning, så resultatet er usikkert."
        )
    )
