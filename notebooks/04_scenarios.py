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
# `pipeline/analysis/supply/`.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `supply` og de dele af `growth`, der definerer
# underskuddet), de samme som `dvc repro` bruger; den indsætter dem igen under denne celle.
from pipeline.stages import stage_parameters

p = stage_parameters("supply")
scenario = p["scenario"]
h_duration_years = p["h_duration_years"]
i_duration_years = p["i_duration_years"]
h_completion = p["h_completion"]
h_completion_sd = p["h_completion_sd"]
new_specialist_age_band = p["new_specialist_age_band"]
posts_reference_years = p["posts_reference_years"]
exit_estimate_from_band = p["exit_estimate_from_band"]
exit_rates_assumed = p["exit_rates_assumed"]
foreign_pathway_years = p["foreign_pathway_years"]
foreign_completion = p["foreign_completion"]
foreign_age_band = p["foreign_age_band"]
simulations = p["simulations"]
seed = p["seed"]
backtest_start_year = p["backtest_start_year"]
scenarios = p["scenarios"]
tornado = p["tornado"]
base_year = p["base_year"]
horizon_year = p["horizon_year"]
target_years = p["target_years"]
physician_grades = p["physician_grades"]
physician_specialties = p["physician_specialties"]

# %%
from pipeline.analysis.supply import figures, model, tables
from pipeline.data.catalog import Catalog
from pipeline.publish import fmt, plotting

plotting.setup()
catalog = Catalog()
# The values as this notebook has them (edited above, or injected by `dvc repro`).
params = {name: globals()[name] for name in p}
data = {name: catalog.load(name) for name in ("physicians", "training_posts", "trainees")}
series = catalog.load("growth/series")
projection = catalog.load("growth/projection")
conversion = catalog.load("retention/conversion_by_track")
definition = dict(base_year=base_year, grades=physician_grades, specialties=physician_specialties)
inputs = model.build_inputs(data, series, projection, conversion, params, **definition)
names = model.selected_scenarios(params)
headline = names[-1] if scenario != "all" else "baseline"

# %% [markdown]
# ## Modellens input
#
# De vigtigste tal, modellen starter fra, og hvor de kommer fra:

# %%
fmt.table(tables.inputs_table(inputs))

# %% [markdown]
# Den årlige afgang (pension, privat praksis, udlandet) er estimeret fra lægedata for de ældste
# aldersgrupper: hvor mange af en gruppe der er tilbage året efter, når en femtedel er rykket op i
# næste gruppe. For de yngre grupper kommer der samtidig nye speciallæger til, så afgangen ikke kan
# skilles fra tilgangen; her bruges de antagelser, der står i `params.yaml`.

# %%
catalog.save(inputs.exit_rates, "supply/exit_rates")
fmt.table(tables.exit_table(inputs.exit_rates))

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
summary, runs = model.run_scenarios(inputs, names, horizon_year, simulations, seed)
comparison = model.compare(summary, runs, target_years)
catalog.save(summary, "supply/scenarios")
catalog.save(comparison, "supply/comparison")
comparison_table = tables.comparison_table(comparison, params, inputs.start_year)
catalog.save(comparison_table, "supply/comparison_table")  # shown as is in the leadership report
fmt.table(comparison_table)

# %%
figure = figures.plot_scenarios(summary, names)
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
levers = model.tornado(inputs, tornado, max(target_years), simulations, seed, horizon_year)
catalog.save(levers, "supply/tornado")
fmt.table(tables.tornado_table(levers))

# %%
figure = figures.plot_tornado(levers)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "tiltag"),
    alt=f"Vandrette søjler: hvor mange færre læger der mangler i "
    f"{max(target_years)}, når hvert tiltag flyttes alene, med 95 %-intervaller.",
)

# %%
fmt.text(tables.summary_text(comparison, levers, max(target_years)))

# %% [markdown]
# ## Regionerne

# %%
shown = [n for n in ("baseline", "all_levers") if n in names] or names
figure = figures.plot_regional_gap(summary, shown, max(target_years))
plotting.show(
    figure,
    path=catalog.figure_path("supply", "regioner"),
    alt=f"Søjlediagram: manglende læger pr. region i {max(target_years)} for "
    "scenarierne med 95 %-intervaller.",
)

# %%
fmt.table(tables.regional_table(summary, headline, target_years))

# %% [markdown]
# ## Hvor godt rammer modellen? (backtest)
#
# Modellen startes i `backtest_start_year` med de data, der fandtes da (bestand, afgang,
# opslåede og besatte stillinger), og fremskriver til det sidste år i data. Derefter sammenlignes
# med de faktiske tal. Overgangen fra I- til H-forløb er dog retention-trinnets estimat fra alle
# årene.

# %%
check = model.backtest(
    data, series, projection, conversion, params, start_year=backtest_start_year, **definition
)
catalog.save(check, "supply/backtest")
fmt.text(tables.backtest_text(check))

# %%
figure = figures.plot_backtest(check)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "backtest"),
    alt=f"To linjediagrammer: speciallæger og læger under uddannelse på "
    f"landsplan, data og modellen startet i {backtest_start_year}.",
)

# %%
fmt.table(tables.backtest_table(check))

# %%
catalog.save_metrics("supply", model.metrics(comparison, levers, headline, check))
