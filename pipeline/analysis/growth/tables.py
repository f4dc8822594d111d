"""The growth stage's tables and sentences in Danish (computed from its results)."""

from __future__ import annotations

import pandas as pd

from pipeline.analysis.growth.gap import SeedRecheck
from pipeline.analysis.growth.models import COMPARISON_ONLY, ModelChoice
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


SCORE_LABELS = {
    "crps": "CRPS",
    "is80": "intervalscore (80 %)",
    "is95": "intervalscore (95 %)",
}
# Below this relative difference in score two models are practically as good.
PRACTICALLY_EQUAL = 0.05


def scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    """The backtest's scores per model (every series weighted equally), lower is better."""
    return pd.DataFrame(
        {
            "Model": [
                MODEL_LABELS[m] + (" (kun til sammenligning)" if m in COMPARISON_ONLY else "")
                for m in scores["model"]
            ],
            "CRPS": [number(v, 4) for v in scores["crps"]],
            "Intervalscore 80 %": [number(v, 3) for v in scores["is80"]],
            "Intervalscore 95 %": [number(v, 3) for v in scores["is95"]],
            "Inden for 80 %-interval": [percent(v) for v in scores["coverage80"]],
            "Inden for 95 %-interval": [percent(v) for v in scores["coverage95"]],
            "Gennemsnitlig fejl (MAPE)": [percent(v / 100) for v in scores["mape"]],
            "Prognoser": scores["forecasts"],
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


def _base_years(years: list[int], first: int, last: int) -> str:
    """The base years at which a shortage above the claim holds, in words."""
    if not years:
        return f"med intet basisår fra {first} til {last}"
    if years == list(range(first, last + 1)):
        return f"med ethvert basisår fra {first} til {last}"
    if years == list(range(first, years[-1] + 1)):
        return f"kun med basisår {years[-1]} eller tidligere"
    if years == list(range(years[0], last + 1)):
        return f"kun med basisår {years[0]} eller senere"
    return "kun med basisår " + join([str(y) for y in years])


def _by_base_year(rows: pd.DataFrame, column: str) -> str:
    """``"fra 2013: 173, fra 2016: 111 og fra 2018: 72"``: the first, middle and last base year."""
    rows = rows.dropna(subset=[column])
    picked = rows.iloc[sorted({0, len(rows) // 2, len(rows) - 1})]
    return join(
        [f"fra {int(r.base_year)}: {number(getattr(r, column))}" for r in picked.itertuples()]
    )


def seed_comparison_text(recheck: SeedRecheck) -> str:
    """The paper's claim with its own numbers for each base year, then the same method and the
    direct measurement on the data's specialists, in Danish. A shortage is positive, a surplus
    negative (said when one occurs)."""
    rows = recheck.by_base_year
    target, claim = recheck.target_year, number(recheck.claim)

    def above_claim(column: str) -> str:
        known = rows.dropna(subset=[column])
        years = [int(y) for y in known.loc[known[column] > recheck.claim, "base_year"]]
        return _base_years(years, int(known["base_year"].min()), int(known["base_year"].max()))

    text = (
        f"Udspillet skrev, at der i {target} ville mangle mere end {claim} speciallæger, når "
        f"patienterne voksede med {percent(recheck.paper_patient_growth)} og lægerne med "
        f"{percent(recheck.paper_physician_growth)} om året, men ikke fra hvilket år. Med de "
        f"{number(recheck.paper_stock)} speciallæger, der er opgjort i 2020, giver udspillets "
        f"egne tal en mangel på mere end {claim} {above_claim('paper_gap')} "
        f"({_by_base_year(rows, 'paper_gap')})."
    )
    if recheck.data_specialist_growth is not None and rows["data_method_gap"].notna().any():
        text += (
            f" I data voksede patienterne med {percent(recheck.data_patient_growth)} og "
            f"speciallægerne med {percent(recheck.data_specialist_growth)} om året i gennemsnit "
            f"de sidste år op til {recheck.as_of_year} (speciallæger alene som i udspillet, uden "
            f"læger under uddannelse). Samme metode giver en mangel på mere end {claim} "
            f"{above_claim('data_method_gap')} ({_by_base_year(rows, 'data_method_gap')})."
        )
    if rows["data_observed_gap"].notna().any():
        text += (
            f" Målt direkte i data manglede der i {target} mere end {claim} speciallæger for at "
            f"have lige så mange patienter pr. speciallæge som i basisåret "
            f"{above_claim('data_observed_gap')} ({_by_base_year(rows, 'data_observed_gap')})."
        )
    data = rows[["data_method_gap", "data_observed_gap"]]
    if (rows["paper_gap"] < 0).any() or (data < 0).any().any():
        text += " Et negativt tal er et overskud."
    return text + " Tabellen viser hvert basisår."


def seed_comparison_table(recheck: SeedRecheck) -> pd.DataFrame:
    """The recheck for every base year: the paper's numbers, the method and the measurement on
    the data's specialists (a shortage is positive, a surplus negative)."""
    rows = recheck.by_base_year
    target = recheck.target_year
    return pd.DataFrame(
        {
            "Basisår": rows["base_year"].astype(str),
            f"Udspillets tal: mangel i {target}": [number(v) for v in rows["paper_gap"]],
            "Speciallæger i basisåret (data)": [number(v) for v in rows["data_stock"]],
            f"Samme metode på data: mangel i {target}": [
                number(v) for v in rows["data_method_gap"]
            ],
            f"Målt i data: mangel i {target}": [number(v) for v in rows["data_observed_gap"]],
        }
    )


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


def choice_text(choice: ModelChoice) -> str:
    """Why the projection model was chosen, in Danish, from the backtest's scores."""
    label = MODEL_LABELS[choice.model]
    score = SCORE_LABELS[choice.score]
    value = number(choice.value, 4)
    if choice.requested:
        text = (
            f"{label} er valgt i params.yaml (growth.projection_model). I backtesten var dens "
            f"gennemsnitlige {score} {value} (lavere er bedre)."
        )
    else:
        text = (
            f"{label} er valgt, fordi den i backtesten havde den laveste gennemsnitlige {score} "
            f"({value}). Scoren måler hele fremskrivningens fordeling, så en model med for "
            "smalle eller unødigt brede intervaller taber til en, hvis usikkerhed passer."
        )
    if choice.runner_up is not None:
        rival = MODEL_LABELS[choice.runner_up]
        if choice.relative_difference < 0:
            text += f" {rival} havde en lavere score ({number(choice.runner_up_value, 4)})."
        else:
            text += (
                f" Næstbedst var {rival.lower()} ({number(choice.runner_up_value, 4)}, "
                f"{percent(choice.relative_difference)} højere); den valgte model var bedst på "
                f"{choice.series_better} af {choice.series_total} serier."
            )
        if abs(choice.relative_difference) < PRACTICALLY_EQUAL:
            text += (
                f" Forskellen er under {percent(PRACTICALLY_EQUAL, 0)}, så modellerne er i "
                "praksis lige gode; tabellen over underskuddet efter hver model viser, hvor meget "
                "valget betyder."
            )
    comparison = [MODEL_LABELS[m] for m in choice.ranking["model"] if m in COMPARISON_ONLY]
    if comparison:
        text += (
            f" {join(comparison)} er kun med til sammenligning: dens intervaller er for smalle, "
            "når tallene fra år til år hænger sammen (autokorrelation)."
        )
    return text


def models_gap_table(by_model: pd.DataFrame, year: int, chosen: str) -> pd.DataFrame:
    """The national gap in ``year`` under every model, the chosen one marked."""
    df = by_model[(by_model["geography"] == NATIONAL) & (by_model["year"] == year)]
    df = df.sort_values("gap")
    return pd.DataFrame(
        {
            "Model": [MODEL_LABELS[m] + (" (valgt)" if m == chosen else "") for m in df["model"]],
            f"Manglende læger i {year}": [number(v) for v in df["gap"]],
            "95 %-interval": [
                interval(lo, hi) for lo, hi in zip(df["pi_low"], df["pi_high"], strict=True)
            ],
        }
    )


def models_gap_text(by_model: pd.DataFrame, year: int, chosen: str) -> str:
    """How much the choice of model matters for the gap in ``year``, in one sentence."""
    df = by_model[(by_model["geography"] == NATIONAL) & (by_model["year"] == year)]
    low, high = df["gap"].min(), df["gap"].max()
    own = df.set_index("model").loc[chosen, "gap"]
    return (
        f"Efter de {len(df)} modeller mangler der mellem {number(low)} og {number(high)} læger "
        f"i {year}; den valgte model giver {number(own)}. Forskellen mellem modellerne er en "
        "del af usikkerheden, som den valgte models interval ikke rummer."
    )
