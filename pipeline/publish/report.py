"""The leadership report: key numbers, captions and sources, read from the stages' outputs.

``notebooks/09_ledelse.py`` computes nothing: every number here comes from a stage's metrics
(``reports/metrics/<stage>.json``), tables or the dataset description, and is only worded and
formatted in Danish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.data.catalog import Catalog
from pipeline.publish.fmt import date, interval, number, percent
from pipeline.publish.labels import LEVER_LABELS, MODEL_LABELS


def _interval(section: dict[str, Any], key: str, low: str, high: str, formatter=number) -> str:
    """``"95 %-interval a til b"`` from a metrics section (``key_low``-style suffixes)."""
    lo, hi = section.get(f"{key}{low}"), section.get(f"{key}{high}")
    if lo is None or hi is None:
        return "interval ikke beregnet"
    return f"95 %-interval {interval(lo, hi, formatter)}"


def _ratio(value: float) -> str:
    return number(value, 1)


def key_numbers(metrics: dict[str, dict[str, Any]], info: dict[str, Any]) -> str:
    """The headline numbers as a Danish bullet list."""
    g, r, s = metrics["growth"], metrics["retention"], metrics.get("supply", {})
    first, last = info["years"]["patients"]
    ci = ("_ci_low", "_ci_high")
    pi = ("_pi_low", "_pi_high")
    lines = [
        f"* **Patienter:** antallet af patienter i regionspsykiatrien er vokset med "
        f"{percent(g['patients_growth_rate'])} om året fra {first} til {last} "
        f"({_interval(g, 'patients_growth_rate', *ci, percent)}).",
        f"* **Læger:** antallet af læger i psykiatrien er vokset med "
        f"{percent(g['physicians_growth_rate'])} om året "
        f"({_interval(g, 'physicians_growth_rate', *ci, percent)}).",
    ]
    years = sorted(int(k.split("_")[1]) for k in g if k.startswith("gap_") and k.count("_") == 1)
    parts = [
        f"{number(g[f'gap_{y}'])} i {y} "
        + ("(målt i data)" if y <= last else f"({_interval(g, f'gap_{y}', *pi)})")
        for y in years
    ]
    lines.append(
        f"* **Manglende læger:** for at have lige så mange patienter pr. læge som i "
        f"{g['base_year']} mangler der {'; '.join(parts)}. Fremskrivningen bygger på "
        f"{MODEL_LABELS[g['projection_model']].lower()}: i en test på tidligere år var den "
        f"den mest træfsikre af modellerne med pålidelige usikkerhedsintervaller."
    )
    if r.get("cif_h_at_horizon") is not None:
        lines.append(
            f"* **Fra introduktionsstilling til hoveduddannelse:** "
            f"{percent(r['cif_h_at_horizon'])} af de {number(r['n_trainees'])} læger i "
            f"introduktionsstilling var i H-forløb i psykiatrien inden for "
            f"{number(r['horizon_years'])} år ({_interval(r, 'cif_h_at_horizon', *ci, percent)})."
        )
    if r.get("hr_combined_track") is not None:
        lines.append(
            f"* **Sammenhængende forløb:** læger, der fik I- og H-stilling samlet, gik "
            f"{_ratio(r['hr_combined_track'])} gange så hurtigt videre til H-forløb som andre, "
            f"alt andet lige ({_interval(r, 'hr_combined_track', *ci, _ratio)})."
        )
    else:
        lines.append("* **Sammenhængende forløb:** effekten kan ikke beregnes ud fra disse data.")
    scenarios = s.get("scenarios", {})
    if "baseline" in scenarios and "all_levers" in scenarios:
        base, every = scenarios["baseline"], scenarios["all_levers"]
        year = max(int(k.split("_")[1]) for k in base if k.count("_") == 1)
        lines.append(
            f"* **Tiltag:** uden nye tiltag mangler der {number(base[f'gap_{year}'])} læger i "
            f"{year} efter modellen af lægernes tilgang og afgang; med alle tiltag samtidig "
            f"{number(every[f'gap_{year}'])} ({_interval(every, f'gap_{year}', *pi)})."
        )
    return "\n".join(lines)


def captions(metrics: dict[str, dict[str, Any]]) -> dict[str, str]:
    """One plain sentence per figure, keyed by the figure's file (stage/name)."""
    g, s = metrics["growth"], metrics.get("supply", {})
    levers = s.get("levers", {})
    top = min(levers, key=lambda k: levers[k]["gap_change"]) if levers else None
    return {
        "growth/indeks_danmark": (
            f"Antallet af patienter (fuld linje) er vokset meget hurtigere end antallet af læger "
            f"(stiplet) siden {g['base_year']}, hvor begge er sat til 100."
        ),
        "growth/fremskrivning_danmark": (
            "Hvis udviklingen fortsætter, fortsætter patienttallet med at vokse; jo længere frem, "
            "jo bredere er båndet af mulige udfald."
        ),
        "retention/cif_track": (
            "Læger på sammenhængende forløb (højre) kommer hurtigere og oftere videre til "
            "hoveduddannelse end læger i almindelig introduktionsstilling (venstre)."
        ),
        "retention/besaettelse": (
            "Næsten alle introduktionsstillinger bliver besat, men en stor del af "
            "hoveduddannelsesforløbene står tomme."
        ),
        "supply/tiltag": (
            f"{LEVER_LABELS[top]} flytter mest af de enkelte tiltag; den sorte streg viser "
            "usikkerheden."
            if top
            else "Hvor meget hvert tiltag alene flytter underskuddet."
        ),
        "supply/scenarier": (
            "Behovet for læger (stiplet) vokser hurtigere end antallet af læger (fuld linje) i "
            "alle scenarier; tiltagene mindsker afstanden, men lukker den ikke alene."
        ),
    }


HOW_TO_READ = """## Sådan læser du rapporten

* **Manglende læger** er forskellen mellem det antal læger, der skulle til for at have lige så
  mange patienter pr. læge som i basisåret, og det antal læger, der er (eller forventes).
* **Et 95 %-interval** er det område, tallet med stor sandsynlighed ligger i. Et bredt interval
  betyder, at fremtiden er usikker – ikke at beregningen er forkert.
* **Fremskrivninger** bygger på udviklingen indtil nu. De viser, hvad der sker, hvis intet andet
  ændrer sig; de er ikke forudsigelser af politiske beslutninger.
* **Tiltagene** er beregnet i en model af lægernes tilgang (uddannelse, rekruttering) og afgang
  (pension, jobskifte). Størrelsen af hvert tiltag står i tabellen og kan ændres.
* **Små tal:** tal for færre end {min_cell} personer vises ikke.
* De fulde analyser med metoder og kode findes under "Fuld analyse" på forsiden.
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
* **Beregnet med:** lægedækningsmodellen, kodeversion `{version}`. Alle tal er beregnet fra
  data af pipelinen; intet er rettet i hånden.
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
        f"regionspsykiatrien: hvor hurtigt patienterne og lægerne bliver flere, hvor mange læger "
        f"der mangler, hvor mange læger i introduktionsstilling der fortsætter i hoveduddannelse, "
        f"og hvad forskellige tiltag kan gøre. Den bygger på data for {first}–{last}, udtrukket "
        f"{date(info['extract_date'])}.{demo}"
    )


def figure_path(catalog: Catalog, key: str) -> Path:
    stage, name = key.split("/")
    return catalog.figure_path(stage, name)
