# %% [markdown]
# # Fra introduktionsstilling til hoveduddannelse
#
# Hvor mange læger i introduktionsstilling (I-stilling) i psykiatri og børne- og
# ungdomspsykiatri fortsætter i et hoveduddannelsesforløb (H-forløb) i psykiatrien, hvor hurtigt,
# og hvad hænger sammen med, at de gør det? Workshops i Region Midtjylland efterlyste netop "en
# evaluering af hvilke I-læger der fortsætter i H-stillinger, samt hvilke årsager der er til
# frafald", og regionerne afprøver sammenhængende forløb (I- og H-stilling samlet) og rekruttering
# af udenlandske læger. Alle beregninger ligger i `pipeline/retention.py`.
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
# Tal for færre end `min_cell` personer vises ikke ("<5"), og kurver stopper, hvor færre end
# `min_cell` læger stadig er i risiko.

# %% tags=["parameters"]
# Standardværdier til interaktiv brug; `dvc repro` indsætter værdierne fra params.yaml
# (sektionen `retention` og `report.min_cell`).
horizon_years = 3
cohort_periods = [2010, 2015, 2020]
curve_max_years = 8
min_cell = 5

# %%
from IPython.display import display

from pipeline import fmt, plotting, retention
from pipeline.catalog import Catalog

plotting.setup()
catalog = Catalog()
retention.check_params(
    {
        "horizon_years": horizon_years,
        "cohort_periods": cohort_periods,
        "curve_max_years": curve_max_years,
    }
)
trainees = catalog.load("trainees")
posts = catalog.load("training_posts")
doctors = retention.prepare(trainees, horizon_years, cohort_periods)
fmt.text(retention.data_text(doctors, horizon_years, min_cell))

# %% [markdown]
# ## Tragten: fra I-stilling til H-forløb i psykiatrien
#
# For hver startårgang: hvor mange begyndte i I-stilling, hvor mange afsluttede den, og hvor
# mange af dem, der er fulgt hele horisonten, var i H-forløb i psykiatrien inden for horisonten
# (med 95 %-interval efter Wilson).

# %%
by_cohort = retention.publishable_funnel(retention.funnel(doctors, ["cohort"]), min_cell)
catalog.save(by_cohort, "retention/funnel_cohort")
retention.funnel_table(by_cohort, {"cohort": "Startår"})

# %%
figure = retention.plot_funnel(by_cohort)
plotting.show(
    figure,
    path=catalog.figure_path("retention", "tragt_startaar"),
    alt="Linjediagram: andelen af fuldt fulgte læger i H-forløb i psykiatrien "
    "inden for horisonten, efter startår i I-stilling, med 95 %-interval.",
)

# %%
for by, title in (("region", "Region"), ("specialty", "Speciale"), ("track", "Forløb")):
    table = retention.publishable_funnel(retention.funnel(doctors, [by]), min_cell)
    catalog.save(table, f"retention/funnel_{by}")
    display(retention.funnel_table(table, {by: title}))

# %% [markdown]
# Tragten pr. startår, region og speciale (små grupper vises som "<5"):

# %%
detailed = retention.publishable_funnel(
    retention.funnel(doctors, ["cohort", "region", "specialty"]), min_cell
)
catalog.save(detailed, "retention/funnel_cohort_region_specialty")
retention.funnel_table(detailed, {"cohort": "Startår", "region": "Region", "specialty": "Speciale"})

# %% [markdown]
# ## Kumuleret andel over tid (Aalen-Johansen)
#
# Andelen, der har haft hvert udfald, efter antal år siden start i I-stilling, med 95 %-bånd. Den
# stiplede lodrette linje er horisonten.

# %%
overall = retention.cumulative_incidence(doctors, None, min_cell)
catalog.save(overall, "retention/cif_overall")
figure = retention.plot_cif(overall, horizon_years, curve_max_years)
plotting.show(
    figure,
    path=catalog.figure_path("retention", "cif_alle"),
    alt="Trappekurver for alle læger: kumuleret andel med H-forløb i psykiatrien, "
    "H-forløb i et andet speciale og stop uden H-forløb, efter år siden start.",
)

# %%
at_horizon = {}
for by, title in retention.GROUPINGS.items():
    curves = retention.cumulative_incidence(doctors, by, min_cell)
    catalog.save(curves, f"retention/cif_{by}")
    at_horizon[by] = retention.incidence_at(doctors, horizon_years, by, min_cell)
    figure = retention.plot_cif(curves, horizon_years, curve_max_years, outcomes=["h_psychiatry"])
    plotting.show(
        figure,
        path=catalog.figure_path("retention", f"cif_{by}"),
        alt=f"Trappekurver pr. {title.lower()}: kumuleret andel med H-forløb i "
        "psykiatrien efter år siden start, med 95 %-bånd.",
    )

# %% [markdown]
# Kumuleret andel i H-forløb i psykiatrien ved horisonten:

# %%
overall_at = retention.incidence_at(doctors, horizon_years, None, min_cell)
display(fmt.table(retention.incidence_table(overall_at, "Gruppe")))
for by, title in retention.GROUPINGS.items():
    catalog.save(at_horizon[by], f"retention/cif_at_horizon_{by}")
    display(fmt.table(retention.incidence_table(at_horizon[by], title)))

# %% [markdown]
# ## Hvad hænger sammen med at fortsætte? (Cox-model)
#
# En årsagsspecifik Cox-model for hastigheden, hvormed lægerne starter i H-forløb i psykiatrien
# (de andre udfald censurerer). En hazard ratio over 1 betyder hurtigere overgang, alt andet lige.
# Alle forklarende variable indgår samtidig: sammenhængende forløb, region, uddannet i udlandet,
# køn, alder ved start og startperiode.

# %%
cox = retention.fit_cox(doctors, min_cell)
catalog.save(cox.table, "retention/cox")
fmt.text(retention.notes_text(cox.notes))

# %%
fmt.table(retention.ratio_table(cox, "Hazard ratio"))

# %%
if len(cox.table) and cox.table["estimable"].any():
    figure = retention.plot_forest(cox.table, "Hazard ratio for H-forløb i psykiatrien")
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
    display(fmt.table(retention.ph_table(cox.ph_test)))
    fmt.text(retention.ph_text(cox.ph_test))

# %%
if cox.schoenfeld is not None and "combined_track" in cox.schoenfeld:
    figure = retention.plot_schoenfeld(
        cox.schoenfeld, "combined_track", retention.COVARIATE_LABELS["combined_track"]
    )
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
logistic = retention.fit_logistic(doctors, min_cell)
catalog.save(logistic.table, "retention/logistic")
fmt.text(retention.notes_text(logistic.notes))

# %%
fmt.table(retention.ratio_table(logistic, "Odds ratio"))

# %%
fmt.text(retention.models_text(cox, logistic))

# %% [markdown]
# ## Uddannelsesstillinger: hvor mange bliver besat?
#
# Andelen af opslåede I- og H-stillinger, der blev besat, pr. år og speciale på landsplan (med
# 95 %-interval), og udviklingen over tid: ændringen i odds for, at en stilling bliver besat, pr.
# år (binomial regression med regioner som faste effekter).

# %%
national_fill = retention.fill_rates(posts)
catalog.save(national_fill, "retention/fill_rates")
figure = retention.plot_fill_rates(national_fill)
plotting.show(
    figure,
    path=catalog.figure_path("retention", "besaettelse"),
    alt="To linjediagrammer: andelen af I- og H-stillinger, der blev besat, pr. "
    "år for psykiatri og børne- og ungdomspsykiatri, med 95 %-interval.",
)

# %%
trend = retention.fill_rate_trend(posts)
catalog.save(trend, "retention/fill_rate_trend")
fmt.table(retention.trend_table(trend))

# %% [markdown]
# Besættelse pr. region over hele perioden:

# %%
regional_fill = retention.fill_rates(posts, by=("region", "post_type", "specialty"))
catalog.save(regional_fill, "retention/fill_rates_region")
retention.fill_rate_table(regional_fill, min_cell)

# %%
catalog.save_metrics(
    "retention",
    retention.metrics(doctors, overall_at, at_horizon["region"], cox, horizon_years),
)
