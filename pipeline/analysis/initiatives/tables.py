"""The initiatives stage's tables and sentences in Danish, computed from the model's numbers.

Every verdict is recomputed from the numbers of a result row with the model's own rule
(``model.verdict``) and names the threshold that decided it: the 95 % interval against 0, the
pre-trend p-value against ``model.PRE_TREND_ALPHA`` (0.10), and for "no detectable change" the
minimum detectable effect (80 % power). Effects of shares are in percentage points
("procentpoint"), of the headcount in percent ("%").

A result row is a row of ``model.evaluate``'s results or of the saved ``initiatives/effects``
table (the same columns without the result objects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from pipeline.analysis.initiatives import model
from pipeline.publish.fmt import MONTHS, join, number
from pipeline.publish.labels import INITIATIVE_OUTCOME_LABELS, SPECIALTY_LABELS, lower_first

UNIT_WORDS = {"percentage_points": "procentpoint", "percent": "%"}
VERDICT_SHORT = {
    "increase": "Stigning",
    "decrease": "Fald",
    "no_detectable_change": "Ingen påviselig ændring",
    "pre_trend": "Forskellige tendenser før start",
    "not_estimable": "Kan ikke vurderes",
}
# Why a result has no verdict, in words a regional director can act on.
REASON_TEXT = {
    "national": "landsdækkende tiltag uden sammenligningsregioner",
    "unknown_region": "regionen er ikke en af de fem regioner",
    "unknown_specialty": "specialet er ikke psykiatri eller børne- og ungdomspsykiatri",
    "unknown_outcome": "udfaldet er ikke et af dem, analysen kan måle",
    "no_start": "tiltaget har ingen startdato",
    "too_short": "tiltaget dækker ikke mindst et halvt kalenderår",
    "no_data": "der er ingen data for regionen på dette udfald",
    "no_comparison_regions": "der er ingen andre regioner at sammenligne med",
    "start_before_data": "tiltaget startede, før data begynder",
    "start_after_data": "der er endnu ingen data fra tiltagets start",
    "not_identified": "regionens ændring kan ikke skilles fra den fælles udvikling i alle regioner",
    "too_few_placebos": "for få år og regioner til et ærligt 95 %-interval",
    "unbounded_interval": "data kan ikke afgrænse effekten (95 %-intervallet er ubegrænset)",
}
REGION_WORDS = {model.NATIONAL: "hele landet"}


# --------------------------------------------------------------------------------------------
# Numbers in their units
# --------------------------------------------------------------------------------------------
def _missing(value: Any) -> bool:
    """None, NaN, NA or NaT (a missing end date, a result without an interval)."""
    if value is None or isinstance(value, str):
        return value is None
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def amount(value: Any, unit: str, *, signed: bool = True) -> str:
    """An effect in its unit: ``0.042`` -> ``"+4,2 procentpoint"``, ``-0.031`` (percent) ->
    ``"−3,1 %"``; ``signed=False`` drops the sign (a size, such as the minimum detectable
    effect); missing -> ``"–"``."""
    if _missing(value):
        return "–"
    v = 100 * float(value)
    text = number(abs(v) if not signed else v, 1)
    if signed and text.lstrip("−") != "0,0" and v > 0:
        text = "+" + text
    return f"{text}\u00a0%" if unit == "percent" else f"{text} procentpoint"


def interval_text(low: Any, high: Any, unit: str) -> str:
    """``"−1,0 til +7,5 procentpoint"``; ``"–"`` without an interval."""
    if _missing(low) or _missing(high):
        return "–"
    word = "\u00a0%" if unit == "percent" else " procentpoint"
    return f"{amount(low, unit).removesuffix(word)} til {amount(high, unit)}"


def p_text(p: Any) -> str:
    """A p-value with three decimals (randomisation p-values are at least 1 / (1 + placebos))."""
    return "–" if _missing(p) else number(float(p), 3)


def region_text(region: Any) -> str:
    return REGION_WORDS.get(str(region), str(region))


def outcome_text(outcome: Any) -> str:
    return INITIATIVE_OUTCOME_LABELS.get(str(outcome), str(outcome))


def month_year(value: Any) -> str:
    """``2018-09-01`` -> ``"september 2018"``."""
    ts = pd.Timestamp(value)
    return f"{MONTHS[ts.month - 1]} {ts.year}"


# --------------------------------------------------------------------------------------------
# Verdicts, from the numbers
# --------------------------------------------------------------------------------------------
def verdict_code(row: Mapping[str, Any]) -> str:
    """The verdict of a result row, recomputed from its numbers by ``model.verdict``:
    not estimable; pre-trend p below 0.10; the 95 % interval above 0 (increase) or below 0
    (decrease); otherwise no detectable change."""
    result = model.EffectResult(
        region=str(row.get("region", "")),
        start_year=None,
        end_year=None,
        estimable=bool(row["estimable"]),
        reason=None if _missing(row.get("reason")) else row.get("reason"),
        verdict="",
        unit=str(row.get("unit", "percentage_points")),
        effect=_number(row.get("effect")),
        ci_low=_number(row.get("ci_low")),
        ci_high=_number(row.get("ci_high")),
        pre_trend_p=_number(row.get("pre_trend_p")),
    )
    return model.verdict(result)


def reason_text(row: Mapping[str, Any]) -> str:
    """Why a result cannot be judged, in Danish."""
    reason = "" if _missing(row.get("reason")) else str(row["reason"])
    text = REASON_TEXT.get(reason, "data kan ikke svare")
    if reason == "too_few_placebos":
        text += f" (kun {int(row.get('n_placebos', 0))} placebo-tiltag)"
    return text


def verdict_text(row: Mapping[str, Any]) -> str:
    """The short verdict of the leadership table, with the threshold that decided it.

    * "Stigning (hele 95 %-intervallet over 0)" / "Fald (hele 95 %-intervallet under 0)";
    * "Ingen påviselig ændring (data kunne kun have set ændringer større end X)", X the minimum
      detectable effect at 80 % power; or that the data cannot bound the effect;
    * "Forskellige tendenser før start – effekten kan ikke adskilles (p = ... under 0,10)";
    * "Kan ikke vurderes: <reason>".

    When another initiative of the same region on the same outcome started within the data's
    years, the verdict says that the two cannot be told apart.
    """
    text = _verdict_text(row)
    here = _ids(row.get("concurrent_here"))
    if here and not _missing(row.get("effect")):
        text += f"; regionen havde også {join(here)} på samme udfald – kan ikke skilles ad"
    return text


def _verdict_text(row: Mapping[str, Any]) -> str:
    code = verdict_code(row)
    unit = str(row.get("unit", "percentage_points"))
    if code == "increase":
        return "Stigning (hele 95 %-intervallet over 0)"
    if code == "decrease":
        return "Fald (hele 95 %-intervallet under 0)"
    if code == "pre_trend":
        return (
            "Forskellige tendenser før start – effekten kan ikke adskilles "
            f"(p = {p_text(row['pre_trend_p'])} for ens udvikling før start; "
            f"grænsen er {number(model.PRE_TREND_ALPHA, 2)})"
        )
    if code == "not_estimable":
        return f"Kan ikke vurderes: {reason_text(row)}"
    if _missing(row.get("ci_low")) or _missing(row.get("ci_high")):
        return "Ingen påviselig ændring – data kan ikke afgrænse effekten"
    if _missing(row.get("mde")):
        return "Ingen påviselig ændring (data kunne ikke have set selv meget store ændringer)"
    return (
        "Ingen påviselig ændring (data kunne kun have set ændringer større end "
        f"{amount(row['mde'], unit, signed=False)})"
    )


def change_text(row: Mapping[str, Any]) -> str:
    """The estimate with its 95 % interval: ``"+4,2 procentpoint (−1,0 til +9,5)"``."""
    unit = str(row.get("unit", "percentage_points"))
    if _missing(row.get("effect")):
        return "–"
    word = "\u00a0%" if unit == "percent" else " procentpoint"
    if _missing(row.get("ci_low")) or _missing(row.get("ci_high")):
        return f"{amount(row['effect'], unit)} (intet interval)"
    low = amount(row["ci_low"], unit).removesuffix(word)
    high = amount(row["ci_high"], unit).removesuffix(word)
    return f"{amount(row['effect'], unit)} ({low} til {high})"


def _ids(value: Any) -> list[str]:
    return [] if _missing(value) or str(value) == "" else str(value).split("|")


def result_text(row: Mapping[str, Any]) -> str:
    """One paragraph for one initiative and outcome: what changed, how sure, and why.

    The first sentence is the verdict with its numbers; notes follow (few years, no pre-trend
    check, other initiatives at the same time).
    """
    code = verdict_code(row)
    unit = str(row.get("unit", "percentage_points"))
    region = region_text(row["region"])
    label = outcome_text(row["outcome"])
    effect = amount(row.get("effect"), unit)
    ci = interval_text(row.get("ci_low"), row.get("ci_high"), unit)
    if code in ("increase", "decrease"):
        word, side = ("steg", "over") if code == "increase" else ("faldt", "under")
        text = (
            f"**{label}:** {VERDICT_SHORT[code].lower()}. I {region} {word} udfaldet med "
            f"{amount(row['effect'], unit, signed=False)} mere end i de øvrige regioner "
            f"(95 %-interval {ci}). Hele intervallet ligger {side} 0, så ændringen er større, "
            "end tilfældige forskelle mellem regioner og år kan forklare "
            f"(p = {p_text(row.get('p_value'))})."
        )
    elif code == "pre_trend":
        text = (
            f"**{label}:** forskellige tendenser før start. Allerede i årene før start udviklede "
            f"{region} sig anderledes end de øvrige regioner (p = {p_text(row['pre_trend_p'])} "
            f"for ens udvikling; grænsen er {number(model.PRE_TREND_ALPHA, 2)}). Ændringen efter "
            f"start ({effect}, 95 %-interval {ci}) kan derfor være en udvikling, der var i gang "
            "i forvejen, og kan ikke tilskrives tiltaget."
        )
    elif code == "not_estimable":
        text = f"**{label}:** kan ikke vurderes: {reason_text(row)}."
        if not _missing(row.get("effect")):
            text += (
                f" Ændringen er beregnet til {effect}, men uden et ærligt interval kan man ikke "
                "sige, om den er mere end tilfældig."
            )
    elif _missing(row.get("ci_low")) or _missing(row.get("ci_high")):
        text = (
            f"**{label}:** ingen påviselig ændring. Ændringen er beregnet til {effect}, men data "
            "kan ikke afgrænse effekten: 95 %-intervallet er ubegrænset."
        )
    else:
        text = (
            f"**{label}:** ingen påviselig ændring. Ændringen i {region} i forhold til de øvrige "
            f"regioner er beregnet til {effect}, men 95 %-intervallet ({ci}) indeholder 0."
        )
        if _missing(row.get("mde")):
            text += " Data kunne ikke have set selv meget store ændringer."
        else:
            text += (
                " Med disse data kunne kun ændringer større end "
                f"{amount(row['mde'], unit, signed=False)} ses (med 80 % sandsynlighed); en "
                "mindre effekt kan hverken påvises eller udelukkes."
            )
    return " ".join([text, *notes_text(row)])


def notes_text(row: Mapping[str, Any]) -> list[str]:
    """Sentences for the notes of a result row and the initiatives running at the same time."""
    notes = set(_ids(row.get("notes")))
    out = []
    if "few_post_years" in notes:
        out.append(f"Kun {int(row['post_years'])} år med data fra start: resultatet er foreløbigt.")
    if "few_pre_years" in notes:
        out.append(f"Kun {int(row['pre_years'])} år med data før start.")
    if "no_leads" in notes:
        out.append("For få år før start til at tjekke, om udviklingen var ens før start.")
    if "few_pre_trend_placebos" in notes:
        out.append("For få sammenligninger til at teste, om udviklingen var ens før start.")
    if "interval_not_connected" in notes:
        out.append("95 %-intervallet har huller; det viste er det yderste spænd.")
    here, elsewhere = _ids(row.get("concurrent_here")), _ids(row.get("concurrent_elsewhere"))
    if _missing(row.get("effect")):  # nothing was estimated: other initiatives change nothing
        return out
    if here:
        out.append(
            f"Regionen havde også tiltag {join(here)} på samme udfald i dataårene: "
            "effekterne kan ikke skilles ad."
        )
    if elsewhere:
        out.append(
            f"Sammenligningsregionerne havde selv tiltag på samme udfald ({join(elsewhere)}): "
            "ændringen er målt i forhold til dem."
        )
    return out


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def _specialty_text(value: Any) -> str:
    return (
        "Begge"
        if _missing(value) or str(value) == ""
        else SPECIALTY_LABELS.get(str(value), str(value))
    )


def _years_text(first: Any, last: Any) -> str:
    if _missing(first):
        return "–"
    return f"{int(first)}–" if _missing(last) else f"{int(first)}–{int(last)}"


def register_table(register: pd.DataFrame) -> pd.DataFrame:
    """The initiatives as the page lists them (``published.register``'s columns)."""
    return pd.DataFrame(
        {
            "Tiltag": register["initiative_id"].astype(str),
            "Navn": register["name"].astype(str),
            "Region": [region_text(r).capitalize() for r in register["region"]],
            "Speciale": [_specialty_text(s) for s in register["specialty"]],
            "Start": [_date_text(v) for v in register["start"]],
            "Slut": ["løber stadig" if _missing(v) else _date_text(v) for v in register["end"]],
            "År med tiltaget": [
                _years_text(a, b)
                for a, b in zip(register["start_year"], register["end_year"], strict=True)
            ],
            "Udfald": [
                ", ".join(outcome_text(o) for o in str(v).split("|") if o)
                for v in register["outcomes"]
            ],
        }
    )


def _date_text(value: Any) -> str:
    if _missing(value):
        return "–"
    ts = pd.Timestamp(value)
    return f"{ts.day}. {MONTHS[ts.month - 1]} {ts.year}"


def effects_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One initiative's results for the analysis page: the change, its interval, the checks."""
    records = rows.to_dict("records")
    return pd.DataFrame(
        {
            "Udfald": [outcome_text(r["outcome"]) for r in records],
            "Ændring": [amount(r["effect"], r["unit"]) for r in records],
            "95 %-interval": [interval_text(r["ci_low"], r["ci_high"], r["unit"]) for r in records],
            "p-værdi": [p_text(r["p_value"]) for r in records],
            "Ens udvikling før start (p)": [p_text(r["pre_trend_p"]) for r in records],
            "Mindste påviselige ændring": [
                amount(r["mde"], r["unit"], signed=False) for r in records
            ],
            "Placebo-tiltag": [
                "–" if not r["n_placebos"] else number(r["n_placebos"]) for r in records
            ],
            "Vurdering": [verdict_text(r) for r in records],
        },
        columns=[
            "Udfald",
            "Ændring",
            "95 %-interval",
            "p-værdi",
            "Ens udvikling før start (p)",
            "Mindste påviselige ændring",
            "Placebo-tiltag",
            "Vurdering",
        ],
    )


LEADERSHIP_COLUMNS = [
    "Tiltag",
    "Region",
    "Start",
    "Udfald",
    "Ændring (95 %-interval)",
    "Vurdering",
]


def leadership_table(results: pd.DataFrame, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """The leadership page's table "Tiltag og effekt": one row per initiative and outcome.

    Parameters
    ----------
    results
        ``model.evaluate``'s results or the ``initiatives/effects`` table.
    register
        ``initiatives/register``: gives each initiative its name and start date; without it
        the id and the first treated year are shown.

    Returns
    -------
    DataFrame
        ``LEADERSHIP_COLUMNS``: tiltag, region, start, udfald, the change with its 95 %
        interval (``change_text``) and the verdict (``verdict_text``), all as text.
    """
    names: dict[str, str] = {}
    starts: dict[str, str] = {}
    if register is not None and len(register):
        for item in register.to_dict("records"):
            ident = str(item["initiative_id"])
            names[ident] = str(item["name"]) or ident
            if not _missing(item["start"]):
                starts[ident] = month_year(item["start"])
    rows = []
    for r in results.to_dict("records"):
        ident = str(r["initiative_id"])
        start = "–" if _missing(r.get("start_year")) else str(int(r["start_year"]))
        rows.append(
            {
                "Tiltag": f"{names[ident]} ({ident})"
                if names.get(ident, ident) != ident
                else ident,
                "Region": region_text(r["region"]).capitalize(),
                "Start": starts.get(ident, start),
                "Udfald": outcome_text(r["outcome"]),
                "Ændring (95 %-interval)": change_text(r),
                "Vurdering": verdict_text(r),
            }
        )
    return pd.DataFrame(rows, columns=LEADERSHIP_COLUMNS)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------
def data_text(register: pd.DataFrame) -> str:
    """What the extract says about initiatives: none, or how many of which kind."""
    if not len(register):
        return (
            "Udtrækket indeholder ingen tiltag (filen `initiatives.csv` er ikke med), så der er "
            "ingen tiltag at vurdere på denne side, og ingen tiltag markeres på figurerne. "
            "Tilføj filen (se `docs/data-contract.md`) og kør analysen igen."
        )
    national = int((register["region"].astype(str) == model.NATIONAL).sum())
    regional = len(register) - national
    pairs = sum(len([o for o in str(v).split("|") if o]) for v in register["outcomes"])
    kinds = []
    if regional:
        kinds.append(f"{regional} regionale")
    if national:
        kinds.append(f"{national} landsdækkende")
    return (
        f"Udtrækket indeholder {len(register)} tiltag ({join(kinds)}), der tilsammen skulle "
        f"påvirke {pairs} udfald. Hvert regionalt tiltag sammenlignes med regionerne uden "
        "tiltaget; et landsdækkende tiltag har ingen region at sammenligne med, så det vises "
        "kun på figurerne."
    )


def summary_text(results: pd.DataFrame) -> str:
    """How many of the results fell under each verdict, in one sentence."""
    if not len(results):
        return "Der er ingen tiltag at vurdere."
    codes = [verdict_code(r) for r in results.to_dict("records")]
    phrases = {
        "increase": "med påviselig stigning",
        "decrease": "med påviseligt fald",
        "no_detectable_change": "uden påviselig ændring",
        "pre_trend": "med forskellige tendenser før start",
        "not_estimable": "kan ikke vurderes",
    }
    parts = [f"{codes.count(c)} {phrases[c]}" for c in model.VERDICTS if codes.count(c)]
    return f"{len(codes)} vurderinger af tiltag og udfald: {join(parts)}."


def method_text(*, leads: int, min_placebos: int, min_post_years: int, horizon_years: float) -> str:
    """The method in one paragraph: the comparison, the inference and why, the checks."""
    return (
        "**Metode.** For hvert tiltag og hvert udfald sammenlignes udviklingen i tiltagets "
        "region med udviklingen i de regioner, der ikke havde tiltaget: en difference-in-"
        "differences med faste effekter for region og år (vægtet mindste kvadraters metode i "
        "statsmodels, vægtet med antal opslåede stillinger, læger i årgangen eller speciallæger "
        "i risiko). Et år tæller med tiltaget, når tiltaget dækker mindst halvdelen af året. "
        "Usikkerheden beregnes med **randomiseringsinferens**: den samme beregning gentages for "
        "placebo-tiltag – alle andre kombinationer af region og startår, med mindst "
        f"{leads + 2} år før og {min_post_years} år fra start – og tiltagets standardiserede "
        "estimat sammenlignes med deres. 95 %-intervallet er de effekter, denne test ikke kan "
        "afvise på 5 %-niveau. Vi bruger ikke almindelige eller klyngerobuste standardfejl: "
        "med kun fem regioner og én region med tiltaget bygger de næsten kun på den ene "
        "region og giver alt for smalle intervaller, og en wild cluster bootstrap har samme "
        "problem (med fem regioner er der kun 32 mulige trækninger). Med færre end "
        f"{min_placebos} placebo-tiltag gives intet interval. **Tendens før start:** en event "
        f"study med {leads} år før start (målt mod årene før dem) tester, om regionen allerede "
        "udviklede sig anderledes før start; er p-værdien under "
        f"{number(model.PRE_TREND_ALPHA, 2)}, kan effekten ikke adskilles fra en tendens, der "
        "var i gang i forvejen (testen har lav styrke med få år, derfor den høje grænse). "
        "**Mindste påviselige ændring:** den ændring, testen ville opdage med 80 % "
        "sandsynlighed, fundet ved at lægge kendte effekter ind i data. Overgangen til "
        f"H-forløb måles inden for {number(horizon_years)} år efter start i I-stilling, kun "
        "for årgange, der er fulgt så længe."
    )


def figure_caption(initiative: Mapping[str, Any], min_cell: int) -> str:
    """The caption under an initiative's figure (``initiative``: a register row)."""
    name = str(initiative.get("name") or initiative["initiative_id"])
    region = str(initiative["region"])
    start = _date_text(initiative["start"])
    head = f"**{name}** ({region_text(region)}, fra {start})."
    hidden = (
        f"År, hvor et tal bygger på færre end {min_cell} personer eller stillinger, vises ikke."
    )
    if region == model.NATIONAL:
        return (
            f"{head} Udviklingen i hele landet; det grå felt er tiltagets periode. Et "
            "landsdækkende tiltag har ingen region uden tiltaget at sammenligne med, så dets "
            f"effekt kan ikke vurderes. {hidden}"
        )
    return (
        f"{head} Én række pr. udfald. Til venstre: udfaldet i {region} (fuld linje) og det "
        "vægtede gennemsnit af de øvrige regioner (stiplet); det grå felt er tiltagets "
        "periode, og regionens andre tiltag er markeret. I midten: forskellen til de øvrige "
        "regioner år for år, målt mod referenceårene (hule punkter ved 0), med 95 %-intervaller; "
        "før start (venstre for den lodrette linje) bør punkterne ligge omkring 0. Til højre: "
        "tiltagets standardiserede estimat (lodret linje) blandt placebo-tiltagene – samme "
        "beregning for andre regioner og startår; jo længere ude, jo mindre sandsynligt er "
        f"ændringen tilfældig. {hidden}"
    )


def figure_alt(initiative: Mapping[str, Any], outcomes: Sequence[str]) -> str:
    """Alt text of an initiative's figure."""
    labels = join([lower_first(outcome_text(o)) for o in outcomes])
    name = str(initiative.get("name") or initiative["initiative_id"])
    if str(initiative["region"]) == model.NATIONAL:
        return f"Linjediagram for det landsdækkende tiltag {name}: {labels} i hele landet."
    return (
        f"Figur for tiltaget {name} i {initiative['region']}: for {labels} udviklingen mod de "
        "øvrige regioner, event study med 95 %-intervaller og fordelingen af placebo-tiltag."
    )


def heading(initiative: Mapping[str, Any]) -> str:
    """A heading for an initiative's section: ``"### Navn (ID), Region"``."""
    name = str(initiative.get("name") or "")
    ident = str(initiative["initiative_id"])
    title = f"{name} ({ident})" if name and name != ident else ident
    return f"### {title}, {region_text(initiative['region'])}"


def initiative_outcomes(register_row: Mapping[str, Any]) -> list[str]:
    """The outcome codes of a register row, in the order given."""
    return [o for o in str(register_row.get("outcomes") or "").split("|") if o]
