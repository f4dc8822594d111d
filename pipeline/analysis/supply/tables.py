"""The supply stage's tables and sentences in Danish (computed from its results).

Every sentence that states a finding is a function of the numbers, with its thresholds named
here: a scenario "lukker gabet" only when the upper end of its 95 %-interval is at or below
zero, and so on. An interval of zero width around an estimated quantity is not shown as one: it
says "ikke estimeret" (or "målt i data" for the start year's observed values).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipeline.analysis.supply import demand as demand_defs
from pipeline.analysis.supply import targets as target_model
from pipeline.analysis.supply.model import (
    NO_CHANGE,
    NOTE_COMBINED_MISSING,
    NOTE_FILL_SPREAD,
    NOTE_FTE_MISSING,
    Inputs,
    scenario_levers,
)
from pipeline.data.contract import GEOGRAPHIES, NATIONAL, REGIONS
from pipeline.publish.findings import probability_words
from pipeline.publish.fmt import HIDDEN, interval, join, number, percent
from pipeline.publish.labels import (
    DEMAND_LABELS,
    GRADE_LABELS,
    INPUT_LABELS,
    LEVER_LABELS,
    SCENARIO_LABELS,
    SEX_LABELS,
    SPECIALTY_LABELS,
    label_of,
    lever_amount,
    lower_first,
)

# Thresholds of the sentences.
CLOSES_AT = 0.0  # a gap whose 95 % upper end is at or below this is closed
POOL_BINDS_SHARE = 0.5  # extra posts bind on applicants when the cap binds in this share of draws
NOT_ESTIMATED = "ikke estimeret"
MEASURED = "målt i data"
FTE_NOT_GIVEN = "FTE ikke leveret"

NOTE_TEXT = {
    NOTE_COMBINED_MISSING: (
        "Ingen læger er fulgt på sammenhængende forløb (eller gruppen er for lille til at blive "
        "vist), så overgangen på sådanne forløb kan ikke estimeres: tiltaget »sammenhængende "
        "forløb« har ingen effekt i beregningen."
    ),
    NOTE_FTE_MISSING: (
        f"{FTE_NOT_GIVEN}: lægedata har ingen arbejdstid (kolonnen fte), så alle tal er "
        "hoveder, og tiltaget »mere arbejdstid pr. læge« kan ikke beregnes."
    ),
    NOTE_FILL_SPREAD: (
        "Der er færre end tre år med opslåede H-forløb at måle besættelsens udsving fra år til "
        "år på; kun stikprøveusikkerheden er med."
    ),
    demand_defs.NOTE_NO_VACANCIES: (
        "Filen specialist_posts.csv (normerede og besatte speciallægestillinger) er ikke "
        "leveret, så gabet kan ikke tage udgangspunkt i målte ubesatte stillinger."
    ),
    demand_defs.NOTE_VACANCY_YEAR: (
        "Året for de målte ubesatte stillinger findes ikke i lægedata; definitionen kan ikke "
        "beregnes."
    ),
    demand_defs.NOTE_BASE_YEAR: "Basisåret ligger efter modellens startår.",
    demand_defs.NOTE_NO_TARGETS: "Der er ingen mål i params.yaml (supply.targets).",
    demand_defs.NOTE_TARGET_NATIONAL: (
        "Målene er nationale og ikke fordelt på regioner, så der er intet regionalt gab efter "
        "denne definition."
    ),
    demand_defs.NOTE_FTE_APPROXIMATED: (
        "Arbejdstiden i definitionens udgangsår mangler i data; den er sat til startårets "
        "arbejdstid pr. læge."
    ),
    "fte_only": "Virker kun på arbejdstiden (årsværk), ikke på antallet af læger.",
}


def note_text(codes: Sequence[str]) -> str:
    """The notes' sentences, once each, in the order given."""
    seen = dict.fromkeys(c for c in codes if c)
    return " ".join(NOTE_TEXT[c] for c in seen if c in NOTE_TEXT)


def interval_text(low: Any, high: Any, measured: bool = False) -> str:
    """A 95 %-interval, or why there is none: a zero-width interval around an estimated value
    is "ikke estimeret", around an observed one "målt i data"."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return NOT_ESTIMATED
    if abs(float(high) - float(low)) < 1e-9:
        return MEASURED if measured else NOT_ESTIMATED
    return interval(low, high)


def with_interval(value: Any, low: Any, high: Any, measured: bool = False) -> str:
    """``"812 (95 %: 640 til 990)"``; an unestimated value shows why."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_ESTIMATED
    return f"{number(value)} ({interval_text(low, high, measured)})"


def scenario_description(levers: dict[str, Any]) -> str:
    changed = [
        lever_amount(k, v) for k, v in levers.items() if k in NO_CHANGE and v != NO_CHANGE.get(k)
    ]
    for specialty, posts in (levers.get("extra_h_posts_by_specialty") or {}).items():
        changed.append(
            f"{number(posts, 1)} flere H-forløb om året i "
            f"{lower_first(label_of(SPECIALTY_LABELS, specialty))}"
        )
    return "; ".join(changed) or "ingen ændringer"


def scenario_levers_of(params: dict[str, Any], name: str, extra: dict[str, Any]) -> dict:
    """The levers of a scenario from params, or of a computed one (``extra``)."""
    return extra[name] if name in extra else scenario_levers(params, name)


# --------------------------------------------------------------------------------------------
# Scenarios and levers
# --------------------------------------------------------------------------------------------
def comparison_table(
    comparison: pd.DataFrame,
    params: dict[str, Any],
    year: int,
    summary: pd.DataFrame,
    target_table: pd.DataFrame | None = None,
    extra: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per scenario: its levers, the specialists missing in ``year`` (the headline
    definition) and the change from the baseline, the doctors in training apart, and the
    probability of reaching each target."""
    extra = extra or {}
    rows = []
    at = comparison[comparison["year"] == year]
    national = summary[(summary["geography"] == NATIONAL) & (summary["year"] == year)]
    national = national.set_index("scenario")
    for r in at.itertuples():
        row = {
            "Scenarie": label_of(SCENARIO_LABELS, r.scenario),
            "Tiltag": scenario_description(scenario_levers_of(params, r.scenario, extra)),
        }
        row[f"Manglende speciallæger i {year}"] = with_interval(
            r.specialist_gap, r.specialist_gap_low, r.specialist_gap_high
        )
        change = (r.specialist_change, r.specialist_change_low, r.specialist_change_high)
        if r.scenario == "baseline":
            row[f"Ændring i {year}"] = "–"
        elif all(v == 0 for v in change):  # the same in every simulation: heads unchanged
            row[f"Ændring i {year}"] = "0 (ingen ændring i antallet)"
        else:
            row[f"Ændring i {year}"] = with_interval(*change)
        t = national.loc[r.scenario]
        row[f"Læger under uddannelse i {year}"] = with_interval(
            t["trainees"], t["trainees_low"], t["trainees_high"]
        )
        if target_table is not None and len(target_table):
            hits = target_table[target_table["scenario"] == r.scenario]
            for h in hits.itertuples():
                name = lower_first(label_of(SPECIALTY_LABELS, h.specialty))
                row[f"Sandsynlighed for at nå målet i {name} ({h.year})"] = p_text(h.p_reach)
        rows.append(row)
    return pd.DataFrame(rows)


def p_text(p: float) -> str:
    """A probability as Danish percent; NaN as not estimated."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NOT_ESTIMATED
    return percent(p, 0)


def tornado_table(levers: pd.DataFrame) -> pd.DataFrame:
    """The levers one at a time: the change in specialists missing (and in FTE when given)."""
    out = pd.DataFrame(
        {
            "Tiltag": levers["lever"].map(LEVER_LABELS),
            "Ændring": [lever_amount(r.lever, r.amount) for r in levers.itertuples()],
            "År": levers["year"],
            "Ændring i manglende speciallæger": [
                with_interval(
                    r.specialist_change, r.specialist_change_low, r.specialist_change_high
                )
                for r in levers.itertuples()
            ],
        }
    )
    if "fte_change" in levers.columns:
        out["Ændring i manglende årsværk"] = [
            with_interval(r.fte_change, r.fte_change_low, r.fte_change_high)
            for r in levers.itertuples()
        ]
    else:
        out["Ændring i manglende årsværk"] = FTE_NOT_GIVEN
    out["Bemærkning"] = [note_text(str(n).split("|")) for n in levers["notes"]]
    return out


def sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    """How much each uncertain input alone moves the gap."""
    return pd.DataFrame(
        {
            "Usikkerhed": table["input"].map(INPUT_LABELS),
            "År": table["year"],
            "Manglende speciallæger (median)": [number(v) for v in table["gap"]],
            "95 %-interval": [
                interval_text(lo, hi)
                for lo, hi in zip(table["gap_low"], table["gap_high"], strict=True)
            ],
            "Bredde": [number(v) for v in table["width"]],
        }
    )


def sensitivity_text(table: pd.DataFrame) -> str:
    """Which input dominates the uncertainty, and by how much over the next (a ratio of
    95 %-interval widths; "dominerer" from twice the next)."""
    parts = table[table["input"] != "all"].sort_values("width", ascending=False)
    if len(parts) < 2 or parts["width"].iloc[0] <= 0:
        return "Ingen af de usikre input flytter gabet mærkbart."
    first, second = parts.iloc[0], parts.iloc[1]
    label = lower_first(INPUT_LABELS[first["input"]])
    if second["width"] > 0:
        ratio = first["width"] / second["width"]
        verb = "dominerer usikkerheden" if ratio >= 2 else "giver den største usikkerhed"
        return (
            f"{INPUT_LABELS[first['input']]} {verb}: alene giver den et 95 %-interval på "
            f"{number(first['width'])} speciallæger, {number(ratio, 1)} gange så bredt som "
            f"det næste ({lower_first(INPUT_LABELS[second['input']])})."
        )
    return f"Kun {label} flytter gabet."


def summary_text(comparison: pd.DataFrame, levers: pd.DataFrame, year: int) -> str:
    """The scenarios in a few Danish sentences (specialists; trainees are shown apart)."""
    at = comparison[comparison["year"] == year].set_index("scenario")
    base = at.loc["baseline"]
    text = (
        f"Uden nye tiltag mangler der {number(base['specialist_gap'])} speciallæger i {year} "
        f"(95 %-interval {interval_text(base['specialist_gap_low'], base['specialist_gap_high'])}"
        f")."
    )
    if "all_levers" in at.index:
        every = at.loc["all_levers"]
        text += (
            f" Med alle tiltag samtidig er tallet {number(every['specialist_gap'])} "
            f"({interval_text(every['specialist_gap_low'], every['specialist_gap_high'])}), "
            f"{number(-every['specialist_change'])} færre; tiltagene "
            f"{closes_text(every['specialist_gap'], every['specialist_gap_high'])}."
        )
    moving = levers[levers["specialist_change"] < 0]
    if len(moving):
        top = moving.iloc[0]
        text += (
            f" Alene flytter {lower_first(LEVER_LABELS[top['lever']])} "
            f"({lever_amount(top['lever'], top['amount'])}) mest: "
            f"{number(-top['specialist_change'])} færre manglende speciallæger "
            f"({interval_text(-top['specialist_change_high'], -top['specialist_change_low'])})."
        )
    return text


def closes_text(gap: float, gap_high: float) -> str:
    """Whether a gap is closed: "lukker gabet" only when the 95 % upper end is at or below
    ``CLOSES_AT``; "lukker sandsynligvis gabet" when the median is."""
    if gap_high <= CLOSES_AT:
        return "lukker gabet"
    if gap <= CLOSES_AT:
        return "lukker sandsynligvis gabet, men ikke sikkert"
    return "lukker ikke gabet"


def pool_text(runs: dict, scenario: str = "more_h_posts") -> str:
    """Whether extra H-posts stay empty for want of I-doctors (the applicant cap binds in at
    least ``POOL_BINDS_SHARE`` of the draws in the last year)."""
    if scenario not in runs:
        return ""
    share = float(runs[scenario].pool_binds[:, -1].any(axis=-1).mean())
    if share >= POOL_BINDS_SHARE:
        return (
            f"Flere H-forløb bliver kun delvis besat: i {percent(share, 0)} af simuleringerne er "
            f"der ikke læger nok i introduktionsstillinger, der går videre til hoveduddannelse, "
            f"til at fylde dem. Flere forløb skal derfor følges af flere I-læger."
        )
    return (
        f"Der er læger nok i introduktionsstillinger til at fylde de ekstra H-forløb i "
        f"{percent(1 - share, 0)} af simuleringerne."
    )


def regional_table(
    summary: pd.DataFrame, scenario: str, years: Sequence[int], start_year: int
) -> pd.DataFrame:
    """Specialists, needed specialists and the gap per region (the headline definition),
    with the doctors in training apart."""
    df = summary[(summary["scenario"] == scenario) & summary["year"].isin(years)]
    rows = []
    for r in df.itertuples():
        measured = r.year <= start_year
        needed = r.specialists + r.specialist_gap
        rows.append(
            {
                "Område": str(r.geography),
                "År": r.year,
                "Speciallæger": number(r.specialists),
                "Behov": number(needed) if np.isfinite(needed) else NOT_ESTIMATED,
                "Manglende speciallæger": number(r.specialist_gap)
                if np.isfinite(r.specialist_gap)
                else NOT_ESTIMATED,
                "95 %-interval": interval_text(
                    r.specialist_gap_low, r.specialist_gap_high, measured=measured
                ),
                "Læger under uddannelse": number(r.trainees),
            }
        )
    out = pd.DataFrame(rows)
    order = {g: i for i, g in enumerate(GEOGRAPHIES)}
    return out.sort_values(
        ["År", "Område"],
        key=lambda s: s.map(order) if s.name == "Område" else s,
        ignore_index=True,
    )


def regional_sum_text(summary: pd.DataFrame, scenario: str, year: int) -> str:
    """The regions against the nation: every simulation adds up exactly; the medians shown
    differ by the amount stated (or the regions are not defined)."""
    df = summary[(summary["scenario"] == scenario) & (summary["year"] == year)]
    nation = df[df["geography"] == NATIONAL]["specialist_gap"].iloc[0]
    regions = df[df["geography"].astype(str).isin(REGIONS)]["specialist_gap"]
    if regions.isna().all() or not np.isfinite(nation):
        return (
            "Efter denne definition er der intet regionalt gab: målene er nationale og ikke "
            "fordelt på regionerne."
        )
    total = float(regions.sum())
    difference = total - float(nation)
    if abs(difference) < 0.5:
        return f"Regionernes manglende speciallæger i {year} summer til landstallet."
    return (
        f"Regionernes manglende speciallæger i {year} summer til {number(total)} mod "
        f"landstallets {number(nation)}. I hver simulering summer regionerne præcist til landet; "
        f"forskellen på {number(abs(difference))} skyldes, at hvert tal er midten (medianen) af "
        f"sine egne simuleringer, og medianer lægges ikke sammen."
    )


# --------------------------------------------------------------------------------------------
# Demand definitions, base years and targets
# --------------------------------------------------------------------------------------------
DEFINITION_BASIS = {
    "base_ratio": "antager, at der var lige så mange speciallæger pr. patient som nødvendigt i "
    "basisåret {anchor}",
    "vacancies": "tager udgangspunkt i de målte ubesatte speciallægestillinger i {anchor} "
    "(normerede minus besatte{locum})",
    "target": "sammenligner med de nationale mål ({targets})",
}
HEADLINE_REASON = {
    "base_ratio": "den hviler på antagelsen om, at basisåret var i balance, så afsnittet om "
    "basisåret viser, hvor meget tallet flytter sig med det",
    "vacancies": "den starter fra en målt ubalance i stedet for en antagelse",
    "target": "den måler afstanden til de politisk fastsatte mål",
}


def definition_basis(code: str, inputs: Inputs, targets: list[demand_defs.Target]) -> str:
    anchor = {
        "base_ratio": inputs.base_year,
        "vacancies": inputs.vacancies.year if inputs.vacancies else None,
    }.get(code)
    locum = ", plus vikardækkede" if inputs.vacancies and inputs.vacancies.locum is not None else ""
    target_text = (
        join(
            [
                f"{number(t.value)} i "
                f"{lower_first(label_of(SPECIALTY_LABELS, t.specialty))} i {t.year}"
                for t in targets
            ]
        )
        or "ingen givet"
    )
    return DEFINITION_BASIS[code].format(anchor=anchor, locum=locum, targets=target_text)


def demand_table(
    table: pd.DataFrame, inputs: Inputs, targets: list[demand_defs.Target]
) -> pd.DataFrame:
    """The demand definitions side by side: the national specialist gap in the start year and
    in the shown year, per specialty, and whether it is the headline."""
    rows = []
    start = int(table["start_year"].iloc[0]) if len(table) else inputs.start_year
    for code, d in table.groupby("definition", sort=False):
        total = d[d["scope"] == "total"].iloc[0]
        row = {
            "Definition": DEMAND_LABELS[code] + (" (overskriften)" if total["headline"] else ""),
            "Udgangspunkt": definition_basis(code, inputs, targets),
        }
        if not total["available"]:
            row.update(
                {
                    f"Mangler i {start}": "–",
                    "Mangler (år)": "–",
                    "95 %-interval": "kan ikke beregnes",
                    "Bemærkning": note_text(str(total["notes"]).split("|")),
                }
            )
            rows.append(row)
            continue
        row[f"Mangler i {start}"] = (
            number(total["gap_start"]) if np.isfinite(total["gap_start"]) else "–"
        )
        year = total["year"]
        row["Mangler (år)"] = (
            f"{number(total['gap'])} ({int(year)})" if np.isfinite(total["gap"]) else "–"
        )
        row["95 %-interval"] = interval_text(total["gap_low"], total["gap_high"])
        for s in d[d["scope"] != "total"].itertuples():
            name = label_of(SPECIALTY_LABELS, s.scope)
            row[name] = number(s.gap) if np.isfinite(s.gap) else "–"
        if "fte_gap" in d.columns:
            row["Årsværk"] = (
                with_interval(total["fte_gap"], total["fte_gap_low"], total["fte_gap_high"])
                if inputs.fte is not None
                else FTE_NOT_GIVEN
            )
        row["Bemærkning"] = note_text(str(total["notes"]).split("|"))
        rows.append(row)
    return pd.DataFrame(rows)


def headline_text(
    table: pd.DataFrame, requested: str, used: str, note: str | None, scenario: str
) -> str:
    """Which definition is the headline and why, and the headline number."""
    total = table[(table["definition"] == used) & (table["scope"] == "total")].iloc[0]
    if note == demand_defs.NOTE_FALLBACK:
        reason = note_text(_notes_of(table, requested)) or "Den kan ikke beregnes."
        text = (
            f"params.yaml vælger »{lower_first(DEMAND_LABELS[requested])}« som overskrift, men "
            f"data tillader den ikke. {reason} Overskriften bruger derfor "
            f"»{lower_first(DEMAND_LABELS[used])}«; {HEADLINE_REASON[used]}"
        )
    else:
        text = (
            f"Overskriften bruger definitionen »{lower_first(DEMAND_LABELS[used])}« (valgt i "
            f"params.yaml: supply.demand); {HEADLINE_REASON[used]}"
        )
    text += (
        f". Efter den mangler der {number(total['gap'])} speciallæger i {int(total['year'])} "
        f"(95 %-interval {interval_text(total['gap_low'], total['gap_high'])}) i scenariet "
        f"»{lower_first(label_of(SCENARIO_LABELS, scenario))}«. Læger under uddannelse tælles ikke "
        f"med; de vises for sig."
    )
    others = table[(table["scope"] == "total") & table["available"] & (table["definition"] != used)]
    parts = [
        f"»{lower_first(DEMAND_LABELS[r.definition])}« {number(r.gap)} ({int(r.year)})"
        for r in others.itertuples()
        if np.isfinite(r.gap)
    ]
    if parts:
        text += f" De andre definitioner giver {join(parts)} manglende speciallæger."
    return text


def _notes_of(table: pd.DataFrame, code: str) -> list[str]:
    rows = table[(table["definition"] == code) & (table["scope"] == "total")]
    return str(rows["notes"].iloc[0]).split("|") if len(rows) else []


def base_year_table(table: pd.DataFrame) -> pd.DataFrame:
    """The specialist gap by base year."""
    year = int(table["year"].iloc[0])
    out = pd.DataFrame(
        {
            "Basisår": [
                f"{b}{' (valgt)' if c else ''}"
                for b, c in zip(table["base_year"], table["is_base_year"], strict=True)
            ],
            "Mangler i startåret": [number(v) for v in table["gap_start"]],
            f"Mangler i {year}": [number(v) for v in table["gap"]],
            "95 %-interval": [
                interval_text(lo, hi)
                for lo, hi in zip(table["gap_low"], table["gap_high"], strict=True)
            ],
        }
    )
    if "physicians_gap" in table.columns:
        out[f"Læger i alt, mangler i {year}"] = [number(v) for v in table["physicians_gap"]]
    return out


def base_year_text(table: pd.DataFrame) -> str:
    """How much the gap moves with the base year (the span of the medians)."""
    year = int(table["year"].iloc[0])
    low, high = table.loc[table["gap"].idxmin()], table.loc[table["gap"].idxmax()]
    chosen = table[table["is_base_year"]]
    text = (
        f"Med et andet basisår bliver det manglende antal speciallæger i {year} mellem "
        f"{number(low['gap'])} (basisår {int(low['base_year'])}) og {number(high['gap'])} "
        f"(basisår {int(high['base_year'])})"
    )
    if len(chosen):
        text += f"; med det valgte basisår {int(chosen['base_year'].iloc[0])} er det "
        text += f"{number(chosen['gap'].iloc[0])}"
    span = high["gap"] - low["gap"]
    return text + f". Valget af basisår flytter altså tallet med {number(span)} speciallæger."


def targets_table(table: pd.DataFrame, scenarios: Sequence[str]) -> pd.DataFrame:
    """P(reach) per target and scenario, with the specialists in the target year."""
    rows = []
    for r in table[table["scenario"].isin(scenarios)].itertuples():
        row = {
            "Scenarie": label_of(SCENARIO_LABELS, r.scenario),
            "Speciale": label_of(SPECIALTY_LABELS, r.specialty),
            "År": r.year,
            "Mål": number(r.target),
            "Speciallæger": with_interval(r.specialists, r.specialists_low, r.specialists_high),
            "Sandsynlighed for at nå målet": p_text(r.p_reach),
        }
        if "p_reach_fte" in table.columns:
            row["Sandsynlighed i årsværk"] = p_text(getattr(r, "p_reach_fte", float("nan")))
        rows.append(row)
    return pd.DataFrame(rows)


def targets_text(table: pd.DataFrame, scenario: str, required: float) -> str:
    rows = table[table["scenario"] == scenario]
    parts = []
    for r in rows.itertuples():
        parts.append(
            f"målet på {number(r.target)} speciallæger i "
            f"{lower_first(label_of(SPECIALTY_LABELS, r.specialty))} i {r.year} nås "
            f"{probability_words(r.p_reach, required)}: modellen giver "
            f"{number(r.specialists)} ({interval_text(r.specialists_low, r.specialists_high)})"
        )
    if not parts:
        return "Der er ingen mål at sammenligne med."
    text = (
        f"I scenariet »{lower_first(label_of(SCENARIO_LABELS, scenario))}« "
        + "; ".join(parts)
        + "."
    )
    return text[0].upper() + text[1:]


def required_table(table: pd.DataFrame) -> pd.DataFrame:
    """The extra H-posts a year needed per target, and their split by region."""
    rows = []
    for r in table.itertuples():
        if r.status == target_model.STATUS_OUTSIDE:
            continue
        posts = r.posts if np.isfinite(r.posts) else float("nan")
        row = {
            "Speciale": label_of(SPECIALTY_LABELS, r.specialty),
            "Mål": f"{number(r.target)} i {r.year}",
            "Ekstra H-forløb om året": number(posts, 1)
            if np.isfinite(posts)
            else ("kan ikke nås med H-forløb alene"),
            "Sandsynlighed": p_text(r.p_posts),
        }
        for region in REGIONS:
            row[region] = number(r.by_region[region], 1)
        rows.append(row)
    return pd.DataFrame(rows)


def required_text(
    table: pd.DataFrame, probability: float, with_scenario: str, start_year: int
) -> str:
    """What it takes per target, in words, from the solver's status codes."""
    sentences = []
    combo = lower_first(label_of(SCENARIO_LABELS, with_scenario))
    for r in table.itertuples():
        name = lower_first(label_of(SPECIALTY_LABELS, r.specialty))
        head = (
            f"For at nå {number(r.target)} speciallæger i {name} i {r.year} med mindst "
            f"{percent(probability, 0)} sandsynlighed"
        )
        if r.status == target_model.STATUS_OUTSIDE:
            sentences.append(
                f"Målet for {name} i {r.year} ligger uden for fremskrivningen ({start_year + 1} "
                f"og frem til behovets horisont); der beregnes ikke H-forløb til det."
            )
        elif r.status == target_model.STATUS_REACHED:
            sentences.append(f"{head} skal der ikke flere H-forløb til.")
        elif r.status == target_model.STATUS_POSTS:
            sentences.append(
                f"{head} skal der oprettes {number(r.posts, 1)} ekstra H-forløb om året fra "
                f"{start_year + 1} (sandsynlighed {percent(r.p_posts, 0)})."
            )
        else:
            text = (
                f"{head} er flere H-forløb ikke nok: de ekstra forløb bliver ikke besat, fordi "
                f"der ikke er læger nok i introduktionsstillinger, der går videre; med ubegrænset "
                f"mange forløb er sandsynligheden højst {percent(r.p_max_posts, 0)}."
            )
            if r.status == target_model.STATUS_TOO_LATE:
                text += (
                    f" H-forløb, der starter efter {start_year}, giver først speciallæger efter "
                    f"{r.year}."
                )
            elif r.status == target_model.STATUS_WITH_LEVERS:
                text += (
                    f" Sammen med de øvrige tiltag i »{combo}« kræver det "
                    f"{number(r.posts_with_levers, 1)} ekstra H-forløb om året."
                )
            else:
                extra = (
                    f"og {number(r.posts_with_levers, 1)} ekstra H-forløb om året"
                    if r.posts_with_levers >= 0.05
                    else "(her hjælper ekstra H-forløb heller ikke)"
                )
                text += (
                    f" Heller ikke sammen med de øvrige tiltag i »{combo}« {extra}; det kræver "
                    f"desuden {number(r.foreign_per_year, 0)} rekrutterede udenlandske læger om "
                    f"året i {name}."
                )
            sentences.append(text)
    return " ".join(sentences)


# --------------------------------------------------------------------------------------------
# Inputs, exits, working time and the backtest
# --------------------------------------------------------------------------------------------
def inputs_table(inputs: Inputs, shown_tracks: Sequence[str] | None = None) -> pd.DataFrame:
    """The model's main inputs, with where each comes from.

    The model uses every track's conversion; the page shows a track's share only where the
    retention stage publishes it (``shown_tracks``, the tracks with a value in its table; None:
    all), so a share hidden there for a small group is not given back here.
    """

    def conversion(track: str) -> str:
        if shown_tracks is not None and track not in shown_tracks:
            return HIDDEN
        return percent(conv[track][0])

    p = inputs.params
    fill = inputs.h_filled_ref.sum() / max(inputs.h_advertised_ref.sum(), 1)
    conv = inputs.conversion
    k = p["posts_reference_years"]
    spread = ", ".join(f"{number(v, 2)}" for v in inputs.fill_spread)
    rows = [
        ("Speciallæger i startåret", number(inputs.stock.sum()), f"data ({inputs.start_year})"),
        (
            "Læger under uddannelse i startåret",
            number(inputs.trainees.sum()),
            f"data ({inputs.start_year}); vises for sig, tælles ikke i gabet",
        ),
        (
            "H-forløb opslået pr. år",
            number(inputs.h_advertised.sum(), 1),
            f"gennemsnit af de sidste {k} år; niveauet trækkes med udsvinget fra år til år",
        ),
        ("Andel af H-forløb besat", percent(fill), f"de sidste {k} år"),
        (
            "Udsving i besættelsen fra år til år (logit-skala, pr. speciale)",
            spread,
            f"de sidste {p['fill_rate_variation_years']} år, ud over stikprøveusikkerheden",
        ),
        (
            "I-stillinger besat pr. år",
            number(inputs.i_filled.sum(), 1),
            f"gennemsnit af de sidste {k} år",
        ),
        (
            "Andel i H-forløb i psykiatrien inden for horisonten, almindelig I-stilling",
            conversion("regular"),
            "retention-trinnet",
        ),
        ("Samme, sammenhængende forløb", conversion("combined"), "retention-trinnet"),
        (
            "Andel af I-lægerne på sammenhængende forløb nu",
            percent(inputs.combined_share_now),
            f"data, de sidste {k} år",
        ),
        (
            "Andel af H-forløb, der gennemføres",
            percent(p["h_completion"]),
            f"antagelse (sd {percent(p['h_completion_sd'])}; data har ingen afsluttede forløb)",
        ),
        (
            "Varighed af H-forløb",
            f"{p['h_duration_years']} år",
            f"målbeskrivelsen; {percent(p['h_delay_share'][0], 0)}–"
            f"{percent(p['h_delay_share'][1], 0)} tager et år mere (antagelse)",
        ),
        (
            "Udenlandske læger, der bliver",
            percent(p["foreign_completion"]),
            f"antagelse (sd {percent(p['foreign_completion_sd'])})",
        ),
        (
            "Afgang under 60 år",
            "se tabellen nedenfor",
            f"antagelse × en faktor mellem {number(p['exit_rates_assumed_range'][0], 1)} og "
            f"{number(p['exit_rates_assumed_range'][1], 1)}",
        ),
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
                {
                    "estimated": "estimeret fra data (samme årgange fem år senere)",
                    "assumed": "antagelse (params.yaml), med interval",
                }
            ),
        }
    )


def fte_table(inputs: Inputs) -> pd.DataFrame:
    """FTE per head by grade, sex and age band (or 'FTE ikke leveret')."""
    if inputs.fte is None:
        return pd.DataFrame({"Arbejdstid": [FTE_NOT_GIVEN]})
    df = inputs.fte.per_head
    df = df[df["headcount"] > 0]
    return pd.DataFrame(
        {
            "Gruppe": df["grade"].map(GRADE_LABELS),
            "Køn": df["sex"].map(SEX_LABELS),
            "Aldersgruppe": df["age_band"],
            "Årsværk pr. person": [number(v, 2) for v in df["fte_per_head"]],
        }
    )


def fte_text(inputs: Inputs) -> str:
    if inputs.fte is None:
        return NOTE_TEXT[NOTE_FTE_MISSING]
    first, last = inputs.fte.years
    per_head = (inputs.stock * inputs.fte.specialist).sum() / max(inputs.stock.sum(), 1)
    by = "køn og aldersgruppe" if inputs.fte.by_sex else "aldersgruppe (data har ikke køn)"
    return (
        f"Arbejdstiden er estimeret fra lægedata {first}–{last} pr. {by}: en speciallæge er i "
        f"gennemsnit {number(per_head, 2)} årsværk. Tallene i årsværk står ved siden af "
        f"hovederne."
    )


def backtest_table(result: pd.DataFrame) -> pd.DataFrame:
    national = result[result["geography"] == NATIONAL]
    start = int(result["year"].min())
    return pd.DataFrame(
        {
            "Gruppe": national["grade"].map(GRADE_LABELS),
            "År": national["year"],
            "Model (median)": [number(v) for v in national["projected"]],
            "80 %-interval": [
                interval_text(lo, hi, measured=y == start)
                for lo, hi, y in zip(
                    national["low80"], national["high80"], national["year"], strict=True
                )
            ],
            "95 %-interval": [
                interval_text(lo, hi, measured=y == start)
                for lo, hi, y in zip(
                    national["low95"], national["high95"], national["year"], strict=True
                )
            ],
            "Data": [number(v) for v in national["observed"]],
            "Afvigelse": [percent(v) for v in national["ape"]],
        }
    )


def backtest_text(result: pd.DataFrame) -> str:
    national = result[(result["geography"] == NATIONAL) & (result["year"] > result["year"].min())]
    start, end = int(result["year"].min()), int(result["year"].max())
    parts = []
    for grade, label in (("specialist", "speciallæger"), ("trainee", "læger under uddannelse")):
        d = national[national["grade"] == grade]
        parts.append(
            f"for {label} {percent(d['ape'].mean())} i gennemsnit (højst "
            f"{percent(d['ape'].max())}); {number(d['inside80'].sum())} af {len(d)} år lå inden "
            f"for 80 %-intervallet og {number(d['inside95'].sum())} inden for 95 %-intervallet"
        )
    return (
        f"Startet i {start} med kun de data, der fandtes da (også overgangen fra I- til "
        f"H-forløb), ramte modellen årene {start + 1}–{end} med en afvigelse "
        f"{parts[0]}; {parts[1]}."
    )


def notes_text(notes: Sequence[str]) -> str:
    """The stage's notes as a paragraph (empty when there are none)."""
    return note_text(list(notes))
