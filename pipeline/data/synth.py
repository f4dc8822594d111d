"""Synthetic datasets in the contract's format, calibrated to published Danish figures.

The demo set in ``data/raw/demo`` is the output of ``python -m pipeline synth --out data/raw/demo
--seed 2013``. Calibration targets (``data/reference/published_figures.csv``):

* national patients about 120,000 in 2013 and 165,000 in 2019, child & adolescent psychiatry
  through the published 20,686 (2009), 35,578 (2017) and 43,530 (2022);
* about 1,000 adult and 260 child & adolescent specialists around 2020, a quarter of all physicians
  in psychiatry over 65;
* 100-150 I-posts and 80-100 H-posts a year, 25-35 % of H-posts unfilled around 2017;
* about 60 % of I-doctors in an H-post in psychiatry within three years, faster on a combined
  track (sammenhængende forløb).

Each table draws from its own random stream, so ``--trainees N`` changes only the trainees.
The same seed and arguments give byte-identical files.

pyarrow is imported inside ``write_contacts``: only register-sized runs need it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.data import contract
from pipeline.data.ingest import SYNTHETIC_MARKER
from pipeline.errors import InputError

log = logging.getLogger(__name__)

REGIONS = contract.REGIONS
SPECIALTIES = contract.SPECIALTIES

# National patients (log-linear between anchors; the 2020 dip is the pandemic year).
TOTAL_PATIENT_ANCHORS = {
    2010: 111_000,
    2013: 120_000,
    2016: 141_000,
    2019: 165_000,
    2020: 158_000,
    2025: 186_000,
}
CHILD_PATIENT_ANCHORS = {2009: 20_686, 2017: 35_578, 2022: 43_530}
PATIENT_REGION_SHARE = (0.305, 0.150, 0.210, 0.232, 0.103)
PHYSICIAN_REGION_SHARE = (0.36, 0.11, 0.20, 0.23, 0.10)
POST_REGION_SHARE = (0.33, 0.13, 0.20, 0.23, 0.11)
# Fill rates are lower in the regions furthest from the university hospitals.
REGION_FILL_SHIFT = (0.08, -0.10, 0.0, 0.03, -0.08)

I_POSTS_2010 = {"psychiatry": 88.0, "child_adolescent_psychiatry": 30.0}
H_POSTS_2010 = {"psychiatry": 58.0, "child_adolescent_psychiatry": 26.0}
H_DURATION_YEARS = 4
H_COMPLETION = 0.88
# Specialist inflow before the data starts, relative to the first data year's H-completions.
HISTORY = {
    "psychiatry": {"founders": 120, "before_1995": 1.8, "before_data": 0.35, "other_entrants": 3.0},
    "child_adolescent_psychiatry": {
        "founders": 15,
        "before_1995": 0.3,
        "before_data": 0.2,
        "other_entrants": 1.0,
    },
}

AGE_BAND_EDGES = [int(band[:2]) for band in contract.AGE_BANDS]  # lower edges: 25, 30, ..., 70


@dataclass(frozen=True)
class TraineeHazards:
    """Cause-specific hazards per year after the I-post for the synthetic trainees.

    H-posts can start only after the one-year I-post (``lag_years``); exits can happen at any
    time. Hazard ratios multiply the H-post-in-psychiatry hazard.
    """

    h_psychiatry: float = 0.62
    h_other: float = 0.08
    exit: float = 0.10
    lag_years: float = 1.0
    hr_combined_track: float = 2.0
    hr_foreign_graduate: float = 0.75
    hr_region: tuple[float, ...] = (1.15, 0.85, 1.0, 1.05, 0.95)
    hr_female: float = 1.05
    hr_per_year_of_age: float = 0.97  # per year older than 30 at I-start
    exit_hr_combined_track: float = 0.5
    exit_hr_foreign_graduate: float = 1.3


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 2013
    first_year: int = 2010
    last_year: int = 2025
    trainees: int | None = None  # None: one trainee per filled I-post
    hazards: TraineeHazards = field(default_factory=TraineeHazards)
    # Patients scaled by this factor (small test datasets with contacts).
    patient_scale: float = 1.0
    # About this many contact rows in contacts.parquet (None: no contacts file).
    contacts: int | None = None

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.first_year, self.last_year + 1)

    @property
    def extract_date(self) -> date:
        return date(self.last_year + 1, 3, 31)


# --------------------------------------------------------------------------------------------
def synthesize(config: SynthConfig) -> dict[str, pd.DataFrame]:
    """Generate all four contract tables (typed, before formatting as text)."""
    if config.last_year < config.first_year + 4:
        raise InputError(
            "synth: a synthetic dataset needs at least five years; make --last-year at least "
            "four years after --first-year"
        )
    streams = np.random.SeedSequence(config.seed).spawn(4)
    rng_patients, rng_posts, rng_trainees, rng_physicians = (
        np.random.default_rng(s) for s in streams
    )
    patients = synthesize_patients(config, rng_patients)
    posts = synthesize_posts(config, rng_posts)
    trainees = synthesize_trainees(config, posts, rng_trainees)
    physicians = synthesize_physicians(config, posts, rng_physicians)
    return {
        "patients": patients,
        "physicians": physicians,
        "training_posts": posts,
        "trainees": trainees,
    }


def _log_interpolate(anchors: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Log-linear interpolation through anchor points, extrapolating the end slopes."""
    xs = np.array(sorted(anchors), dtype=float)
    ys = np.log([anchors[int(x)] for x in xs])
    out = np.interp(years, xs, ys)
    first_slope = (ys[1] - ys[0]) / (xs[1] - xs[0])
    last_slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    out = np.where(years < xs[0], ys[0] + first_slope * (years - xs[0]), out)
    out = np.where(years > xs[-1], ys[-1] + last_slope * (years - xs[-1]), out)
    return np.exp(out)


def synthesize_patients(config: SynthConfig, rng: np.random.Generator) -> pd.DataFrame:
    years = config.years
    total = _log_interpolate(TOTAL_PATIENT_ANCHORS, years)
    child = _log_interpolate(CHILD_PATIENT_ANCHORS, years)
    rows = []
    share = np.array(PATIENT_REGION_SHARE)
    # Slow drift of regional shares: Hovedstaden gains, Nordjylland and Sjælland lose a little.
    drift = np.array([0.002, -0.0006, -0.0004, 0.0, -0.001])
    for k, year in enumerate(years):
        shares = share + drift * (year - config.first_year)
        shares = shares / shares.sum()
        for group, national in (("adult", total[k] - child[k]), ("child_adolescent", child[k])):
            noise = rng.lognormal(0.0, 0.012, size=len(REGIONS))
            counts = np.rint(national * shares * noise * config.patient_scale).astype(int)
            rows += [(int(year), r, group, int(c)) for r, c in zip(REGIONS, counts, strict=True)]
    return pd.DataFrame(rows, columns=["year", "region", "age_group", "patients"])


def synthesize_posts(config: SynthConfig, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for year in config.years:
        t = year - config.first_year
        for spec in SPECIALTIES:
            for post_type, base, growth in (("I", I_POSTS_2010, 1.2), ("H", H_POSTS_2010, 0.5)):
                national = base[spec] + growth * t * (0.7 if spec == "psychiatry" else 0.3)
                advertised = rng.poisson(national * np.array(POST_REGION_SHARE))
                advertised = np.maximum(advertised, 1)
                fill = _fill_rate(post_type, spec, int(year))
                p = np.clip(fill + np.array(REGION_FILL_SHIFT), 0.3, 0.99)
                filled = rng.binomial(advertised, p)
                rows += [
                    (int(year), r, spec, post_type, int(a), int(f))
                    for r, a, f in zip(REGIONS, advertised, filled, strict=True)
                ]
    return pd.DataFrame(
        rows, columns=["year", "region", "specialty", "post_type", "advertised", "filled"]
    )


def _fill_rate(post_type: str, specialty: str, year: int) -> float:
    if post_type == "I":
        return 0.90
    base = 0.67 if specialty == "psychiatry" else 0.77
    # Fill rates improved after the regions' recruitment initiatives from 2019.
    return base + 0.02 * max(0, year - 2019)


def _band_counts(age: np.ndarray, region: np.ndarray | None = None) -> np.ndarray:
    """Persons per age band (whole years of age), or per region and age band."""
    bands = len(AGE_BAND_EDGES)
    idx = np.clip(np.searchsorted(AGE_BAND_EDGES, np.floor(age), side="right") - 1, 0, bands - 1)
    if region is None:
        return np.bincount(idx, minlength=bands)
    return np.bincount(region * bands + idx, minlength=len(REGIONS) * bands).reshape(-1, bands)


def synthesize_physicians(
    config: SynthConfig, posts: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Specialists from a person-level stock simulation; trainees from the posts they fill."""
    h_filled = posts[posts["post_type"] == "H"].set_index(["year", "region", "specialty"])["filled"]
    i_filled = posts[posts["post_type"] == "I"].set_index(["year", "region", "specialty"])["filled"]
    rows = []
    for spec in SPECIALTIES:
        history = HISTORY[spec]
        # A small founding stock in 1965, then yearly inflow: large cohorts trained before 1995
        # and smaller ones since give the ageing bulge behind today's shortage.
        age = rng.normal(45, 8, size=history["founders"]).clip(33, 70)
        region = rng.choice(5, size=age.size, p=PHYSICIAN_REGION_SHARE)
        for year in range(1965, config.last_year + 1):
            age = age + 1
            leave = rng.random(age.size) < _exit_probability(age)
            age, region = age[~leave], region[~leave]
            # New specialists: H-trainees completing, plus doctors arriving from elsewhere.
            start_year = year - H_DURATION_YEARS
            if start_year >= config.first_year:
                scale = 1.0
            else:
                scale = history["before_1995"] if start_year < 1995 else history["before_data"]
            new_regions = []
            for r_idx, r in enumerate(REGIONS):
                started = h_filled.get((max(start_year, config.first_year), r, spec), 0)
                n_new = rng.binomial(round(started * scale), H_COMPLETION)
                new_regions += [r_idx] * n_new
            n_other = rng.poisson(history["other_entrants"])
            new_regions += list(rng.choice(5, size=n_other, p=PHYSICIAN_REGION_SHARE))
            new_age = rng.normal(39, 3.5, size=len(new_regions)).clip(33, 60)
            age = np.concatenate([age, new_age])
            region = np.concatenate([region, np.array(new_regions, dtype=int)])
            if year < config.first_year:
                continue
            counts = _band_counts(age, region)
            rows += [
                (year, r, spec, "specialist", band, int(counts[r_idx, b]))
                for r_idx, r in enumerate(REGIONS)
                for b, band in enumerate(contract.AGE_BANDS)
            ]
            # Trainees in post this year: this year's I-doctors and four cohorts of H-doctors.
            for r in REGIONS:
                n_i = int(i_filled.get((year, r, spec), 0))
                n_h = sum(
                    int(h_filled.get((max(y, config.first_year), r, spec), 0))
                    for y in range(year - H_DURATION_YEARS + 1, year + 1)
                )
                ages = np.concatenate(
                    [
                        rng.normal(30.5, 2.5, size=n_i),
                        rng.normal(34.5, 3.5, size=n_h),
                    ]
                ).clip(26, 55)
                counts = _band_counts(ages)
                rows += [
                    (year, r, spec, "trainee", band, int(counts[b]))
                    for b, band in enumerate(contract.AGE_BANDS)
                ]
    df = pd.DataFrame(
        rows, columns=["year", "region", "specialty", "grade", "age_band", "headcount"]
    )
    df = df.sort_values(["year", "region", "specialty", "grade", "age_band"], kind="stable")
    fte_share = rng.uniform(0.82, 0.96, size=len(df))
    df["fte"] = np.round(df["headcount"] * fte_share, 1)
    return df.reset_index(drop=True)


def _exit_probability(age: np.ndarray) -> np.ndarray:
    """Annual probability of leaving regional psychiatry (retirement, private practice, abroad)."""
    return np.select(
        [age < 55, age < 60, age < 65, age < 70, age < 75, age < 80],
        [0.008, 0.012, 0.020, 0.035, 0.07, 0.20],
        default=1.0,
    )


def synthesize_trainees(
    config: SynthConfig, posts: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per I-start; competing outcomes drawn from ``config.hazards``."""
    hz = config.hazards
    i_posts = posts[posts["post_type"] == "I"].reset_index(drop=True)
    if config.trainees is None:
        per_cell = i_posts["filled"].to_numpy()
    else:
        weights = i_posts["filled"].to_numpy() / i_posts["filled"].sum()
        per_cell = rng.multinomial(config.trainees, weights)
    n = int(per_cell.sum())
    cell = np.repeat(np.arange(len(i_posts)), per_cell)
    year = i_posts["year"].to_numpy()[cell]
    region_idx = np.array([REGIONS.index(r) for r in i_posts["region"]])[cell]
    spec_idx = np.array([SPECIALTIES.index(s) for s in i_posts["specialty"]])[cell]

    month = rng.choice([2, 3, 4, 8, 9, 10], size=n, p=[0.22, 0.14, 0.06, 0.24, 0.26, 0.08])
    i_start = ((year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)).astype(
        "datetime64[D]"
    )
    age = 27 + rng.gamma(2.0, 1.6, size=n)
    birth_year = (year - np.floor(age)).astype(int)
    female = rng.random(n) < 0.65
    foreign = rng.random(n) < np.where(year >= 2020, 0.15, 0.07)
    region_name = np.array(REGIONS)[region_idx]
    early_adopter = np.isin(region_name, ["Nordjylland", "Midtjylland"])
    p_combined = np.where(early_adopter & (year >= 2018), 0.35, np.where(year >= 2021, 0.10, 0.0))
    combined = rng.random(n) < p_combined

    hr_h = (
        np.where(combined, hz.hr_combined_track, 1.0)
        * np.where(foreign, hz.hr_foreign_graduate, 1.0)
        * np.array(hz.hr_region)[region_idx]
        * np.where(female, hz.hr_female, 1.0)
        * hz.hr_per_year_of_age ** (age - 30)
    )
    hr_exit = np.where(combined, hz.exit_hr_combined_track, 1.0) * np.where(
        foreign, hz.exit_hr_foreign_graduate, 1.0
    )
    t_exit = rng.exponential(1.0 / (hz.exit * hr_exit))
    t_h = hz.lag_years + rng.exponential(1.0 / (hz.h_psychiatry * hr_h))
    t_other = hz.lag_years + rng.exponential(1.0 / hz.h_other, size=n)
    first = np.argmin(np.vstack([t_h, t_other, t_exit]), axis=0)
    t_event = np.choose(first, [t_h, t_other, t_exit])

    extract = np.datetime64(config.extract_date.isoformat(), "D")
    days = np.rint(t_event * 365.25).astype("timedelta64[D]")
    event_date = i_start + days
    is_h = first < 2
    # H-posts start on the first of a month.
    event_date = np.where(
        is_h,
        (event_date.astype("datetime64[M]") + 1).astype("datetime64[D]"),
        event_date,
    )
    observed = event_date <= extract
    nat = np.datetime64("NaT", "D")
    i_end_full = (i_start.astype("datetime64[M]") + 12).astype("datetime64[D]") - 1
    left_during_i = (first == 2) & (event_date < i_end_full) & observed
    i_end = np.where(left_during_i, event_date, i_end_full)
    i_end = np.where(i_end <= extract, i_end, nat)
    h_start = np.where(is_h & observed, event_date, nat)
    exit_date = np.where((first == 2) & observed, event_date, nat)

    switch = rng.random(n) < 0.07  # a few move between adult and child & adolescent psychiatry
    h_spec_idx = np.where(switch, 1 - spec_idx, spec_idx)
    h_specialty = np.where(
        is_h & observed,
        np.where(first == 0, np.array(SPECIALTIES)[h_spec_idx], "other"),
        None,
    )
    order = rng.permutation(n)
    person_id = np.char.add("T", np.char.zfill(order.astype(str), 7))
    df = pd.DataFrame(
        {
            "person_id": person_id,
            "sex": np.where(female, "F", "M"),
            "birth_year": birth_year,
            "region": region_name,
            "specialty": np.array(SPECIALTIES)[spec_idx],
            "i_start": i_start,
            "i_end": i_end,
            "combined_track": combined,
            "foreign_graduate": foreign,
            "h_start": h_start,
            "h_specialty": h_specialty,
            "exit_date": exit_date,
            "extract_date": np.full(n, extract),
        }
    )
    return df.sort_values(["i_start", "person_id"], kind="stable").reset_index(drop=True)


MOVER_SHARE = 0.02  # persons with contacts in a second region in the same year
AGE_SHIFT_SHARE = 0.01  # child & adolescent patients also seen in adult psychiatry that year


def write_contacts(config: SynthConfig, patients: pd.DataFrame, path: Path) -> int:
    """Contact rows whose distinct persons per (year, region, age group) are exactly the
    patients table's counts, written to ``path`` year by year. Returns the number of rows.

    Each cell draws its persons from the cell's own pool (persons recur across years). A few
    persons per cell are taken from the previous region's cell, and a few adults from the same
    region's child & adolescent cell, so some people count in two cells in one year.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(5)[4])
    cells = patients.set_index(["year", "region", "age_group"])["patients"]
    person_years = int(cells.sum())
    per_person = max(config.contacts / max(person_years, 1), 1.0) if config.contacts else 1.0
    pool_size = {
        k: int(v * 1.6) + 10
        for k, v in patients.groupby(["region", "age_group"])["patients"].max().items()
    }
    offset, start = {}, 0
    for key, size in sorted(pool_size.items()):
        offset[key], start = start, start + size
    schema = pa.schema(
        [
            ("person_id", pa.int64()),
            ("contact_date", pa.date32()),
            ("region", pa.dictionary(pa.int8(), pa.string())),
            ("age_group", pa.dictionary(pa.int8(), pa.string())),
        ]
    )
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for year in sorted(patients["year"].unique()):
            chosen: dict[tuple[str, str], np.ndarray] = {}
            for region in REGIONS:
                for group in contract.AGE_GROUPS:
                    n = int(cells.get((year, region, group), 0))
                    size = pool_size[(region, group)]
                    chosen[(region, group)] = offset[(region, group)] + rng.choice(
                        size, size=min(n, size), replace=False
                    )
            for r, region in enumerate(REGIONS):  # movers from the previous region
                for group in contract.AGE_GROUPS:
                    own, other = chosen[(region, group)], chosen[(REGIONS[r - 1], group)]
                    m = min(int(len(own) * MOVER_SHARE), len(other))
                    own[:m] = rng.choice(other, size=m, replace=False)
                adult, child = chosen[(region, "adult")], chosen[(region, "child_adolescent")]
                m = min(int(len(adult) * AGE_SHIFT_SHARE), len(child))
                adult[len(adult) - m :] = rng.choice(child, size=m, replace=False)
            parts = []
            for (region, group), ids in chosen.items():
                k = 1 + rng.poisson(per_person - 1, size=len(ids))
                people = np.repeat(ids, k)
                days = rng.integers(0, 365, size=len(people))
                dates = (np.datetime64(f"{year}-01-01") + days).astype("datetime64[D]")
                parts.append(
                    pa.table(
                        {
                            "person_id": pa.array(people, pa.int64()),
                            "contact_date": pa.array(dates, pa.date32()),
                            "region": pa.DictionaryArray.from_arrays(
                                pa.array(np.zeros(len(people), dtype=np.int8)), pa.array([region])
                            ),
                            "age_group": pa.DictionaryArray.from_arrays(
                                pa.array(np.zeros(len(people), dtype=np.int8)), pa.array([group])
                            ),
                        },
                        schema=schema,
                    )
                )
            table = pa.concat_tables(parts)
            writer.write_table(table, row_group_size=1_000_000)
            rows += table.num_rows
            log.info("synth: contacts for %s written (%s rows so far)", year, f"{rows:,}")
    return rows


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------
DIALECTS = ("standard", "danish")


def to_text(df: pd.DataFrame, dialect: str = "standard") -> pd.DataFrame:
    """Format a typed table as the text cells of a CSV in the given dialect."""
    out = pd.DataFrame(index=df.index)
    for name, col in df.items():
        if pd.api.types.is_datetime64_any_dtype(col):
            fmt = "%Y-%m-%d" if dialect == "standard" else "%d-%m-%Y"
            out[name] = col.dt.strftime(fmt).fillna("")
        elif pd.api.types.is_bool_dtype(col):
            yes, no = ("true", "false") if dialect == "standard" else ("ja", "nej")
            out[name] = np.where(col, yes, no)
        elif pd.api.types.is_float_dtype(col):
            text = col.map(lambda v: f"{v:.1f}")
            out[name] = text.str.replace(".", ",", regex=False) if dialect == "danish" else text
        else:
            out[name] = col.astype(object).where(col.notna(), "").astype(str)
    return out


def write_synthetic(out_dir: Path | str, config: SynthConfig, dialect: str = "standard") -> None:
    """Write a complete synthetic dataset: the four CSV files, a README and a marker file."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = synthesize(config)
    sep, encoding = (",", "utf-8") if dialect == "standard" else (";", "cp1252")
    for name, df in tables.items():
        text = to_text(df, dialect)
        text.to_csv(
            out_dir / f"{name}.csv", index=False, sep=sep, encoding=encoding, lineterminator="\n"
        )
    if config.contacts:
        write_contacts(config, tables["patients"], out_dir / "contacts.parquet")
    marker = {
        "generator": "pipeline.data.synth",
        "seed": config.seed,
        "first_year": config.first_year,
        "last_year": config.last_year,
        "trainees": config.trainees,
        "dialect": dialect,
        **({"patient_scale": config.patient_scale} if config.patient_scale != 1 else {}),
        **({"contacts": config.contacts} if config.contacts else {}),
    }
    (out_dir / SYNTHETIC_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(_readme(config, tables, dialect), encoding="utf-8")


def _readme(config: SynthConfig, tables: dict[str, pd.DataFrame], dialect: str) -> str:
    args = f"--seed {config.seed}"
    if config.first_year != SynthConfig.first_year:
        args += f" --first-year {config.first_year}"
    if config.last_year != SynthConfig.last_year:
        args += f" --last-year {config.last_year}"
    if config.trainees is not None:
        args += f" --trainees {config.trainees}"
    if config.patient_scale != 1:
        args += f" --patient-scale {config.patient_scale:g}"
    if config.contacts:
        args += f" --contacts {config.contacts}"
    if dialect != "standard":
        args += f" --dialect {dialect}"
    counts = "\n".join(f"| `{name}.csv` | {len(df):,} |" for name, df in tables.items())
    return f"""# Synthetic data – not real persons, not real figures

Demodata – syntetiske tal. Every row in this directory was generated by a program; no record
describes a real doctor, and no figure is an official statistic.

Made with:

    python -m pipeline synth --out <this directory> {args}

The generator (`pipeline/synth.py`) is calibrated to the published figures in
`data/reference/published_figures.csv`: national patients rising from about 120,000 (2013) to
about 165,000 (2019), about 1,000 adult and 260 child & adolescent specialists around 2020 with
a quarter of physicians over 65, 100-150 I-posts and 80-100 H-posts a year with 25-35 % of
H-posts unfilled around 2017, and an I-to-H conversion of about 60 % that is faster on a
combined track. Years {config.first_year}-{config.last_year}; extract date
{config.extract_date.isoformat()}. The file `{SYNTHETIC_MARKER}` marks the directory as
synthetic: every report made from it carries the banner "Demodata – syntetiske tal".

| file | rows |
|---|---|
{counts}
"""
