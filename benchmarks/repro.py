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
        report("repro", rows, {"stages re-run after the retention change": ", ".join(ran)})


if __name__ == "__main__":
    main()
