"""Counting patients from 100,000,000 synthetic contact rows with DuckDB.

    python benchmarks/contacts.py [--contacts N]

The contacts are written by `pipeline synth --contacts N` (not timed in the target); the
measured step validates them and counts distinct persons per year, region and age group, as
ingest does, under the default memory limit. Its floor is DuckDB's own query for the same table
(distinct persons per year, region and age group, and per year) on the same file, with no checks:
the two run in one process, pair by pair, and the medians of five pairs are compared (wall and
CPU time).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from common import ROOT, measure, report

COUNT = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(message)s")
from pathlib import Path
from pipeline.data.contacts import aggregate
counted = aggregate(Path(sys.argv[1]))
print(f"{counted.rows:,} rows, {len(counted.patients)} cells", file=sys.stderr)
"""

PAIRS = """
import json, statistics, sys, time
from pathlib import Path
import duckdb
from pipeline.data.contacts import aggregate
path = Path(sys.argv[1])
FLOOR = (
    "SELECT year(contact_date) AS year, region, age_group, count(DISTINCT person_id) "
    f"FROM read_parquet('{path}') GROUP BY GROUPING SETS ((year, region, age_group), (year))"
)
def floor():
    con = duckdb.connect()
    con.execute("SET enable_progress_bar_print = false")
    con.execute(FLOOR).fetchall()
    con.close()
def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu
pairs = [(timed(lambda: aggregate(path)), timed(floor)) for _ in range(5)]
median = lambda xs: round(statistics.median(xs), 2)
print(json.dumps({
    "aggregate_wall_s": median([a[0] for a, _ in pairs]),
    "aggregate_cpu_s": median([a[1] for a, _ in pairs]),
    "floor_wall_s": median([f[0] for _, f in pairs]),
    "floor_cpu_s": median([f[1] for _, f in pairs]),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000_000)
    n = parser.parse_args().contacts
    with tempfile.TemporaryDirectory(prefix="bench-contacts-") as tmp:
        out = Path(tmp) / "raw"
        rows = {
            f"synth --contacts {n:,} (not in the target)": measure(
                [
                    sys.executable,
                    "-m",
                    "pipeline",
                    "synth",
                    "--out",
                    str(out),
                    "--seed",
                    "1",
                    "--contacts",
                    str(n),
                ],
                ROOT,
            ),
        }
        rows[f"validate and count {n:,} contacts"] = measure(
            [sys.executable, "-c", COUNT, str(out / "contacts.parquet")], ROOT
        )
        paired = measure([sys.executable, "-c", PAIRS, str(out / "contacts.parquet")], ROOT)
        t = json.loads(re.search(r'\{"aggregate_wall_s".*\}', paired["output"]).group())
        size = (out / "contacts.parquet").stat().st_size / 2**20
        report(
            "contacts",
            rows,
            {
                "contacts.parquet size": f"{size:,.0f} MB",
                "aggregate / DuckDB floor, wall (median of 5 pairs)": (
                    f"{t['aggregate_wall_s'] / t['floor_wall_s']:.2f} "
                    f"({t['aggregate_wall_s']} s / {t['floor_wall_s']} s)"
                ),
                "aggregate / DuckDB floor, CPU": (
                    f"{t['aggregate_cpu_s'] / t['floor_cpu_s']:.2f} "
                    f"({t['aggregate_cpu_s']} s / {t['floor_cpu_s']} s)"
                ),
            },
        )


if __name__ == "__main__":
    main()
