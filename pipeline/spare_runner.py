"""The spare runner itself (``pipeline/handover.py`` explains what it is for): a Python that has
imported what every stage's runner imports, waits for the next stage's process, and then runs
its command with that process's arguments, environment, working directory and streams."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import jupyter_client.manager  # noqa: F401  (what the runner imports before the first cell)
import jupyter_core.utils  # noqa: F401
import nbformat  # noqa: F401

from pipeline import cli, runner, spare
from pipeline.handover import WAIT_S, read_line, receive, remove


def serve(folder: str, host: int, host_start: int) -> None:
    """Wait for the next stage's process, then run its command here (the spare's main)."""
    where = Path(folder)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(where / "sock"))
    listener.listen(1)
    own_env = spare._comparable(dict(os.environ))
    spec = {"executable": sys.executable, "env": own_env, "pid": os.getpid(), "host": host}
    (where / "spec.json.tmp").write_text(json.dumps(spec))
    (where / "spec.json.tmp").rename(where / "spec.json")
    taken = threading.Event()
    threading.Thread(
        target=_watch, args=(where, host, host_start, taken), name="spare-runner", daemon=True
    ).start()

    # The rest of what every stage's runner imports before its first cell.
    runner._import_papermill_and_jupytext()
    runner._ready_client()

    connection, _ = listener.accept()
    taken.set()
    listener.close()
    remove(where)
    with connection:
        request, fds = receive(connection)
        if (
            request.get("executable") != sys.executable
            or spare._comparable(request.get("env", {})) != own_env
            or request.get("cwd") != os.getcwd()
            or len(fds) != 3
        ):
            connection.sendall(b"no\n")
            os._exit(0)
        connection.sendall(b"ok\n")
        if read_line(connection) != "go":
            os._exit(0)  # the stage's process gave up waiting and runs the stage itself
        os.environ.clear()
        os.environ.update(request["env"])
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        runner._STAGE_PROCESS = request["pid"]
        code = cli.run_handed_over(request["argv"])
        atexit._run_exitfuncs()  # as cli.exit_without_teardown, before the stage's process ends
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(OSError):
            connection.sendall(f"{code}\n".encode())
    os._exit(code)


def _watch(folder: Path, host: int, host_start: int, taken: threading.Event) -> None:
    """End the spare when dvc ends, or when nobody takes it within ``WAIT_S``; once taken, the
    runner's own watch takes over."""
    deadline = time.monotonic() + WAIT_S
    while not taken.is_set():
        if spare._start_time(host) != host_start or time.monotonic() > deadline:
            remove(folder)
            os._exit(0)
        taken.wait(0.05)
