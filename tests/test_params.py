"""params.yaml: defaults, and clear errors for keys and values that cannot be used."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

from pipeline.errors import ParamError
from pipeline.params import DEFAULTS, changed_params, load_params


def write(tmp_path, text: str):
    (tmp_path / "params.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_project_params_have_every_default_key():
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    assert set(shipped) == set(DEFAULTS)
    for section, values in DEFAULTS.items():
        assert set(shipped[section]) == set(values), section


def test_missing_keys_take_defaults(tmp_path):
    params = load_params(write(tmp_path, "report:\n  min_cell: 10\n"))
    assert params["report"]["min_cell"] == 10
    assert params["data"] == DEFAULTS["data"]
    assert changed_params(params) == {"report.min_cell": 10}


def test_unknown_key_suggests_the_known_one(tmp_path):
    with pytest.raises(ParamError) as info:
        load_params(write(tmp_path, "report:\n  min_cel: 10\n"))
    assert info.value.problems == [
        "params.yaml: report.min_cel: unknown parameter; did you mean 'min_cell'? "
        "(known here: min_cell, publish_safe)"
    ]


def test_wrong_type(tmp_path):
    with pytest.raises(ParamError) as info:
        load_params(write(tmp_path, "report:\n  min_cell: fem\n  publish_safe: 1\n"))
    assert info.value.problems == [
        "params.yaml: report.min_cell: expected a whole number, got 'fem'",
        "params.yaml: report.publish_safe: expected true or false, got 1",
    ]


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(ParamError) as info:
        load_params(write(tmp_path, "report:\n  min_cell: 5\n   bad: [\n"))
    assert info.value.problems[0].startswith("params.yaml:3: not valid YAML")


def test_rename_is_free_form(tmp_path):
    params = load_params(write(tmp_path, "data:\n  rename:\n    patients: {aar: year}\n"))
    assert params["data"]["rename"] == {"patients": {"aar": "year"}}
    assert changed_params(params) == {"data.rename": {"patients": {"aar": "year"}}}
