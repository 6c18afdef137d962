"""SIGTERM and SIGHUP sent to a real ``dl-doctor`` process while its children hang: it exits 143 / 129, no child
or grandchild of its runs survives, and the benchmark's temporary data folder is gone.

The children hang in the lesson's own import: the working folder holds a ``torch`` and a ``fastai`` package
whose import records its pid, starts a grandchild in its process group and waits forever, as a library stuck on
a lock would."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import process_alive, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="signals, process groups and /proc as on Linux")]

HANGING_PACKAGE = textwrap.dedent("""
    import os, subprocess, sys, threading
    grandchild = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"])
    with open(os.path.join(%r, "%%d-%%d" %% (os.getpid(), grandchild.pid)), "w"):
        pass
    threading.Event().wait()
""")


def hanging_folder(tmp_path):
    started = tmp_path / "started"
    started.mkdir()
    work = tmp_path / "work"
    for package in ("torch", "fastai"):
        (work / package).mkdir(parents=True)
        (work / package / "__init__.py").write_text(HANGING_PACKAGE % str(started))
    return work, started


def pids_started(started):
    return [int(pid) for name in os.listdir(str(started)) for pid in name.split("-")]


@pytest.mark.parametrize("command,signum,code", [
    (["check"], signal.SIGTERM, 143),
    (["check"], signal.SIGHUP, 129),
    (["ops", "--device", "cpu"], signal.SIGTERM, 143),
    (["bench", "--device", "cpu"], signal.SIGTERM, 143),
    (["dist", "--no-fastai", "--backend", "gloo"], signal.SIGHUP, 129),
])
def test_a_termination_signal_ends_every_child_and_exits_128_plus_its_number(tmp_path, command, signum, code):
    work, started = hanging_folder(tmp_path)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = dict(os.environ, TMPDIR=str(temporary))
    doctor = subprocess.Popen([sys.executable, "-m", "doctor", *command], cwd=str(work), env=environment,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: pids_started(started), limit_s=120)
        if command[0] == "bench":
            assert [name for name in os.listdir(str(temporary)) if name.startswith("dl-doctor-bench-")]
        doctor.send_signal(signum)
        _, stderr = doctor.communicate(timeout=60)
    finally:
        doctor.kill()
    assert doctor.returncode == code, stderr
    assert stderr.decode().strip().splitlines()[-1] == "dl-doctor: terminated by %s" % signal.Signals(signum).name
    wait_for(lambda: not any(process_alive(pid) for pid in pids_started(started)))
    assert [name for name in os.listdir(str(temporary)) if name.startswith("dl-doctor-bench-")] == []
