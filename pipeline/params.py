"""Parameters: the defaults, and reading ``params.yaml`` with clear errors.

``params.yaml`` is the one place analysts change the analysis. Every stage reads its own section, so
DVC re-runs only the stages whose section changed. ``DEFAULTS`` documents every key, gives its type
and is what the landing page compares against to show which values were changed.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

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
        # "auto": chosen by the backtest; or one of the models.
        "projection_model": "auto",
        # "auto" only considers models whose 95 % intervals covered this share in the backtest.
        "min_coverage_95": 0.8,
        "horizon_year": 2035,
        "target_years": [2025, 2030, 2035],
        # Rolling-origin backtest: shortest training window and longest horizon, in years.
        "backtest_min_years": 10,
        "backtest_max_horizon": 5,
        "ets_damped": True,
        # Parametric bootstrap refits behind the ETS growth interval (50 is what the coverage
        # test in tests/test_growth.py validates).
        "ets_bootstrap": 50,
        # Bootstrap ETS intervals for the national series (shown) or for every series.
        "ets_bootstrap_scope": "national",
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
        "foreign_age_band": "40-44",
        "simulations": 1000,
        "seed": 2035,
        "backtest_start_year": 2018,
        "scenarios": {
            "baseline": {},
            "more_h_posts": {"extra_h_posts": 20},
            "combined_track_for_all": {"combined_track_share": 1.0},
            "foreign_recruitment": {"foreign_per_year": 15},
            "retain_over_65": {"exit_reduction_over_65": 0.25},
            "all_levers": {
                "extra_h_posts": 20,
                "combined_track_share": 1.0,
                "foreign_per_year": 15,
                "exit_reduction_over_65": 0.25,
            },
        },
        # Each lever alone, moved by a stated, realistic amount (the tornado chart).
        "tornado": {
            "extra_h_posts": 20,
            "combined_track_share": 0.5,
            "foreign_per_year": 15,
            "exit_reduction_over_65": 0.25,
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
        raw = yaml.safe_load(text) or {}
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
