"""The data contract: which files, which columns, which values.

One declaration per input file. Validation (``pipeline.data.ingest``), the synthetic generator
(``pipeline.data.synth``) and the contract's documentation (``docs/data-contract.md``) all
follow it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

REGIONS = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")
NATIONAL = "Danmark"  # the sum of the regions, in every stage's tables
GEOGRAPHIES = (NATIONAL, *REGIONS)
SPECIALTIES = ("psychiatry", "child_adolescent_psychiatry")
AGE_GROUPS = ("adult", "child_adolescent")
GRADES = ("specialist", "trainee")
AGE_BANDS = (
    "25-29",
    "30-34",
    "35-39",
    "40-44",
    "45-49",
    "50-54",
    "55-59",
    "60-64",
    "65-69",
    "70+",
)
POST_TYPES = ("I", "H")
SEXES = ("F", "M")
H_SPECIALTIES = (*SPECIALTIES, "other")

# Region names as they appear in real extracts: "Region Sjælland", "Sjaelland", "REGION H".
REGION_ALIASES = {
    "sjaelland": "Sjælland",
    "region h": "Hovedstaden",
    "region hovedstaden": "Hovedstaden",
}

# ``text``: free text (a name); ``codes``: several codes separated by ``|``.
Kind = Literal["year", "int", "float", "code", "codes", "date", "bool", "id", "text"]


@dataclass(frozen=True)
class Column:
    """One column of an input file."""

    name: str
    kind: Kind
    doc: str
    example: str
    codes: tuple[str, ...] = ()
    required: bool = True  # the column must be present
    nullable: bool = False  # empty cells allowed
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class FileSpec:
    """One input file: its columns, its key and what a row means."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    # An optional file may be left out; the analyses that need it say so on their pages.
    optional: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_YEAR = dict(min=1950, max=2100)

PATIENTS = FileSpec(
    name="patients",
    doc="Distinct persons with a contact in regional psychiatry, per year, region and age group.",
    key=("year", "region", "age_group"),
    columns=(
        Column("year", "year", "calendar year", "2019", **_YEAR),
        Column("region", "code", "administrative region", "Midtjylland", codes=REGIONS),
        Column(
            "age_group", "code", "adult or child & adolescent psychiatry", "adult", codes=AGE_GROUPS
        ),
        Column("patients", "int", "distinct persons with a contact that year", "30412", min=0),
    ),
)

PHYSICIANS = FileSpec(
    name="physicians",
    doc="Physicians employed in regional psychiatry, per year, region, specialty, grade and age.",
    key=("year", "region", "specialty", "grade", "age_band", "sex"),
    columns=(
        Column("year", "year", "calendar year", "2020", **_YEAR),
        Column("region", "code", "administrative region", "Nordjylland", codes=REGIONS),
        Column("specialty", "code", "specialty", "psychiatry", codes=SPECIALTIES),
        Column(
            "grade",
            "code",
            "specialist, or doctor in training (I- or H-post)",
            "specialist",
            codes=GRADES,
        ),
        Column("age_band", "code", "five-year age band", "65-69", codes=AGE_BANDS),
        Column(
            "sex",
            "code",
            "F or M (optional column; when given, rows are split by sex)",
            "F",
            codes=SEXES,
            required=False,
        ),
        Column("headcount", "int", "persons", "23", min=0),
        Column(
            "fte",
            "float",
            "full-time equivalents (optional column)",
            "20.5",
            min=0,
            required=False,
            nullable=True,
        ),
    ),
    notes=(
        "`sex` is optional. When the column is given, every row must have it and the key "
        "includes it; without it, headcounts and FTE cover both sexes.",
    ),
)

TRAINING_POSTS = FileSpec(
    name="training_posts",
    doc="Training posts advertised and filled, per year, region, specialty and post type.",
    key=("year", "region", "specialty", "post_type"),
    columns=(
        Column("year", "year", "calendar year", "2017", **_YEAR),
        Column("region", "code", "administrative region", "Syddanmark", codes=REGIONS),
        Column("specialty", "code", "specialty", "child_adolescent_psychiatry", codes=SPECIALTIES),
        Column(
            "post_type",
            "code",
            "I = introduction post, H = main specialist training",
            "H",
            codes=POST_TYPES,
        ),
        Column("advertised", "int", "posts advertised", "6", min=0),
        Column("filled", "int", "posts filled (at most advertised)", "4", min=0),
    ),
)

TRAINEES = FileSpec(
    name="trainees",
    doc="One row per doctor starting an introduction post (I-stilling).",
    key=("person_id", "i_start"),
    columns=(
        Column("person_id", "id", "pseudonym (never a CPR number)", "T7F3A21"),
        Column("sex", "code", "F or M", "F", codes=SEXES),
        Column("birth_year", "year", "year of birth", "1992", **_YEAR),
        Column("region", "code", "region of the I-post", "Hovedstaden", codes=REGIONS),
        Column("specialty", "code", "specialty of the I-post", "psychiatry", codes=SPECIALTIES),
        Column("i_start", "date", "start of the I-post", "2019-09-01"),
        Column(
            "i_end", "date", "end of the I-post; empty while ongoing", "31-08-2020", nullable=True
        ),
        Column(
            "combined_track",
            "bool",
            "the I-post came with a guaranteed H-post (sammenhængende forløb)",
            "false",
        ),
        Column("foreign_graduate", "bool", "medical degree from abroad", "nej"),
        Column(
            "h_start",
            "date",
            "start of an H-post; empty if none observed",
            "2021-02-01",
            nullable=True,
        ),
        Column(
            "h_specialty",
            "code",
            "specialty of that H-post; empty when h_start is empty",
            "psychiatry",
            codes=H_SPECIALTIES,
            nullable=True,
        ),
        Column(
            "exit_date",
            "date",
            "left the data without an H-post; empty otherwise",
            "",
            nullable=True,
        ),
        Column(
            "extract_date", "date", "when the extract was taken (the censoring date)", "2026-03-31"
        ),
    ),
    notes=(
        "Dates are ISO `YYYY-MM-DD` or Danish `DD-MM-YYYY`; booleans `true/false`, `1/0`, "
        "`ja/nej`.",
        "`i_end`, `h_start` and `exit_date` may not precede `i_start`, and no date may follow "
        "`extract_date`.",
        "`h_start` and `h_specialty` are given together or not at all; a doctor with an H-post "
        "has no `exit_date`.",
    ),
)

CONTACTS = FileSpec(
    name="contacts",
    doc=(
        "Optional, register-sized: one row per contact with regional psychiatry, as "
        "contacts.parquet or a directory contacts/ of parquet files. When present, the patients "
        "per year, region and age group are counted from it (a person once per cell), and "
        "patients.csv, if also present, must agree."
    ),
    key=(),
    columns=(
        Column("person_id", "id", "pseudonym (never a CPR number)", "P0881273"),
        Column(
            "contact_date", "date", "date of the contact (a parquet date, or text)", "2019-03-14"
        ),
        Column("region", "code", "region of the contact", "Midtjylland", codes=REGIONS),
        Column(
            "age_group", "code", "adult or child & adolescent psychiatry", "adult", codes=AGE_GROUPS
        ),
    ),
)

SPECIALIST_POSTS = FileSpec(
    name="specialist_posts",
    doc=(
        "Optional: funded and filled specialist posts (overlægestillinger and other posts for "
        "specialists), per year, region and specialty, with posts covered by locums."
    ),
    key=("year", "region", "specialty"),
    columns=(
        Column("year", "year", "calendar year", "2024", **_YEAR),
        Column("region", "code", "administrative region", "Midtjylland", codes=REGIONS),
        Column("specialty", "code", "specialty", "psychiatry", codes=SPECIALTIES),
        Column("funded", "int", "posts funded for specialists", "210", min=0),
        Column("filled", "int", "of those, filled by a specialist (at most funded)", "168", min=0),
        Column(
            "locum",
            "int",
            "posts covered by locums or temporary staff (optional column)",
            "14",
            min=0,
            required=False,
            nullable=True,
        ),
    ),
    notes=(
        "The measured vacancies (funded - filled, plus locums when given) are the starting gap "
        "of the `vacancies` demand definition (`params.yaml: supply.demand`).",
    ),
    optional=True,
)

INITIATIVE_OUTCOMES = (
    "h_fill_rate",
    "i_fill_rate",
    "conversion",
    "specialist_exits",
    "specialists",
)

INITIATIVES = FileSpec(
    name="initiatives",
    doc="Optional: the regions' initiatives against the shortage, one row per initiative.",
    key=("initiative_id",),
    columns=(
        Column("initiative_id", "id", "a short code", "RN_KBU_IH"),
        Column(
            "name",
            "text",
            "the initiative's name (Danish)",
            "Sammenhængende KBU-, I- og H-forløb",
        ),
        Column(
            "region",
            "code",
            "the region that ran it, or Danmark for all regions",
            "Nordjylland",
            codes=GEOGRAPHIES,
        ),
        Column(
            "specialty",
            "code",
            "the specialty it concerned; empty for both",
            "psychiatry",
            codes=SPECIALTIES,
            nullable=True,
        ),
        Column("start", "date", "when it started", "2018-09-01"),
        Column("end", "date", "when it ended; empty while it runs", "2022-08-31", nullable=True),
        Column(
            "outcomes",
            "codes",
            "what it should change, codes separated by |",
            "h_fill_rate|conversion",
            codes=INITIATIVE_OUTCOMES,
        ),
    ),
    notes=(
        "`end` may not precede `start`. Outcomes: `h_fill_rate` and `i_fill_rate` (share of "
        "H- and I-posts filled), `conversion` (an H-post in psychiatry within "
        "`retention.horizon_years` of the I-start, by I-start cohort), `specialist_exits` "
        "(yearly exit rate of specialists aged 60+), `specialists` (specialist headcount).",
    ),
    optional=True,
)

FILES: tuple[FileSpec, ...] = (
    PATIENTS,
    PHYSICIANS,
    TRAINING_POSTS,
    TRAINEES,
    SPECIALIST_POSTS,
    INITIATIVES,
)
BY_NAME = {spec.name: spec for spec in FILES}


# --------------------------------------------------------------------------------------------
# Reading the contract's names and codes, shared by every reader (CSV, Excel, parquet)
# --------------------------------------------------------------------------------------------
MAX_LINES_PER_CHECK = 50  # per file and kind of problem; a summary line counts the rest
UNKNOWN_CODE = "is not a known code; use one of: "


def normalise_name(name: Any) -> str:
    """A column name as the contract compares it: case, spaces and dashes do not matter."""
    return re.sub(r"[\s\-]+", "_", str(name).replace("\ufeff", "").strip().casefold())


def rename_hint(file: str, column: str) -> str:
    """How to fix a missing column, for the end of a problem line."""
    return (
        f"add it, or map your own column name onto it in params.yaml "
        f"(data.rename.{file}: {{your_name: {column}}})"
    )


def code_lookup(col: Column) -> dict[str, str]:
    """Accepted spellings (lower case) of a code column's values, mapped to the code."""
    lookup = {code.lower(): code for code in col.codes}
    if col.codes == REGIONS:
        lookup.update({f"region {code.lower()}": code for code in col.codes})
        lookup.update(REGION_ALIASES)
        lookup.update({f"region {k}": v for k, v in REGION_ALIASES.items()})
    return lookup
