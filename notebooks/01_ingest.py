# %% [markdown]
# # Indlæsning og validering af data
#
# Denne notesbog læser inputfilerne i datakontrakten (`docs/data-contract.md`), kontrollerer dem
# og gemmer dem som typede tabeller, som de næste trin i analysen bygger på. Alle beregninger
# ligger i pakken `pipeline/`; notesbogen fortæller, hvad der sker, og viser resultatet.
#
# Er der fejl i data, stopper trinnet her med én linje pr. fejl (fil, række, kolonne og hvad der
# er galt), og intet bliver skrevet.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `data` og `report.min_cell`), de samme som
# `dvc repro` bruger; den indsætter dem igen lige under denne celle.
from pipeline.stages import stage_parameters

p = stage_parameters("ingest")
raw_dir = p["raw_dir"]
rename = p["rename"]
contacts_tolerance = p["contacts_tolerance"]
duckdb_memory_limit = p["duckdb_memory_limit"]
min_cell = p["min_cell"]

# %%
from pipeline.data import ingest, overview
from pipeline.data.catalog import Catalog
from pipeline.data.reference import compare_with_reference
from pipeline.publish import fmt, plotting

plotting.setup()
catalog = Catalog()

# %% [markdown]
# ## Læs og kontroller
#
# Filerne må være CSV (komma- eller semikolonsepareret, UTF-8 eller Windows-1252) eller Excel.
# Alle fire filer kontrolleres, før noget gemmes.

# %%
dataset = ingest.read_dataset(
    catalog.root / raw_dir, rename, contacts_tolerance, duckdb_memory_limit, root=catalog.root
)
ingest.write_processed(dataset, catalog.processed_dir)
fmt.text(overview.validate_message(dataset))

# %% [markdown]
# ## Hvad blev læst
#
# Antal rækker og år pr. fil. For `trainees.csv` er årene dem, hvor introduktionsstillingerne
# begyndte; hver række er én læge, så tabellen viser kun antallet af rækker.

# %%
fmt.table(overview.overview(dataset, min_cell))

# %% [markdown]
# Ligger der kontaktdata (`contacts.parquet`), tælles patienterne derfra: hver person én gang pr.
# år, region og aldersgruppe, hvor personen havde en kontakt. En person med kontakt i to regioner
# samme år tæller i begge, så regionerne summer til lidt mere end antallet af forskellige personer
# på landsplan:

# %%
fmt.text(overview.contacts_text(dataset))

# %% [markdown]
# ## Landstal over tid
#
# Patienter i regionspsykiatrien og læger i psykiatrien (speciallæger og læger under uddannelse),
# summeret over regioner.

# %%
totals = ingest.national_totals(dataset.tables)
catalog.save(totals, "ingest/national_totals")
# The national initiatives (optional initiatives.csv) are marked on the chart.
figure = overview.plot_national_totals(totals, dataset.tables.get("initiatives"))
first, last = int(totals["year"].min()), int(totals["year"].max())
plotting.show(
    figure,
    path=catalog.figure_path("ingest", "landstal"),
    alt=f"To linjediagrammer for {first}–{last}: patienter i regionspsykiatrien (voksne, børn "
    f"og unge) og læger i psykiatrien (speciallæger, læger under uddannelse) pr. år.",
)

# %% [markdown]
# ## Publicerede tal ved siden af data
#
# De offentliggjorte tal i `data/reference/published_figures.csv` (med kilder) sammenlignet med
# de samme størrelser beregnet fra data. Store afvigelser er et tegn på, at et udtræk afgrænser
# patienter eller læger anderledes end de publicerede opgørelser.

# %%
comparison = compare_with_reference(dataset.tables, catalog.load_reference())
catalog.save(comparison, "ingest/reference_comparison")
fmt.table(overview.comparison_table(comparison))

# %%
catalog.save_metrics("ingest", ingest.metrics(dataset))
