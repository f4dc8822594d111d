"""A simulated world with known parameters for the supply tests, and checks of the world itself.

The world is generated person by person (continuous ages, everyone a year older each year, exits
by age, arrivals at ages drawn around 38), not with the model's own band arithmetic, so the
known-truth tests do not test the model against itself. Every table the supply stage reads is
built from it: physicians (optionally with sex and FTE), training posts, trainees, the optional
specialist posts, the growth stage's series and projection and the retention stage's conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipeline.data import contract
from pipeline.params import DEFAULTS

REGIONS, SPECIALTIES, BANDS = contract.REGIONS, contract.SPECIALTIES, contract.AGE_BANDS
NATIONAL = contract.NATIONAL
# Exit probability per year by band (constant within a band, so the truth per band is exact).
TRUE_EXITS = {
    "25-29": 0.02,
    "30-34": 0.02,
    "35-39": 0.015,
    "40-44": 0.015,
    "45-49": 0.01,
    "50-54": 0.01,
    "55-59": 0.015,
    "60-64": 0.02,
    "65-69": 0.045,
    "70+": 0.18,
}
DEFINITION = dict(
    base_year=2013,
    grades=["specialist", "trainee"],
    specialties=["psychiatry", "child_adolescent_psychiatry"],
)


@pytest.fixture(autouse=True)
def _long_only_when_asked(request):
    """Full-size simulations run only when the marker expression asks for them (-m long);
    the supply test modules import this fixture so it applies to them too."""
    expr = request.config.getoption("markexpr") or ""
    if request.node.get_closest_marker("long") and ("long" not in expr or "not long" in expr):
        pytest.skip("full-size known-truth simulation: run with -m long (make test-long, CI)")


@dataclass
class WorldConfig:
    """What the world looks like; every field is a known truth of the tests."""

    seed: int = 1
    first_year: int = 2008
    last_year: int = 2025
    exits: dict[str, float] = field(default_factory=lambda: dict(TRUE_EXITS))
    # Specialists arriving a year by region x specialty at the height of the 1980s cohorts, and
    # the size of that bulge: it makes more than a fifth of the 60-64 band age out each year.
    history_level: float = 9.0
    bulge: float = 1.5
    h_advertised: float = 12.0  # H-posts a year per region and specialty
    fill_rate: float = 0.75
    fill_year_sd: float = 0.4  # year-to-year spread of the national fill rate (logit scale)
    fill_all: bool = False  # every H-post filled
    i_filled: float = 14.0
    completion: float = 0.9
    late_share: float = 0.15  # H-courses finishing a year late
    conversion: dict[str, float] = field(
        default_factory=lambda: {"regular": 0.55, "combined": 0.85}
    )
    combined_share: float = 0.25
    nobody_combined: bool = False
    with_sex: bool = False
    with_fte: bool = False
    # FTE per head: (sex, lowest age, highest age) -> FTE; otherwise ``fte_default``.
    fte_pattern: dict[tuple[str, int, int], float] = field(default_factory=dict)
    fte_default: float = 0.9
    vacancies: float | None = None  # vacancies per region x specialty in the last year
    locum: float | None = None
    patient_growth: float = 0.03
    patient_spread: float = 0.02  # log-scale spread of the projection per year ahead
    horizon: int = 2035


def band_of(age: np.ndarray) -> np.ndarray:
    return np.clip((np.floor(age).astype(int) - 25) // 5, 0, len(BANDS) - 1)


def _fte(cfg: WorldConfig, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
    out = np.full(age.shape, cfg.fte_default)
    for (s, low, high), value in cfg.fte_pattern.items():
        out = np.where((sex == s) & (age >= low) & (age < high + 1), value, out)
    return out


_WORLDS: dict[str, dict[str, Any]] = {}


def make_world(cfg: WorldConfig | None = None, **changes: Any) -> dict[str, Any]:
    """All the supply stage's inputs from one simulated world (see the module docstring).

    Worlds made from keyword changes are kept for the session (the tests share them and must
    not change their tables).
    """
    if cfg is None:
        key = repr(sorted(changes.items()))
        if key not in _WORLDS:
            _WORLDS[key] = _make_world(WorldConfig(**changes))
        return _WORLDS[key]
    return _make_world(cfg)


def _make_world(cfg: WorldConfig) -> dict[str, Any]:
    rng = np.random.default_rng(cfg.seed)
    years = np.arange(cfg.first_year, cfg.last_year + 1)
    exit_by_band = np.array([cfg.exits[b] for b in BANDS])

    # Training posts: H advertised and filled with a national fill level per year and specialty.
    posts, h_filled = [], {}
    year_effect = rng.normal(0, cfg.fill_year_sd, size=(len(years), len(SPECIALTIES)))
    for t, year in enumerate(years):
        for s, specialty in enumerate(SPECIALTIES):
            logit = np.log(cfg.fill_rate / (1 - cfg.fill_rate)) + year_effect[t, s]
            rate = 1 / (1 + np.exp(-logit))
            for region in REGIONS:
                adv = int(rng.poisson(cfg.h_advertised))
                filled = adv if cfg.fill_all else int(rng.binomial(adv, rate))
                h_filled[(int(year), region, specialty)] = filled
                posts.append((int(year), region, specialty, "H", adv, filled))
                i_adv = int(rng.poisson(cfg.i_filled / 0.9))
                posts.append(
                    (int(year), region, specialty, "I", i_adv, int(rng.binomial(i_adv, 0.9)))
                )
    training_posts = pd.DataFrame(
        posts, columns=["year", "region", "specialty", "post_type", "advertised", "filled"]
    )

    # Specialists, person by person from 1965 on, every region and specialty (cell) at once.
    cells = [(r, s) for r in REGIONS for s in SPECIALTIES]
    sexes = ("F", "M") if cfg.with_sex else ("all",)
    n0 = int(cfg.history_level * 10)
    ages = rng.uniform(35, 65, size=n0 * len(cells))
    cell = np.repeat(np.arange(len(cells)), n0)
    female = rng.random(ages.size) < 0.5
    rows, fte_rows, specialist_counts = [], [], {}

    def filled_in(year: int) -> np.ndarray:
        return np.array([h_filled.get((year, r, s), 0) for r, s in cells])

    def count_rows(year, grade, cell_of, age, is_female) -> None:
        sex_index = (~is_female).astype(int) if cfg.with_sex else np.zeros(age.size, int)
        key = (cell_of * len(BANDS) + band_of(age)) * len(sexes) + sex_index
        size = len(cells) * len(BANDS) * len(sexes)
        heads = np.bincount(key, minlength=size)
        fte = np.bincount(
            key, weights=_fte(cfg, np.where(is_female, "F", "M"), age), minlength=size
        )
        for c, (region, specialty) in enumerate(cells):
            for b, band in enumerate(BANDS):
                for x, sx in enumerate(sexes):
                    i = (c * len(BANDS) + b) * len(sexes) + x
                    rows.append((year, region, specialty, grade, band, sx, int(heads[i])))
                    fte_rows.append(float(fte[i]))

    for year in range(1965, cfg.last_year + 1):
        # Arrivals: H-courses completed (a share a year late), at ages around 38.
        if year - 4 >= cfg.first_year:
            on_time = filled_in(year - 4)
            late = filled_in(year - 5) if year - 5 >= cfg.first_year else on_time
            n = rng.binomial(on_time, cfg.completion * (1 - cfg.late_share))
            n = n + rng.binomial(late, cfg.completion * cfg.late_share)
        else:
            bump = 1 + cfg.bulge * np.exp(-0.5 * ((year - 1988) / 5) ** 2)
            n = rng.poisson(cfg.history_level * bump * 0.6, size=len(cells))
        ages = np.concatenate([ages, rng.normal(38, 3, size=n.sum()).clip(31, 55)])
        cell = np.concatenate([cell, np.repeat(np.arange(len(cells)), n)])
        female = np.concatenate([female, rng.random(n.sum()) < 0.65])
        # The year passes: exits at the current age, then everyone a year older.
        stay = rng.random(ages.size) >= exit_by_band[band_of(ages)]
        ages, cell, female = ages[stay] + 1, cell[stay], female[stay]
        if year < cfg.first_year:
            continue
        for c, (region, specialty) in enumerate(cells):
            specialist_counts[(year, region, specialty)] = int((cell == c).sum())
        count_rows(year, "specialist", cell, ages, female)
        # Doctors in training: this year's I-doctors and four cohorts of H-doctors.
        n_train = int(cfg.i_filled) + sum(
            filled_in(max(y, cfg.first_year)) for y in range(year - 3, year + 1)
        )
        t_cell = np.repeat(np.arange(len(cells)), n_train)
        t_ages = rng.normal(33, 3, size=t_cell.size).clip(26, 50)
        count_rows(year, "trainee", t_cell, t_ages, rng.random(t_cell.size) < 0.65)
    physicians = pd.DataFrame(
        rows, columns=["year", "region", "specialty", "grade", "age_band", "sex", "headcount"]
    )
    if cfg.with_fte:
        physicians["fte"] = fte_rows
    if not cfg.with_sex:
        physicians = physicians.drop(columns="sex")
    for column, codes in (
        ("region", REGIONS),
        ("specialty", SPECIALTIES),
        ("grade", contract.GRADES),
        ("age_band", BANDS),
    ):
        physicians[column] = pd.Categorical(physicians[column], codes)
    if cfg.with_sex:
        physicians["sex"] = pd.Categorical(physicians["sex"], contract.SEXES)

    trainees = _trainees(cfg, rng, training_posts)
    tables = {"physicians": physicians, "training_posts": training_posts, "trainees": trainees}
    if cfg.vacancies is not None:
        tables["specialist_posts"] = _specialist_posts(cfg, specialist_counts)
    series, projection = _growth(cfg, physicians)
    conversion = pd.DataFrame(
        [
            {"group": g, "cif": p, "ci_low": p - 0.03, "ci_high": p + 0.03, "n": 500}
            for g, p in cfg.conversion.items()
            if not (cfg.nobody_combined and g == "combined")
        ]
    )
    return {
        "tables": tables,
        "series": series,
        "projection": projection,
        "conversion": conversion,
        "config": cfg,
    }


def _trainees(cfg: WorldConfig, rng: np.random.Generator, posts: pd.DataFrame) -> pd.DataFrame:
    """One row per I-doctor: the combined track by ``combined_share``, an H-post in psychiatry
    within three years with the track's conversion, otherwise an exit."""
    extract = pd.Timestamp(year=cfg.last_year + 1, month=3, day=31)
    i_posts = posts[posts["post_type"] == "I"]
    each = i_posts.loc[i_posts.index.repeat(i_posts["filled"])].reset_index(drop=True)
    n = len(each)
    start = pd.to_datetime(dict(year=each["year"], month=9, day=1))
    combined = (rng.random(n) < cfg.combined_share) & (not cfg.nobody_combined)
    p = np.where(combined, cfg.conversion["combined"], cfg.conversion["regular"])
    converts = rng.random(n) < p
    h_days = (rng.uniform(1, 2.9, n) * 365).astype(int)
    exit_days = (rng.uniform(0.5, 3, n) * 365).astype(int)
    h_start = (start + pd.to_timedelta(h_days, unit="D")).where(converts)
    exit_date = (start + pd.to_timedelta(exit_days, unit="D")).where(~converts)
    h_start = h_start.where(h_start <= extract)
    exit_date = exit_date.where(exit_date <= extract)
    return pd.DataFrame(
        {
            "person_id": [f"T{i:06d}" for i in range(n)],
            "sex": "F",
            "birth_year": each["year"] - 30,
            "region": each["region"],
            "specialty": each["specialty"],
            "i_start": start,
            "i_end": start + pd.Timedelta(days=364),
            "combined_track": combined,
            "foreign_graduate": False,
            "h_start": h_start,
            "h_specialty": each["specialty"].where(h_start.notna()),
            "exit_date": exit_date,
            "extract_date": extract,
        }
    )


def with_vacancies(world: dict[str, Any], vacancies: float, locum: float | None = None) -> dict:
    """A copy of ``world`` with a specialist_posts table: ``vacancies`` (and ``locum``) per
    region x specialty in the last year, the filled posts being the specialists then."""
    phys = world["tables"]["physicians"]
    cfg = world["config"]
    last = phys[(phys["year"] == cfg.last_year) & (phys["grade"] == "specialist")]
    counts = last.groupby(["region", "specialty"], observed=True)["headcount"].sum()
    table = _specialist_posts(
        replace(cfg, vacancies=vacancies, locum=locum),
        {(cfg.last_year, r, s): int(v) for (r, s), v in counts.items()},
    )
    return {**world, "tables": {**world["tables"], "specialist_posts": table}}


def _specialist_posts(cfg: WorldConfig, counts: dict) -> pd.DataFrame:
    rows = []
    for region in REGIONS:
        for specialty in SPECIALTIES:
            filled = counts[(cfg.last_year, region, specialty)]
            row = {
                "year": cfg.last_year,
                "region": region,
                "specialty": specialty,
                "funded": filled + cfg.vacancies,
                "filled": filled,
            }
            if cfg.locum is not None:
                row["locum"] = cfg.locum
            rows.append(row)
    return pd.DataFrame(rows)


def _growth(cfg: WorldConfig, physicians: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The growth stage's series and projection: patients growing by ``patient_growth`` a
    year, the regions and groups in fixed shares."""
    years = np.arange(cfg.first_year, cfg.last_year + 1)
    shares = {
        "Hovedstaden": 0.32,
        "Sjælland": 0.15,
        "Syddanmark": 0.2,
        "Midtjylland": 0.23,
        "Nordjylland": 0.1,
    }
    groups = {"total": 1.0, "adult": 0.7, "child_adolescent": 0.3}
    counts = (
        physicians.assign(specialty=physicians["specialty"].astype(str))
        .groupby(["year", "region", "specialty"], observed=True)["headcount"]
        .sum()
    )
    rows, proj = [], []
    for year in years:
        base = 150000 * (1 + cfg.patient_growth) ** (year - cfg.first_year)
        for geography in (NATIONAL, *shares):
            for group, g_share in groups.items():
                if geography != NATIONAL and group != "total":
                    continue
                share = 1.0 if geography == NATIONAL else shares[geography]
                patients = base * share * g_share
                keep = [
                    s
                    for s, grp in (
                        ("psychiatry", "adult"),
                        ("child_adolescent_psychiatry", "child_adolescent"),
                    )
                    if group in ("total", grp)
                ]
                regions = list(REGIONS) if geography == NATIONAL else [geography]
                docs = sum(counts.get((year, r, s), 0) for r in regions for s in keep)
                rows += [
                    ("patients", geography, group, int(year), patients),
                    ("physicians", geography, group, int(year), float(docs)),
                ]
    series = pd.DataFrame(rows, columns=["measure", "geography", "group", "year", "value"])
    last = series[series["year"] == cfg.last_year].set_index(["measure", "geography", "group"])
    for (measure, geography, group), value in last["value"].items():
        for h, year in enumerate(range(cfg.last_year + 1, cfg.horizon + 1), start=1):
            growth = cfg.patient_growth if measure == "patients" else 0.0
            centre = np.log(value) + h * np.log(1 + growth)
            spread = cfg.patient_spread * np.sqrt(h)
            proj.append(
                {
                    "measure": measure,
                    "geography": geography,
                    "group": group,
                    "model": "log_linear",
                    "year": year,
                    "observed": np.nan,
                    "forecast": float(np.exp(centre)),
                    "lo95": np.nan,
                    "hi95": np.nan,
                    "log_centre": centre,
                    "log_spread": spread,
                    "df": np.inf,
                }
            )
    return series, pd.DataFrame(proj)


def supply_params(**changes: Any) -> dict[str, Any]:
    """The default supply parameters with some changed (fewer draws for speed)."""
    return {**DEFAULTS["supply"], "simulations": 200, **changes}


def world_inputs(world: dict[str, Any], params: dict[str, Any] | None = None, **kwargs):
    from pipeline.analysis.supply import model

    return model.build_inputs(
        world["tables"],
        world["series"],
        world["projection"],
        world["conversion"],
        params or supply_params(),
        **{**DEFINITION, **kwargs},
    )


# --- the world itself --------------------------------------------------------------------------
def test_the_world_has_the_ageing_bulge_the_model_must_not_assume_away():
    """More than a fifth of the 60-64 band is 64 in the world: the old ageing rule was wrong."""
    world = make_world(seed=3)
    phys = world["tables"]["physicians"]
    late = phys[(phys["year"] == 2020) & (phys["grade"] == "specialist")]
    counts = late.groupby("age_band", observed=True)["headcount"].sum()
    assert counts["60-64"] > counts["50-54"]  # the bulge is in its sixties
    assert set(world["tables"]) == {"physicians", "training_posts", "trainees"}


def test_the_world_builds_every_optional_table():
    world = make_world(seed=4, vacancies=3, locum=1, with_sex=True, with_fte=True)
    assert "specialist_posts" in world["tables"]
    phys = world["tables"]["physicians"]
    assert {"sex", "fte"} <= set(phys.columns)
    assert (world["tables"]["specialist_posts"]["funded"] >= 3).all()


# What the metrics need of a backtest when a test leaves it out (two national years).
_NO_BACKTEST = pd.DataFrame(
    {
        "grade": ["specialist", "trainee"] * 2,
        "geography": NATIONAL,
        "year": [2018, 2018, 2019, 2019],
        "projected": 1.0,
        "low80": 1.0,
        "high80": 1.0,
        "low95": 1.0,
        "high95": 1.0,
        "observed": 1.0,
        "error": 0.0,
        "ape": 0.0,
        "inside80": True,
        "inside95": True,
    }
)


@dataclass
class Flow:
    """Everything the supply notebook computes, from plain Python (the notebook's calls)."""

    inputs: Any
    draws: Any
    definitions: dict
    headline_demand: str
    headline_note: str | None
    runs: dict
    summary: pd.DataFrame
    comparison: pd.DataFrame
    levers: pd.DataFrame
    sensitivity: pd.DataFrame
    side: pd.DataFrame
    base_years: pd.DataFrame
    targets: list
    target_table: pd.DataFrame
    required: pd.DataFrame
    extra: dict
    backtest: pd.DataFrame
    metrics: dict


def run_flow(
    world: dict[str, Any], params: dict[str, Any] | None = None, backtest: bool = True
) -> Flow:
    """Replay ``notebooks/04_scenarios.py`` on a world (no figures, no Danish tables); the
    backtest can be left out where a test does not need it (it is the slowest part)."""
    from pipeline.analysis.supply import backtest as backtests
    from pipeline.analysis.supply import demand as demands
    from pipeline.analysis.supply import metrics as supply_metrics
    from pipeline.analysis.supply import model
    from pipeline.analysis.supply import targets as target_model

    params = params or supply_params()
    horizon, target_years = 2035, [2025, 2030, 2035]
    inputs = world_inputs(world, params)
    draws = model.draw(inputs, params["simulations"], np.random.default_rng(params["seed"]))
    years = np.arange(inputs.start_year, horizon + 1)
    target_list = demands.targets_from_params(params)
    baseline = model.run_scenarios(inputs, draws, ["baseline"], horizon)["baseline"]
    definitions = demands.definitions(inputs, draws, years, target_list)
    code, note = demands.headline(definitions, params["demand"])
    side = demands.side_by_side(definitions, baseline, horizon, code)
    base_years = demands.base_year_gaps(inputs, draws, baseline, horizon)
    with_levers = model.scenario_levers(params, params["required_with_scenario"])
    required = target_model.required_posts(
        inputs, draws, target_list, params["required_probability"], with_levers, horizon
    )
    extra = {"required_posts": target_model.required_levers(required)} if len(required) else {}
    runs = model.run_scenarios(inputs, draws, model.selected_scenarios(params), horizon, extra)
    gap = definitions[code].gap
    summary = model.summarise(runs, gap)
    comparison = model.compare(runs, target_years, gap)
    target_table = target_model.target_table(
        runs, target_list, demands.fte_targets(inputs, target_list)
    )
    levers = model.tornado(inputs, draws, params["tornado"], 2035, horizon, gap)
    sensitivity = model.sensitivity(
        inputs,
        draws,
        2035,
        horizon,
        lambda run, d: demands.definition(code, inputs, d, years, target_list).gap(run),
    )
    check = (
        backtests.backtest(
            world["tables"],
            world["series"],
            world["projection"],
            params,
            start_year=params["backtest_start_year"],
            horizon_years=3,
            simulations=params["simulations"],
            seed=params["seed"],
            **DEFINITION,
        )
        if backtest
        else _NO_BACKTEST
    )
    metrics = supply_metrics.supply_metrics(
        comparison=comparison,
        levers=levers,
        headline="baseline",
        backtest_result=check,
        summary=summary,
        target_years=target_years,
        headline_demand=code,
        requested_demand=params["demand"],
        headline_note=note,
        side_by_side=side,
        base_years=base_years,
        targets=target_list,
        target_table=target_table,
        required=required,
        required_probability=params["required_probability"],
        sensitivity=sensitivity,
        fte=supply_metrics.fte_metrics(inputs, summary, "baseline", target_years),
        notes=[*inputs.notes, *([note] if note else [])],
    )
    return Flow(
        inputs,
        draws,
        definitions,
        code,
        note,
        runs,
        summary,
        comparison,
        levers,
        sensitivity,
        side,
        base_years,
        target_list,
        target_table,
        required,
        extra,
        check,
        metrics,
    )
