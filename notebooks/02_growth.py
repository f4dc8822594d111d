# %% [markdown]
# # Vækst i patienter og læger – og hvor mange læger der mangler
#
# Regionernes udspil om fremtidens psykiatri viste antallet af patienter og læger som indeks
# (2013 = 100) og skrev, at patienterne vokser med 2 % om året og lægerne med 0,6 %, så "vi i 2022
# kommer til at mangle mere end 100 speciallæger". Den fremskrivning var en konstant vækstrate
# uden usikkerhed. Her stiller vi det samme spørgsmål med fire modeller, tester dem på fortiden
# (backtest), fremskriver med usikkerhedsintervaller og beregner, hvor mange læger der skal til
# for at holde basisårets antal patienter pr. læge.
#
# Alle beregninger ligger i `pipeline/analysis/growth/`.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `growth`), de samme som `dvc repro` bruger;
# den indsætter dem igen lige under denne celle.
from pipeline.stages import stage_parameters

p = stage_parameters("growth")
base_year = p["base_year"]
fit_from_year = p["fit_from_year"]
seed_k_years = p["seed_k_years"]
models = p["models"]
projection_model = p["projection_model"]
choice_score = p["choice_score"]
horizon_year = p["horizon_year"]
target_years = p["target_years"]
backtest_min_years = p["backtest_min_years"]
backtest_max_horizon = p["backtest_max_horizon"]
ets_damped = p["ets_damped"]
ets_bootstrap = p["ets_bootstrap"]
simulations = p["simulations"]
seed = p["seed"]
physician_grades = p["physician_grades"]
physician_specialties = p["physician_specialties"]
min_cell = p["min_cell"]

# %%
from pipeline.analysis.growth import figures, gap, series, tables
from pipeline.analysis.growth.metrics import growth_metrics
from pipeline.analysis.growth.models import (
    backtest,
    backtest_scores,
    choose_model,
    growth_rates,
    project_all,
)
from pipeline.data.catalog import Catalog
from pipeline.data.contract import GEOGRAPHIES, NATIONAL
from pipeline.params import reported_years
from pipeline.publish import fmt, plotting

plotting.setup()
catalog = Catalog()
inputs = {name: catalog.load(name) for name in ("patients", "physicians")}
reference = catalog.load_reference()
# The regions' initiatives (optional initiatives.csv), marked on every chart over the years.
initiatives = catalog.load_optional("initiatives")
counts = series.build_series(inputs, physician_grades, physician_specialties)
modelled = series.modelled_series(counts, fit_from_year)
first_year, last_year = int(modelled["year"].min()), int(modelled["year"].max())
catalog.save(counts, "growth/series")  # for the supply stage (data/interim, not published)
# What is published leaves out any series with a count of fewer than min_cell persons, and what
# would give it back (series.withheld); the models use every series.
withheld = series.withheld(counts, min_cell)
catalog.save(withheld.filter(counts), "growth/counts")

# %% [markdown]
# ## Patienter og læger som indeks
#
# Som i regionernes figur: antal patienter og antal læger, begge sat til 100 i basisåret. Læger
# tæller her alle læger i psykiatri og børne- og ungdomspsykiatri (speciallæger og læger under
# uddannelse, jf. `physician_grades`); voksne patienter sammenlignes med psykiatere, børn og unge
# med børne- og ungdomspsykiatere.

# %%
index = series.index_series(counts, base_year)
catalog.save(withheld.filter(index), "growth/index")
figure = figures.plot_index(
    index, [NATIONAL], ["total", "adult", "child_adolescent"], base_year, initiatives
)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "indeks_danmark"),
    alt=f"Tre linjediagrammer {first_year}–{last_year}: antal patienter og "
    f"læger som indeks med {base_year} = 100, i alt, for voksne og for børn og unge.",
)

# %%
figure = figures.plot_index(
    index, withheld.shown(GEOGRAPHIES[1:]), ["total"], base_year, initiatives
)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "indeks_regioner"),
    alt=f"Fem linjediagrammer, et pr. region: patienter og læger som indeks "
    f"med {base_year} = 100, {first_year}–{last_year}.",
)

# %% [markdown]
# ## Vækstrater fra fire modeller
#
# * **Gennemsnitlig vækst (regionernes metode):** gennemsnittet af de seneste
#   `seed_k_years` års vækstrater.
# * **Log-lineær trend:** en ret linje gennem logaritmen til antallet.
# * **Poisson-regression:** en model for tælledata med samme trend.
# * **Eksponentiel udglatning (ETS):** en trend, der tilpasser sig de seneste år og kan dæmpes;
#   væksten er næste års dæmpede trend, og intervallet kommer fra en bootstrap af usikkerheden
#   på netop den trend (`ets_bootstrap` gentagelser).
#
# Tallene hænger sammen fra år til år (et år over trenden følges ofte af endnu et). De tre første
# modeller tager højde for det med en AR(1)-model for afvigelserne, hvis korrelation er rettet for
# den skævhed, korte serier giver; intervallerne er kalibreret ved simulation, så de dækker det,
# de lover, også når korrelationen er høj (se `pipeline/analysis/growth/models.py`). ETS' interval
# holder ikke under autokorrelation, så ETS vises kun til sammenligning.
#
# Raterne er vækst pr. år over perioden fra `fit_from_year` (regionernes metode: de seneste år).

# %%
rates = growth_rates(
    modelled, models, k=seed_k_years, damped=ets_damped, bootstrap=ets_bootstrap, seed=seed
)
catalog.save(withheld.filter(rates), "growth/rates")
fmt.table(tables.rates_table(withheld.filter(rates)))

# %% [markdown]
# Den log-lineære vækst i hver region (i alt):

# %%
fmt.table(tables.regional_rates_table(withheld.filter(rates)))

# %% [markdown]
# ## Hvor godt har modellerne ramt? (backtest)
#
# Fra det år, hvor der er `backtest_min_years` års data, tilpasses hver model kun til årene indtil
# da og fremskriver 1 til `backtest_max_horizon` år frem (så langt data rækker). Hver prognose
# får en *score*, der måler hele den fremskrevne fordeling mod det faktiske tal: CRPS og
# intervalscoren straffer både at ramme ved siden af og intervaller, der er for smalle eller
# unødigt brede (lavere er bedre). Hver serie tæller lige meget, så de 16 serier, der hænger
# sammen (landstal og deres regioner), ikke tæller som uafhængige. Dækningen er andelen af de
# faktiske tal inden for 80 %- og 95 %-intervallet; et godt interval dækker omtrent så ofte, som
# det lover.

# %%
results = backtest(
    modelled,
    models,
    min_years=backtest_min_years,
    max_horizon=backtest_max_horizon,
    k=seed_k_years,
    damped=ets_damped,
    bootstrap=ets_bootstrap,
    seed=seed,
)
scores = backtest_scores(results)
by_horizon = backtest_scores(results, by=("model", "horizon"))
catalog.save(withheld.filter(results), "growth/backtest")
catalog.save(scores, "growth/backtest_scores")
catalog.save(by_horizon, "growth/backtest_scores_by_horizon")
fmt.table(tables.scores_table(scores))

# %%
figure = figures.plot_backtest(by_horizon)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "backtest"),
    alt="To linjediagrammer: modellernes gennemsnitlige CRPS og andelen af faktiske tal "
    "inden for 95 %-intervallet, efter hvor mange år frem der blev spået.",
)

# %%
choice = choose_model(results, projection_model, choice_score)
chosen = choice.model
fmt.text(tables.choice_text(choice))

# %% [markdown]
# ## Fremskrivning
#
# Den valgte model fremskriver patienter og læger til `horizon_year` med 80 %- og
# 95 %-intervaller. De publicerede landstal for patienter (`data/reference`) er vist som ruder.

# %%
options = dict(k=seed_k_years, damped=ets_damped, bootstrap=ets_bootstrap, seed=seed)
all_projections, fits_by_model = project_all(modelled, models, horizon_year, **options)
projection = all_projections[all_projections["model"] == chosen].reset_index(drop=True)
fits = fits_by_model[chosen]
catalog.save(projection, "growth/projection")  # for the supply stage
catalog.save(withheld.filter(projection), "growth/forecast")
figure = figures.plot_projection(
    projection,
    [
        ("patients", NATIONAL, "total"),
        ("physicians", NATIONAL, "total"),
        ("patients", NATIONAL, "child_adolescent"),
        ("physicians", NATIONAL, "child_adolescent"),
    ],
    reference=reference,
    initiatives=initiatives,
)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "fremskrivning_danmark"),
    alt=f"Fire vifte-diagrammer: patienter og læger i alt og for børn og unge, "
    f"data {first_year}–{last_year} og fremskrivning til {horizon_year} med 80 %- og "
    f"95 %-intervaller; publicerede patienttal er markeret.",
)

# %%
figure = figures.plot_projection(
    projection,
    [(m, g, "total") for g in withheld.shown(GEOGRAPHIES[1:]) for m in ("patients", "physicians")],
    initiatives=initiatives,
)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "fremskrivning_regioner"),
    alt=f"Ti vifte-diagrammer, to pr. region: patienter og læger, data og "
    f"fremskrivning til {horizon_year} med 80 %- og 95 %-intervaller.",
)

# %% [markdown]
# ## Hvor mange læger mangler?
#
# Behovet er det antal læger, der skal til for at have lige så mange patienter pr. læge som i
# basisåret: læger i basisåret × patienter i året ÷ patienter i basisåret. Underskuddet er behovet
# minus lægerne. For år efter data trækkes patienter og læger uafhængigt fra hver deres
# fremskrivning (`simulations` træk, fast frø), så intervallet afspejler usikkerheden i begge.

# %%
path = gap.gap(
    counts,
    fits,
    base_year=base_year,
    target_years=range(base_year, horizon_year + 1),
    simulations=simulations,
    seed=seed,
)
# The key years: growth.target_years and the horizon year.
gaps = path[path["year"].isin(reported_years(target_years, horizon_year))].reset_index(drop=True)
catalog.save(withheld.filter(gaps), "growth/gap")
catalog.save(withheld.filter(path), "growth/gap_path")
fmt.text(tables.gap_text(withheld.filter(gaps), base_year, chosen))

# %%
fmt.table(tables.gap_table(withheld.filter(gaps)))

# %%
figure = figures.plot_gap(path, withheld.shown(GEOGRAPHIES), initiatives)
plotting.show(
    figure,
    path=catalog.figure_path("growth", "underskud"),
    alt=f"Seks diagrammer, landet og hver region: manglende læger fra "
    f"{base_year} til {horizon_year} med 95 %-interval.",
)

# %% [markdown]
# ### Hvor meget betyder valget af model?
#
# Underskuddet i de sidste målår efter hver af modellerne, med samme definition og samme antal
# træk. Forskellen mellem modellerne er usikkerhed om, hvordan fremtiden skal fremskrives, og den
# ligger uden for den valgte models interval.

# %%
by_model = gap.gaps_by_model(
    counts,
    fits_by_model,
    base_year=base_year,
    target_years=reported_years(target_years, horizon_year),
    simulations=simulations,
    seed=seed,
)
catalog.save(withheld.filter(by_model), "growth/gap_by_model")
fmt.text(tables.models_gap_text(by_model, horizon_year, chosen))

# %%
fmt.table(tables.models_gap_table(by_model, horizon_year, chosen))

# %% [markdown]
# ## Regionernes fremskrivning efterprøvet
#
# Udspillet regnede med speciallæger og sagde ikke, fra hvilket år væksten skulle regnes. Derfor
# regner vi for hvert basisår fra indeksåret til udspillets tid, både med udspillets egne tal og
# med datas speciallæger (uden læger under uddannelse), så det samme sammenlignes med det samme.

# %%
# Like for like: the paper counted specialists, so the data side counts specialists only, from
# every base year between the index year and the paper's time of writing.
specialists = series.build_series(inputs, ["specialist"], physician_specialties)
recheck = gap.seed_comparison(
    specialists,
    reference,
    first_base_year=base_year,
    k=seed_k_years,
    min_cell=min_cell,
    physicians=counts,
)
fmt.text(tables.seed_comparison_text(recheck))

# %%
fmt.table(tables.seed_comparison_table(recheck))

# %%
catalog.save_metrics(
    "growth", growth_metrics(rates, gaps, choice, by_model, base_year, horizon_year)
)
