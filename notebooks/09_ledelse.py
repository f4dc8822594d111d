# %% [markdown]
# # Lægedækning i psykiatrien
#
# *Rapport til ledelsen.*

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `report`), de samme som `dvc repro` bruger.
# Denne notesbog beregner intet nyt: den viser de andre trins resultater, og hvert udsagn om
# retning og størrelse afgøres af tallene (pipeline/publish/findings.py).
from pipeline.stages import stage_parameters

p = stage_parameters("report")
min_cell = p["min_cell"]
publish_safe = p["publish_safe"]

# %%
from IPython.display import HTML, display

from pipeline.analysis.initiatives import tables as initiatives
from pipeline.data.catalog import Catalog
from pipeline.publish import fmt, plotting, report
from pipeline.publish.pages import code_version

catalog = Catalog()
metrics = catalog.load_metrics()
info = catalog.dataset_info()
fmt.text(report.intro(info))

# %%
HTML(report.headline(metrics))

# %% [markdown]
# ## Hovedtal

# %%
fmt.text(report.key_numbers(metrics, info))

# %% [markdown]
# ## Scenarier
#
# Hvor mange speciallæger der mangler i hvert scenarie, og hvad hvert scenarie ændrer. Tallene i
# parentes er 95&nbsp;%-intervaller; scenariernes tiltag og deres størrelse står i tabellen.

# %%
fmt.table(catalog.load("supply/comparison_table"))

# %% [markdown]
# ## Tiltag og effekt
#
# Regionernes egne tiltag: hvor meget udfaldet ændrede sig i tiltagets region i forhold til
# regionerne uden tiltaget, fra det første år med tiltaget, med 95&nbsp;%-interval. En stigning
# eller et fald kræver, at hele intervallet ligger på samme side af 0. Metoden og en figur for
# hvert tiltag står på siden om tiltagene.

# %%
display(fmt.text(initiatives.summary_text(catalog.load("initiatives/effects"))))
effects = catalog.load("initiatives/tiltag_og_effekt")
if len(effects):
    display(fmt.table(effects))

# %% [markdown]
# ## Figurer

# %%
# A chart the stages left out (every group too small to show) is left out here too.
captions = {
    key: caption
    for key, caption in report.captions(metrics).items()
    if report.figure_path(catalog, key).exists()
}
for number, (key, caption) in enumerate(captions.items(), start=1):
    plotting.show_file(
        report.figure_path(catalog, key),
        alt=report.ALT[key],
        caption=caption,
        label=f"Figur {number}.",
    )

# %%
fmt.text(report.how_to_read(metrics, min_cell))

# %%
fmt.text(report.sources(info, catalog.load_reference(), code_version(catalog.root)))
