"""The growth stage's tables and sentences in Danish (computed from its results)."""

from __future__ import annotations

import pandas as pd

from pipeline.data.contract import GEOGRAPHIES, NATIONAL
from pipeline.publish.fmt import interval, join, number, percent
from pipeline.publish.labels import GROUP_LABELS, MEASURE_LABELS, MODEL_LABELS


def rates_table(rates: pd.DataFrame, geography: str = NATIONAL) -> pd.DataFrame:
    """Growth rates of one geography: series, model, rate and 95 % interval."""
    df = rates[rates["geography"] == geography]
    return pd.DataFrame(
        {
            "Serie": [
                f"{MEASURE_LABELS[m]}, {GROUP_LABELS[g].lower()}"
                for m, g in zip(df["measure"], df["group"], strict=True)
            ],
            "Model": df["model"].map(MODEL_LABELS),
            "Vækst pr. år": [percent(r, 2) for r in df["rate"]],
            "95 %-interval": [
                interval(lo, hi, lambda v: percent(v, 2))
                for lo, hi in zip(df["ci_low"], df["ci_high"], strict=True)
            ],
        }
    )


def regional_rates_table(rates: pd.DataFrame, model: str = "log_linear") -> pd.DataFrame:
    """One model's growth of patients and physicians (totals) per geography."""
    df = rates[(rates["model"] == model) & (rates["group"] == "total")]
    rows = []
    for geography in GEOGRAPHIES:
        geo = df[df["geography"] == geography]
        if geo.empty:
            continue
        row = {"Område": geography}
        for measure, r in geo.set_index("measure").iterrows():
            row[f"{MEASURE_LABELS[measure]}: vækst pr. år"] = percent(r["rate"], 2)
            row[f"{MEASURE_LABELS[measure]}: 95 %-interval"] = interval(
                r["ci_low"], r["ci_high"], lambda v: percent(v, 2)
            )
        rows.append(row)
    return pd.DataFrame(rows)


def scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": scores["model"].map(MODEL_LABELS),
            "Gennemsnitlig fejl (MAPE)": [percent(v / 100) for v in scores["mape"]],
            "Inden for 80 %-interval": [percent(v) for v in scores["coverage80"]],
            "Inden for 95 %-interval": [percent(v) for v in scores["coverage95"]],
            "Antal prognoser": scores["forecasts"],
        }
    )


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Område": gaps["geography"].astype(str),
            "År": gaps["year"],
            "Læger nødvendige": [number(v) for v in gaps["needed"]],
            "Læger": [number(v) for v in gaps["supply"]],
            "Manglende læger": [number(v) for v in gaps["gap"]],
            "95 %-interval": [
                "(data)" if obs else interval(lo, hi)
                for lo, hi, obs in zip(
                    gaps["pi_low"], gaps["pi_high"], gaps["observed"], strict=True
                )
            ],
        }
    )


def seed_comparison_text(claim: dict[str, float], base_year: int) -> str:
    """The paper's claim next to what the same method and the data say, in Danish."""
    target, as_of = int(claim["target_year"]), int(claim["as_of_year"])
    verdict = "mere end" if claim["paper_gap"] > claim["paper_claim"] else "færre end"
    text = (
        f"Med udspillets egne tal – patienter {percent(claim['paper_patient_growth'])} og læger "
        f"{percent(claim['paper_physician_growth'])} om året fra {base_year} og en bestand på "
        f"{number(claim['paper_stock'])} speciallæger (det publicerede antal i 2020) – giver "
        f"metoden et underskud på {number(claim['paper_gap'])} læger i {target}, altså "
        f"{verdict} de {number(claim['paper_claim'])}, udspillet nævner."
    )
    if "data_method_gap" in claim:
        text += (
            f" I data var den gennemsnitlige vækst de sidste år op til {as_of} "
            f"{percent(claim['data_patient_growth'])} for patienter og "
            f"{percent(claim['data_physician_growth'])} for læger; med datas "
            f"{number(claim['data_stock'])} læger i {base_year} giver samme metode "
            f"{number(claim['data_method_gap'])} manglende læger i {target}."
        )
    if "data_observed_gap" in claim:
        text += (
            f" Målt direkte i data manglede der {number(claim['data_observed_gap'])} læger i "
            f"{target} for at have lige så mange patienter pr. læge som i {base_year}."
        )
    return text


def gap_text(gaps: pd.DataFrame, base_year: int, model: str) -> str:
    """The national gap in the target years, in Danish."""
    national = gaps[gaps["geography"] == NATIONAL]
    parts = []
    for row in national.itertuples():
        if row.observed:
            parts.append(f"{number(row.gap)} i {row.year} (målt i data)")
        else:
            parts.append(
                f"{number(row.gap)} i {row.year} "
                f"(95 %-interval {interval(row.pi_low, row.pi_high)})"
            )
    return (
        f"For at have lige så mange patienter pr. læge som i {base_year} mangler der på landsplan "
        f"{join(parts)} læger. Fremskrivningen bygger på {MODEL_LABELS[model].lower()}."
    )


def choice_text(scores: pd.DataFrame, requested: str, min_coverage_95: float) -> str:
    """Why the projection model was chosen, in Danish (mirrors ``models.choose_model``).

    ``auto`` takes the model with the smallest backtest MAPE among those whose 95 % intervals
    covered at least ``min_coverage_95`` of the actual values; when none did, the best covering.
    """
    table = scores.set_index("model")
    if requested != "auto":
        row = table.loc[requested]
        return (
            f"{MODEL_LABELS[requested]} er valgt i params.yaml (growth.projection_model). "
            f"I backtesten var dens gennemsnitlige fejl {percent(row['mape'] / 100)}, og 95 %-"
            f"intervallerne dækkede {percent(row['coverage95'])} af de faktiske værdier."
        )
    ok = table[table["coverage95"] >= min_coverage_95]
    if len(ok):
        best = ok["mape"].idxmin()
        row = table.loc[best]
        others = table.drop(index=best)
        excluded = [MODEL_LABELS[m] for m in table.index if m not in ok.index]
        reason = (
            f"{MODEL_LABELS[best]} er valgt, fordi den i backtesten havde den mindste "
            f"gennemsnitlige fejl ({percent(row['mape'] / 100)}) blandt modellerne, hvis 95 %-"
            f"intervaller dækkede mindst {percent(min_coverage_95, 0)} af de faktiske værdier "
            f"(den dækkede {percent(row['coverage95'])})."
        )
        if excluded:
            reason += f" {join(excluded)} dækkede for sjældent og kom derfor ikke i betragtning."
        elif len(others):
            reason += (
                f" Næstbedst var {MODEL_LABELS[others['mape'].idxmin()]} "
                f"({percent(others['mape'].min() / 100)})."
            )
        return reason
    best = table["coverage95"].idxmax()
    row = table.loc[best]
    return (
        f"Ingen model havde 95 %-intervaller, der dækkede mindst {percent(min_coverage_95, 0)} af "
        f"de faktiske værdier i backtesten; {MODEL_LABELS[best]} dækkede bedst "
        f"({percent(row['coverage95'])}) og er valgt. Intervallerne er derfor for smalle."
    )
