"""Run one pipeline stage: what ``dvc repro`` calls for each stage in ``dvc.yaml``.

``dvc.yaml`` is the single description of the stages. For a stage, the runner reads from it

* the notebook (the stage's dependency under ``notebooks/``),
* the parameters (the stage's ``params:`` entries, taken from ``params.yaml``), and
* the outputs (removed again if the stage fails, so nothing half-written is left),

then executes the notebook with papermill under the project kernel and writes the executed copy to
``reports/executed/``. A stage may also have a step that runs after its notebook (the report
stage publishes the HTML pages).

papermill, jupytext and jupyter_client are imported inside the functions that execute: `--help`
and parameter checks stay quick.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

from pipeline import forked, spare
from pipeline.environment import KERNEL_NAME, kernel_env
from pipeline.errors import InputError, Interrupted, StageError
from pipeline.params import check, load_params
from pipeline.progress import finish_cell, reproducible, setup_cell
from pipeline.stages import (
    AFTER_NOTEBOOK,
    BESIDE_NOTEBOOK,
    EXECUTED_DIR,
    StageSpec,
    code_deps,
    is_code,
    load_stages,
    notebook_parameters,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1800  # seconds per cell; register-sized inputs take minutes, not hours
RESULTS_SHOWN = 6  # metrics printed when a stage ends
# Exceptions raised inside a notebook that mean "fix your input", not "bug".
INPUT_ERRORS = {"InputError", "ParamError"}


def run_stage(name: str, root: Path | str = ".", timeout: int | None = None) -> None:
    """Execute stage ``name`` as ``dvc repro`` would, from the project root ``root``.

    Raises
    ------
    InputError
        When the data or the parameters are wrong; the stage's outputs are removed.
    StageError
        When the notebook fails for any other reason; its executed copy is kept under
        ``reports/failed/`` for debugging and the outputs are removed.
    """
    root = Path(root).resolve()
    params = load_params(root)
    stages = load_stages(root, params)
    if name not in stages:
        raise InputError(f"dvc.yaml: no stage called {name!r}; stages: {', '.join(stages)}")
    spec = stages[name]
    clean_leftovers(root)
    check_code_deps(spec, root)
    # Every rule of every section before any kernel starts; the rules that need the data's
    # years once ingest has described the data.
    check(params, years=None if name == "ingest" else _data_years(root))
    parameters = notebook_parameters(spec, params)
    started = time.perf_counter()
    beside = _start_beside(name, root, params) if spec.notebook is not None else None
    try:
        if spec.notebook is not None:
            spare_for_next = spare.enabled() and _has_dependents(spec, stages)
            _execute(spec, root, parameters, timeout or DEFAULT_TIMEOUT, spare_for_next)
        if name in AFTER_NOTEBOOK:
            module, function = AFTER_NOTEBOOK[name]
            step = getattr(importlib.import_module(module), function)
            if name in BESIDE_NOTEBOOK:
                step(root, params, prepared=_result(beside))
            else:
                step(root, params)
    except BaseException:
        _remove_outputs(spec, root)
        raise
    finally:
        if beside is not None:
            beside.cancel()  # a stage that failed before taking its result
    log.info("%s: done in %.1f s%s", name, time.perf_counter() - started, _results(root, name))


def _start_beside(name: str, root: Path, params: dict[str, Any]) -> forked.Job | None:
    """The stage's BESIDE_NOTEBOOK work, started in a forked child before the kernel (so that
    it imports and works on the second core while the notebook runs); None where there is none
    or no second core."""
    if name not in BESIDE_NOTEBOOK or not forked.available():
        return None
    return forked.start(_call, *BESIDE_NOTEBOOK[name], root, params)


def _call(module: str, function: str, *args: Any) -> Any:
    return getattr(importlib.import_module(module), function)(*args)


def _result(job: forked.Job | None) -> Any:
    """The child's result, or None if it failed (the step then does the work itself, and so
    shows the real error if there is one)."""
    if job is None:
        return None
    try:
        return job.result()
    except forked.ChildFailed:
        return None


def _results(root: Path, stage: str) -> str:
    """A few of the stage's headline metrics for the log of ``dvc repro``."""
    path = root / "reports" / "metrics" / f"{stage}.json"
    if not path.exists():
        return ""
    metrics = json.loads(path.read_text(encoding="utf-8"))
    shown = [
        f"{key} = {value:.4g}" if isinstance(value, float) else f"{key} = {value}"
        for key, value in metrics.items()
        if isinstance(value, int | float | str) and not key.endswith(("_low", "_high"))
    ]
    return "; " + ", ".join(shown[:RESULTS_SHOWN]) if shown else ""


def _data_years(root: Path) -> list[int] | None:
    """The years of patient data, from what ingest recorded (None before ingest has run)."""
    info = root / "data" / "processed" / "dataset.json"
    if not info.exists():
        return None
    first, last = json.loads(info.read_text(encoding="utf-8"))["years"]["patients"]
    return list(range(first, last + 1))


def check_code_deps(spec: StageSpec, root: Path) -> None:
    """Refuse to run a stage whose ``dvc.yaml`` entry misses code it runs: DVC would otherwise
    serve its old results after that code changed."""
    declared = {d for d in spec.deps if is_code(d)}
    missing = [d for d in code_deps(spec, root) if d not in declared]
    if missing:
        raise InputError(
            f"dvc.yaml: stages.{spec.name}.deps: missing {', '.join(missing)}, which the stage "
            "runs; update the list with `python -m pipeline deps --write`"
        )


def _execute(
    spec: StageSpec, root: Path, parameters: dict[str, Any], timeout: int, spare_for_next: bool
) -> None:
    # The kernel first: it starts while papermill and jupytext are imported and the notebook is
    # read and checked (half a second of every stage).
    kernel = Kernel(root, spare_for_next)
    try:
        jupytext, papermill = _import_papermill_and_jupytext()

        assert spec.notebook is not None and spec.executed_notebook is not None
        notebook = jupytext.read(root / spec.notebook)
        _check_parameters_cell(notebook, spec, parameters)
    except BaseException:
        kernel.stop()
        raise
    notebook.cells.insert(0, setup_cell())
    notebook.cells.append(finish_cell())
    target = root / spec.executed_notebook
    log.info(
        "%s: running %s with kernel %s%s", spec.name, spec.notebook, KERNEL_NAME,
        " (started during the stage before)" if kernel.adopted is not None else "",
    )  # fmt: skip
    try:
        execute_notebook(notebook, target, parameters, root, timeout, kernel)
    except papermill.PapermillExecutionError as exc:
        if exc.ename in INPUT_ERRORS:
            raise InputError(exc.evalue.splitlines()) from None
        failed = root / "reports" / "failed" / target.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_bytes(exc.partial)
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(exc.traceback))  # no terminal colours
        raise StageError(
            f"stage {spec.name}: {spec.notebook} failed in cell {exc.exec_count} with "
            f"{exc.ename}: {exc.evalue}\n{traceback}\n"
            f"The executed notebook is kept at {failed.relative_to(root)}."
        ) from None


def _has_dependents(spec: StageSpec, stages: dict[str, StageSpec]) -> bool:
    """Whether another of ``stages`` depends on an output of ``spec``."""
    outs = [out.as_posix() for out in spec.outs]
    return any(
        dep == out or dep.startswith(f"{out}/")
        for other in stages.values()
        if other.name != spec.name
        for dep in other.deps
        for out in outs
    )


# What papermill and jupytext import only for features the runner does not use, each inside a
# try block: papermill's HDFS handler (pyarrow.fs, with pyarrow and NumPy) and jupytext's
# contents managers for Jupyter's server (jupyter_server), 0.2 s of every stage; jupytext's MyST
# reader (markdown_it: the notebooks are py:percent) and the libraries of jsonschema's optional
# format checks (under nbformat, which validates notebooks without checking formats), 0.05 s.
_NOT_FOR_THE_RUNNER = (
    "jupyter_server",
    "pyarrow",
    "markdown_it",
    "isoduration",
    "rfc3986_validator",
    "rfc3339_validator",
    "webcolors",
    "uri_template",
    "fqdn",
)


def _import_papermill_and_jupytext() -> tuple[Any, Any]:
    """``import jupytext, papermill`` with the modules of ``_NOT_FOR_THE_RUNNER`` hidden (those
    already imported are left alone); afterwards they import as usual."""
    hidden = [name for name in _NOT_FOR_THE_RUNNER if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import name" raises ImportError
    try:
        import jupytext
        import papermill
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return jupytext, papermill


def _spare_step(step: Any, *args: Any) -> Any:
    """``step(*args)`` of the spare kernels, which only save time: if it fails (a full
    temporary directory, say), the stage goes on with a kernel of its own."""
    try:
        return step(*args)
    except Exception as exc:  # any failure: the stage does not need a spare
        log.debug("spare kernel: %s failed: %s", step.__name__, exc)
        return None


@functools.cache
def _ready_client() -> type:
    """jupyter_client's kernel client, ready once the kernel has answered on both channels.

    jupyter_client's own ``wait_for_ready`` then also waits until IOPub has been quiet for
    0.2 s, to drop what is left of the handshake: 0.2 s of every stage. nbclient only takes
    the outputs that answer its own requests, so those leftovers are ignored either way.
    """
    from jupyter_client.asynchronous import AsyncKernelClient

    class ReadyClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
            deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:  # a message on IOPub (the reply's status): it is connected
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass  # not yet connected: ask again
                    else:
                        self._handle_kernel_info_reply(reply)
                        return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    return ReadyClient


class Kernel:
    """The project kernel, started in ``root`` when made, so that it boots while the runner
    goes on (papermill needs it only later).

    Its channels are unix sockets in a private directory, not localhost TCP: the kernel handles
    personal data. Its process is registered so that a signal to the runner ends it at once.
    papermill adopts it through ``manager_class`` (nbclient then shuts it down as its own);
    ``stop`` ends it where papermill never ran.
    """

    def __init__(self, root: Path, spare_for_next: bool = False) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        for key, value in kernel_env().items():
            os.environ.setdefault(key, value)  # the kernel inherits the runner's environment
        # The connection file (with its key) and the sockets live in one private directory,
        # named after this process so that a run killed outright is cleaned up by the next one.
        self.private = tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-")
        self.adopted: Path | None = None  # the folder of a spare kernel taken over
        private = self.private
        kernel = self

        class PrivateKernelManager(AsyncKernelManager):
            def __init__(self, **kwargs: Any):
                super().__init__(**kwargs)
                self.client_factory = _ready_client()
                self.transport = "ipc"
                self.ip = os.path.join(private, "kernel")
                self.connection_file = os.path.join(private, "kernel.json")

            async def _async_interrupt_kernel(self) -> None:
                # jupyter_client interrupts a kernel before every shutdown; one busy with a
                # late message then logs "ERROR | KeyboardInterrupt caught in kernel" on a run
                # that succeeded. A kernel being shut down needs no interrupt.
                if self.shutting_down:
                    return
                await super()._async_interrupt_kernel()

            async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
                # The command with its connection file as the kernel spec names it: what a
                # spare started for this command is compared with.
                cmd = [p.replace(self.connection_file, "{connection_file}") for p in kernel_cmd]
                env = kw.get("env") or dict(os.environ)
                taken = _spare_step(spare.adopt, root, cmd, env) if spare.enabled() else None
                if taken is None:
                    await super()._async_launch_kernel(kernel_cmd, **kw)
                else:
                    kernel.adopted, process = taken
                    self.load_connection_file(str(kernel.adopted / "kernel.json"))
                    provisioner = self.provisioner
                    assert provisioner is not None
                    provisioner.process = process  # type: ignore[attr-defined]
                    provisioner.pid = provisioner.pgid = process.pid  # type: ignore[attr-defined]
                    provisioner.connection_info = self.get_connection_info()
                _KERNELS.add(int(self.provisioner.pid))  # type: ignore[union-attr]
                if spare_for_next:
                    _spare_step(spare.start, root, cmd, env, _watched_links()[-1][1])

        self._run_sync = run_sync
        self.manager = PrivateKernelManager(kernel_name=KERNEL_NAME)
        # As nbclient starts it: in the project root, and no IPython history file on disk.
        run_sync(self.manager.start_kernel)(
            extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(root)
        )
        started = self.manager

        class Adopted(PrivateKernelManager):
            """What papermill is given as its kernel manager class: the started manager."""

            def __new__(cls, **_kwargs: Any) -> Any:
                return started

        self.manager_class = Adopted

    def stop(self) -> None:
        """End the kernel if it is still running, and remove its private directory."""
        try:
            if self._run_sync(self.manager.is_alive)():
                self._run_sync(self.manager.shutdown_kernel)(now=True)
            self._run_sync(self.manager.cleanup_resources)()
        finally:
            shutil.rmtree(self.private, ignore_errors=True)
            if self.adopted is not None:
                shutil.rmtree(self.adopted, ignore_errors=True)
            _KERNELS.clear()


def execute_notebook(
    notebook: Any,
    target: Path,
    parameters: dict[str, Any],
    root: Path,
    timeout: int,
    kernel: Kernel | None = None,
) -> None:
    """Execute ``notebook`` with papermill under the project kernel (``kernel``, or one started
    here) and write it to ``target`` (only when it succeeds; a failed run is attached to the
    exception as ``partial``).

    The executed notebook is made reproducible (cell ids by position, no timestamps), so the same
    data and parameters give the same bytes and ``dvc.lock`` does not change between runs.
    """
    kernel = kernel or Kernel(root)
    try:
        import nbformat

        _, papermill = _import_papermill_and_jupytext()

        target.parent.mkdir(parents=True, exist_ok=True)
        # papermill's own INFO lines (paths, kernel name) add nothing to the runner's.
        logging.getLogger("papermill").setLevel(logging.WARNING)
        fd, partial = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.stem}.", suffix=".ipynb"
        )
        os.close(fd)
    except BaseException:
        kernel.stop()
        raise
    try:
        papermill.execute_notebook(
            notebook,
            partial,
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            language="python",
            cwd=str(root),
            log_output=False,  # per-cell noise; progress reaches the terminal by itself
            # By default papermill rewrites the whole notebook (figures included) at the start
            # and end of every cell; the runner keeps only the finished or failed notebook.
            request_save_on_cell_execute=False,
            progress_bar=False,
            execution_timeout=timeout,
            kernel_manager_class=kernel.manager_class,
            # Killed once the last cell has run, not asked to shut down: every output is written
            # by then, and ipykernel's shutdown races its own IOPub thread, now and then printing
            # a ZMQError traceback ("Socket operation on non-socket") into a run that succeeded.
            shutdown_kernel="immediate",
        )
        executed = nbformat.read(partial, as_version=4)
        _write_reproducible(executed, target)
    except papermill.PapermillExecutionError as exc:
        executed = nbformat.read(partial, as_version=4)
        exc.partial = nbformat.writes(reproducible(executed)).encode("utf-8")
        raise
    finally:
        Path(partial).unlink(missing_ok=True)
        kernel.stop()


def _write_reproducible(nb: Any, target: Path) -> None:
    import nbformat

    text = nbformat.writes(reproducible(nb))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        Path(tmp).write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_parameters_cell(notebook: Any, spec: StageSpec, parameters: dict[str, Any]) -> None:
    """Every parameter the stage passes must be a variable of the notebook's parameters cell:
    papermill would otherwise inject it silently and the notebook would ignore it."""
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise StageError(f"{spec.notebook}: needs exactly one cell tagged 'parameters'")
    assigned = set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cells[0].source, re.MULTILINE))
    missing = sorted(set(parameters) - assigned)
    if missing:
        raise StageError(
            f"{spec.notebook}: the parameters cell does not define {', '.join(missing)}, "
            f"which dvc.yaml gives stage {spec.name}"
        )


def _remove_outputs(spec: StageSpec, root: Path) -> None:
    """Remove what a failed stage may have half-written. Persistent outputs (the published
    pages and ``reports/metrics.json``) are replaced atomically by their stage, so the previous
    ones stay."""
    for out in spec.outs:
        if out in spec.persist:
            continue
        path = root / out
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Signals and leftovers: a stage killed with dvc repro leaves no kernel running and nothing
# personal behind.
# --------------------------------------------------------------------------------------------
PRIVATE_PREFIX = "laegedaekning-kernel-"
_KERNELS: set[int] = set()  # kernel processes of the stage running in this process


def _on_signal(signum: int, _frame: Any) -> None:
    _kill_kernels()
    raise Interrupted(signal.Signals(signum).name)


def _kill_kernels() -> None:
    for pid in list(_KERNELS):
        # The kernel leads its own session (jupyter_client starts it so); end its whole group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _KERNELS.discard(pid)


# DVC runs a stage as ``$SHELL -c "<cmd>"`` (``/bin/sh`` when SHELL is unset, as in CI). dash
# does not exec the command, so the shell stays between dvc and the stage and outlives a killed
# dvc: watching only our own parent would miss dvc's death.
_SHELLS = frozenset({"sh", "dash", "bash", "zsh", "ksh", "fish"})


def _parent_of(pid: int) -> int | None:
    """Parent pid of ``pid`` from /proc (None where there is no /proc or the process is gone)."""
    fields = spare.proc_stat(pid)
    return None if fields is None else int(fields[1])


def _name_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _watched_links() -> list[tuple[int, int]]:
    """(process, its parent) links to watch: our own, then, while the parent is a shell, the
    shell's link to the process that started it (dvc)."""
    links = [(os.getpid(), os.getppid())]
    while links[-1][1] > 1 and _name_of(links[-1][1]) in _SHELLS:
        shell = links[-1][1]
        parent = _parent_of(shell)
        if parent is None or parent <= 1:
            break
        links.append((shell, parent))
    return links


def _watch_parent() -> None:
    """End this stage if its parent dies: killing ``dvc repro`` must not leave the stage running
    and writing into the next run's outputs."""
    links = _watched_links()

    def broken() -> bool:
        if os.getppid() != links[0][1]:
            return True
        return any(_parent_of(child) != parent for child, parent in links[1:])

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if broken():
                _kill_kernels()
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def install_signal_handlers() -> None:
    """Turn termination signals into an exception (so outputs are cleaned up and the kernel is
    ended) and watch the parent process."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _on_signal)
    _watch_parent()


def clean_leftovers(root: Path) -> None:
    """What a run killed outright (SIGKILL) left: kernel directories (connection file with its
    key) of dead runners, DuckDB spill directories of dead kernels, partial executed notebooks
    and publishing staging directories."""
    for folder in Path(tempfile.gettempdir()).glob("laegedaekning-*-*"):
        pid = folder.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    executed = root / EXECUTED_DIR
    for partial in executed.glob(".*.ipynb") if executed.is_dir() else []:
        partial.unlink(missing_ok=True)
    for staging in (root / "reports").glob(".site-*") if (root / "reports").is_dir() else []:
        shutil.rmtree(staging, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
