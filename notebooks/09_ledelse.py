# %% [markdown]
# # Lægedækning i psykiatrien
#
# *Rapport til ledelsen.*

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `report`), de samme som `dvc repro` bruger.
# Denne notesbog beregner intet nyt: den viser de andre trins resultater.
from pipeline.stages import stage_parameters

p = stage_parameters("report")
min_cell = p["min_cell"]
publish_safe = p["publish_safe"]

# %%
from IPython.display import Markdown, display

from pipeline.data.catalog import Catalog
from pipeline.publish import fmt, plotting, report
from pipeline.publish.pages import code_version

catalog = Catalog()
metrics = catalog.load_metrics()
info = catalog.dataset_info()
fmt.text(report.intro(info))

# %% [markdown]
# ## Hovedtal

# %%
fmt.text(report.key_numbers(metrics, info))

# %% [markdown]
# ## Tiltagene
#
# Hvor mange læger der mangler med hvert scenarie. Tallene i parentes er 95 %-intervaller.

# %%
fmt.table(catalog.load("supply/comparison_table"))

# %% [markdown]
# ## Figurer

# %%
for number, (key, caption) in enumerate(report.captions(metrics).items(), start=1):
    display(Markdown(f"**Figur {number}.** {caption}"))
    plotting.show_file(report.figure_path(catalog, key), alt=caption)

# %%
fmt.text(report.HOW_TO_READ.format(min_cell=min_cell))

# %%
fmt.text(report.sources(info, catalog.load_reference(), code_version(catalog.root)))
