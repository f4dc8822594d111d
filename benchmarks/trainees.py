"""Ingest and retention on 1,000,000 synthetic trainees (a national register's worth).

    python benchmarks/trainees.py [--trainees N]

Runs the real stages (`python -m pipeline run ingest`, then `retention`) in a scratch copy of the
project whose data.raw_dir holds `pipeline synth --trainees N`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import ROOT, measure, report, scratch_copy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trainees", type=int, default=1_000_000)
    n = parser.parse_args().trainees
    with tempfile.TemporaryDirectory(prefix="bench-trainees-") as tmp:
        raw = Path(tmp) / "big"
        made = measure(
            [sys.executable, "-m", "pipeline", "synth", "--out", str(raw), "--seed", "1",
             "--trainees", str(n)],
            ROOT,
        )  # fmt: skip
        rows = {f"synth --trainees {n:,} (not in the target)": made}
        with scratch_copy("bench-trainees-", data=raw) as project:
            for stage in ("ingest", "retention"):
                rows[f"{stage} stage, {n:,} trainees"] = measure(
                    [sys.executable, "-m", "pipeline", "run", stage], project
                )
    stages = [r for k, r in rows.items() if "stage" in k]
    rows["ingest + retention"] = {
        "wall_s": sum(r["wall_s"] for r in stages),
        "peak_mb": max(r["peak_mb"] for r in stages),
    }
    report("trainees", rows)


if __name__ == "__main__":
    main()
