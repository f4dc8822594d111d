"""What ingest read, for the ingest page: tables, a figure and sentences in Danish.

matplotlib is imported inside the function that draws: it takes a second to import.
"""

from __future__ import annotations

import pandas as pd

from pipeline.data.contract import NATIONAL
from pipeline.data.ingest import Dataset
from pipeline.data.read import describe
from pipeline.publish import fmt
from pipeline.publish.fmt import number, percent, quantity
from pipeline.publish.marks import mark_initiatives
from pipeline.publish.plotting import danish_axis, tight_layout, year_axis


def overview(dataset: Dataset, min_cell: int) -> pd.DataFrame:
    """Rows, years and format per file, with Danish column names. ``trainees`` has one row per
    doctor, so its number of rows counts persons and is hidden below ``min_cell`` (as on the
    retention page); the other files' rows count table cells."""
    info = dataset.info()
    rows = []
    for name, src in dataset.sources.items():
        # The contacts' years are those of the patients counted from them.
        first, last = info["years"]["patients" if name == "contacts" else name]
        encoding, separator = describe(src.encoding, src.separator)
        rows.append(
            {
                "Fil": src.file,
                # trainees.csv has a row per doctor: its rows count persons.
                "Rækker": fmt.HIDDEN if name == "trainees" and src.rows < min_cell else src.rows,
                "Fra år": first,
                "Til år": last,
                "Tegnsæt": encoding if src.sheet is None else f"Excel (arket {src.sheet})",
                "Separator": separator,
                "Kolonner udeladt": ", ".join(src.ignored_columns) or "–",
            }
        )
    return pd.DataFrame(rows)


def plot_national_totals(totals: pd.DataFrame, initiatives: pd.DataFrame | None = None):
    """Two panels: patients by age group and physicians by grade, per year; the national
    initiatives marked when ``initiatives`` is given."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for col, label in (("patients_adult", "Voksne"), ("patients_child_adolescent", "Børn og unge")):
        left.plot(totals["year"], totals[col], label=label)
    left.set(title="Patienter i regionspsykiatrien", xlabel="År", ylabel="Personer")
    for col, label in (
        ("physicians_specialist", "Speciallæger"),
        ("physicians_trainee", "Læger under uddannelse"),
    ):
        right.plot(totals["year"], totals[col], label=label)
    right.set(title="Læger i psykiatrien", xlabel="År", ylabel="Personer")
    for ax in (left, right):
        ax.set_ylim(bottom=0)
        danish_axis(ax)
        year_axis(ax)
        ax.legend(loc="lower right")
        mark_initiatives(ax, initiatives, NATIONAL)
    tight_layout(fig)
    return fig


def validate_message(dataset: Dataset) -> str:
    """The validation result in one Danish sentence."""
    kind = "syntetiske demodata" if dataset.synthetic else "data"
    return (
        f"Alle {len(dataset.sources)} filer i {dataset.raw_dir} overholder datakontrakten "
        f"({kind}, udtræksdato {dataset.extract_date.date().isoformat()})."
    )


def contacts_text(dataset: Dataset) -> str:
    """What the contacts gave, in Danish (or that there were none)."""

    if dataset.contact_persons is None:
        return "Der er ingen kontaktdata; patienttallene er læst fra `patients.csv`."
    cells = dataset.tables["patients"].groupby("year")["patients"].sum()
    persons = dataset.contact_persons.set_index("year")["persons"]
    extra = (cells / persons - 1).mean()
    return (
        f"Patienterne er talt fra {number(dataset.sources['contacts'].rows)} kontakter i "
        f"{dataset.sources['contacts'].file}. Summen over regioner og aldersgrupper er i "
        f"gennemsnit {percent(extra)} højere end antallet af forskellige personer på landsplan, "
        f"fordi personer med kontakt i flere regioner eller begge aldersgrupper tæller i hver."
    )


def comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison for display: Danish headings, values formatted in their units."""

    return pd.DataFrame(
        {
            "Størrelse": comparison["label"],
            "År": comparison["year"],
            "Publiceret": [
                quantity(v, u)
                for v, u in zip(comparison["published"], comparison["unit"], strict=True)
            ],
            "Data": [
                quantity(v, u) for v, u in zip(comparison["data"], comparison["unit"], strict=True)
            ],
        }
    )
