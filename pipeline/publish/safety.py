"""Checks on every page before it is published: no personal data, no small counts, no errors.

Disclosure control happens where tables and curves are made (``pipeline.publish.disclosure``),
and the report stage audits every published count together (``pipeline.publish.audit``); this is
the second line: the report stage reads each rendered page and refuses to publish when

* a ``person_id`` from the input, or anything that looks like a CPR number, appears on it;
* a table has a column that only a table of persons would have (``person_id``, ``birth_year``,
  ``i_start``, ...);
* a count of persons is between 1 and ``report.min_cell - 1``: cells the notebooks mark as counts
  (``fmt.table(counts=...)``) and columns whose heading says they count persons;
* a Python traceback, an error or a warning was printed.

Only the small-count rule is waived, and only on the researcher pages, when an analyst turns
``report.publish_safe`` off (those pages then go to ``reports/unpublished/``); the others never
are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bs4 import BeautifulSoup

from pipeline.data.cpr import page_has_cpr

# Columns only a person-level table has (contract names, and the retention stage's per-doctor
# frame).
PERSONAL_COLUMNS = {
    "person_id",
    "cpr",
    "cpr_nr",
    "cprnr",
    "birth_year",
    "fødselsår",
    "i_start",
    "i_end",
    "h_start",
    "exit_date",
    "time",
    "event",
    "completed_i",
    "full_followup",
}
# Headings of columns that count persons (Danish, as the pages write them).
COUNT_HEADINGS = re.compile(
    r"^(antal|personer|rækker|startet|afsluttet|fulgt|besat|h-forløb i psykiatrien inden for)",
    re.IGNORECASE,
)
ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)"
    r"|\b[A-Z]\w*(Error|Exception|Warning)\b: "
    r"|^\s*warnings\.warn",
    re.MULTILINE,
)
STDERR = {"data-mime-type": "application/vnd.jupyter.stderr"}


def check_page(
    html: str,
    *,
    page: str,
    person_ids: Iterable[str] = (),
    min_cell: int = 5,
    disclosure: bool = True,
) -> list[str]:
    """Every reason not to publish ``html``, one line each, as ``page: what is wrong``.

    ``disclosure=False`` (an analyst's unpublished researcher page) waives the small-count rule
    only: CPR numbers, person ids, person-level tables and errors are checked on every page.
    """
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    problems = _errors(soup) + _personal(soup, set(person_ids))
    if disclosure:
        problems += _small_counts(soup, min_cell)
    return [f"{page}: {what}" for what in problems]


def _errors(soup: BeautifulSoup) -> list[str]:
    found = []
    for node in soup.find_all(attrs=STDERR):
        first = node.get_text(" ", strip=True)[:80]
        found.append(f"a warning or error was printed ({first!r}); fix its cause in the notebook")
    for node in soup.select(".jp-OutputArea-output"):
        match = ERROR_TEXT.search(node.get_text("\n"))
        if match:
            found.append(f"an output shows {match.group(0).strip()!r}; fix it in the notebook")
    return found


def _personal(soup: BeautifulSoup, person_ids: set[str]) -> list[str]:
    """CPR numbers, person ids and person-level tables: never on any page (nothing is echoed)."""
    found = []
    text = soup.get_text(" ")
    if page_has_cpr(text):
        found.append("something that looks like a CPR number is on the page (not shown)")
    if person_ids:
        leaked = set(re.findall(r"[\w\-]+", text)) & person_ids
        if leaked:
            found.append(f"{len(leaked)} person_id value(s) from the input are on the page")
    for number, table in enumerate(soup.find_all("table"), start=1):
        headings = [th.get_text(" ", strip=True) for th in table.find_all("th")]
        personal = sorted({h.casefold() for h in headings} & PERSONAL_COLUMNS)
        if personal:
            found.append(
                f"table {number} has a column of a person-level table "
                f"({', '.join(personal)}): publish aggregates only"
            )
    return found


def _small_counts(soup: BeautifulSoup, min_cell: int) -> list[str]:
    found = []
    for number, table in enumerate(soup.find_all("table"), start=1):
        for heading, value in _count_cells(table):
            if 0 < value < min_cell:
                found.append(
                    f"table {number} shows a count of {value} in {heading!r}, below "
                    f"report.min_cell = {min_cell}"
                )
    return found


def _count_cells(table) -> list[tuple[str, int]]:
    """(heading, count) of every cell marked as a count or under a heading that counts persons."""
    header_rows = [tr for tr in table.find_all("tr") if tr.find("th") and not tr.find("td")]
    headings = (
        [th.get_text(" ", strip=True) for th in header_rows[-1].find_all("th")]
        if header_rows
        else []
    )
    cells = []
    for tr in table.find_all("tr"):
        tds = tr.find_all(["td", "th"])
        if not tr.find("td"):
            continue
        for position, td in enumerate(tds):
            heading = headings[position] if position < len(headings) else ""
            if "count" in (td.get("class") or []) or COUNT_HEADINGS.match(heading):
                value = _integer(td.get_text(strip=True))
                if value is not None:
                    cells.append((heading or "a count cell", value))
    return cells


def _integer(text: str) -> int | None:
    """A whole number as the pages write it (``1.234``), or None."""
    clean = text.replace(".", "").replace("\u2212", "-")
    return int(clean) if re.fullmatch(r"\d+", clean) else None
