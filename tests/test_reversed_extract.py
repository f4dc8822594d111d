"""The leadership page follows the data: on a synthetic extract whose trends are the demo's
reversed (physicians grow faster than patients, nearly every post is filled, specialists outgrow
demand), every finding on the page turns round.

``python -m pipeline synth --scenario reversed`` makes the extract; ``dvc repro`` runs the whole
pipeline on it, as an analyst refreshing with a new extract would.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, ROOT

from benchmarks.common import copy_project, env

pytestmark = pytest.mark.long

FAST = {"growth": {"simulations": 1000, "ets_bootstrap": 100}, "supply": {"simulations": 100}}


def page_text(project: Path) -> str:
    from bs4 import BeautifulSoup

    html = (project / "reports" / "site" / "ledelse.html").read_text(encoding="utf-8")
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


@pytest.fixture(scope="module")
def reversed_page(tmp_path_factory) -> str:
    import yaml

    base = tmp_path_factory.mktemp("reversed")
    data = base / "reversed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "synth",
            "--scenario",
            "reversed",
            "--seed",
            "8",
            "--out",
            str(data),
        ],
        cwd=ROOT,
        env=env(),
        check=True,
        capture_output=True,
    )
    project = copy_project(base / "project", data=data)
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    for section, values in FAST.items():
        params[section].update(values)
    (project / "params.yaml").write_text(
        yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    result = subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=project, env=env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return page_text(project)


def demo_page() -> str:
    path = ROOT / "reports" / "site" / "ledelse.html"
    if not path.exists():
        pytest.skip("the demo's pages are not built (make reports)")
    return page_text(ROOT)


def test_physicians_outgrow_patients_on_the_reversed_page(reversed_page):
    assert "Lægetallet er vokset hurtigere end patienttallet" in reversed_page
    assert "Patienttallet er vokset hurtigere" not in reversed_page


def test_posts_are_not_said_to_stand_empty_when_nearly_all_are_filled(reversed_page):
    assert "står tomme" not in reversed_page
    assert "næsten alle hoveduddannelsesforløb bliver besat" in reversed_page


def test_the_headline_is_a_surplus_not_a_negative_shortage(reversed_page):
    headline = reversed_page[reversed_page.index("I 20") :][:300]
    assert "flere end behovet" in headline, headline
    assert "mangler der −" not in reversed_page
    assert "lukker gabet" not in reversed_page, "there is no gap to close"
    assert "Alle tiltag samtidig øger overskuddet" in reversed_page


def test_no_combined_tracks_is_said_rather_than_estimated(reversed_page):
    assert "Sammenhængende forløb: effekten kan ikke beregnes" in reversed_page


def test_the_demo_page_says_the_opposite():
    """The same sentences on the demo read the other way (or say no clear difference)."""
    page = demo_page()
    assert "Lægetallet er vokset hurtigere end patienttallet" not in page
    assert "står tomme" in page
