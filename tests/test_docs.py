"""The documented contract is the contract: every column listed, every example row valid."""

from __future__ import annotations

import io
import re

import pandas as pd
from conftest import ROOT

from pipeline.data import contract
from pipeline.data.ingest import validate_table

DOC = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    heading = f"### `{name}.csv`" if name != "contacts" else "### `contacts.parquet`"
    start = DOC.index(heading)
    end = DOC.find("\n### ", start + 1)
    return DOC[start : end if end != -1 else len(DOC)]


def test_every_column_is_documented():
    assert "### `contacts.parquet` (optional)" in DOC
    for spec in (*contract.FILES, contract.CONTACTS):
        text = section(spec.name)
        for column in spec.column_names:
            assert f"| `{column}` |" in text, f"{spec.name}.{column} missing from the docs"


def test_every_example_row_is_valid():
    for spec in contract.FILES:
        block = re.search(r"```csv\n(.*?)```", section(spec.name), re.DOTALL).group(1)
        raw = pd.read_csv(io.StringIO(block), dtype=str, keep_default_na=False)
        assert list(raw.columns) == spec.column_names
        raw.index = pd.RangeIndex(2, len(raw) + 2)
        _, problems = validate_table(raw, spec, f"{spec.name}.csv")
        assert problems == [], problems


def test_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme[readme.index("```sh") : readme.index("```", readme.index("```sh") + 5)]
    assert "make reports" in first_block and "make test" in first_block
