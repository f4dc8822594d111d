"""Spare kernels: a stage under `dvc repro` starts the next stage's kernel, which that stage
adopts only if it would have started the same kernel; a spare ends with dvc, with its adopter,
or when nobody adopts it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT

from pipeline import runner, spare
from pipeline.stages import load_stages

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="spares are Linux only")


def test_only_stages_that_others_depend_on_start_a_spare():
    stages = load_stages(ROOT)
    has = {name: runner._has_dependents(spec, stages) for name, spec in stages.items()}
    assert has["ingest"] and has["growth"] and has["supply"]
    assert not has["report"], "nothing runs after the report: its spare would be wasted"


def test_spares_only_under_dvc_and_not_when_turned_off(monkeypatch):
    monkeypatch.delenv("DVC_STAGE", raising=False)
    assert not spare.enabled()
    monkeypatch.setenv("DVC_STAGE", "growth")
    assert spare.enabled()
    monkeypatch.setenv("LAEGEDAEKNING_SPARE_KERNEL", "0")
    assert not spare.enabled()


# A kernel command as a kernel spec gives it, its connection file a placeholder.
KERNEL_CMD = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def spares_of(root: Path) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"{spare.PREFIX}*-{spare._key(root)}-*"))


def pid_of(folder: Path) -> int | None:
    try:
        return json.loads((folder / "spec.json").read_text())["pid"]
    except OSError:
        return None


def wait_until(condition, timeout: float = 30) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def started_spare(root: Path, host: int) -> tuple[Path, int | None]:
    """A spare of ``KERNEL_CMD`` for ``root`` under ``host`` (dvc): its folder and pid."""
    spare.start(root, KERNEL_CMD, dict(os.environ), host)
    (folder,) = spares_of(root)
    return folder, pid_of(folder)


def run_in(kernel: runner.Kernel, code: str) -> str:
    """What ``code`` prints in ``kernel``."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient()
    client.load_connection_info(kernel.manager.get_connection_info())
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        printed: list[str] = []

        def output(msg):
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])

        reply = client.execute_interactive(code, output_hook=output, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(printed)
    finally:
        client.stop_channels()


@pytest.fixture
def under_dvc(monkeypatch, tmp_path):
    monkeypatch.setenv("DVC_STAGE", "ingest")
    monkeypatch.delenv("LAEGEDAEKNING_SPARE_KERNEL", raising=False)
    yield tmp_path
    for folder in spares_of(tmp_path):
        pid = pid_of(folder)
        spare.discard(folder, pid if pid and spare._start_time(pid) else None)


@pytest.mark.slow
def test_the_next_stage_adopts_the_spare_a_stage_started(under_dvc, monkeypatch):
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])  # dvc
    monkeypatch.setattr(runner, "_watched_links", lambda: [(os.getpid(), host.pid)])
    first = runner.Kernel(root, spare_for_next=True)
    try:
        assert first.adopted is None
        assert wait_until(lambda: any((f / "spec.json").exists() for f in spares_of(root)))
        monkeypatch.setenv("DVC_STAGE", "growth")
        second = runner.Kernel(root)
        try:
            assert second.adopted is not None, "the spare was not adopted"
            printed = run_in(
                second,
                "import os, sys\n"
                "print(os.environ['DVC_STAGE'], os.environ['JPY_PARENT_PID'], os.getcwd(),"
                " 'pandas' in sys.modules,"
                " 'pipeline' in sys.modules, sorted(k for k in dir() if not k.startswith('_')))",
            )
            stage, parent, cwd, pandas, pipeline, names = printed.split(" ", 5)
            assert stage == "growth", "the adopter's DVC_STAGE is set in the kernel"
            assert parent == str(os.getpid()), "JPY_PARENT_PID names the adopter"
            assert cwd == str(root)
            assert pandas == "True", "the heavy libraries are imported already"
            assert pipeline == "False", "the project's code is left to the stage"
            assert "importlib" not in names and "threading" not in names, names
        finally:
            pid = second.manager.provisioner.pid
            second.stop()
        assert wait_until(lambda: spare._start_time(pid) is None, 10), "the kernel outlived stop"
        assert not second.adopted.exists()
    finally:
        first.stop()
        host.kill()
        host.wait()


@pytest.mark.slow
def test_a_spare_for_another_environment_is_not_adopted(under_dvc, monkeypatch):
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    try:
        monkeypatch.setenv("LAEGEDAEKNING_TEST_SETTING", "a")
        env = dict(os.environ)
        spare.start(root, KERNEL_CMD, env, host.pid)
        assert wait_until(lambda: any((f / "spec.json").exists() for f in spares_of(root)))
        changed = {**env, "LAEGEDAEKNING_TEST_SETTING": "b"}
        assert spare.adopt(root, KERNEL_CMD, changed) is None
        assert spares_of(root) == [], "a stale spare is ended and removed"
        assert spare.adopt(root, [*KERNEL_CMD, "--debug"], env) is None
    finally:
        host.kill()
        host.wait()


@pytest.mark.slow
def test_a_spare_ends_when_dvc_ends_and_when_nobody_adopts_it(under_dvc, monkeypatch):
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    folder, pid = started_spare(root, host.pid)
    assert pid is not None and spare._start_time(pid) is not None
    host.kill()
    host.wait()
    assert wait_until(lambda: spare._start_time(pid) is None), "the spare outlived dvc"
    assert wait_until(lambda: not folder.exists()), "its folder (with the key) is left"

    monkeypatch.setattr(spare, "WAIT_S", 0.5)
    host = subprocess.Popen(["sleep", "60"])
    try:
        folder, pid = started_spare(root, host.pid)
        assert pid is not None
        assert wait_until(lambda: spare._start_time(pid) is None), "nobody adopted it, it stays"
    finally:
        host.kill()
        host.wait()


@pytest.mark.slow
def test_a_stage_whose_spare_fails_goes_on_with_a_kernel_of_its_own(under_dvc, monkeypatch):
    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spare, "start", full_disk)
    monkeypatch.setattr(spare, "adopt", full_disk)
    kernel = runner.Kernel(under_dvc, spare_for_next=True)
    try:
        assert kernel.adopted is None
        assert run_in(kernel, "print(6 * 7)") == "42\n"
    finally:
        kernel.stop()
    assert spares_of(under_dvc) == []


@pytest.mark.slow
def test_a_spare_whose_folder_is_cleaned_up_early_still_ends_with_dvc(under_dvc):
    """The next run's clean-up removes the folder of a dead dvc's spare, maybe before the
    spare's kernel has booted: its watcher must not need anything in it."""
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    folder, pid = started_spare(root, host.pid)
    host.kill()
    host.wait()
    runner.clean_leftovers(root)  # dvc is dead: its spare's folder goes
    assert not folder.exists()
    assert wait_until(lambda: spare._start_time(pid) is None), "the spare outlived dvc"


def parent_of(pid: int) -> int:
    return int(spare.proc_stat(pid)[1])


@pytest.mark.slow
def test_later_spares_are_forked_from_the_first_ones_template_and_work_alike(
    under_dvc, monkeypatch
):
    """Only the first spare imports the libraries; it leaves a template that forks the next
    ones, which are kernels like it (the tests of the stages compare their outputs)."""
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    monkeypatch.setattr(runner, "_watched_links", lambda: [(os.getpid(), host.pid)])
    template = spare.template_folder(root, host.pid)
    kernels = [runner.Kernel(root, spare_for_next=True)]  # ingest: starts the first spare
    try:
        (first,) = [pid_of(f) for f in spares_of(root)]
        assert parent_of(first) == os.getpid(), "the first spare is started afresh"
        assert wait_until(lambda: (template / "socket").exists()), "it left no template"
        monkeypatch.setenv("DVC_STAGE", "growth")
        kernels.append(runner.Kernel(root, spare_for_next=True))  # adopts it, asks for the next
        (second,) = [pid_of(f) for f in spares_of(root) if f != kernels[1].adopted]
        forker = parent_of(second)
        assert forker != os.getpid(), "the second spare was started afresh, not forked"
        assert "spare_kernel.py" in Path(f"/proc/{forker}/cmdline").read_text()
        monkeypatch.setenv("DVC_STAGE", "retention")
        kernels.append(runner.Kernel(root))
        assert [k.manager.provisioner.pid for k in kernels[1:]] == [first, second]
        code = (
            "import json, os, signal, subprocess, sys\n"
            "print(json.dumps([os.environ['DVC_STAGE'], os.getcwd(), sys.path, sys.argv[0],"
            " os.environ['MPLBACKEND'], os.getsid(0) == os.getpid(),"
            " str(signal.getsignal(signal.SIGCHLD)), subprocess.run(['false']).returncode,"
            " 'pipeline' in sys.modules, 'pandas' in sys.modules]))"
        )
        own, *adopted = [json.loads(run_in(kernel, code)) for kernel in kernels]
        assert own[-1] is False and [a[-1] for a in adopted] == [True, True], "imported"
        assert [a[0] for a in adopted] == ["growth", "retention"]
        for each in adopted:  # as the kernel started afresh has it, SIGCHLD and session too
            assert each[1:-1] == own[1:-1]
        kernels[1].stop()  # the first spare, and its process group: the template goes on
        assert spare._start_time(first) is None and spare._start_time(forker) is not None
    finally:
        for kernel in kernels:
            kernel.stop()
        host.kill()
        host.wait()
    assert wait_until(lambda: not template.exists()), "the template outlived dvc"


@pytest.mark.slow
def test_a_template_forks_no_spare_for_another_environment(under_dvc, monkeypatch):
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    try:
        started_spare(root, host.pid)
        assert wait_until(lambda: (spare.template_folder(root, host.pid) / "socket").exists())
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # read by NumPy when it is imported
        spare.start(root, KERNEL_CMD, dict(os.environ), host.pid)
        assert {parent_of(pid_of(f)) for f in spares_of(root)} == {os.getpid()}, (
            "a spare for another environment must be started afresh"
        )
    finally:
        host.kill()
        host.wait()


@pytest.mark.slow
def test_a_template_that_died_is_replaced(under_dvc):
    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    template = spare.template_folder(root, host.pid)
    try:
        _, first = started_spare(root, host.pid)
        assert wait_until(lambda: (template / "socket").exists())
        spare.start(root, KERNEL_CMD, dict(os.environ), host.pid)
        (second,) = {pid_of(f) for f in spares_of(root)} - {first}
        forker = parent_of(second)
        assert forker != os.getpid()
        os.kill(forker, signal.SIGKILL)  # the template
        assert wait_until(lambda: spare._start_time(forker) is None)
        spare.start(root, KERNEL_CMD, dict(os.environ), host.pid)  # refused: afresh, and anew
        (third,) = {pid_of(f) for f in spares_of(root)} - {first, second}
        assert parent_of(third) == os.getpid()
        assert wait_until(lambda: (template / "socket").exists()), "no new template"
    finally:
        host.kill()
        host.wait()


@pytest.mark.slow
def test_folders_another_user_could_have_made_are_not_trusted(under_dvc, tmp_path):
    """The folders' names are predictable: one that others may enter is neither asked for a
    spare (it would get the runner's environment and streams) nor believed about a pid."""
    import socket

    root = under_dvc
    host = subprocess.Popen(["sleep", "60"])
    victim = subprocess.Popen(["sleep", "60"], start_new_session=True)
    template = spare.template_folder(root, host.pid)
    decoy = Path(tempfile.gettempdir()) / f"{spare.PREFIX}{host.pid}-{spare._key(root)}-decoy"
    try:
        template.mkdir(mode=0o755)
        template.chmod(0o755)  # as the umask may not leave it
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(str(template / "socket"))
        listener.listen()
        listener.settimeout(0.2)
        decoy.mkdir(mode=0o755)
        decoy.chmod(0o755)
        (decoy / "spec.json").write_text(
            json.dumps({"cmd": KERNEL_CMD, "env": spare._comparable(dict(os.environ)),
                        "pid": victim.pid})
        )  # fmt: skip
        spare.start(root, KERNEL_CMD, dict(os.environ), host.pid)
        with pytest.raises(TimeoutError):
            listener.accept()  # nobody asked it
        assert spare.adopt(root, KERNEL_CMD, dict(os.environ)) is not None  # the real spare
        assert victim.poll() is None, "a pid named in a folder of another was killed"
        assert decoy.exists()
    finally:
        for pid in {pid_of(f) for f in spares_of(root) if f != decoy} - {None}:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(decoy, ignore_errors=True)
        shutil.rmtree(template, ignore_errors=True)
        for process in (host, victim):
            process.kill()
            process.wait()
