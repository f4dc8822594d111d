# %% [markdown]
# # Scenarier: hvilke tiltag lukker hullet?
#
# Vækstmodellerne fremskriver antallet af læger som en trend. De kan ikke svare på ledelsens
# egentlige spørgsmål: hvilket tiltag lukker hullet, hvor meget og hvornår? Region Midtjyllands
# "Lægespor" nævner tiltagene: udenlandske læger (et forløb på 6 + 6 + 12 måneder), flere
# medicinstuderende, sammenhængende forløb og individuelle tilbud, der kan holde på de ældre læger
# (27 % af lægerne i psykiatrien er over 65 år ifølge Danske Regioner).
#
# Her følger modellen lægerne selv – pr. region, speciale og femårs aldersgruppe – fra det sidste
# år i data: hvert år forlader nogle faget, alle bliver et år ældre, og nye speciallæger kommer
# til fra H-forløb, der blev påbegyndt fire år før, og fra rekrutterede udenlandske læger. Behovet
# er vækstmodellens fremskrivning af patienterne gange basisårets antal læger pr. patient, som i
# vækstanalysen. Alle tal kommer fra `params.yaml`; ingen håndrettelser. Beregningerne ligger i
# `pipeline/supply.py`.

# %% tags=["parameters"]
# Standardværdier til interaktiv brug; `dvc repro` indsætter værdierne fra params.yaml
# (sektionen `supply` og de dele af `growth`, der definerer underskuddet).
scenario = "all"
h_duration_years = 4
i_duration_years = 1
h_completion = 0.9
h_completion_sd = 0.03
new_specialist_age_band = "35-39"
posts_reference_years = 3
exit_estimate_from_band = "60-64"
exit_rates_assumed = {
    "25-29": 0.02,
    "30-34": 0.02,
    "35-39": 0.015,
    "40-44": 0.015,
    "45-49": 0.01,
    "50-54": 0.01,
    "55-59": 0.015,
}
foreign_pathway_years = 2
foreign_completion = 0.7
foreign_age_band = "40-44"
simulations = 1000
seed = 2035
backtest_start_year = 2018
scenarios = {
    "baseline": {},
    "more_h_posts": {"extra_h_posts": 20},
    "combined_track_for_all": {"combined_track_share": 1.0},
    "foreign_recruitment": {"foreign_per_year": 15},
    "retain_over_65": {"exit_reduction_over_65": 0.25},
    "all_levers": {
        "extra_h_posts": 20,
        "combined_track_share": 1.0,
        "foreign_per_year": 15,
        "exit_reduction_over_65": 0.25,
    },
}
tornado = {
    "extra_h_posts": 20,
    "combined_track_share": 0.5,
    "foreign_per_year": 15,
    "exit_reduction_over_65": 0.25,
}
base_year = 2013
horizon_year = 2035
target_years = [2025, 2030, 2035]
physician_grades = ["specialist", "trainee"]
physician_specialties = ["psychiatry", "child_adolescent_psychiatry"]

# %%
from pipeline import fmt, plotting, supply
from pipeline.catalog import Catalog
from pipeline.params import DEFAULTS

plotting.setup()
catalog = Catalog()
params = {name: globals()[name] for name in DEFAULTS["supply"]}
supply.check_params(params)
tables = {
    name: catalog.load(name) for name in ("patients", "physicians", "training_posts", "trainees")
}
projection = catalog.load("growth/projection")
conversion = catalog.load("retention/cif_at_horizon_track")
definition = dict(base_year=base_year, grades=physician_grades, specialties=physician_specialties)
inputs = supply.build_inputs(tables, projection, conversion, params, **definition)
names = supply.selected_scenarios(params)
headline = names[-1] if scenario != "all" else "baseline"

# %% [markdown]
# ## Modellens input
#
# De vigtigste tal, modellen starter fra, og hvor de kommer fra:

# %%
fmt.table(supply.inputs_table(inputs))

# %% [markdown]
# Den årlige afgang (pension, privat praksis, udlandet) er estimeret fra lægedata for de ældste
# aldersgrupper: hvor mange af en gruppe der er tilbage året efter, når en femtedel er rykket op i
# næste gruppe. For de yngre grupper kommer der samtidig nye speciallæger til, så afgangen ikke kan
# skilles fra tilgangen; her bruges de antagelser, der står i `params.yaml`.

# %%
catalog.save(inputs.exit_rates, "supply/exit_rates")
fmt.table(supply.exit_table(inputs.exit_rates))

# %% [markdown]
# ## Scenarierne
#
# Hvert scenarie er nogle få ændringer af det uændrede forløb (`params.yaml: supply.scenarios`).
# Alle scenarier regnes på de samme `simulations` træk af de usikre input (patientvækst,
# overgang fra I- til H-forløb, besættelse, gennemførelse og afgang), så forskellen mellem to
# scenarier er målt præcist, selv når hvert scenarie for sig er usikkert. Tallene i parentes er
# 95 %-intervaller. De dækker ikke antagelserne i `params.yaml` (fx andelen af udenlandske læger,
# der bliver); dem kan man ændre og køre igen.

# %%
summary, runs = supply.run_scenarios(inputs, names, horizon_year, simulations, seed)
comparison = supply.compare(summary, runs, target_years)
catalog.save(summary, "supply/scenarios")
catalog.save(comparison, "supply/comparison")
comparison_table = supply.comparison_table(comparison, params, inputs.start_year)
catalog.save(comparison_table, "supply/comparison_table")  # shown as is in the leadership report
fmt.table(comparison_table)

# %%
figure = supply.plot_scenarios(summary, names)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "scenarier"),
    alt=f"Vifte-diagrammer, et pr. scenarie: læger og behov for læger på "
    f"landsplan fra {inputs.start_year} til {horizon_year} med 95 %-intervaller.",
)

# %% [markdown]
# ## Ét tiltag ad gangen
#
# Hvor meget ændrer underskuddet sig i det sidste målår, når hvert tiltag alene flyttes med den
# mængde, der står i `params.yaml: supply.tornado`?

# %%
levers = supply.tornado(inputs, tornado, max(target_years), simulations, seed, horizon_year)
catalog.save(levers, "supply/tornado")
fmt.table(supply.tornado_table(levers))

# %%
figure = supply.plot_tornado(levers)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "tiltag"),
    alt=f"Vandrette søjler: hvor mange færre læger der mangler i "
    f"{max(target_years)}, når hvert tiltag flyttes alene, med 95 %-intervaller.",
)

# %%
fmt.text(supply.summary_text(comparison, levers, max(target_years)))

# %% [markdown]
# ## Regionerne

# %%
shown = [n for n in ("baseline", "all_levers") if n in names] or names
figure = supply.plot_regional_gap(summary, shown, max(target_years))
plotting.show(
    figure,
    path=catalog.figure_path("supply", "regioner"),
    alt=f"Søjlediagram: manglende læger pr. region i {max(target_years)} for "
    "scenarierne med 95 %-intervaller.",
)

# %%
fmt.table(supply.regional_table(summary, headline, target_years))

# %% [markdown]
# ## Hvor godt rammer modellen? (backtest)
#
# Modellen startes i `backtest_start_year` med de data, der fandtes da (bestand, afgang,
# opslåede og besatte stillinger), og fremskriver til det sidste år i data. Derefter sammenlignes
# med de faktiske tal. Overgangen fra I- til H-forløb er dog retention-trinnets estimat fra alle
# årene.

# %%
check = supply.backtest(
    tables, projection, conversion, params, start_year=backtest_start_year, **definition
)
catalog.save(check, "supply/backtest")
fmt.text(supply.backtest_text(check))

# %%
figure = supply.plot_backtest(check)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "backtest"),
    alt=f"To linjediagrammer: speciallæger og læger under uddannelse på "
    f"landsplan, data og modellen startet i {backtest_start_year}.",
)

# %%
fmt.table(supply.backtest_table(check))

# %%
catalog.save_metrics("supply", supply.metrics(comparison, levers, headline, check))
