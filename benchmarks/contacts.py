"""Counting patients from 100,000,000 synthetic contact rows with DuckDB.

    python benchmarks/contacts.py [--contacts N]

The contacts are written by `pipeline synth --contacts N` (not timed in the target); the
measured step validates them and counts distinct persons per year, region and age group, as
ingest does, under the default memory limit.
"""

from __future__ import annotations

import argparse
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
        size = (out / "contacts.parquet").stat().st_size / 2**20
        report("contacts", rows, {"contacts.parquet size": f"{size:,.0f} MB"})


if __name__ == "__main__":
    main()
