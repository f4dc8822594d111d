# %% [markdown]
# # Regionernes tiltag: hvad ændrede sig?
#
# Regionerne har sat tiltag i gang mod lægemanglen: sammenhængende forløb, rekruttering,
# seniorordninger. Denne side vurderer hvert tiltag på de udfald, det skulle påvirke: ændrede
# udfaldet sig i tiltagets region mere end i regionerne uden tiltaget? Svaret er et estimat med
# et 95 %-interval, en kontrol af, om regionen udviklede sig anderledes allerede før start, og den
# mindste ændring, data overhovedet kunne have set. Kan data ikke svare, står der det.
#
# Tiltagene kommer fra `initiatives.csv` i udtrækket (`docs/data-contract.md`). Udfaldene er:
#
# * **Besatte H-forløb / I-stillinger:** andelen af de opslåede stillinger, der blev besat.
# * **Overgang fra I-stilling til H-forløb i psykiatrien:** andelen af en startårgang i
#   I-stilling, der var i H-forløb i psykiatrien inden for `horizon_years` år (som i analysen af
#   fastholdelse); kun årgange, der er fulgt så længe.
# * **Afgang af speciallæger på 60 år og derover:** den årlige nettoafgang.
# * **Antal speciallæger:** ændringen i procent.
#
# Tal for færre end `min_cell` personer eller stillinger vises ikke, heller ikke som andele: et
# år, hvor tiltagets region bygger på så små tal, er udeladt af figurerne. Estimaterne bruger alle
# data. Alle beregninger ligger i `pipeline/analysis/initiatives/`.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `initiatives`, `retention.horizon_years` og
# `report.min_cell`), de samme som `dvc repro` bruger; den indsætter dem igen under denne celle.
from pipeline.stages import stage_parameters

p = stage_parameters("initiatives")
leads = p["leads"]
min_post_years = p["min_post_years"]
min_placebos = p["min_placebos"]
horizon_years = p["horizon_years"]
min_cell = p["min_cell"]

# %%
from IPython.display import display

from pipeline.analysis.initiatives import figures, model, published, tables
from pipeline.data.catalog import Catalog
from pipeline.publish import fmt, plotting

plotting.setup()
catalog = Catalog()
# initiatives.csv is optional: without it ingest writes no table, and the register is empty.
given = catalog.path("initiatives").exists()
register = published.register(catalog.load("initiatives") if given else None)
catalog.save(register, "initiatives/register")
fmt.text(tables.data_text(register))

# %% [markdown]
# ## Tiltagene

# %%
fmt.table(tables.register_table(register)) if len(register) else fmt.text("Ingen tiltag.")

# %% [markdown]
# ## Sådan er effekten beregnet

# %%
fmt.text(
    tables.method_text(
        leads=leads,
        min_placebos=min_placebos,
        min_post_years=min_post_years,
        horizon_years=horizon_years,
    )
)

# %%
data = {name: catalog.load(name) for name in published.CONTRACT_TABLES} if len(register) else {}
out = published.evaluate(
    register,
    data,
    horizon_years=horizon_years,
    leads=leads,
    min_post_years=min_post_years,
    min_placebos=min_placebos,
    min_cell=min_cell,
)
catalog.save(out.effects, "initiatives/effects")
catalog.save(out.series, "initiatives/series")
catalog.save(out.event_study, "initiatives/event_study")
catalog.save(out.placebos, "initiatives/placebos")
catalog.save_metrics("initiatives", model.metrics(out.results))

# %% [markdown]
# ## Tiltag og effekt
#
# Ændringen i tiltagets region i forhold til regionerne uden tiltaget, fra det første år med
# tiltaget (procentpoint for andele, procent for antal speciallæger), med 95 %-interval.
# Vurderingen følger af tallene: en **stigning** eller et **fald** kræver, at hele intervallet
# ligger på samme side af 0; **forskellige tendenser før start** betyder, at regionen allerede
# udviklede sig anderledes før start (p under 0,10), så effekten ikke kan adskilles.

# %%
leadership = tables.leadership_table(out.effects, register)
catalog.save(leadership, "initiatives/tiltag_og_effekt")  # shown as is in the leadership report
if len(leadership):
    display(fmt.table(leadership))
fmt.text(tables.summary_text(out.effects))

# %% [markdown]
# ## Tiltag for tiltag

# %%
# DVC keeps reports/figures/initiatives as the stage's plots: it must exist without figures too.
catalog.figure_path("initiatives", "tiltag").parent.mkdir(parents=True, exist_ok=True)
for item in register.to_dict("records"):
    display(fmt.text(tables.heading(item)))
    figure = figures.plot_initiative(
        item, out.results, out.series, out.event_study, out.placebos, register
    )
    if figure is not None:
        plotting.show(
            figure,
            path=catalog.figure_path("initiatives", published.figure_name(item["initiative_id"])),
            alt=tables.figure_alt(item, tables.initiative_outcomes(item)),
        )
        display(fmt.text(tables.figure_caption(item, min_cell)))
    rows = out.effects[out.effects["initiative_id"] == item["initiative_id"]]
    display(fmt.table(tables.effects_table(rows)))
    for row in rows.to_dict("records"):
        display(fmt.text(tables.result_text(row)))
