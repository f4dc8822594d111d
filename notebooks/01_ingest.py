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
# Standardværdier til interaktiv brug. `dvc repro` og `python -m pipeline run ingest` indsætter
# værdierne fra params.yaml (sektionen `data` og `report.min_cell`).
raw_dir = "data/raw/demo"
rename = {}
contacts_tolerance = 0.0
duckdb_memory_limit = "3GB"
min_cell = 5

# %%
from pipeline import fmt, ingest, plotting
from pipeline.catalog import Catalog
from pipeline.disclosure import suppress_counts
from pipeline.reference import compare_with_reference, comparison_table

plotting.setup()
catalog = Catalog()

# %% [markdown]
# ## Læs og kontroller
#
# Filerne må være CSV (komma- eller semikolonsepareret, UTF-8 eller Windows-1252) eller Excel.
# Alle fire filer kontrolleres, før noget gemmes.

# %%
dataset = ingest.read_dataset(raw_dir, rename, contacts_tolerance, duckdb_memory_limit)
ingest.write_processed(dataset, catalog.processed_dir)
print(ingest.validate_message(dataset))

# %% [markdown]
# ## Hvad blev læst
#
# Antal rækker og år pr. fil. For `trainees.csv` er årene dem, hvor introduktionsstillingerne
# begyndte; hver række er én læge, så tabellen viser kun antallet af rækker.

# %%
overview = suppress_counts(ingest.overview(dataset), "Rækker", min_cell)
fmt.table(overview, counts=["Rækker"])

# %% [markdown]
# Ligger der kontaktdata (`contacts.parquet`), tælles patienterne derfra: hver person én gang pr.
# år, region og aldersgruppe, hvor personen havde en kontakt. En person med kontakt i to regioner
# samme år tæller i begge, så regionerne summer til lidt mere end antallet af forskellige personer
# på landsplan:

# %%
fmt.text(ingest.contacts_text(dataset))

# %% [markdown]
# ## Landstal over tid
#
# Patienter i regionspsykiatrien og læger i psykiatrien (speciallæger og læger under uddannelse),
# summeret over regioner.

# %%
totals = ingest.national_totals(dataset.tables)
catalog.save(totals, "ingest/national_totals")
figure = ingest.plot_national_totals(totals)
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
fmt.table(comparison_table(comparison))

# %%
catalog.save_metrics("ingest", ingest.metrics(dataset))
