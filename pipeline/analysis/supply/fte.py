"""Working time: full-time equivalents (FTE) per head, estimated from the physicians data.

``physicians.csv`` may give ``fte`` beside ``headcount`` (and, optionally, ``sex``). The FTE per
head of each grade, sex and age band is the ratio of the sums over the reference years (the
ratio estimator: rows with more heads weigh more, and a row without ``fte`` is left out of both
sums). The projection follows heads; it turns them into FTE with these ratios, weighting the
sexes by their shares in each region, specialty and age band in the start year (the projection
does not follow sex, so the shares are held as they are then).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.data import contract

REGIONS, SPECIALTIES, BANDS = contract.REGIONS, contract.SPECIALTIES, contract.AGE_BANDS
ALL_SEXES = "all"


@dataclass
class FteInputs:
    """FTE per head from the data, and the weights the projection uses."""

    per_head: pd.DataFrame  # grade, sex, age_band, fte_per_head, headcount, fte
    specialist: np.ndarray  # region x specialty x band: FTE per specialist head
    trainee: np.ndarray  # region x specialty: FTE per trainee head
    by_sex: bool  # estimated per sex (the data have the sex column)
    years: tuple[int, int]  # first and last year of the estimate


def sex_given(physicians: pd.DataFrame) -> bool:
    """Whether the physicians data give sex (ingest keeps an optional column that was left out
    as an empty one)."""
    return "sex" in physicians.columns and bool(physicians["sex"].notna().any())


def fte_given(physicians: pd.DataFrame) -> bool:
    """Whether the physicians data give working time (an ``fte`` column with any value)."""
    return "fte" in physicians.columns and bool(physicians["fte"].notna().any())


def estimate_fte_per_head(
    physicians: pd.DataFrame, up_to_year: int, reference_years: int
) -> pd.DataFrame:
    """FTE per head by grade, sex (``"all"`` without the column) and age band.

    The ratio of sums over the last ``reference_years`` years up to ``up_to_year``; a group with
    no heads takes its grade's ratio over all ages (so the projection never meets a gap).

    Returns
    -------
    DataFrame
        ``grade``, ``sex``, ``age_band``, ``fte_per_head``, ``headcount``, ``fte``.
    """
    df = physicians[
        (physicians["year"] <= up_to_year)
        & (physicians["year"] > up_to_year - reference_years)
        & physicians["fte"].notna()
    ]
    by_sex = sex_given(df)
    sexes = contract.SEXES if by_sex else (ALL_SEXES,)
    frame = df.assign(
        grade=df["grade"].astype(str),
        sex=df["sex"].astype(str) if by_sex else ALL_SEXES,
        age_band=df["age_band"].astype(str),
    )
    sums = frame.groupby(["grade", "sex", "age_band"])[["headcount", "fte"]].sum()
    grade_sums = frame.groupby("grade")[["headcount", "fte"]].sum()
    rows = []
    for grade in contract.GRADES:
        g = grade_sums.loc[grade] if grade in grade_sums.index else None
        fallback = float(g["fte"] / g["headcount"]) if g is not None and g["headcount"] else 1.0
        for sex in sexes:
            for band in BANDS:
                key = (grade, sex, band)
                heads = float(sums.loc[key, "headcount"]) if key in sums.index else 0.0
                fte = float(sums.loc[key, "fte"]) if key in sums.index else 0.0
                rows.append(
                    {
                        "grade": grade,
                        "sex": sex,
                        "age_band": band,
                        "fte_per_head": fte / heads if heads > 0 else fallback,
                        "headcount": heads,
                        "fte": fte,
                    }
                )
    return pd.DataFrame(rows)


def fte_inputs(physicians: pd.DataFrame, start_year: int, reference_years: int) -> FteInputs | None:
    """FTE per head and the projection's weights, or None when the data give no ``fte``."""
    if not fte_given(physicians):
        return None
    per_head = estimate_fte_per_head(physicians, start_year, reference_years)
    by_sex = sex_given(physicians)
    at_start = physicians[physicians["year"] == start_year]
    weights = {}
    for grade in contract.GRADES:
        rates = per_head[per_head["grade"] == grade].set_index(["sex", "age_band"])["fte_per_head"]
        heads = _heads(at_start[at_start["grade"].astype(str) == grade], by_sex)
        sexes = contract.SEXES if by_sex else (ALL_SEXES,)
        # region x specialty x sex x band: the start year's heads, and the FTE per head.
        ratio = np.array([[rates[(s, b)] for b in BANDS] for s in sexes])
        fte = (heads * ratio).sum(axis=2)
        count = heads.sum(axis=2)
        national = (heads.sum(axis=(0, 1)) * ratio).sum(0) / np.maximum(
            heads.sum(axis=(0, 1, 2)), 1e-12
        )
        # A band nobody is in yet takes the national mix, or the mean over the sexes.
        empty_national = heads.sum(axis=(0, 1, 2)) == 0
        national = np.where(empty_national, ratio.mean(0), national)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_band = np.where(count > 0, fte / count, national)
        weights[grade] = (per_band, heads.sum(axis=2))
    specialist = weights["specialist"][0]
    trainee_band, trainee_heads = weights["trainee"]
    total = trainee_heads.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        trainee = np.where(
            total > 0,
            (trainee_band * trainee_heads).sum(-1) / np.maximum(total, 1e-12),
            trainee_band.mean(-1),
        )
    first = max(int(physicians["year"].min()), start_year - reference_years + 1)
    return FteInputs(per_head, specialist, trainee, by_sex, (first, start_year))


def _heads(df: pd.DataFrame, by_sex: bool) -> np.ndarray:
    """Heads as region x specialty x sex x band (sex axis of length one without sex)."""
    sexes = contract.SEXES if by_sex else (ALL_SEXES,)
    frame = df.assign(
        region=df["region"].astype(str),
        specialty=df["specialty"].astype(str),
        sex=df["sex"].astype(str) if by_sex else ALL_SEXES,
        age_band=df["age_band"].astype(str),
    )
    index = pd.MultiIndex.from_product(
        [REGIONS, SPECIALTIES, sexes, BANDS], names=["region", "specialty", "sex", "age_band"]
    )
    grouped = frame.groupby(["region", "specialty", "sex", "age_band"])["headcount"].sum()
    values = grouped.reindex(index, fill_value=0).to_numpy(dtype=float)
    return values.reshape(len(REGIONS), len(SPECIALTIES), len(sexes), len(BANDS))


def observed_fte(physicians: pd.DataFrame, grade: str) -> dict[int, np.ndarray]:
    """FTE per region x specialty for every year as the data give it; a year where a row with
    heads lacks ``fte`` is left out (its sum would be too small). Empty without FTE."""
    if not fte_given(physicians):
        return {}
    df = physicians[physicians["grade"].astype(str) == grade]
    incomplete = set(df.loc[df["fte"].isna() & (df["headcount"] > 0), "year"].astype(int))
    df = df[~df["year"].isin(incomplete)]
    if not len(df):
        return {}
    years = sorted(int(y) for y in df["year"].unique())
    keys = ["year", "region", "specialty"]
    frame = df.assign(region=df["region"].astype(str), specialty=df["specialty"].astype(str))
    grouped = frame.groupby(keys)["fte"].sum()
    index = pd.MultiIndex.from_product([years, REGIONS, SPECIALTIES], names=keys)
    values = grouped.reindex(index, fill_value=0.0).to_numpy(dtype=float)
    values = values.reshape(len(years), len(REGIONS), len(SPECIALTIES))
    return {year: values[t] for t, year in enumerate(years)}
