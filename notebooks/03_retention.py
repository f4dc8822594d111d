# %% [markdown]
# # Fra introduktionsstilling til hoveduddannelse
#
# Hvor mange læger i introduktionsstilling (I-stilling) i psykiatri og børne- og
# ungdomspsykiatri fortsætter i et hoveduddannelsesforløb (H-forløb) i psykiatrien, hvor hurtigt,
# og hvad hænger sammen med, at de gør det? Workshops i Region Midtjylland efterlyste netop "en
# evaluering af hvilke I-læger der fortsætter i H-stillinger, samt hvilke årsager der er til
# frafald", og regionerne afprøver sammenhængende forløb (I- og H-stilling samlet) og rekruttering
# af udenlandske læger. Alle beregninger ligger i `pipeline/analysis/retention/`.
#
# ## Definitioner
#
# * **Tid** regnes fra starten af I-stillingen (`i_start`) for hver række i `trainees.csv`.
# * **Udfald** (konkurrerende – det første, der sker):
#   1. H-forløb i psykiatri eller børne- og ungdomspsykiatri (målet);
#   2. H-forløb i et andet speciale;
#   3. forladt data uden H-forløb (`exit_date`).
#
#   Ellers er lægen **censureret** på udtræksdatoen (`extract_date`): vi ved endnu ikke, hvad
#   der sker.
# * **Horisont:** hovedtallene gælder H-forløb i psykiatrien inden for `horizon_years` år.
# * **Afsluttet I-stilling:** `i_end` er udfyldt, og lægen stoppede ikke på eller før den dato.
# * **Fulgt hele horisonten:** I-stillingen begyndte mindst `horizon_years` år før udtræksdatoen.
#   Kun de læger tæller med i andelene "inden for horisonten".
#
# Den kumulerede andel beregnes med Aalen-Johansen-metoden. Man må ikke bruge 1 minus en
# Kaplan-Meier-kurve for H-forløb i psykiatrien: den behandler læger, der er gået til et andet
# speciale eller er stoppet, som om de stadig kunne nå et H-forløb i psykiatrien, og overvurderer
# derfor andelen.
#
# Tal for færre end `min_cell` personer vises ikke, og heller ikke tal, de kunne regnes ud fra
# (summer, forskelle, andele med deres nævner, de samme tal i andre tabeller): de står som "..".
# Kurverne vises kun i punkter, der hver bygger på mindst `min_cell` hændelser, og stopper, hvor
# færre end `min_cell` læger stadig er i risiko. Med `publish_safe = False` (kun til egen brug)
# viser tabellerne alle tal; de gemte tabeller og tal er altid beskyttede.

# %% tags=["parameters"]
# Trinnets parametre fra params.yaml (sektionen `retention` og `report.min_cell`), de samme som
# `dvc repro` bruger; den indsætter dem igen lige under denne celle.
from pipeline.stages import stage_parameters

p = stage_parameters("retention")
horizon_years = p["horizon_years"]
cohort_periods = p["cohort_periods"]
curve_max_years = p["curve_max_years"]
min_cell = p["min_cell"]
publish_safe = p["publish_safe"]

# %%
from IPython.display import display

from pipeline.analysis.retention import figures, model, tables
from pipeline.data.catalog import Catalog
from pipeline.publish import audit, fmt, plotting
from pipeline.publish.labels import GROUPING_LABELS

plotting.setup()
catalog = Catalog()
trainees = catalog.load("trainees", columns=model.TRAINEE_COLUMNS)
posts = catalog.load("training_posts")
doctors = model.prepare(trainees, horizon_years, cohort_periods)
# Every funnel the stage publishes, protected together (see pipeline/publish/disclosure.py).
funnels = model.protected_funnels(doctors, min_cell)


def shown_funnel(by):
    """The published funnel by ``by``; unprotected only on an analyst's unpublished pages."""
    return funnels.tables[by] if publish_safe else model.funnel(doctors, model.FUNNEL_TABLES[by])


first_cohort, last_cohort = int(doctors["cohort"].min()), int(doctors["cohort"].max())
fmt.text(
    tables.data_text(shown_funnel("total"), first_cohort, last_cohort, horizon_years, min_cell)
)

# %% [markdown]
# ## Tragten: fra I-stilling til H-forløb i psykiatrien
#
# For hver startårgang: hvor mange begyndte i I-stilling, hvor mange afsluttede den, og hvor
# mange af dem, der er fulgt hele horisonten, var i H-forløb i psykiatrien inden for horisonten
# (med 95 %-interval efter Wilson).

# %%
by_cohort = funnels.tables["cohort"]
catalog.save(by_cohort, "retention/funnel_cohort")
tables.funnel_table(shown_funnel("cohort"), ["cohort"])

# %%
figure = figures.plot_funnel(by_cohort)
plotting.show(
    figure,
    path=catalog.figure_path("retention", "tragt_startaar"),
    alt="Linjediagram: andelen af fuldt fulgte læger i H-forløb i psykiatrien "
    "inden for horisonten, efter startår i I-stilling, med 95 %-interval.",
)

# %%
for by in ("region", "specialty", "track"):
    catalog.save(funnels.tables[by], f"retention/funnel_{by}")
    display(tables.funnel_table(shown_funnel(by), [by]))

# %% [markdown]
# Tragten pr. startår, region og speciale (små grupper, og tal de kunne regnes ud fra, vises
# som ".."):

# %%
catalog.save(funnels.tables["cohort_region_specialty"], "retention/funnel_cohort_region_specialty")
tables.funnel_table(shown_funnel("cohort_region_specialty"), ["cohort", "region", "specialty"])

# %% [markdown]
# ## Kumuleret andel over tid (Aalen-Johansen)
#
# Andelen, der har haft hvert udfald, efter antal år siden start i I-stilling, med 95 %-bånd. Den
# stiplede lodrette linje er horisonten.

# %%
fits = {}  # each group's Aalen-Johansen fit, for its curve and its value at the horizon
overall = model.cumulative_incidence(
    doctors, None, min_cell, shown=lambda _: funnels.shown(None, None), fits=fits
)
catalog.save(overall, "retention/cif_overall")
figure = figures.plot_cif(overall, horizon_years, curve_max_years)
plotting.show(
    figure,
    path=catalog.figure_path("retention", "cif_alle"),
    alt="Trappekurver for alle læger: kumuleret andel med H-forløb i psykiatrien, "
    "H-forløb i et andet speciale og stop uden H-forløb, efter år siden start.",
)

# %%
at_horizon = {}
for by in model.GROUPINGS:
    # A group whose funnel counts are hidden gets no curve and no value either.
    shown = (lambda g, by=by: funnels.shown(by, g)) if by in model.FUNNEL_TABLES else None
    curves = model.cumulative_incidence(doctors, by, min_cell, shown=shown, fits=fits)
    catalog.save(curves, f"retention/cif_{by}")
    at_horizon[by] = model.incidence_at(
        doctors, horizon_years, by, min_cell, shown=shown, fits=fits
    )
    if curves.empty:
        # Every group is too small to show: no chart rather than an empty one.
        fmt.text(
            f"Ingen gruppe i opdelingen efter {GROUPING_LABELS[by].lower()} har mindst "
            f"{min_cell} læger; derfor vises ingen kurver for den."
        )
        continue
    figure = figures.plot_cif(
        curves, horizon_years, curve_max_years, outcomes=["h_psychiatry"], by=by
    )
    plotting.show(
        figure,
        path=catalog.figure_path("retention", f"cif_{by}"),
        alt=f"Trappekurver pr. {GROUPING_LABELS[by].lower()}: kumuleret andel med H-forløb i "
        "psykiatrien efter år siden start, med 95 %-bånd.",
    )

# %% [markdown]
# Kumuleret andel i H-forløb i psykiatrien ved horisonten:

# %%
overall_at = model.incidence_at(
    doctors, horizon_years, None, min_cell, shown=lambda _: funnels.shown(None, None), fits=fits
)
display(fmt.table(tables.incidence_table(overall_at)))
for by in model.GROUPINGS:
    catalog.save(at_horizon[by], f"retention/cif_at_horizon_{by}")
    display(fmt.table(tables.incidence_table(at_horizon[by], by)))
# The share converting on each track, by track code, for the supply stage: computed from every
# doctor, hidden groups included. It stays in data/interim (never published); the model needs it
# even where a track is too small to show.
conversion_by_track = model.incidence_at(doctors, horizon_years, "track", min_cell=1, fits=fits)
catalog.save(conversion_by_track, "retention/conversion_by_track")

# %% [markdown]
# ## Hvad hænger sammen med at fortsætte? (Cox-model)
#
# En årsagsspecifik Cox-model for hastigheden, hvormed lægerne starter i H-forløb i psykiatrien
# (de andre udfald censurerer). En hazard ratio over 1 betyder hurtigere overgang, alt andet lige.
# Alle forklarende variable indgår samtidig: sammenhængende forløb, region, uddannet i udlandet,
# køn, alder ved start og startperiode.

# %%
cox = model.fit_cox(doctors, min_cell)
catalog.save(cox.table, "retention/cox")
fmt.text(tables.notes_text(cox.notes))

# %%
fmt.table(tables.ratio_table(cox, "Hazard ratio"))

# %%
if len(cox.table) and cox.table["estimable"].any():
    figure = figures.plot_forest(cox.table, "Hazard ratio for H-forløb i psykiatrien")
    plotting.show(
        figure,
        path=catalog.figure_path("retention", "forest_cox"),
        alt="Forest-plot: hazard ratio med 95 %-interval for hver forklarende "
        "variabel i Cox-modellen; linjen ved 1 betyder ingen forskel.",
    )

# %% [markdown]
# ### Er hazard ratioerne konstante over tid?
#
# Cox-modellen antager, at forholdet mellem hastighederne er det samme gennem hele forløbet.
# Testen (Grambsch og Therneau) ser, om de skalerede Schoenfeld-residualer ændrer sig med tiden;
# en lille p-værdi tyder på, at effekten ændrer sig over tid.

# %%
if cox.ph_test is not None:
    catalog.save(cox.ph_test, "retention/ph_test")
    display(fmt.table(tables.ph_table(cox.ph_test)))
    display(fmt.text(tables.ph_text(cox.ph_test)))

# %%
if cox.schoenfeld is not None and "combined_track" in cox.schoenfeld:
    binned = model.binned_residuals(cox.schoenfeld, "combined_track", min_cell)
    figure = figures.plot_schoenfeld(binned, "combined_track")
    plotting.show(
        figure,
        path=catalog.figure_path("retention", "schoenfeld_sammenhaengende"),
        alt="Punktdiagram af skalerede Schoenfeld-residualer for sammenhængende "
        "forløb mod tid, med en udglattet kurve og en vandret linje for konstant effekt.",
    )

# %% [markdown]
# ### Robusthed: logistisk model for overgang inden for horisonten
#
# Blandt lægerne, der er fulgt hele horisonten: odds for at være i H-forløb i psykiatrien inden
# for horisonten. Modellen kræver ikke konstante hazard ratioer.

# %%
logistic = model.fit_logistic(doctors, min_cell)
catalog.save(logistic.table, "retention/logistic")
fmt.text(tables.notes_text(logistic.notes))

# %%
fmt.table(tables.ratio_table(logistic, "Odds ratio"))

# %%
fmt.text(tables.models_text(cox, logistic))

# %% [markdown]
# ## Uddannelsesstillinger: hvor mange bliver besat?
#
# Andelen af opslåede I- og H-stillinger, der blev besat, pr. år og speciale på landsplan (med
# 95 %-interval), og udviklingen over tid: ændringen i odds for, at en stilling bliver besat, pr.
# år (binomial regression med regioner som faste effekter).

# %%
fills, fill_cells = model.protected_fill_rates(posts, min_cell)
national_fill = fills["national"]
catalog.save(national_fill, "retention/fill_rates")
# The national initiatives (optional initiatives.csv) are marked on the chart.
figure = figures.plot_fill_rates(national_fill, catalog.load_optional("initiatives"))
plotting.show(
    figure,
    path=catalog.figure_path("retention", "besaettelse"),
    alt="To linjediagrammer: andelen af I- og H-stillinger, der blev besat, pr. "
    "år for psykiatri og børne- og ungdomspsykiatri, med 95 %-interval.",
)

# %%
trend = model.fill_rate_trend(posts)
catalog.save(trend, "retention/fill_rate_trend")
fmt.table(tables.trend_table(trend))

# %% [markdown]
# Besættelse pr. region over hele perioden:

# %%
regional_fill = fills["region"]
catalog.save(regional_fill, "retention/fill_rates_region")
tables.fill_rate_table(
    regional_fill if publish_safe else model.fill_rates(posts, model.FILL_TABLES["region"])
)

# %%
catalog.save_metrics(
    "retention",
    model.metrics(funnels, overall_at, at_horizon["region"], cox, horizon_years, national_fill),
)
# What the stage published about persons and posts, for the report stage's audit.
audit.save(
    catalog.disclosure_path("retention"),
    [*audit.namespaced(funnels.linked.cells(), "trainees"), *audit.namespaced(fill_cells, "posts")],
    sensitive=audit.namespaced_terms(funnels.linked.sensitive(), "trainees"),
)
