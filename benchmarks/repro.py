"""`dvc repro` from scratch on the demo data, a no-op `dvc repro`, and a re-run after one
retention parameter changes (only the dependent stages should run).

    python benchmarks/repro.py
"""

from __future__ import annotations

import re

from common import BIN, measure, report, scratch_copy


def main() -> None:
    with scratch_copy("bench-pipeline-") as project:
        dvc = str(BIN / "dvc")
        rows = {"dvc repro, from scratch (demo data)": measure([dvc, "repro"], project)}
        rows["dvc repro, nothing changed"] = measure([dvc, "repro"], project)
        params = project / "params.yaml"
        params.write_text(params.read_text().replace("horizon_years: 3 ", "horizon_years: 4 "))
        changed = measure([dvc, "repro"], project)
        rows["dvc repro, after retention.horizon_years changed"] = changed
        ran = re.findall(r"Running stage '(\w+)'", changed["output"])
        report("repro", rows, {"stages re-run after the retention change": ", ".join(ran)})


if __name__ == "__main__":
    main()
