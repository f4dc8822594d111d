"""Progress of long steps in `dvc repro`, kept out of the published pages.

Inside a stage's kernel the runner first runs ``enable()``: the pipeline's log messages then go
to the notebook's stderr stream, which papermill prints as the stage runs, each line starting
with ``progress: ``. When the pages are exported those lines (and the setup cell) are removed,
so anything else on stderr, such as a warning, still reaches the safety check.

nbformat is imported inside ``setup_cell``: the kernel's ``enable`` does not need it.
"""

from __future__ import annotations

import copy
import logging
import sys
from typing import Any

PREFIX = "progress: "
SETUP_TAG = "progress-setup"
SETUP_SOURCE = "from pipeline.progress import enable\n\nenable()"


def enable() -> None:
    """Send the pipeline's INFO messages to stderr with the progress prefix."""
    logger = logging.getLogger("pipeline")
    if any(getattr(h, "_progress", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{PREFIX}%(message)s"))
    handler._progress = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def setup_cell() -> Any:
    import nbformat

    return nbformat.v4.new_code_cell(SETUP_SOURCE, metadata={"tags": [SETUP_TAG]})


def strip(nb: Any) -> Any:
    """A copy of ``nb`` without the setup cell and without progress lines in stderr outputs."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if SETUP_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in nb.cells:
        outputs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                kept = [line for line in out["text"].splitlines(keepends=True)
                        if not line.startswith(PREFIX)]  # fmt: skip
                if not kept:
                    continue
                out["text"] = "".join(kept)
            outputs.append(out)
        if "outputs" in cell:
            cell["outputs"] = outputs
    return nb
