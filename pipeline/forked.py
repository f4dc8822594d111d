"""Work done in a forked copy of this process while this one goes on (Linux, two or more cores).

A stage's kernel draws its figures this way: drawing is CPU-bound and needs nothing of what the
notebook does next, and the machine has a second core. The child runs one function, sends its
result and the warnings it raised back through a pipe, and exits without any clean-up: it
shares the kernel's sockets and threads' state, so nothing of the parent's may run in it (no
garbage collection, no ``atexit``). It is killed when its parent dies, so a stopped stage leaves
no process behind.

The result is read when the parent asks for it; a child that finished writes into the pipe and
waits there until then. A failed child raises ``ChildFailed`` in the parent, which then does the
work itself (and so shows the real error, if there is one).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import pickle
import select
import signal
import sys
import warnings
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ChildFailed(RuntimeError):
    """The forked child did not deliver a result."""


def available() -> bool:
    """Whether work can go to a second core in a forked child here."""
    return sys.platform == "linux" and len(os.sched_getaffinity(0)) >= 2


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


class Job:
    """A function running in a forked child; ``result()`` waits for it."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid = pid
        self._fd: int | None = fd
        self._reaped = False  # once waited for, the pid may belong to another process

    def ready(self) -> bool:
        """Whether the child has finished its work (its result is waiting in the pipe)."""
        if self._fd is None:
            return True
        readable, _, _ = select.select([self._fd], [], [], 0)
        return bool(readable)

    def result(self) -> Any:
        """The function's return value; its warnings are raised here, in the parent."""
        if self._fd is None:
            raise ChildFailed("the result was already taken")
        try:
            with os.fdopen(self._fd, "rb") as pipe:
                self._fd = None
                payload = pipe.read()
        except BaseException:
            self.cancel()
            raise
        _, status = os.waitpid(self.pid, 0)
        self._reaped = True
        if status != 0 or not payload:
            raise ChildFailed(f"the child {self.pid} ended with status {status}")
        value, caught = pickle.loads(payload)  # our own child's bytes
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
        return value

    def cancel(self) -> None:
        """Stop the child and forget its result (nothing once the result was taken)."""
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self._reaped = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def start(function: Callable[..., Any], *args: Any) -> Job:
    """Run ``function(*args)`` in a forked child; its return value must pickle."""
    parent = os.getpid()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about forking a process with threads (a kernel has some); the
        # child touches none of their state, and a warning would be printed on the page.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: work, write, exit
        status = 1
        try:
            gc.disable()  # no finalizer of the parent's objects may run here
            os.close(read_end)
            _die_with(parent)
            with warnings.catch_warnings(record=True) as caught:
                value = function(*args)
            payload = pickle.dumps((value, [(w.category, str(w.message)) for w in caught]))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return Job(pid, read_end)


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when the parent dies (a stopped stage)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)
