"""Parameters: the defaults, and reading ``params.yaml`` with clear errors.

``params.yaml`` is the one place analysts change the analysis. Every stage reads its own section, so
DVC re-runs only the stages whose section changed. ``DEFAULTS`` documents every key, gives its type
and is what the landing page compares against to show which values were changed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from pipeline.data.contract import AGE_BANDS as BANDS
from pipeline.data.contract import GRADES, SPECIALTIES
from pipeline.errors import ParamError

PARAMS_FILE = "params.yaml"

DEFAULTS: dict[str, dict[str, Any]] = {
    "data": {
        # Directory holding the input files of the data contract (docs/data-contract.md).
        "raw_dir": "data/raw/demo",
        # Per file, a site's own column names mapped onto the contract's:
        # {"patients": {"aar": "year", "antal": "patients"}}.
        "rename": {},
        # With contacts.parquet present: largest relative difference allowed between
        # patients.csv and the patients counted from the contacts (0: they must agree exactly).
        "contacts_tolerance": 0.0,
        # DuckDB's memory limit while counting contacts (it spills to disk beyond it).
        "duckdb_memory_limit": "3GB",
    },
    "growth": {
        # Index = 100 in this year, and the gap keeps this year's patients per physician.
        "base_year": 2013,
        # Years before this are left out of every model fit.
        "fit_from_year": 2010,
        # The regions' method: the average growth of the last k years.
        "seed_k_years": 3,
        "models": ["average_growth", "log_linear", "count_glm", "ets"],
        # "auto": the model with the best proper score in the backtest (ETS is shown for
        # comparison only: its intervals fall short under autocorrelation); or one of the models.
        "projection_model": "auto",
        # The proper score that chooses: crps (the whole predictive distribution), is80 or is95
        # (interval scores).
        "choice_score": "crps",
        "horizon_year": 2035,
        "target_years": [2025, 2030, 2035],
        # Rolling-origin backtest: shortest training window and longest horizon, in years.
        "backtest_min_years": 8,
        "backtest_max_horizon": 10,
        "ets_damped": True,
        # Bootstrap refits behind ETS's interval for today's trend (at least 100; the coverage
        # tests in tests/test_growth_models.py use 500).
        "ets_bootstrap": 500,
        # Monte Carlo draws behind the gap intervals.
        "simulations": 10000,
        "seed": 20131,
        # Which physicians count (for the growth of physicians and the gap).
        "physician_grades": ["specialist", "trainee"],
        "physician_specialties": ["psychiatry", "child_adolescent_psychiatry"],
    },
    "retention": {
        # Headline figures: an H-post in psychiatry within this many years of the I-post start.
        "horizon_years": 3,
        # First year of each cohort period (by I-start year).
        "cohort_periods": [2010, 2015, 2020],
        # The curves are drawn to this many years after the start.
        "curve_max_years": 8,
    },
    "initiatives": {
        # Event-study years before the start: the pre-trend check tests them jointly. A placebo
        # start year needs leads + 2 years of data before it (the leads and two reference years).
        "leads": 3,
        # A placebo start year needs this many years of data from it on.
        "min_post_years": 2,
        # Fewer placebo initiatives than this: no 95 % interval (a 5 % randomisation test needs
        # at least 19: its smallest p-value is 1 / (1 + placebos)).
        "min_placebos": 20,
    },
    "supply": {
        # "all" runs every scenario; a name runs it beside the baseline and makes it the headline
        # (dvc exp run -S supply.scenario=foreign_recruitment).
        "scenario": "all",
        # H-forløb in psychiatry last four years (Sundhedsstyrelsen's målbeskrivelse).
        "h_duration_years": 4,
        # An I-post lasts a year: the combined track reaches H-posts a year after it starts.
        "i_duration_years": 1,
        # Share of H-courses completed (an assumption: the data hold no completions).
        "h_completion": 0.9,
        "h_completion_sd": 0.03,
        "new_specialist_age_band": "35-39",
        # Posts advertised and filled from now on: the average of the last years.
        "posts_reference_years": 3,
        # Exit rates are estimated from the physicians data from this band up (retirement);
        # below it new specialists arrive and the rates are the stated assumptions.
        "exit_estimate_from_band": "60-64",
        "exit_rates_assumed": {
            "25-29": 0.02,
            "30-34": 0.02,
            "35-39": 0.015,
            "40-44": 0.015,
            "45-49": 0.01,
            "50-54": 0.01,
            "55-59": 0.015,
        },
        # Foreign doctors: 6 + 6 + 12 months from recruitment to permanent post (Region
        # Midtjylland's pathway), and the share who stay.
        "foreign_pathway_years": 2,
        "foreign_completion": 0.7,
        "foreign_completion_sd": 0.1,
        "foreign_age_band": "40-44",
        # Uncertainty drawn beyond the estimates' own: the assumed exit rates are scaled by one
        # factor per draw, uniform on this range; a share of H-courses (and of foreign
        # pathways), uniform on its range, finishes a year late (leave, part-time).
        "exit_rates_assumed_range": [0.5, 1.5],
        "h_delay_share": [0.0, 0.3],
        "foreign_delay_share": [0.0, 0.3],
        # Years behind the year-to-year spread of the fill rates and posts (the drawn level).
        "fill_rate_variation_years": 10,
        # FTE per head (when physicians.csv has fte): the ratio of the last years' sums.
        "fte_reference_years": 3,
        "simulations": 1000,
        "seed": 2035,
        "backtest_start_year": 2018,
        # The headline's definition of the specialists needed: "vacancies" (the measured
        # vacancies of specialist_posts.csv as the starting gap; base_ratio when the file is
        # not given), "base_ratio" (the base year was balanced) or "target" (the targets below).
        "demand": "vacancies",
        # Named targets: specialists per specialty in a year, with their source.
        "targets": [
            {
                "specialty": "psychiatry",
                "year": 2035,
                "value": 1400,
                "name": "Ministeriets mål for 2035",
                "source": "https://ugeskriftet.dk/nyhed/men-hvor-skal-psykiaterne-komme-fra",
            },
            {
                "specialty": "child_adolescent_psychiatry",
                "year": 2035,
                "value": 500,
                "name": "Ministeriets mål for 2035",
                "source": "https://ugeskriftet.dk/nyhed/men-hvor-skal-psykiaterne-komme-fra",
            },
        ],
        # The extra H-posts a year needed for this probability of reaching each target; when
        # posts alone cannot, on top of this scenario's other levers (and foreign recruits).
        "required_probability": 0.8,
        "required_with_scenario": "all_levers",
        "scenarios": {
            "baseline": {},
            "more_h_posts": {"extra_h_posts": 20},
            "combined_track_for_all": {"combined_track_share": 1.0},
            "foreign_recruitment": {"foreign_per_year": 15},
            "retain_over_65": {"exit_reduction_over_65": 0.25},
            "more_working_time": {"fte_per_head": 0.05},
            "all_levers": {
                "extra_h_posts": 20,
                "combined_track_share": 1.0,
                "foreign_per_year": 15,
                "exit_reduction_over_65": 0.25,
                "fte_per_head": 0.05,
            },
        },
        # Each lever alone, moved by a stated, realistic amount (the tornado chart).
        "tornado": {
            "extra_h_posts": 20,
            "combined_track_share": 0.5,
            "foreign_per_year": 15,
            "exit_reduction_over_65": 0.25,
            "fte_per_head": 0.05,
        },
    },
    "report": {
        # Disclosure threshold: no published count describes fewer persons than this.
        "min_cell": 5,
        # Off only for an analyst's own, unpublished researcher pages.
        "publish_safe": True,
    },
}

# Mappings whose keys the user chooses; their contents are checked by the code that uses them.
OPEN_MAPPINGS = {
    ("data", "rename"),
    ("supply", "exit_rates_assumed"),
    ("supply", "scenarios"),
    ("supply", "tornado"),
}


def project_root(start: Path | str | None = None) -> Path:
    """The project's root: the nearest directory at or above ``start`` (default: the working
    directory) holding ``dvc.yaml`` and ``params.yaml``.

    JupyterLab starts a notebook's kernel in the notebook's folder (``notebooks/``) while
    ``dvc repro`` runs from the root; resolving paths from here makes both read the same files.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file() and (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(
        f"{here}: not inside the project (no dvc.yaml and params.yaml here or above); "
        "start Python or JupyterLab inside the project"
    )


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser where PyYAML was built with it (its wheels
    are): the same objects, and 0.1 s less in every stage's kernel, runner and report than the
    pure-Python parser takes for params.yaml and dvc.yaml."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_params(root: Path | str = ".") -> dict[str, dict[str, Any]]:
    """Read ``params.yaml`` under ``root`` and check it against ``DEFAULTS``.

    Keys missing from the file take their default. Unknown keys and values of the wrong type are
    errors that name the key and say what is expected.
    """
    path = Path(root) / PARAMS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamError(f"{PARAMS_FILE}: file not found in {Path(root).resolve()}") from None
    try:
        raw = load_yaml(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ParamError(
            f"{PARAMS_FILE}{where}: not valid YAML ({exc.__class__.__name__})"
        ) from None
    problems: list[str] = []
    merged = _merge(DEFAULTS, raw, (), problems)
    if problems:
        raise ParamError(problems)
    return merged


def changed_params(params: dict[str, Any]) -> dict[str, Any]:
    """Flat ``{"section.key": value}`` of every value that differs from ``DEFAULTS``."""
    flat_now, flat_default = _flatten(params), _flatten(DEFAULTS)
    return {k: v for k, v in flat_now.items() if flat_default.get(k, object()) != v}


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and (tuple(name.split(".")) not in OPEN_MAPPINGS):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _merge(default: Any, given: Any, path: tuple[str, ...], problems: list[str]) -> Any:
    name = ".".join(path) or "(top level)"
    if isinstance(default, dict) and path not in OPEN_MAPPINGS:
        if not isinstance(given, dict):
            problems.append(f"{PARAMS_FILE}: {name}: expected a mapping of keys, got {given!r}")
            return default
        merged = {}
        for key in given:
            if key not in default:
                hint = difflib.get_close_matches(str(key), list(default), n=1)
                suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
                known = ", ".join(default)
                problems.append(
                    f"{PARAMS_FILE}: {'.'.join((*path, str(key)))}: unknown parameter"
                    f"{suggestion} (known here: {known})"
                )
        for key, value in default.items():
            merged[key] = (
                _merge(value, given[key], (*path, key), problems) if key in given else value
            )
        return merged
    if not _same_type(default, given):
        problems.append(f"{PARAMS_FILE}: {name}: expected {_type_name(default)}, got {given!r}")
        return default
    return given


def _same_type(default: Any, given: Any) -> bool:
    if isinstance(default, bool) or isinstance(given, bool):
        return isinstance(default, bool) and isinstance(given, bool)
    if isinstance(default, float):
        return isinstance(given, int | float)
    if default is None:
        return True
    return isinstance(given, type(default))


def _type_name(value: Any) -> str:
    return {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "a text",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------
# The rules of every section, checked before any stage starts
# --------------------------------------------------------------------------------------------
# The analyses implement exactly these choices (tests keep them in step).
GROWTH_MODELS = ("average_growth", "log_linear", "count_glm", "ets")
# The fewest years each model can be fitted to, and the proper scores that choose among them.
GROWTH_MIN_YEARS = {"average_growth": 6, "log_linear": 6, "count_glm": 6, "ets": 8}
GROWTH_SCORES = ("crps", "is80", "is95")
LEVERS = (
    "extra_h_posts",
    "combined_track_share",
    "foreign_per_year",
    "exit_reduction_over_65",
    "fte_per_head",
)
DEMAND_DEFINITIONS = ("base_ratio", "vacancies", "target")
COMPUTED_SCENARIOS = ("required_posts",)  # the supply stage adds these itself
MIN_CELL_FLOOR = 3  # Danish statistics practice: never publish counts of one or two persons
MEMORY = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B)", re.IGNORECASE)  # DuckDB's memory_limit syntax


def check(params: dict[str, dict[str, Any]], years: Sequence[int] | None = None) -> None:
    """Every rule of every section, one line per problem (``params.yaml: key: ...``).

    The runner calls this before a stage's kernel starts, and ``validate`` with the data's
    ``years``, so a bad supply value stops the pipeline before ingest has run.

    Raises
    ------
    ParamError
        With every problem found.
    """
    problems = (
        _data_rules(params["data"])
        + _growth_rules(params["growth"], years)
        + _retention_rules(params["retention"])
        + _initiatives_rules(params["initiatives"])
        + _supply_rules(params["supply"])
        + _report_rules(params["report"])
    )
    if problems:
        raise ParamError(problems)


def _data_rules(params: dict[str, Any]) -> list[str]:
    problems = []
    if params["contacts_tolerance"] < 0:
        problems.append(
            f"params.yaml: data.contacts_tolerance: {params['contacts_tolerance']} is negative; "
            "give the allowed relative difference, 0 for exact agreement (e.g. 0.01 for 1 %)"
        )
    if not re.fullmatch(
        r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", params["duckdb_memory_limit"]
    ):
        problems.append(
            f"params.yaml: data.duckdb_memory_limit: {params['duckdb_memory_limit']!r} is not an "
            "amount of memory; write e.g. 3GB or 500MB"
        )
    return problems


def _report_rules(params: dict[str, Any]) -> list[str]:
    if params["min_cell"] < MIN_CELL_FLOOR:
        return [
            f"params.yaml: report.min_cell: {params['min_cell']} would publish counts of fewer "
            f"than {MIN_CELL_FLOOR} persons; use a whole number of at least {MIN_CELL_FLOOR} "
            "(default 5)"
        ]
    return []


def _growth_rules(params: dict[str, Any], years: Sequence[int] | None) -> list[str]:
    """The growth section; with ``years`` (the years in the data) also the rules that need the
    data."""
    problems: list[str] = []

    def bad(key: str, text: str) -> None:
        problems.append(f"params.yaml: growth.{key}: {text}")

    unknown = [m for m in params["models"] if m not in GROWTH_MODELS]
    if unknown or not params["models"]:
        bad(
            "models",
            f"unknown model {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(GROWTH_MODELS)}",
        )
    if params["choice_score"] not in GROWTH_SCORES:
        bad("choice_score", f"{params['choice_score']!r}; choose from {', '.join(GROWTH_SCORES)}")
    if params["projection_model"] != "auto" and params["projection_model"] not in params["models"]:
        bad(
            "projection_model",
            f"{params['projection_model']!r} is not 'auto' nor one of the "
            f"models ({', '.join(params['models'])})",
        )
    for year in params["target_years"]:
        if not params["base_year"] <= year <= params["horizon_year"]:
            bad(
                "target_years",
                f"{year} is not between base_year {params['base_year']} and "
                f"horizon_year {params['horizon_year']}",
            )
    if params["seed_k_years"] < 2:
        bad("seed_k_years", f"{params['seed_k_years']} must be at least 2")
    min_years = max((GROWTH_MIN_YEARS.get(m, 0) for m in params["models"]), default=0)
    if params["backtest_min_years"] < min_years:
        bad(
            "backtest_min_years",
            f"{params['backtest_min_years']} is below {min_years}, the fewest years the "
            f"models ({', '.join(params['models'])}) can be fitted to",
        )
    if params["backtest_max_horizon"] < 1:
        bad("backtest_max_horizon", "must be at least 1")
    for key, codes in (
        ("physician_grades", GRADES),
        ("physician_specialties", SPECIALTIES),
    ):
        wrong = [v for v in params[key] if v not in codes]
        if wrong or not params[key]:
            bad(key, f"use one or more of {', '.join(codes)}")
    if params["simulations"] < 1000:
        bad("simulations", "use at least 1000 draws for stable interval ends")
    if "ets" in params["models"] and params["ets_bootstrap"] < 100:
        bad("ets_bootstrap", "use at least 100 bootstrap refits")
    if years is not None and len(years):
        first, last = min(years), max(years)
        fit_from = max(params["fit_from_year"], first)
        n_fit = last - fit_from + 1
        if not first <= params["base_year"] <= last:
            bad("base_year", f"{params['base_year']} is outside the data ({first}–{last})")
        if params["horizon_year"] <= last:
            bad("horizon_year", f"{params['horizon_year']} is not after the last data year {last}")
        if params["seed_k_years"] >= n_fit:
            bad(
                "seed_k_years",
                f"{params['seed_k_years']} must be less than the {n_fit} years in the fit window",
            )
        if n_fit < params["backtest_min_years"] + 1:
            bad(
                "fit_from_year",
                f"the fit window {fit_from}–{last} has {n_fit} years; the backtest "
                f"needs at least backtest_min_years + 1 = "
                f"{params['backtest_min_years'] + 1}",
            )
    return problems


def _retention_rules(params: dict[str, Any]) -> list[str]:
    problems = []
    if not 0 < params["horizon_years"] <= 15:
        problems.append("params.yaml: retention.horizon_years: must be between 0 and 15 years")
    periods = params["cohort_periods"]
    if not periods or sorted(periods) != list(periods) or len(set(periods)) != len(periods):
        problems.append(
            "params.yaml: retention.cohort_periods: give the first year of each period in "
            "increasing order, e.g. [2010, 2015, 2020]"
        )
    if params["curve_max_years"] < params["horizon_years"]:
        problems.append("params.yaml: retention.curve_max_years: must be at least horizon_years")
    return problems


# The smallest placebo count at which a randomisation test can reject at 5 %: 1 / (1 + 19).
MIN_PLACEBOS_FLOOR = 19
MAX_LEADS = 8  # each lead costs a year of every placebo's pre-period


def _initiatives_rules(params: dict[str, Any]) -> list[str]:
    problems = []

    def bad(key: str, text: str) -> None:
        problems.append(f"params.yaml: initiatives.{key}: {text}")

    if not 1 <= params["leads"] <= MAX_LEADS:
        bad(
            "leads",
            f"{params['leads']} must be between 1 and {MAX_LEADS}: at least one year before the "
            "start is needed for the pre-trend check",
        )
    if params["min_post_years"] < 1:
        bad("min_post_years", f"{params['min_post_years']} must be at least 1 year")
    if params["min_placebos"] < MIN_PLACEBOS_FLOOR:
        bad(
            "min_placebos",
            f"{params['min_placebos']} is too few: a 5 % randomisation test needs at least "
            f"{MIN_PLACEBOS_FLOOR} placebos (default 20)",
        )
    return problems


def _supply_rules(params: dict[str, Any]) -> list[str]:
    problems: list[str] = []

    def bad(key: str, text: str) -> None:
        problems.append(f"params.yaml: supply.{key}: {text}")

    scenarios = params["scenarios"]
    if "baseline" not in scenarios:
        bad("scenarios", "a scenario called 'baseline' is needed to compare against")
    for name, overrides in scenarios.items():
        if not isinstance(overrides, dict):
            bad(
                f"scenarios.{name}",
                "give the levers it changes as a mapping, e.g. {extra_h_posts: 20}",
            )
            continue
        for lever, value in overrides.items():
            _check_lever(f"scenarios.{name}.{lever}", lever, value, bad)
    if params["scenario"] != "all" and params["scenario"] not in scenarios:
        bad(
            "scenario",
            f"{params['scenario']!r} is not 'all' nor a scenario ({', '.join(scenarios)})",
        )
    for lever, value in params["tornado"].items():
        _check_lever(f"tornado.{lever}", lever, value, bad)
    for key in ("h_completion", "foreign_completion"):
        if not 0 < params[key] <= 1:
            bad(key, f"{params[key]} is a probability and must be between 0 and 1")
    if not 0 <= params["h_completion_sd"] < 0.5:
        bad("h_completion_sd", "must be between 0 and 0.5")
    for key in ("h_duration_years", "foreign_pathway_years", "posts_reference_years"):
        if params[key] < 1:
            bad(key, "must be at least 1 year")
    for key in ("new_specialist_age_band", "foreign_age_band", "exit_estimate_from_band"):
        if params[key] not in BANDS:
            bad(key, f"{params[key]!r} is not an age band ({', '.join(BANDS)})")
    for band, rate in params["exit_rates_assumed"].items():
        if band not in BANDS:
            bad(f"exit_rates_assumed.{band}", f"not an age band ({', '.join(BANDS)})")
        elif not 0 <= rate < 1:
            bad(f"exit_rates_assumed.{band}", f"{rate} is a yearly probability: 0 to 1")
    if params["exit_estimate_from_band"] in BANDS:
        first = BANDS.index(params["exit_estimate_from_band"])
        missing = [b for b in BANDS[:first] if b not in params["exit_rates_assumed"]]
        if missing:
            bad(
                "exit_rates_assumed",
                f"give rates for {', '.join(missing)} (bands below "
                "exit_estimate_from_band are not estimated)",
            )
    if params["simulations"] < 100:
        bad("simulations", "use at least 100 draws")
    for name in COMPUTED_SCENARIOS:
        if name in scenarios:
            bad(f"scenarios.{name}", "this name is the stage's own scenario; choose another")
    if not 0 <= params["foreign_completion_sd"] < 0.5:
        bad("foreign_completion_sd", "must be between 0 and 0.5")
    _check_range(params, "exit_rates_assumed_range", bad, lowest=0.0, contains=1.0)
    for key in ("h_delay_share", "foreign_delay_share"):
        _check_range(params, key, bad, lowest=0.0, highest=1.0)
    for key in ("fill_rate_variation_years", "fte_reference_years"):
        if params[key] < 1:
            bad(key, "must be at least 1 year")
    if params["demand"] not in DEMAND_DEFINITIONS:
        bad("demand", f"{params['demand']!r}; choose from {', '.join(DEMAND_DEFINITIONS)}")
    if not 0 < params["required_probability"] < 1:
        bad("required_probability", f"{params['required_probability']} is a probability "
            "strictly between 0 and 1 (e.g. 0.8)")  # fmt: skip
    if params["required_with_scenario"] not in scenarios:
        bad(
            "required_with_scenario",
            f"{params['required_with_scenario']!r} is not a scenario ({', '.join(scenarios)})",
        )
    _check_targets(params["targets"], bad)
    return problems


def _check_range(params, key, bad, lowest=None, highest=None, contains=None) -> None:
    value = params[key]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        or value[0] > value[1]
    ):
        bad(key, f"{value!r}: give [low, high] with low <= high")
        return
    low, high = value
    if lowest is not None and low < lowest:
        bad(key, f"{low} is below {lowest}")
    if highest is not None and high > highest:
        bad(key, f"{high} is above {highest}")
    if contains is not None and not low <= contains <= high:
        bad(key, f"[{low}, {high}] must contain {contains} (the stated value itself)")


def _check_targets(targets: Any, bad) -> None:
    if not isinstance(targets, list):
        bad("targets", "give a list of {specialty, year, value, source}")
        return
    seen = set()
    for i, t in enumerate(targets):
        key = f"targets[{i}]"
        if not isinstance(t, dict):
            bad(key, "give a mapping {specialty, year, value, source}")
            continue
        unknown = set(t) - {"specialty", "year", "value", "source", "name"}
        if unknown:
            bad(key, f"unknown key {', '.join(sorted(unknown))}; use specialty, year, value, "
                "source and (optional) name")  # fmt: skip
        if t.get("specialty") not in SPECIALTIES:
            bad(f"{key}.specialty", f"{t.get('specialty')!r}; use one of {', '.join(SPECIALTIES)}")
        year = t.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1950 <= year <= 2100:
            bad(f"{key}.year", f"{year!r} is not a year")
        value = t.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            bad(f"{key}.value", f"{value!r}: give the number of specialists (above 0)")
        if not isinstance(t.get("source"), str) or not t.get("source", "").strip():
            bad(f"{key}.source", "say where the target comes from (a link or a document)")
        if (t.get("specialty"), year) in seen:
            bad(key, f"a second target for {t.get('specialty')} in {year}")
        seen.add((t.get("specialty"), year))


def _check_lever(key: str, lever: str, value: Any, bad) -> None:
    if lever not in LEVERS:
        bad(key, f"unknown lever; use one of {', '.join(LEVERS)}")
        return
    if lever == "combined_track_share" and value is None:
        return
    if not isinstance(value, int | float) or isinstance(value, bool):
        bad(key, f"{value!r} is not a number")
    elif lever in ("extra_h_posts", "foreign_per_year") and value < 0:
        bad(key, f"{value} is negative; posts and recruits cannot be fewer than none")
    elif lever in ("combined_track_share", "exit_reduction_over_65") and not 0 <= value <= 1:
        bad(key, f"{value} is a share and must be between 0 and 1")
    elif lever == "fte_per_head" and not -0.5 <= value <= 0.5:
        bad(key, f"{value} is a relative change in working time per head: -0.5 to 0.5")


def reported_years(target_years: list[int], horizon_year: int) -> list[int]:
    """The years the key numbers are given for: ``growth.target_years`` and always the horizon
    year (the figures run to it, so the numbers do too)."""
    return sorted({*map(int, target_years), int(horizon_year)})
