"""Every dataset by name, in one place.

Stages never build paths themselves: they ask the catalog. Processed input tables are named after
their file (``"patients"``); a stage's own tables are ``"stage/name"`` (``"growth/rates"``).

>>> Catalog(".").path("patients")
PosixPath('data/processed/patients.parquet')
>>> Catalog(".").path("growth/rates")
PosixPath('reports/tables/growth/rates.parquet')

pandas is imported inside the functions that read tables: the runner uses the catalog's paths
without it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.data.contract import GEOGRAPHIES, REGIONS, SPECIALTIES
from pipeline.errors import InputError
from pipeline.params import project_root

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

PROCESSED_DIR = Path("data/processed")
REFERENCE_FILE = Path("data/reference/published_figures.csv")
REPORTS_DIR = Path("reports")
METRICS_DIR = REPORTS_DIR / "metrics"
DISCLOSURE_DIR = Path("data/disclosure")
INTERIM_DIR = Path("data/interim")
DATASET_INFO = "dataset.json"


@dataclass(frozen=True)
class DatasetSpec:
    """A table one stage writes and another reads: its key, its columns and its codes.

    Tables between stages carry codes, never display labels; the reader joins on them.
    """

    name: str
    doc: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    codes: dict[str, tuple[str, ...]] = field(default_factory=dict)


# The datasets that pass between stages (DVC carries the files; this says what is in them). They
# live in data/interim/, not in the published reports/tables/: a model may need a count that
# disclosure control hides from readers.
DATASETS = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "growth/series",
            "patients and physicians (the gap's definition) per year, nationally and per region",
            key=("measure", "geography", "group", "year"),
            columns=("value",),
            codes={
                "measure": ("patients", "physicians"),
                "geography": GEOGRAPHIES,
                "group": ("total", "adult", "child_adolescent"),
            },
        ),
        DatasetSpec(
            "growth/projection",
            "observed values and the chosen model's forecast, with its distribution on the log "
            "scale (log_centre, log_spread, t degrees of freedom df)",
            key=("measure", "geography", "group", "year"),
            columns=("observed", "forecast", "lo95", "hi95", "log_centre", "log_spread", "df"),
            codes={"measure": ("patients", "physicians"), "geography": GEOGRAPHIES},
        ),
        DatasetSpec(
            "retention/conversion_by_track",
            "share of I-doctors in an H-post in psychiatry within the horizon, per track",
            key=("group",),
            columns=("cif", "ci_low", "ci_high"),
            codes={"group": ("regular", "combined")},
        ),
        DatasetSpec(
            "supply/demand_definitions",
            "the specialist gap under each demand definition (base_ratio, vacancies, target), "
            "nationally and per specialty, in the shown year (median, 95 % interval) and in the "
            "start year; available False where the data do not allow it",
            key=("definition", "scope"),
            columns=("available", "headline", "year", "gap", "gap_low", "gap_high", "gap_start"),
            codes={
                "definition": ("base_ratio", "vacancies", "target"),
                "scope": ("total", *SPECIALTIES),
            },
        ),
        DatasetSpec(
            "supply/targets",
            "per scenario and target: specialists in the target year (median, 95 % interval) "
            "and the probability of reaching the target",
            key=("scenario", "specialty", "year"),
            columns=("target", "p_reach", "specialists", "specialists_low", "specialists_high"),
            codes={"specialty": SPECIALTIES},
        ),
        DatasetSpec(
            "supply/required_posts",
            "per target: the extra H-posts a year for P(reach) >= the required probability "
            "(NaN when posts alone cannot), and when not, the posts on top of the other levers "
            "and the foreign recruits a year needed besides; status code",
            key=("specialty", "year"),
            columns=(
                "target",
                "probability",
                "posts",
                "p_posts",
                "p_max_posts",
                "posts_with_levers",
                "foreign_per_year",
                "status",
            ),
            codes={"specialty": SPECIALTIES},
        ),
        DatasetSpec(
            "supply/required_posts_by_region",
            "the required extra H-posts a year (or the combination's posts) split by region",
            key=("specialty", "year", "region"),
            columns=("posts",),
            codes={"specialty": SPECIALTIES, "region": REGIONS},
        ),
        DatasetSpec(
            "initiatives/register",
            "the regions' initiatives (initiatives.csv; empty without one) as the stage uses them: "
            "specialty empty for both, end empty while it runs, start_year and end_year the "
            "first and last year it covers at least half of, outcomes codes separated by |",
            key=("initiative_id",),
            columns=(
                "name",
                "region",
                "specialty",
                "start",
                "end",
                "start_year",
                "end_year",
                "outcomes",
            ),
            codes={"region": GEOGRAPHIES, "specialty": ("", *SPECIALTIES)},
        ),
    )
}


class Catalog:
    """Named access to the project's data, relative to the project root ``root`` (default: the
    root above the working directory, see ``project_root``)."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else project_root()

    # --- locations -------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Parquet file behind a table name: a declared dataset (``DATASETS``) lives in
        ``data/interim/`` (between stages, never published), any other stage table in
        ``reports/tables/`` (published, disclosure-controlled), an input table in
        ``data/processed/``."""
        if name in DATASETS:
            stage, table = name.split("/", 1)
            return self.root / INTERIM_DIR / stage / f"{table}.parquet"
        if "/" in name:
            stage, table = name.split("/", 1)
            return self.root / REPORTS_DIR / "tables" / stage / f"{table}.parquet"
        return self.root / PROCESSED_DIR / f"{name}.parquet"

    @property
    def processed_dir(self) -> Path:
        return self.root / PROCESSED_DIR

    @property
    def reference_file(self) -> Path:
        return self.root / REFERENCE_FILE

    def metrics_path(self, stage: str) -> Path:
        return self.root / METRICS_DIR / f"{stage}.json"

    def disclosure_path(self, stage: str) -> Path:
        """What a stage publishes about persons, for the report stage's disclosure audit
        (``pipeline.publish.audit``). Kept out of ``reports/``: it is not for readers."""
        return self.root / DISCLOSURE_DIR / f"{stage}.json"

    def figure_path(self, stage: str, name: str) -> Path:
        return self.root / REPORTS_DIR / "figures" / stage / f"{name}.png"

    # --- reading ---------------------------------------------------------------------------
    def load(self, name: str, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A table by name; a declared dataset (``DATASETS``) is checked against its
        declaration. With ``columns``, only those are read (and nothing is checked): a stage
        that needs no person ids does not load a million of them."""
        import pandas as pd

        path = self.path(name)
        if not path.exists():
            raise FileNotFoundError(
                f"{path}: table {name!r} does not exist yet; run the stage that writes it "
                f"(dvc repro) first"
            )
        if columns is not None:
            return pd.read_parquet(path, columns=list(columns))
        df = pd.read_parquet(path)
        _check_declared(df, name)
        return df

    def load_optional(self, name: str) -> pd.DataFrame | None:
        """A table of an optional input (``initiatives``), or None when the extract has none."""
        return self.load(name) if self.path(name).exists() else None

    def dataset_info(self) -> dict[str, Any]:
        """What ingest recorded about the input: directory, extract date, synthetic or not."""
        return json.loads((self.processed_dir / DATASET_INFO).read_text(encoding="utf-8"))

    def load_metrics(self) -> dict[str, dict[str, Any]]:
        """Every stage's metrics so far, by stage."""
        return {
            path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((self.root / METRICS_DIR).glob("*.json"))
        }

    def load_reference(self) -> pd.DataFrame:
        import pandas as pd

        return pd.read_csv(self.reference_file)

    # --- writing ---------------------------------------------------------------------------
    def save(self, df: pd.DataFrame, name: str) -> None:
        """Write a table atomically: a published stage table as parquet and CSV (for people) in
        ``reports/tables/``; a declared dataset as parquet in ``data/interim/`` for the stages
        that read it (checked against its declaration)."""
        _check_declared(df, name)
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        mixed = [c for c in df.columns if df[c].dtype == object and df[c].map(type).nunique() > 1]
        df = df.astype({c: "string" for c in mixed}) if mixed else df
        _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))
        if name not in DATASETS:
            _atomic(path.with_suffix(".csv"), lambda tmp: df.to_csv(tmp, index=False))

    def save_metrics(self, stage: str, metrics: dict[str, Any]) -> None:
        """Write a stage's metrics; the report stage merges them into ``reports/metrics.json``."""
        path = self.metrics_path(stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(_plain(metrics), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        _atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _check_declared(df: pd.DataFrame, name: str) -> None:
    spec = DATASETS.get(name)
    if spec is None:
        return
    missing = [c for c in (*spec.key, *spec.columns) if c not in df.columns]
    problems = [f"{name}: column {c!r} is missing (pipeline/data/catalog.py)" for c in missing]
    for column, codes in spec.codes.items():
        if column in df.columns:
            unknown = sorted(set(df[column].astype(str)) - set(codes))
            if unknown:
                problems.append(
                    f"{name}: column {column!r} holds {', '.join(map(repr, unknown))}; "
                    f"declared codes: {', '.join(codes)}"
                )
    if problems:
        raise InputError(problems)


def write_bytes(path: Path, data: bytes) -> None:
    """Write a file atomically, creating its directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, floats rounded so metrics diff cleanly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    return value


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same directory, then rename: never half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
