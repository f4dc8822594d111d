"""Progress of long steps in `dvc repro`, the runner's own cells in a stage's kernel, and what
else is kept out of executed notebooks and pages: timings and random cell ids (``reproducible``).

Inside a stage's kernel the runner first runs ``enable()``: the pipeline's log messages then go
to the kernel process's own standard error, which it shares with the runner and ``dvc repro``,
each line starting with ``progress: ``. They never enter the notebook, so the executed notebook
and the pages hold only the analysis, and anything else on the notebook's stderr (a warning)
still reaches the report stage's safety check. Run interactively (JupyterLab), the notebook
shows nothing of this: ``enable`` is only called by the runner's setup cell.

The runner also appends a last cell, ``finish()``, which runs what modules asked to be done
before the notebook ends (``at_finish``): figures drawn in the background are waited for there.
Both cells are tagged ``SETUP_TAG`` and left out of the pages.

nbformat is imported inside ``setup_cell`` and ``finish_cell``: the kernel does not need it.
"""

from __future__ import annotations

import copy
import io
import logging
import sys
from collections.abc import Callable
from typing import Any

PREFIX = "progress: "
SETUP_TAG = "progress-setup"
SETUP_SOURCE = "from pipeline.progress import enable\n\nenable()"
FINISH_SOURCE = "from pipeline.progress import finish\n\nfinish()"
_finishers: list[Callable[[], None]] = []


def enable() -> None:
    """Send the pipeline's INFO messages to the process's standard error (the terminal of
    ``dvc repro``), with the progress prefix."""
    logger = logging.getLogger("pipeline")
    if any(getattr(h, "_progress", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(_terminal())
    handler.setFormatter(logging.Formatter(f"{PREFIX}%(message)s"))
    handler._progress = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def running_as_stage() -> bool:
    """Whether this kernel runs a stage for the runner (its setup cell ran), not in JupyterLab."""
    return any(getattr(h, "_progress", False) for h in logging.getLogger("pipeline").handlers)


def at_finish(callback: Callable[[], None]) -> None:
    """Have the runner's last cell call ``callback`` (once), before the notebook ends."""
    _finishers.append(callback)


def finish() -> None:
    """The runner's last cell: what modules asked to be done before the notebook ends."""
    while _finishers:
        _finishers.pop(0)()


def _terminal() -> Any:
    """The kernel process's own standard error. ipykernel redirects file descriptor 2 into the
    notebook and keeps a copy of the original: write to that copy, or the progress would land in
    the executed notebook."""
    original = getattr(sys.stderr, "_original_stdstream_copy", None)
    if original is not None:
        return io.TextIOWrapper(io.FileIO(original, "w", closefd=False), line_buffering=True)
    return sys.__stderr__


def setup_cell() -> Any:
    import nbformat

    return nbformat.v4.new_code_cell(SETUP_SOURCE, metadata={"tags": [SETUP_TAG]})


def finish_cell() -> Any:
    import nbformat

    return nbformat.v4.new_code_cell(FINISH_SOURCE, metadata={"tags": [SETUP_TAG]})


def strip(nb: Any) -> Any:
    """A copy of ``nb`` without the setup cell and without any progress line in its stderr
    outputs (from notebooks executed before progress went to the terminal)."""
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


def reproducible(nb: Any) -> Any:
    """``nb`` without what changes from run to run: timings (papermill's and nbclient's), the
    papermill paths, and random cell ids (replaced by the cell's position)."""
    volatile = ("start_time", "end_time", "duration", "input_path", "output_path")
    papermill_meta = nb.metadata.get("papermill", {})
    for key in volatile:
        papermill_meta.pop(key, None)
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"
        cell.metadata.pop("execution", None)
        for key in volatile:
            cell.metadata.get("papermill", {}).pop(key, None)
    return nb
