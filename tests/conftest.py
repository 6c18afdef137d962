"""Shared fixtures. The real end-to-end run (probes importing torch and fastai for real) is expensive,
so one session-scoped run serves every test that reads its report."""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HEAVY_MODULES = ("torch", "torchvision", "fastai", "numpy", "ipywidgets")

# Runs the CLI in a fresh interpreter, then records what the doctor's own process imported and
# whether it changed its own environment: the parent must do neither.
_DRIVER = textwrap.dedent(
    """
    import json, os, sys
    before = dict(os.environ)
    from doctor.cli import main
    code = main(sys.argv[2:])
    heavy = sorted(name for name in sys.modules if name.split(".")[0] in %r)
    with open(sys.argv[1], "w") as handle:
        json.dump({"exit_code": code, "heavy_modules": heavy, "environ_changed": dict(os.environ) != before}, handle)
    """
    % (HEAVY_MODULES,)
)


def run_cli(*arguments, cwd=None, env=None, timeout=300):
    """Run ``python -m doctor`` in a real child process."""
    return subprocess.run(
        [sys.executable, "-m", "doctor", *arguments],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def real_check(tmp_path_factory):
    """One real ``dl-doctor check --format json`` on this interpreter, and what its process did."""
    folder = tmp_path_factory.mktemp("real-check")
    report_path = folder / "report.json"
    side_path = folder / "side.json"
    completed = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(side_path), "check", "--format", "json", "--output", str(report_path)],
        cwd=str(folder), capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )
    assert side_path.exists(), completed.stderr
    return {
        "report": json.loads(report_path.read_text()),
        "report_path": report_path,
        "process": json.loads(side_path.read_text()),
        "stdout": completed.stdout,
        "stderr": completed.stderr,
    }


# `dl-doctor bench` at its smallest, with a budget no load on this machine can use up: real runs test behaviour.
UNREACHABLE_BUDGET = ("--budget", "86400")
SHORT_BENCH = ("--size", "32", "--epochs", "4", "--batch", "16", *UNREACHABLE_BUDGET)
DIST_SIMULATION = "DL_DOCTOR_DIST_SIMULATE"


def private_tmp(folder):
    """An environment whose temporary files go to ``folder``, to see what a run leaves behind."""
    folder.mkdir(exist_ok=True)
    return dict(os.environ, TMPDIR=str(folder))


@pytest.fixture(scope="session")
def short_bench(tmp_path_factory):
    """One real short ``dl-doctor bench --format json``, its temporary files kept in a folder of their own."""
    base = tmp_path_factory.mktemp("bench")
    completed = run_cli("bench", *SHORT_BENCH, "--format", "json", cwd=str(base), env=private_tmp(base / "tmp"))
    report = json.loads(completed.stdout)
    return {"completed": completed, "report": report, "tmp": base / "tmp",
            "findings": {f["id"]: f for f in report["findings"]}, "data": report["facts"]["probes"]["bench"]["data"]}


def dist_run(folder, *arguments, simulate=None):
    """A real ``dl-doctor dist --format json`` (2 gloo workers on loopback unless told otherwise)."""
    env = dict(os.environ)
    env.pop(DIST_SIMULATION, None)
    if simulate:
        env[DIST_SIMULATION] = simulate
    completed = run_cli("dist", "--format", "json", *arguments, cwd=str(folder), env=env)
    assert completed.stdout.startswith("{"), completed.stderr
    report = json.loads(completed.stdout)
    return {"completed": completed, "findings": {f["id"]: f for f in report["findings"]},
            "data": report["facts"]["probes"]["dist"]["data"], "report": report}


@pytest.fixture(scope="session")
def healthy_dist(tmp_path_factory):
    """One real healthy ``dl-doctor dist`` run, shared by the tests that read it."""
    return dist_run(tmp_path_factory.mktemp("dist"))


# The session's real runs (torch, fastai and a fine-tune in child processes).
SLOW_FIXTURES = ("real_check", "short_bench", "healthy_dist")


def pytest_collection_modifyitems(items):
    """A test that reads one of the session's real runs (directly or through another fixture) is as slow as it."""
    for item in items:
        if set(SLOW_FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def make_venv(folder: Path, system_site_packages: bool = False) -> Path:
    """A real virtual environment without pip (instant); returns its interpreter.

    With ``system_site_packages`` it sees the packages of the environment the tests run in. ``venv
    --system-site-packages`` cannot give that: made from a virtualenv's interpreter, it sees the *base*
    interpreter's packages instead, so a newcomer running the suite in a fresh venv lost torch. A ``.pth`` line
    in the child's site-packages adds this environment's site-packages folders, their own ``.pth`` files
    (editable installs) included."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if system_site_packages:
        (site_packages(python) / "_running_environment.pth").write_text(_pth_adding(running_site_packages()))
    return python


def running_site_packages():
    """The site-packages folders of the interpreter running the tests, as ``site`` set them up."""
    import site

    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        folders.append(site.getusersitepackages())
    return folders


def _pth_adding(folders):
    """A ``.pth`` file whose one import line runs ``site.addsitedir`` on each folder (a plain path line would
    skip the ``.pth`` files inside them)."""
    return "import site; list(map(site.addsitedir, %r))\n" % (list(folders),)


def site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True, timeout=60)
    return Path(out.stdout.strip())


def install_fake_distribution(site: Path, name: str, version: str, requires=(), files=None):
    """Real metadata (and optionally module files) for a distribution, written as pip would lay it out."""
    info = site / ("%s-%s.dist-info" % (name.replace("-", "_"), version))
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    lines += ["Requires-Dist: %s" % requirement for requirement in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n\nA long description.\n")
    (info / "INSTALLER").write_text("pip\n")
    for relative, content in (files or {}).items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    record = [str(Path(relative)) + ",," for relative in (files or {})]
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return info


def wait_for(condition, limit_s=60.0):
    """Poll until ``condition`` holds; fails the test past ``limit_s``."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


def process_alive(pid):
    """Whether a process exists and is not a zombie (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
