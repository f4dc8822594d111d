# %% [markdown]
# # Scenarier: hvilke tiltag lukker hullet?
#
# Vækstmodellerne fremskriver antallet af læger som en trend. De kan ikke svare på ledelsens
# egentlige spørgsmål: hvilket tiltag lukker hullet, hvor meget og hvornår? Region Midtjyllands
# "Lægespor" nævner tiltagene: udenlandske læger (et forløb på 6 + 6 + 12 måneder), flere
# medicinstuderende, sammenhængende forløb og individuelle tilbud, der kan holde på de ældre læger
# (27 % af lægerne i psykiatrien er over 65 år ifølge Danske Regioner).
#
# Her følger modellen speciallægerne selv – pr. region, speciale og alder – fra det sidste år i
# data: hvert år forlader nogle faget, alle bliver et år ældre, og nye speciallæger kommer til fra
# H-forløb, der blev påbegyndt fire år før (nogle et år senere), og fra rekrutterede udenlandske
# læger. Flere H-forløb giver kun flere speciallæger, hvis der er læger i introduktionsstillinger
# til at besætte dem. Læger under uddannelse vises for sig og tælles ikke med i gabet.
#
# Hvor mange speciallæger der *mangler*, afhænger af, hvordan behovet defineres. Siden viser tre
# definitioner side om side: basisåret var i balance, målte ubesatte stillinger og de nationale
# mål; `params.yaml: supply.demand` vælger overskriften. Alle tal kommer fra `params.yaml`; ingen
# håndrettelser. Beregningerne ligger i `pipeline/analysis/supply/`.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `supply` og de dele af `growth` og `retention`,
# der definerer underskuddet og overgangen), de samme som `dvc repro` bruger; den indsætter dem
# igen under denne celle.
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
exit_rates_assumed_range = p["exit_rates_assumed_range"]
foreign_pathway_years = p["foreign_pathway_years"]
foreign_completion = p["foreign_completion"]
foreign_completion_sd = p["foreign_completion_sd"]
foreign_age_band = p["foreign_age_band"]
h_delay_share = p["h_delay_share"]
foreign_delay_share = p["foreign_delay_share"]
fill_rate_variation_years = p["fill_rate_variation_years"]
fte_reference_years = p["fte_reference_years"]
simulations = p["simulations"]
seed = p["seed"]
backtest_start_year = p["backtest_start_year"]
demand = p["demand"]
targets = p["targets"]
required_probability = p["required_probability"]
required_with_scenario = p["required_with_scenario"]
scenarios = p["scenarios"]
tornado = p["tornado"]
base_year = p["base_year"]
horizon_year = p["horizon_year"]
target_years = p["target_years"]
physician_grades = p["physician_grades"]
physician_specialties = p["physician_specialties"]
horizon_years = p["horizon_years"]

# %%
import numpy as np

from pipeline.analysis.supply import backtest as backtests
from pipeline.analysis.supply import demand as demands
from pipeline.analysis.supply import figures, model, tables
from pipeline.analysis.supply import metrics as supply_metrics
from pipeline.analysis.supply import targets as target_model
from pipeline.data.catalog import Catalog
from pipeline.params import reported_years
from pipeline.publish import fmt, plotting

plotting.setup()
catalog = Catalog()
# The values as this notebook has them (edited above, or injected by `dvc repro`).
params = {name: globals()[name] for name in p}
names = ["physicians", "training_posts", "trainees", "specialist_posts"]
data = {name: catalog.load(name) for name in names if catalog.path(name).exists()}
series = catalog.load("growth/series")
projection = catalog.load("growth/projection")
conversion = catalog.load("retention/conversion_by_track")
definition = dict(base_year=base_year, grades=physician_grades, specialties=physician_specialties)
inputs = model.build_inputs(data, series, projection, conversion, params, **definition)
draws = model.draw(inputs, simulations, np.random.default_rng(seed))
years = np.arange(inputs.start_year, horizon_year + 1)
target_list = demands.targets_from_params(params)
shown_year = horizon_year  # the key numbers run to the horizon, as the figures do
key_years = reported_years(target_years, horizon_year)

# %% [markdown]
# ## Modellens input
#
# De vigtigste tal, modellen starter fra, og hvor de kommer fra. Alt, der er estimeret eller
# antaget, trækkes i simuleringerne: besættelsen af H-forløb med sine udsving fra år til år,
# antallet af forløb, overgangen fra I- til H-forløb, gennemførelsen, afgangen (både den
# estimerede og den antagne), de udenlandske lægers fastholdelse og forsinkede forløb.

# %%
# A track's share is shown where the retention stage publishes it (not for a group too small).
published = catalog.load("retention/cif_at_horizon_track")
fmt.table(tables.inputs_table(inputs, list(published.loc[published["cif"].notna(), "group"])))

# %%
fmt.text(tables.notes_text(inputs.notes) or "Data giver ikke anledning til særlige forbehold.")

# %% [markdown]
# Den årlige afgang (pension, privat praksis, udlandet) er estimeret fra lægedata for de ældste
# aldersgrupper ved at sammenligne hver aldersgruppe med gruppen under den fem år før: det er de
# samme årgange, så der skal ikke antages noget om, hvor mange der bliver et år ældre. For de
# yngre grupper kommer der samtidig nye speciallæger til, så afgangen ikke kan skilles fra
# tilgangen; her bruges antagelserne i `params.yaml` med et interval.

# %%
catalog.save(inputs.exit_rates, "supply/exit_rates")
fmt.table(tables.exit_table(inputs.exit_rates))

# %% [markdown]
# ## Arbejdstid

# %%
fmt.text(tables.fte_text(inputs))

# %%
fte_table = tables.fte_table(inputs)
if inputs.fte is not None:
    catalog.save(inputs.fte.per_head, "supply/fte_per_head")
fmt.table(fte_table)

# %% [markdown]
# ## Hvad er behovet? Tre definitioner side om side
#
# * **Basisåret var i balance:** behovet er basisårets speciallæger pr. patient gange
#   patienterne. Det hviler helt på antagelsen om basisåret.
# * **Målte ubesatte stillinger:** gabet starter i de målte ubesatte speciallægestillinger
#   (normerede minus besatte, plus vikardækkede, hvis de er leveret i `specialist_posts.csv`) og
#   vokser derefter med patienterne.
# * **Nationale mål:** afstanden til målene i `params.yaml: supply.targets`.

# %%
headline = model.selected_scenarios(params)[-1] if scenario != "all" else "baseline"
headline_run = model.run_scenarios(inputs, draws, [headline], horizon_year)[headline]
definitions = demands.definitions(inputs, draws, years, target_list)
headline_demand, headline_note = demands.headline(definitions, demand)
headline_definition = definitions[headline_demand]
side = demands.side_by_side(definitions, headline_run, horizon_year, headline_demand)
catalog.save(side, "supply/demand_definitions")
fmt.text(tables.headline_text(side, demand, headline_demand, headline_note, headline))

# %%
fmt.table(tables.demand_table(side, inputs, target_list))

# %%
figure = figures.plot_definitions(side)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "definitioner"),
    alt=f"Vandrette søjler: manglende speciallæger i {horizon_year} efter hver definition af "
    "behovet, som data tillader, med 95 %-intervaller; overskriftens definition fremhævet.",
)

# %% [markdown]
# ### Hvor meget betyder basisåret?
#
# Definitionen 'basisåret var i balance' giver et andet tal for hvert år, der kunne vælges som
# basisår. Tabellen viser alle årene i data.

# %%
base_years = demands.base_year_gaps(inputs, draws, headline_run, horizon_year)
catalog.save(base_years, "supply/base_year_gap")
fmt.text(tables.base_year_text(base_years))

# %%
figure = figures.plot_base_years(base_years)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "basisaar"),
    alt=f"Linjediagram: manglende speciallæger i {horizon_year} og i startåret for hvert "
    "muligt basisår, med 95 %-interval.",
)

# %%
fmt.table(tables.base_year_table(base_years))

# %% [markdown]
# ## Hvor mange H-forløb skal der til for at nå målene?
#
# For hvert mål findes det antal ekstra H-forløb om året fra næste år, der giver mindst
# `required_probability` sandsynlighed for at nå målet, regnet på de samme simuleringer. Ekstra
# forløb besættes kun, så langt der er læger i introduktionsstillinger, der går videre; når de ikke
# rækker, lægges de øvrige tiltag i `required_with_scenario` til, og derefter udenlandske læger.

# %%
with_levers = model.scenario_levers(params, required_with_scenario)
required = target_model.required_posts(
    inputs, draws, target_list, required_probability, with_levers, horizon_year
)
extra_scenarios = {}
required_levers = target_model.required_levers(required) if len(required) else None
# Where extra posts add nothing (too few applicants), the scenario would only repeat »Uændret«.
if required_levers and any(v > 0 for v in required_levers["extra_h_posts_by_specialty"].values()):
    extra_scenarios["required_posts"] = required_levers
catalog.save(required.drop(columns="by_region"), "supply/required_posts")
catalog.save(target_model.by_region(required), "supply/required_posts_by_region")
fmt.text(
    tables.required_text(required, required_probability, required_with_scenario, inputs.start_year)
)

# %%
fmt.table(tables.required_table(required))

# %% [markdown]
# ## Scenarierne
#
# Hvert scenarie er nogle få ændringer af det uændrede forløb (`params.yaml: supply.scenarios`),
# plus scenariet med de nødvendige H-forløb ovenfor. Alle scenarier regnes på de samme
# `simulations` træk af de usikre input, så forskellen mellem to scenarier er målt præcist, selv
# når hvert scenarie for sig er usikkert. Hvert tal er midten (medianen) af simuleringerne, og
# tallene i parentes er 95 %-intervaller.

# %%
names = model.selected_scenarios(params)
runs = model.run_scenarios(inputs, draws, names, horizon_year, extra_scenarios)
summary = model.summarise(runs, headline_definition.gap)
comparison = model.compare(runs, key_years, headline_definition.gap)
targets_result = target_model.target_table(
    runs, target_list, demands.fte_targets(inputs, target_list)
)
catalog.save(summary, "supply/scenarios")
catalog.save(comparison, "supply/comparison")
catalog.save(targets_result, "supply/targets")
comparison_table = tables.comparison_table(
    comparison, params, shown_year, summary, targets_result, extra_scenarios
)
catalog.save(comparison_table, "supply/comparison_table")  # shown as is in the leadership report
fmt.table(comparison_table)

# %%
figure = figures.plot_scenarios(summary, list(runs))
plotting.show(
    figure,
    path=catalog.figure_path("supply", "scenarier"),
    alt=f"Vifte-diagrammer, et pr. scenarie: speciallæger og behovet for speciallæger på "
    f"landsplan fra {inputs.start_year} til {horizon_year} med 95 %-intervaller; læger under "
    "uddannelse for sig.",
)

# %%
fmt.text(tables.pool_text(runs))

# %% [markdown]
# ## Målene
#
# Sandsynligheden for at nå hvert mål er andelen af simuleringerne, hvor antallet af
# speciallæger i målåret er mindst målet.

# %%
fmt.text(tables.targets_text(targets_result, headline, required_probability))

# %%
fmt.table(tables.targets_table(targets_result, list(runs)))

# %%
if len(targets_result):
    figure = figures.plot_targets(targets_result, list(runs))
    plotting.show(
        figure,
        path=catalog.figure_path("supply", "maal"),
        alt="Punkter med 95 %-intervaller: speciallæger i målåret pr. scenarie og speciale mod "
        "målet, med sandsynligheden for at nå det.",
    )

# %% [markdown]
# ## Ét tiltag ad gangen, og hvor usikkerheden kommer fra
#
# Til venstre: hvor meget ændrer antallet af manglende speciallæger sig i det sidste målår, når
# hvert tiltag alene flyttes med den mængde, der står i `params.yaml: supply.tornado`? Til højre:
# hvor bredt ville intervallet være, hvis kun ét af de usikre input var usikkert?

# %%
levers = model.tornado(inputs, draws, tornado, shown_year, horizon_year, headline_definition.gap)
sensitivity = model.sensitivity(
    inputs,
    draws,
    shown_year,
    horizon_year,
    lambda run, d: demands.definition(headline_demand, inputs, d, years, target_list).gap(run),
)
catalog.save(levers, "supply/tornado")
catalog.save(sensitivity, "supply/sensitivity")
fmt.table(tables.tornado_table(levers))

# %%
figure = figures.plot_levers_and_uncertainty(levers, sensitivity)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "tiltag"),
    alt=f"To vandrette søjlediagrammer: til venstre hvor mange færre speciallæger der mangler i "
    f"{shown_year}, når hvert tiltag flyttes alene, med 95 %-intervaller; til højre intervallet "
    "for de manglende speciallæger, når kun ét input er usikkert.",
)

# %%
fmt.text(tables.summary_text(comparison, levers, shown_year))

# %%
fmt.text(tables.sensitivity_text(sensitivity))

# %%
fmt.table(tables.sensitivity_table(sensitivity))

# %% [markdown]
# ## Regionerne

# %%
shown = [n for n in ("baseline", "all_levers") if n in runs] or list(runs)
figure = figures.plot_regional_gap(summary, shown, shown_year)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "regioner"),
    alt=f"Søjlediagram: manglende speciallæger pr. region i {shown_year} for scenarierne med "
    "95 %-intervaller.",
)

# %%
fmt.text(tables.regional_sum_text(summary, headline, shown_year))

# %%
fmt.table(tables.regional_table(summary, headline, target_years, inputs.start_year))

# %% [markdown]
# ## Hvor godt rammer modellen? (backtest)
#
# Modellen startes i `backtest_start_year` med kun de data, der fandtes da: bestand, afgang,
# opslåede og besatte stillinger, arbejdstid og overgangen fra I- til H-forløb (talt blandt de
# I-læger, hvis horisont var udløbet ved startårets slutning). Den fremskriver med sine
# simuleringer til det sidste år i data, og de faktiske tal sammenlignes med midten og med 80 %-
# og 95 %-intervallerne.

# %%
check = backtests.backtest(
    data,
    series,
    projection,
    params,
    start_year=backtest_start_year,
    horizon_years=horizon_years,
    simulations=simulations,
    seed=seed,
    **definition,
)
catalog.save(check, "supply/backtest")
fmt.text(tables.backtest_text(check))

# %%
figure = figures.plot_backtest(check)
plotting.show(
    figure,
    path=catalog.figure_path("supply", "backtest"),
    alt=f"To linjediagrammer: speciallæger og læger under uddannelse på landsplan, data og "
    f"modellen startet i {backtest_start_year} med 80 %- og 95 %-intervaller.",
)

# %%
fmt.table(tables.backtest_table(check))

# %%
catalog.save_metrics(
    "supply",
    supply_metrics.supply_metrics(
        comparison=comparison,
        levers=levers,
        headline=headline,
        backtest_result=check,
        summary=summary,
        target_years=key_years,
        headline_demand=headline_demand,
        requested_demand=demand,
        headline_note=headline_note,
        side_by_side=side,
        base_years=base_years,
        targets=target_list,
        target_table=targets_result,
        required=required,
        required_probability=required_probability,
        sensitivity=sensitivity,
        fte=supply_metrics.fte_metrics(inputs, summary, headline, key_years),
        notes=[*inputs.notes, *([headline_note] if headline_note else [])],
    ),
)
