"""A spare runner for the next stage, started while this one runs (``dvc repro`` on Linux).

Each stage's ``python -m pipeline run STAGE`` is a fresh Python that imports papermill,
jupytext, nbformat, jupyter_client and the project's runner before its kernel gets a cell:
0.5-0.7 s of every stage, one stage after the other (the spare kernels of ``pipeline/spare.py``
take care of the kernel's own start). So a stage that other stages depend on also starts a
*spare runner*: a Python that imports what the runner imports and waits on a unix socket in a
private folder (0700, named after dvc's pid like the spare kernels'). The next stage's
``python -m pipeline run`` then only starts Python, hands over its arguments, environment,
working directory and standard streams (the file descriptors themselves), forwards the signals
it gets, and exits with the spare's exit code. The stage runs in the spare exactly as it would
have run in the process dvc started: the same code, arguments, environment and streams.

It is taken only if its Python and environment are those of the process dvc started
(``DVC_STAGE`` and the other per-stage variables aside, which the handover sets), in the same
project, under the same dvc; anything else, or a spare that does not answer within ``ACK_S``,
and the stage runs in its own process as before. Once a spare has the stage, the runner's watch
of dvc (``runner._watch_parent``) watches the process dvc started and dvc: if either dies, the
stage ends as it would have. A spare that nobody takes ends when dvc ends or after ``WAIT_S``.

``LAEGEDAEKNING_SPARE_KERNEL=0`` turns these off too. This module (how a spare is started and
taken) imports only the standard library: every stage's process imports it first. The spare's
own code is ``pipeline/spare_runner.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline import spare

PREFIX = "laegedaekning-runner-"  # then dvc's pid: leftovers are cleaned like the kernels'
WAIT_S = spare.WAIT_S
ACK_S = spare.ACK_S
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # what the runner turns into cleanup


def start(root: Path, env: dict[str, str], host: int) -> subprocess.Popen | None:
    """Start a spare runner in ``root`` with ``env`` (the environment this stage's process got
    from dvc); it ends when ``host`` (dvc) ends."""
    host_start = spare._start_time(host)
    if host_start is None:
        return None
    folder = tempfile.mkdtemp(prefix=f"{PREFIX}{host}-{spare._key(root)}-")
    code = f"from pipeline import spare_runner as s; s.serve({folder!r}, {host}, {host_start})"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def remove(folder: Path) -> None:
    for name in ("sock", "spec.json"):
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def receive(connection: socket.socket) -> tuple[dict, list[int]]:
    """The request (one JSON line) and the three file descriptors sent with it."""
    data, fds, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    while not data.endswith(b"\n"):
        more = connection.recv(1 << 16)
        if not more:
            break
        data += more
    return json.loads(data), list(fds)


def read_line(connection: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        more = connection.recv(64)
        if not more:
            break
        data += more
    return data.decode().strip()


# -- the stage's own process -------------------------------------------------------------------
def hand_over(argv: list[str]) -> int | None:
    """Run ``python -m pipeline ARGV`` in a spare runner: its exit code, or None when there is
    no spare to take (the caller then runs the command itself)."""
    if not argv or argv[0] != "run" or not spare.enabled():
        return None
    try:
        cwd = os.getcwd()
        ancestors = _ancestors()
        folders = sorted(Path(tempfile.gettempdir()).glob(f"{PREFIX}*-{spare._key(Path(cwd))}-*"))
    except OSError:
        return None
    for folder in folders:
        try:
            spec = json.loads((folder / "spec.json").read_text())
        except (OSError, ValueError):
            continue  # being started, taken, or not ours
        if spec.get("host") not in ancestors:
            continue  # another dvc's
        pid, start = spec["pid"], spare._start_time(spec["pid"])
        if start is None:
            continue
        request = {
            "argv": argv,
            "cwd": cwd,
            "env": dict(os.environ),
            "executable": sys.executable,
            "pid": os.getpid(),
        }
        if spec["executable"] != sys.executable or spec["env"] != spare._comparable(request["env"]):
            _discard(folder, pid, start)
            continue
        code = _run_in(folder, pid, start, request)
        if code is not None:
            return code
    return None


def _run_in(folder: Path, pid: int, start: int, request: dict) -> int | None:
    """Hand ``request`` to the spare at ``folder``; None if it did not take it."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with connection:
        try:
            connection.settimeout(ACK_S)
            connection.connect(str(folder / "sock"))
            data = json.dumps(request).encode() + b"\n"
            socket.send_fds(connection, [data], [0, 1, 2])
            if read_line(connection) != "ok":
                return None  # it refused, and ends itself
            # From here the stage is the spare's: signals go to it, and its exit code is ours.
            for signum in FORWARDED:
                signal.signal(signum, lambda signum, _frame: _forward(pid, start, signum))
            connection.sendall(b"go\n")
        except TimeoutError:  # it does not answer: end it, and run the stage here
            _discard(folder, pid, start)
            return None
        except OSError:  # taken by another, or gone: it ends by itself
            return None
        connection.settimeout(None)
        answer = read_line(connection)
    if not answer.lstrip("-").isdigit():
        print("the stage's runner ended without an exit code; see the lines above", file=sys.stderr)
        sys.stderr.flush()
        return 1
    return int(answer)


def _forward(pid: int, start: int, signum: int) -> None:
    if spare._start_time(pid) == start:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _discard(folder: Path, pid: int, start: int) -> None:
    """End a spare runner that will not be used (only while the pid is still its own)."""
    if spare._start_time(pid) == start:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    remove(folder)


def _ancestors() -> set[int]:
    """This process's parent, its parent, ... (dvc among them when dvc started it)."""
    found, pid = set(), os.getppid()
    while pid > 1 and pid not in found:
        found.add(pid)
        fields = spare.proc_stat(pid)
        if fields is None:
            break
        pid = int(fields[1])
    return found
