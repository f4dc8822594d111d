"""A spare kernel for the next stage, started while this one runs (``dvc repro`` on Linux).

DVC runs the stages one after the other, and each starts a kernel that boots ipykernel and
imports pandas, SciPy, matplotlib, ... before its first cell does any work: 2-3 s of every
stage, on one core while the other is mostly idle. So a stage that other stages depend on
starts one more kernel, with the same command and environment as the next stage's own would
have, which imports the heavy third-party libraries (``WARM_IMPORTS``, nothing of
``pipeline``: the next stage imports the project's code itself) and waits. The next stage's
runner adopts it instead of starting a kernel of its own. Only the first spare of a run imports
those libraries: it leaves a forked copy of itself behind, before its kernel starts, from which
the later spares are forked with everything imported (``spare_kernel.py``).

It is adopted only if its command and environment are those the adopting runner would start
its kernel with (``DVC_STAGE`` aside, which the adopter sets in it before it runs a cell), so
its kernel computes what a kernel of its own would (the tests compare every table, figure and
metric). The spare holds no data until adopted. It ends itself when ``dvc`` ends, when it is
not adopted within ``WAIT_S`` seconds, and, once adopted, when its adopter ends; a spare that
does not answer within ``ADOPT_S`` is killed and the adopter starts its own kernel.

``LAEGEDAEKNING_SPARE_KERNEL=0`` turns spares off. jupyter_client is imported inside
``start``, where a spare is made: the runner imports this module for every stage, spare or not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFIX = "laegedaekning-spare-"  # then the pid of dvc: leftovers are cleaned like kernels'
WAIT_S = 120.0  # a spare nobody adopts ends after this
ACK_S = 3.0  # how long one side of the template's socket waits for the other
# How long an adopter waits for the spare to take its environment. The first spare of a run
# answers only once its imports are done (1.4-1.6 s on the 2-core machine, more on a slower
# one), which a kernel of the adopter's own would spend just the same.
ADOPT_S = 10.0
# Set per stage by DVC or jupyter_client: they differ between a spare and its adopter.
PER_STAGE_ENV = ("DVC_STAGE", "JPY_PARENT_PID", "JPY_SESSION_NAME")
# What the stages' kernels import, from the heaviest: the libraries the project's code imports,
# and what pandas and matplotlib import to read parquet and save PNGs. Not nbconvert: no stage's
# kernel imports it (the report's pages are exported by its runner), and in every spare it was
# 0.3-0.5 s of CPU that a CPU-bound dvc repro pays for.
WARM_IMPORTS = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "scipy.optimize",
    "scipy.stats",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "PIL.PngImagePlugin",
    "statsmodels.genmod.generalized_linear_model",
    "statsmodels.genmod.families",
    "statsmodels.duration.survfunc",
    "statsmodels.nonparametric.smoothers_lowess",
    "statsmodels.stats.proportion",
    "IPython.display",
)


def enabled() -> bool:
    """Whether spares are used: under ``dvc repro`` on Linux, unless turned off."""
    return (
        sys.platform == "linux"
        and "DVC_STAGE" in os.environ
        and os.environ.get("LAEGEDAEKNING_SPARE_KERNEL", "1") != "0"
    )


def _key(root: Path) -> str:
    return hashlib.sha256(str(root).encode()).hexdigest()[:12]


def proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after "(comm)": state, ppid, ... (None where there is no
    /proc or the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), None if it is gone or a zombie: a pid and
    its start time name one process, also after the pid is reused."""
    fields = proc_stat(pid)
    return None if fields is None or fields[0] in "ZX" else int(fields[19])


def _comparable(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in PER_STAGE_ENV}


# The code the spare's kernel runs at its start (in ``exec_lines``), in a namespace of its own: a
# thread that ends the kernel when its owner ends (dvc, then the adopter).
_WATCH = """
import json, os, shutil, threading, time
def _watch(folder, owner, deadline):
    def end():
        shutil.rmtree(folder, ignore_errors=True)
        os._exit(0)
    def alive(pid, start):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            return False
        fields = stat[stat.rindex(")") + 2:].split()
        return fields[0] not in "ZX" and int(fields[19]) == start
    claim = os.path.join(folder, "claim")
    while True:
        if deadline is not None:
            try:
                with open(claim) as f:
                    taken = json.load(f)
            except (OSError, ValueError):
                taken = None
            if taken is not None:
                for name in taken["unset"]:
                    os.environ.pop(name, None)
                os.environ.update(taken["env"])
                owner, deadline = (taken["pid"], taken["start"]), None
                open(os.path.join(folder, "ack"), "w").close()
            elif time.monotonic() > deadline:
                end()
        if not alive(*owner):
            end()
        time.sleep(0.05 if deadline is not None else 0.5)
threading.Thread(target=_watch, args=ARGS, name="spare-owner", daemon=True).start()
"""


def _split(cmd: list[str]) -> tuple[list[str], list[str]] | None:
    """A kernel command ``python [flags] -m ipykernel_launcher ARGS`` as its interpreter (with
    the flags) and ``ARGS``; None for any other command."""
    if "-m" not in cmd[1:]:
        return None
    at = cmd.index("-m", 1)
    if cmd[at + 1 : at + 2] != ["ipykernel_launcher"]:
        return None
    return cmd[:at], cmd[at + 2 :]


def template_folder(root: Path, host: int) -> Path:
    """Where the template of ``dvc`` ``host``'s spares for ``root`` listens (see
    ``spare_kernel.py``); named so that the next run's clean-up removes it with dvc's other
    leftovers, and so that ``adopt`` does not take it for a spare."""
    return Path(tempfile.gettempdir()) / f"{PREFIX}{host}-template-{_key(root)}"


def start(root: Path, cmd: list[str], env: dict[str, str], host: int) -> None:
    """Start a spare kernel in ``root`` as ``cmd`` (a kernel command whose connection file is
    the ``{connection_file}`` placeholder) with ``env``; it ends when ``host`` (dvc) ends.

    It is forked from the template of ``host``'s spares if there is one for this interpreter
    and environment; otherwise it is started afresh, and leaves a template for the next."""
    from jupyter_client.connect import write_connection_file

    split = _split(cmd)
    host_start = _start_time(host)
    if split is None or host_start is None:
        return
    interpreter, kernel_args = split
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{host}-{_key(root)}-"))
    connection = folder / "kernel.json"
    write_connection_file(str(connection), transport="ipc", ip=str(folder / "kernel"))
    args = (str(folder), (host, host_start), time.monotonic() + WAIT_S)
    # The code itself, not a file in the folder: the folder is removed once dvc has ended
    # (the watcher's own end, or the next run's clean-up), maybe before the kernel reads it,
    # and a spare without its watcher would never end.
    line = f"exec({f'ARGS = {args!r}{_WATCH}'!r}, {{}})"
    kernel_args = [part.replace("{connection_file}", str(connection)) for part in kernel_args]
    kernel_args.append(f"--IPKernelApp.exec_lines={line}")
    # JPY_PARENT_PID=1: no parent poller (its parent, this runner or the template, ends first;
    # the thread above watches dvc instead) and no connection banner on the terminal.
    kernel_env = {**env, "JPY_PARENT_PID": "1"}
    template = template_folder(root, host)
    pid = _forked(template, interpreter, kernel_args, kernel_env, root)
    if pid is None:
        boot = {
            "args": kernel_args,
            "modules": WARM_IMPORTS,
            "interpreter": interpreter,
            "template": None if template.exists() else str(template),
            "host": (host, host_start),
            "wait_s": WAIT_S,
            "ack_s": ACK_S,
            "per_stage": PER_STAGE_ENV,
        }
        pid = subprocess.Popen(
            [*interpreter, str(Path(__file__).with_name("spare_kernel.py")), json.dumps(boot)],
            cwd=root, env=kernel_env, stdin=subprocess.DEVNULL, start_new_session=True,
        ).pid  # fmt: skip
    spec = {"cmd": cmd, "env": _comparable(env), "pid": pid}
    tmp = folder / "spec.json.tmp"
    tmp.write_text(json.dumps(spec))
    tmp.rename(folder / "spec.json")  # an adopter reads the spec whole or not at all


def _private(folder: Path) -> bool:
    """Whether ``folder`` is a directory of this user that no one else may enter. The names of
    the spares' and the template's folders are predictable (dvc's pid, the project's path),
    so another user could make one first: only a private folder of our own is trusted."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077


def _forked(
    template: Path, interpreter: list[str], args: list[str], env: dict[str, str], root: Path
) -> int | None:
    """The pid of a spare the template forked for this kernel, or None (no template, another
    interpreter or environment, or no answer within ``ACK_S``)."""
    if not _private(template):
        return None
    request = {"interpreter": interpreter, "args": args, "env": env, "cwd": str(root)}
    credentials = struct.Struct("3i")  # pid, uid, gid of the socket's other end
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as connection:
            connection.settimeout(ACK_S)
            try:
                connection.connect(str(template / "socket"))
            except ConnectionRefusedError:  # the template died: the next spare makes another
                shutil.rmtree(template, ignore_errors=True)
                return None
            peer, uid, _ = credentials.unpack(
                connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, credentials.size)
            )
            if uid != os.geteuid():
                return None
            socket.send_fds(connection, [json.dumps(request).encode()], [1, 2])
            pid = json.loads(connection.recv(1 << 10))["pid"]
            fields = proc_stat(pid) if isinstance(pid, int) else None
            if fields is None or int(fields[1]) != peer:
                return None  # not the template's child: the spare it forked ends unstarted
            connection.sendall(b"go")  # the spare runs only once it is known here
            return pid
    except (OSError, ValueError, KeyError, TypeError):
        return None


class SpareProcess:
    """The adopted kernel as ``subprocess.Popen`` is to jupyter_client (not our child: its
    exit status is not ours to read)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, start: int) -> None:
        self.pid, self._start, self.returncode = pid, start, None

    def poll(self) -> int | None:
        if self.returncode is None and _start_time(self.pid) != self._start:
            self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        return 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def adopt(root: Path, cmd: list[str], env: dict[str, str]) -> tuple[Path, SpareProcess] | None:
    """Take a spare started for ``root`` with ``cmd`` and ``env`` (see ``start``): its folder
    (with ``kernel.json``) and process, or None if there is none to take."""
    for folder in sorted(Path(tempfile.gettempdir()).glob(f"{PREFIX}*-{_key(root)}-*")):
        if not _private(folder):
            continue  # not made by this user's runner
        try:
            spec = json.loads((folder / "spec.json").read_text())
        except (OSError, ValueError):
            continue  # being started, or not ours
        pid, wanted = spec["pid"], _comparable(env)
        start_time = _start_time(pid)
        if start_time is None or spec["cmd"] != cmd or spec["env"] != wanted:
            discard(folder, pid if start_time is not None else None)  # stale: another env
            continue
        claim = {
            "pid": os.getpid(),
            "start": _start_time(os.getpid()),
            # As jupyter_client's launcher sets it for a kernel of its own.
            "env": {"JPY_PARENT_PID": str(os.getpid())}
            | {k: v for k, v in env.items() if k in PER_STAGE_ENV},
            "unset": [k for k in PER_STAGE_ENV if k not in env and k != "JPY_PARENT_PID"],
        }
        tmp = folder / f"claim.{os.getpid()}"
        tmp.write_text(json.dumps(claim))
        try:
            os.link(tmp, folder / "claim")  # one adopter wins
        except FileExistsError:
            continue
        finally:
            tmp.unlink(missing_ok=True)
        end = time.monotonic() + ADOPT_S
        while not (folder / "ack").exists():
            if time.monotonic() > end or _start_time(pid) != start_time:
                # Killed only while it is still the spare: a pid that ended may be reused.
                discard(folder, pid if _start_time(pid) == start_time else None)
                break
            time.sleep(0.01)
        else:
            return folder, SpareProcess(pid, start_time)
    return None


def discard(folder: Path, pid: int | None = None) -> None:
    """End a spare (if ``pid``) and remove its folder."""
    if pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)
