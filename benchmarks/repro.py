"""`dvc repro` from scratch on the demo data, a no-op `dvc repro`, and a re-run after one
retention parameter changes (only the dependent stages should run).

For the run from scratch it also prints the CPU the whole machine spent meanwhile and what that
means on this machine's cores: a run whose CPU, divided by the cores, is near its wall time is
CPU-bound, and only less CPU (not more overlap) makes it faster.

    python benchmarks/repro.py
"""

from __future__ import annotations

import os
import re

from common import BIN, measure, report, scratch_copy


def main() -> None:
    with scratch_copy("bench-pipeline-") as project:
        dvc = str(BIN / "dvc")
        rows = {"dvc repro, from scratch (demo data)": measure([dvc, "repro"], project)}
        rows["dvc repro, nothing changed"] = measure([dvc, "repro"], project)
        params = project / "params.yaml"
        text, changes = re.subn(
            r"(?m)^(\s+horizon_years:\s*)3\b", r"\g<1>4", params.read_text(encoding="utf-8")
        )
        if changes != 1:
            raise SystemExit(
                "params.yaml: retention.horizon_years: 3 not found; adapt the benchmark"
            )
        params.write_text(text, encoding="utf-8")
        changed = measure([dvc, "repro"], project)
        rows["dvc repro, after retention.horizon_years changed"] = changed
        ran = re.findall(r"Running stage '(\w+)'", changed["output"])
        extra = {"stages re-run after the retention change": ", ".join(ran)}
        scratch = rows["dvc repro, from scratch (demo data)"]
        if "machine_cpu_s" in scratch:
            # A lower bound: no schedule on this many cores takes less wall time for this CPU.
            cpu, cores = scratch["machine_cpu_s"], os.cpu_count() or 1
            extra["from scratch: the machine's busy CPU"] = (
                f"{cpu:.1f} s, {cpu / scratch['wall_s']:.2f} of {cores} cores busy; "
                f"at least {cpu / cores:.1f} s on {cores} cores"
            )
        report("repro", rows, extra)


if __name__ == "__main__":
    main()
