"""The leadership report: the headline, key numbers, captions and sources, from the metrics.

``notebooks/09_ledelse.py`` computes nothing: every number here comes from a stage's metrics
(``reports/metrics/<stage>.json``), tables or the dataset description, and every sentence that
states a direction, a size or a verdict is decided by ``pipeline.publish.findings`` from those
numbers. ``tests/test_report.py`` gives each claim metrics that make it true and metrics that
flip it.

The headline is the supply model's (the flows of doctors through training, retirement and
recruitment, ``analysis/supply``): its gap in specialists in the horizon year under the demand
definition chosen in ``supply.demand``. The growth stage's trend-based gap is shown beside it
only as a comparison, with why the two differ.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data.catalog import Catalog
from pipeline.publish import findings
from pipeline.publish.fmt import HIDDEN, date, join, number, percent
from pipeline.publish.labels import (
    DEMAND_LABELS,
    INPUT_LABELS,
    LEVER_LABELS,
    SCENARIO_LABELS,
    SPECIALTY_LABELS,
    label_of,
    lever_amount,
    lower_first,
)

HEADLINE_SCENARIO = "baseline"  # the headline assumes no new initiatives
ALL_LEVERS = "all_levers"
# The supply model's notes (``pipeline.analysis.supply``) the page explains.
NOTE_FALLBACK = "headline_fallback"
STATUS_WORDS = {
    "reached_without_posts": "nås uden ekstra H-forløb",
    "target_before_first_graduates": (
        "ligger før de første nye H-forløb kan nå at blive færdige, så flere H-forløb kan ikke "
        "nå det"
    ),
}


# --- small readers of the metrics ------------------------------------------------------------
def _triple(section: dict[str, Any], key: str, low: str = "_pi_low", high: str = "_pi_high"):
    return section.get(key), section.get(f"{key}{low}"), section.get(f"{key}{high}")


def horizon_year(metrics: dict[str, dict[str, Any]]) -> int:
    """The year the key numbers run to: ``growth.horizon_year`` (as the figures do)."""
    return int(metrics["growth"]["horizon_year"])


def key_years(metrics: dict[str, dict[str, Any]]) -> list[int]:
    """The years with a gap in the growth metrics: ``growth.target_years`` and the horizon."""
    g = metrics["growth"]
    return sorted(int(k.split("_")[1]) for k in g if k.startswith("gap_") and k.count("_") == 1)


def _supply_gap(s: dict[str, Any], year: int, scenario: str | None = None):
    """The supply model's specialist gap in ``year`` (a scenario's, or the headline's)."""
    section = s if scenario is None else s.get("scenarios", {}).get(scenario, {})
    return _triple(section, f"specialist_gap_{year}")


def _has(value: Any) -> bool:
    return value is not None and value == value  # not None, not NaN


def demand_phrase(s: dict[str, Any]) -> str:
    """What "needed" means under the headline demand definition, in words."""
    used = s.get("headline_demand") or "base_ratio"
    anchor = s.get("demand", {}).get(used, {}).get("anchor_year")
    anchor_text = f" i {int(anchor)}" if _has(anchor) else ""
    text = {
        "base_ratio": (
            f"det antal speciallæger, der giver lige så mange patienter pr. speciallæge som"
            f"{anchor_text}"
        ),
        "vacancies": (
            f"de besatte speciallægestillinger plus de ubesatte{anchor_text}, og behovet vokser "
            "med patienttallet"
        ),
        "target": "de nationale mål for antallet af speciallæger",
    }[used]
    requested = s.get("headline_demand_requested")
    if s.get("headline_demand_note") == NOTE_FALLBACK and requested and requested != used:
        text += (
            f" (params.yaml beder om »{lower_first(DEMAND_LABELS[requested])}«, men data "
            "har ikke det, den kræver)"
        )
    return text


def strongest_lever(s: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The lever that lowers the specialist gap most on its own, or None."""
    levers = {k: v for k, v in s.get("levers", {}).items() if _has(v.get("specialist_gap_change"))}
    if not levers:
        return None
    name = min(levers, key=lambda k: levers[k]["specialist_gap_change"])
    return name, levers[name]


def strongest_lever_effect(s: dict[str, Any], kind: str) -> tuple[str, dict[str, Any], str] | None:
    """The strongest lever (``strongest_lever``), its metrics and its effect in words for a gap
    of ``kind`` (``findings.lever_effect``), or None."""
    lever = strongest_lever(s)
    if lever is None:
        return None
    name, entry = lever
    effect = findings.lever_effect(
        entry["specialist_gap_change"],
        entry.get("specialist_gap_change_pi_low"),
        entry.get("specialist_gap_change_pi_high"),
        kind,
    )
    return name, entry, effect


def largest_uncertainty(s: dict[str, Any]) -> str | None:
    """The uncertain input that alone gives the widest interval of the gap, or None."""
    inputs = {
        k: v["width"]
        for k, v in s.get("sensitivity", {}).items()
        if k != "all" and _has(v.get("width")) and v["width"] > 0
    }
    return max(inputs, key=inputs.get) if inputs else None


# --- the headline box ------------------------------------------------------------------------
def headline(metrics: dict[str, dict[str, Any]]) -> str:
    """The box the page opens with (HTML): the shortage or surplus of specialists in the horizon
    year from the supply model, its 95 % interval, what changes it most, and the growth model's
    number as a labelled comparison."""
    g, s = metrics["growth"], metrics.get("supply", {})
    year = horizon_year(metrics)
    gap, low, high = _supply_gap(s, year)
    growth_gap, growth_low, growth_high = _triple(g, f"gap_{year}")
    if not _has(gap):  # no supply model: the growth model is the only number
        verdict = findings.shortage(growth_gap, growth_low, growth_high)
        lines = [
            f'<p class="big">I {year} {escape(verdict)}.</p>',
            "<p>Tallet kommer fra vækstmodellen: det antal læger, der giver lige så mange "
            f"patienter pr. læge som i {g['base_year']}, minus de læger, trenden giver.</p>",
        ]
        return _box(lines)
    kind = findings.estimate_kind(gap)
    scenario = label_of(SCENARIO_LABELS, s.get("headline_scenario", HEADLINE_SCENARIO))
    lines = [
        f'<p class="big">I {year} {escape(findings.shortage(gap, low, high, "speciallæger"))}.</p>',
        "<p>Tallet kommer fra <strong>forsyningsmodellen</strong>, der følger lægerne gennem "
        f"uddannelse, pension og rekruttering år for år, i scenariet »{escape(scenario)}« (ingen "
        f"nye tiltag). Behovet er {escape(demand_phrase(s))}.",
    ]
    trainees = s.get(f"trainees_{year}")
    if _has(trainees):
        lines[-1] += f" Læger under uddannelse tælles for sig: {number(trainees)} i {year}."
    lines[-1] += "</p>"
    lever = strongest_lever_effect(s, kind)
    if lever is not None:
        name, entry, effect = lever
        lines.append(
            f"<p><strong>Det tiltag, der alene flytter mest:</strong> "
            f"{escape(lever_amount(name, entry.get('amount')))} {escape(effect)} i {year}.</p>"
        )
    source = largest_uncertainty(s)
    if source is not None:
        lines.append(
            f"<p><strong>Den største usikkerhed</strong> kommer fra "
            f"{escape(lower_first(INPUT_LABELS.get(source, source)))}.</p>"
        )
    if _has(growth_gap):
        comparison = findings.shortage(growth_gap, growth_low, growth_high, "læger")
        lines.append(
            f'<p class="comparison"><strong>Til sammenligning</strong> (ikke hovedtallet): '
            f"vækstmodellen siger: i {year} {escape(comparison)}. Den tæller alle læger, "
            f"også læger under uddannelse, forlænger blot trenden i antallet af patienter og "
            f"læger og sætter behovet ved lige så mange patienter pr. læge som i "
            f"{g['base_year']}. Forsyningsmodellen tæller speciallæger, følger tilgang og afgang "
            "og bruger behovet ovenfor; derfor er det den, overskriften bygger på.</p>"
        )
    return _box(lines)


def _box(lines: list[str]) -> str:
    body = "\n".join(lines)
    return f'<div class="headline" role="region" aria-label="Hovedresultat">\n{body}\n</div>'


# --- key numbers -----------------------------------------------------------------------------
def key_numbers(metrics: dict[str, dict[str, Any]], info: dict[str, Any]) -> str:
    """The key numbers as a Danish bullet list (markdown)."""
    g, r, s = metrics["growth"], metrics.get("retention", {}), metrics.get("supply", {})
    first, last = info["years"]["patients"]
    lines = [
        f"* **Patienter:** antallet af patienter i regionspsykiatrien "
        f"{findings.growth(*_triple(g, 'patients_growth_rate', '_ci_low', '_ci_high'))} "
        f"fra {first} til {last}.",
        f"* **Læger:** antallet af læger i psykiatrien "
        f"{findings.growth(*_triple(g, 'physicians_growth_rate', '_ci_low', '_ci_high'))}.",
    ]
    if _has(g.get("growth_rate_difference")):
        comparison = findings.growth_comparison(
            g["patients_growth_rate"],
            g["physicians_growth_rate"],
            *_triple(g, "growth_rate_difference", "_ci_low", "_ci_high"),
        )
        lines.append(f"* **Patienter og læger:** {comparison}.")
    parts = [f"i {y} {findings.shortage(*_triple(g, f'gap_{y}'))}" for y in key_years(metrics)]
    lines.append(
        f"* **Vækstmodellen:** skal der være lige så mange patienter pr. læge som i "
        f"{g['base_year']}, {'; '.join(parts)}. {findings.model_choice(g)}"
    )
    lines += _retention_lines(r)
    lines += _supply_lines(s, horizon_year(metrics))
    return "\n".join(lines)


def _retention_lines(r: dict[str, Any]) -> list[str]:
    lines = []
    cif, low, high = _triple(r, "cif_h_at_horizon", "_ci_low", "_ci_high")
    if _has(cif):
        who = f"de {number(r['n_trainees'])} læger" if _has(r.get("n_trainees")) else "lægerne"
        lines.append(
            f"* **Fra introduktionsstilling til hoveduddannelse:** {percent(cif)} af {who} i "
            f"introduktionsstilling var i H-forløb i psykiatrien inden for "
            f"{number(r['horizon_years'])} år ({findings.ci(low, high, percent)})."
        )
    hr, low, high = _triple(r, "hr_combined_track", "_ci_low", "_ci_high")
    if _has(hr):
        lines.append(
            f"* **Sammenhængende forløb:** læger, der fik I- og H-stilling samlet, "
            f"{findings.moves_faster(hr, low, high)} til H-forløb end læger i almindelig "
            f"introduktionsstilling, alt andet lige: deres rate for at starte i H-forløb var "
            f"{number(hr, 1)} gange de andres ({findings.ci(low, high, lambda v: number(v, 1))})."
        )
    else:
        lines.append("* **Sammenhængende forløb:** effekten kan ikke beregnes ud fra disse data.")
    fill = fill_sentence(r)
    if fill:
        lines.append(f"* **Besættelse:** {fill}")
    return lines


def fill_sentence(r: dict[str, Any]) -> str | None:
    """How many I- and H-posts were filled in the last years, from the retention metrics."""
    i_rate, h_rate = r.get("i_fill_rate_recent"), r.get("h_fill_rate_recent")
    if not _has(h_rate):
        return None
    span = f"{r['fill_rate_recent_from']}–{r['fill_rate_recent_to']}"
    i_text = (
        f"blev {percent(i_rate, 0)} af introduktionsstillingerne besat, og " if _has(i_rate) else ""
    )
    return f"I {span} {i_text}{findings.posts_left_empty(h_rate)}."


def _supply_lines(s: dict[str, Any], year: int) -> list[str]:
    lines = []
    base = _supply_gap(s, year, HEADLINE_SCENARIO)
    every = _supply_gap(s, year, ALL_LEVERS)
    if _has(base[0]) and _has(every[0]):
        lines.append(
            f"* **Tiltag:** uden nye tiltag {findings.shortage(*base, 'speciallæger')} i {year}. "
            f"Alle tiltag samtidig {findings.closes_the_gap(*every, before=base)}: så "
            f"{findings.shortage(*every, 'speciallæger')}."
        )
    definitions = definitions_line(s)
    if definitions:
        lines.append(definitions)
    required = s.get("required_probability")
    for specialty, target in sorted(s.get("target", {}).items()):
        name = lower_first(label_of(SPECIALTY_LABELS, specialty))
        words = findings.probability_words(target.get("p_reach"), required or 0.8)
        text = (
            f"* **Mål for {name}:** {number(target['value'])} speciallæger i {target['year']} "
            f"({target['name']}) nås {words} uden nye tiltag"
        )
        need = required_sentence(s, specialty)
        lines.append(f"{text}. {need}" if need else f"{text}.")
    return lines


def definitions_line(s: dict[str, Any]) -> str | None:
    """The horizon year's gap under every demand definition the data allow, side by side, and
    which one the headline uses and why; None with fewer than two."""
    shown = [
        (name, entry)
        for name, entry in s.get("demand", {}).items()
        if entry.get("available") and _has(entry.get("specialist_gap"))
    ]
    if len(shown) < 2:
        return None
    year = int(shown[0][1]["year"])
    parts = [
        f"med »{lower_first(DEMAND_LABELS.get(name, name))}« "
        + findings.shortage(
            entry["specialist_gap"],
            entry.get("specialist_gap_pi_low"),
            entry.get("specialist_gap_pi_high"),
            "speciallæger",
        )
        for name, entry in shown
    ]
    used = s.get("headline_demand") or "base_ratio"
    why = (
        "den bygger på en målt mangel (de ubesatte stillinger) frem for en antagelse om, at et "
        "basisår var i balance"
        if used == "vacancies"
        else "den er valgt i params.yaml (`supply.demand`)"
    )
    if s.get("headline_demand_note") == NOTE_FALLBACK:
        why = "data har ikke det, den valgte definition kræver"
    return (
        f"* **Behovet defineret på flere måder:** i {year} {'; '.join(parts)}. Overskriften "
        f"bruger »{lower_first(DEMAND_LABELS.get(used, used))}«, fordi {why}."
    )


def required_sentence(s: dict[str, Any], specialty: str) -> str | None:
    """What reaching a target takes, from the supply model's solver (its status codes)."""
    status = s.get("required_h_posts_status", {}).get(specialty)
    p = s.get("required_probability")
    if status is None or p is None:
        return None
    head = f"For at nå det med {percent(p, 0)} sandsynlighed"
    if status in STATUS_WORDS:
        return f"Målet {STATUS_WORDS[status]}."
    posts = s.get("required_h_posts", {}).get(specialty)
    if status == "posts" and _has(posts):
        return f"{head} skal der {number(posts, 1)} ekstra H-forløb til om året."
    with_levers = s.get("required_h_posts_with_levers", {}).get(specialty)
    if status == "posts_with_levers" and _has(with_levers):
        return (
            f"{head} er flere H-forløb ikke nok alene (der er ikke ansøgere nok); sammen med de "
            f"øvrige tiltag skal der {number(with_levers, 1)} ekstra H-forløb til om året."
        )
    foreign = s.get("required_foreign_per_year", {}).get(specialty)
    if status == "posts_levers_and_foreign" and _has(foreign):
        return (
            f"{head} er flere H-forløb ikke nok, heller ikke sammen med de øvrige tiltag; det "
            f"kræver desuden {number(foreign)} udenlandske læger om året."
        )
    return None


# --- figures ---------------------------------------------------------------------------------
FIGURES = (
    "growth/indeks_danmark",
    "growth/fremskrivning_danmark",
    "retention/cif_track",
    "retention/besaettelse",
    "supply/tiltag",
    "supply/scenarier",
)
ALT = {
    "growth/indeks_danmark": (
        "Linjediagrammer: antal patienter (fuld linje) og læger (stiplet) som indeks med "
        "basisåret = 100, i alt, for voksne og for børn og unge."
    ),
    "growth/fremskrivning_danmark": (
        "Vifte-diagrammer: patienter og læger, data og fremskrivning med 80\u00a0%- og "
        "95\u00a0%-intervaller."
    ),
    "retention/cif_track": (
        "Trappekurver, en pr. type forløb: andelen af læger i introduktionsstilling, der er "
        "kommet i H-forløb i psykiatrien, efter år siden start, med 95\u00a0%-bånd."
    ),
    "retention/besaettelse": (
        "Linjediagrammer: andelen af I- og H-stillinger, der blev besat, pr. år og speciale, "
        "med 95\u00a0%-interval."
    ),
    "supply/tiltag": (
        "To vandrette søjlediagrammer: ændringen i manglende speciallæger for hvert tiltag "
        "alene, og intervallet, når kun ét input er usikkert."
    ),
    "supply/scenarier": (
        "Vifte-diagrammer, et pr. scenarie: speciallæger (fuld linje), behovet for "
        "speciallæger (stiplet) og læger under uddannelse (prikket), med 95\u00a0%-intervaller."
    ),
}


def captions(metrics: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One caption per figure (keyed stage/name), each finding in it decided by the numbers;
    a figure whose numbers are missing gets a caption that says only what it shows."""
    g, r, s = metrics["growth"], metrics.get("retention", {}), metrics.get("supply", {})
    year = horizon_year(metrics)
    out = {}
    comparison = (
        findings.growth_comparison(
            g["patients_growth_rate"],
            g["physicians_growth_rate"],
            *_triple(g, "growth_rate_difference", "_ci_low", "_ci_high"),
        )
        if _has(g.get("growth_rate_difference"))
        else ""
    )
    out["growth/indeks_danmark"] = (
        f"Patienter (fuld linje) og læger (stiplet) som indeks, {g['base_year']} = 100. "
        f"{comparison}."
    )
    patients = findings.trend_verb(*_triple(g, "patients_growth_rate", "_ci_low", "_ci_high"))
    physicians = findings.trend_verb(*_triple(g, "physicians_growth_rate", "_ci_low", "_ci_high"))
    out["growth/fremskrivning_danmark"] = (
        f"Fremskrivning til {year}. Fortsætter udviklingen, {patients} patienttallet, og "
        f"lægetallet {physicians}; jo længere frem, jo bredere er båndene af mulige udfald "
        "(80\u00a0%- og 95\u00a0%-intervaller)."
    )
    hr, low, high = _triple(r, "hr_combined_track", "_ci_low", "_ci_high")
    out["retention/cif_track"] = (
        "Andelen af læger i introduktionsstilling, der er kommet i H-forløb i psykiatrien, efter "
        "år siden start, for hver type forløb."
        + (
            f" Læger på sammenhængende forløb {findings.moves_faster(hr, low, high)} end læger i "
            "almindelig introduktionsstilling, alt andet lige (Cox-modellen)."
            if _has(hr)
            else ""
        )
    )
    fill = fill_sentence(r)
    out["retention/besaettelse"] = "Andelen af opslåede stillinger, der blev besat, pr. år." + (
        f" {fill}" if fill else ""
    )
    base = _supply_gap(s, year, HEADLINE_SCENARIO)
    kind = findings.estimate_kind(base[0]) if _has(base[0]) else "shortage"
    lever = strongest_lever_effect(s, kind)
    text = (
        f"Til venstre: hvor meget hvert tiltag alene ændrer antallet af manglende speciallæger "
        f"i {year}, med tiltagets størrelse ved søjlen (scenarierne i tabellen kan bruge andre "
        "størrelser)."
    )
    if lever is not None:
        name, _, effect = lever
        text += f" {LEVER_LABELS.get(name, name)} {effect}."
    source = largest_uncertainty(s)
    text += " Til højre: intervallet for de manglende speciallæger, når kun ét input er usikkert"
    text += f"; {lower_first(INPUT_LABELS.get(source, source))} betyder mest." if source else "."
    out["supply/tiltag"] = text
    every = _supply_gap(s, year, ALL_LEVERS)
    text = (
        "Speciallæger (fuld linje) og behovet for speciallæger (stiplet) i hvert scenarie; læger "
        "under uddannelse (prikket) tælles for sig."
    )
    if _has(base[0]) and _has(every[0]):
        text += (
            f" Uden nye tiltag {findings.shortage(*base, 'speciallæger')} i {year}; alle "
            f"tiltag samtidig {findings.closes_the_gap(*every, before=base)}."
        )
    out["supply/scenarier"] = text
    return {key: out[key] for key in FIGURES}


def figure_path(catalog: Catalog, key: str) -> Path:
    stage, name = key.split("/")
    return catalog.figure_path(stage, name)


# --- how to read, sources --------------------------------------------------------------------
def how_to_read(metrics: dict[str, dict[str, Any]], min_cell: int) -> str:
    """How to read the page, including which uncertainties the intervals hold and which stated
    assumptions they leave out (from the supply model's sensitivity analysis)."""
    s = metrics.get("supply", {})
    sensitivity = s.get("sensitivity", {})
    drawn = [
        lower_first(INPUT_LABELS.get(k, k))
        for k, v in sensitivity.items()
        if k != "all" and _has(v.get("width")) and v["width"] > 0
    ]
    fixed = [
        lower_first(INPUT_LABELS.get(k, k))
        for k, v in sensitivity.items()
        if k != "all" and _has(v.get("width")) and v["width"] <= 0
    ]
    held = (
        f"Forsyningsmodellens intervaller rummer usikkerheden i {join(drawn)}."
        if drawn
        else "Forsyningsmodellens intervaller rummer kun de tilfældige udsving."
    )
    if fixed:
        fixed_text = join([f"»{f}«" for f in fixed])
        held += f" »{fixed_text[1:2].upper()}{fixed_text[2:]} er holdt fast i denne beregning."
    marks = (
        "* **Tiltag på figurerne:** en lodret stiplet linje markerer, hvornår et af regionernes "
        "tiltag startede, og en grå flade (regionalt tiltag) eller en skravering (landsdækkende) "
        "hvor længe det løb; teksten er tiltagets kode fra tabellen »Tiltag og effekt«.\n"
        if metrics.get("initiatives")
        else ""
    )
    return f"""## Sådan læser du rapporten

* **Manglende speciallæger** er behovet minus de speciallæger, der er (eller forventes).
  Behovet er {demand_phrase(s)}. Et negativt gab er et overskud.
* **Et 95\u00a0%-interval** er det område, tallet med stor sandsynlighed ligger i. Et bredt
  interval betyder, at fremtiden er usikker – ikke at beregningen er forkert.
* **Hvad intervallerne rummer:** {held} Vækstmodellens intervaller rummer usikkerheden i
  trenden og i udsvingene fra år til år, kalibreret på tidligere år.
* **Hvad intervallerne ikke rummer:** de antagelser, rapporten bygger på – tiltagenes
  størrelse, definitionen af behovet, forløbenes længde, og at de kommende år ligner de seneste.
  En størrelse, der er antaget og ikke estimeret, står som »antaget«.
* **Fremskrivninger** viser, hvad der sker, hvis udviklingen fortsætter; de er ikke
  forudsigelser af politiske beslutninger.
* **Små tal:** tal for færre end {min_cell} personer vises ikke; de står som »{HIDDEN}«.
{marks}* De fulde analyser med metoder og kode findes under »Fuld analyse« på forsiden.
"""


def sources(info: dict[str, Any], reference: pd.DataFrame, version: str) -> str:
    """Where the numbers come from, in Danish."""
    kind = (
        "syntetiske demodata (ikke rigtige personer eller tal)"
        if info.get("synthetic")
        else "dataudtræk"
    )
    first, last = info["years"]["patients"]
    published = sorted({str(src) for src in reference["source"]})
    listed = "\n".join(f"  * {src}" for src in published)
    return f"""## Data og kilder

* **Data:** {kind} fra `{info["raw_dir"]}`, årene {first}–{last}.
* **Udtræksdato:** {date(info["extract_date"])}.
* **Beregnet med:** lægedækningsmodellen, kodeversion `{version}`. Alle tal og alle udsagn om
  retning og størrelse er beregnet af analysekoden ud fra data; intet er rettet i hånden.
* **Publicerede tal** til sammenligning:
{listed}
"""


def intro(info: dict[str, Any]) -> str:
    """What the report is about and what it builds on."""
    first, last = info["years"]["patients"]
    demo = (
        (
            " Tallene er **syntetiske demodata**: de viser, hvordan rapporten ser ud, men siger "
            "intet om virkeligheden."
        )
        if info.get("synthetic")
        else ""
    )
    return (
        f"Rapporten samler analyserne af patienter, læger og uddannelsesforløb i "
        f"regionspsykiatrien: hvor hurtigt patienterne og lægerne bliver flere, hvor mange "
        f"speciallæger der mangler, hvor mange læger i introduktionsstilling der fortsætter i "
        f"hoveduddannelse, og hvad forskellige tiltag kan gøre. Den bygger på data for "
        f"{first}–{last}, udtrukket {date(info['extract_date'])}.{demo}"
    )
