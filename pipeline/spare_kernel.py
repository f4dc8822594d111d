"""The process a spare kernel runs as (``spare.start`` runs this file as a script).

It imports the heavy libraries, then runs the kernel as ``python -m ipykernel_launcher`` would.
Before the kernel starts (no sockets or threads of the kernel yet), it leaves a forked copy of
itself behind: the *template*, which holds the same imports and waits on a unix socket for the
next stage's spare to be asked for. A spare forked from it has nothing left to import. In a
``dvc repro`` from scratch that spares every stage after the second the 1.4-1.6 s of CPU its
kernel spent importing, on a machine whose two cores are busy for most of the run.

The template forks only for the same interpreter and environment (the per-stage variables
aside) as its own: the libraries read their settings (threads, CPU kernels, matplotlib's
backend) when imported. It ends when dvc ends, and when nobody asks for a spare within the
spare's own waiting time. It holds no data: it is forked before any cell runs.

Nothing of ``pipeline`` is imported: the stage imports the project's code itself.
"""

import contextlib
import importlib
import json
import os
import runpy
import shutil
import signal
import socket
import sys
import time

# As ipykernel sets it when the kernel starts, before any cell can import matplotlib; here it
# must be set before matplotlib is imported, which reads it then.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
POLL_S = 0.5  # how often the template looks whether dvc still runs
MESSAGE_BYTES = 1 << 20


def _alive(pid: int, start: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0] not in "ZX" and int(fields[19]) == start


def _comparable(env: dict[str, str], per_stage: list[str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in per_stage}


def _import(modules: list[str]) -> None:
    sys.modules.setdefault("rfc3987_syntax", None)  # as pipeline/__init__.py does
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _leave_template(boot: dict, env: dict[str, str]) -> dict | None:
    """Fork the template off this process (twice, so that it is nobody's child to reap).

    Returns None here, and the request to run in a spare that the template forked."""
    try:
        first = os.fork()
    except OSError:
        return None  # no template: the next spares are started afresh, like this one
    if first:
        os.waitpid(first, 0)
        return None
    try:
        os.setsid()  # out of the spare's process group, which its adopter may kill
        if os.fork():
            os._exit(0)
        return _serve(boot, env)
    except BaseException:
        os._exit(1)


def _serve(boot: dict, env: dict[str, str]) -> dict:
    """The template's loop; returns only in a forked child, with the request it is to run."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # nothing of the first stage's terminal or pipes is held open
        os.dup2(devnull, fd)
    os.close(devnull)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the spares forked here reap themselves
    folder = boot["template"]
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        os._exit(0)  # another template serves this dvc and project
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(os.path.join(folder, "socket"))
    listener.listen()
    listener.settimeout(POLL_S)
    own = _comparable(env, boot["per_stage"])
    host, deadline = boot["host"], time.monotonic() + boot["wait_s"]
    while _alive(*host) and time.monotonic() < deadline:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        request = _answer(connection, boot, own)
        if request is not None:  # in the forked child
            listener.close()
            return request
        deadline = time.monotonic() + boot["wait_s"]
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def _answer(connection: socket.socket, boot: dict, own: dict[str, str]) -> dict | None:
    """Fork a spare for the request on ``connection`` if it is for this template's interpreter
    and environment, and reply its pid (or null). Returns the request in the forked child."""
    fds: list[int] = []
    with connection:
        try:
            connection.settimeout(POLL_S)
            data, fds, _, _ = socket.recv_fds(connection, MESSAGE_BYTES, 2)
            request = json.loads(data)
            taken = (
                len(fds) == 2
                and request["interpreter"] == boot["interpreter"]
                and _comparable(request["env"], boot["per_stage"]) == own
            )
            pid = os.fork() if taken else None
            if pid == 0:
                # Only once the requester has checked the pid and taken it: a spare it gave up
                # on would otherwise run beside the one it starts instead, in one folder.
                request["fds"], fds = fds, []
                try:
                    connection.settimeout(boot["ack_s"])
                    go = connection.recv(16)
                except BaseException:  # never back into the template's loop
                    go = b""
                if go != b"go":
                    os._exit(0)
                return request
            connection.sendall(json.dumps({"pid": pid}).encode())
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a requester that went away or sent nonsense starts a spare of its own
        finally:
            for fd in fds:
                os.close(fd)
    return None


def _become(request: dict) -> None:
    """In a child forked by the template: take the requester's streams, folder and environment."""
    try:
        os.setsid()  # its own process group, as ``start_new_session`` gives the first spare
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        for fd, stream in zip(request["fds"], (1, 2), strict=True):
            os.dup2(fd, stream)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
        sys.path[0] = os.getcwd()
    except BaseException:
        os._exit(1)


def _run_kernel(args: list[str]) -> None:
    sys.argv = ["ipykernel_launcher", *args]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


def main() -> None:
    # Run by path, this file's folder (pipeline/) is first on sys.path: the working directory
    # instead, as under ``python -m``, before any library is imported.
    sys.path[0] = os.getcwd()
    env = dict(os.environ)
    boot = json.loads(sys.argv[1])
    _import(boot["modules"])
    request = _leave_template(boot, env) if boot["template"] is not None else None
    if request is not None:
        _become(request)
    _run_kernel((request or boot)["args"])


if __name__ == "__main__":
    main()
