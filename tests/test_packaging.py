"""pyproject.toml's packaging: the wheel installs the repository's checks/ folder as doctor.checks, every engine
module, and no top-level ``checks`` module (a learner's own checks.py would fight it); installed from that wheel
into a fresh venv, dl-doctor runs as a command and as ``python -m doctor``."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import make_venv, site_packages
from doctor.registry import registered_checks

ROOT = Path(__file__).resolve().parent.parent
CHECK_IDS = sorted(spec.id for spec in registered_checks())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel pip builds from a copy of the working tree (a build in place would leave build/ behind)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(str(ROOT / name), str(source / name))
    for folder in ("doctor", "checks"):
        shutil.copytree(str(ROOT / folder), str(source / folder), ignore=shutil.ignore_patterns("__pycache__"))
    built = tmp_path_factory.mktemp("wheel")
    completed = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                "--no-index", "--quiet", "--wheel-dir", str(built), str(source)],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    (path,) = built.glob("dl_doctor-*.whl")
    return path


def test_the_wheel_holds_the_checks_as_doctor_checks_and_no_top_level_checks(wheel):
    names = set(zipfile.ZipFile(str(wheel)).namelist())
    assert {name.split("/")[0] for name in names} == {"doctor", "dl_doctor-%s.dist-info" % wheel.name.split("-")[1]}
    checks = {"doctor/checks/%s" % path.name for path in (ROOT / "checks").glob("*.py")}
    assert "doctor/checks/__init__.py" in checks and checks <= names


def test_the_wheel_holds_every_engine_module(wheel):
    names = set(zipfile.ZipFile(str(wheel)).namelist())
    engine = {path.relative_to(ROOT).as_posix() for path in (ROOT / "doctor").rglob("*")
              if path.suffix in (".py", ".json") and "__pycache__" not in path.parts}
    assert "doctor/schemas/report.schema.json" in engine
    assert sorted(engine - names) == [], "list their packages in pyproject.toml's [tool.setuptools] packages"


def _borrow(site: Path, *modules: str) -> None:
    """dl-doctor's dependencies in the fresh venv, borrowed from the running environment (offline)."""
    borrowed = site / "borrowed"
    borrowed.mkdir()
    for name in modules:
        module = __import__(name)
        location = Path(module.__file__)
        location = location.parent if location.name == "__init__.py" else location
        (borrowed / location.name).symlink_to(location, target_is_directory=location.is_dir())
    (site / "borrowed.pth").write_text(str(borrowed) + "\n")


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv (no access to this environment's packages) with dl-doctor installed from the wheel."""
    python = make_venv(tmp_path_factory.mktemp("venv") / "venv")
    completed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                                "--no-index", "--quiet", str(wheel)],
                               capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    assert completed.returncode == 0, completed.stderr
    _borrow(site_packages(python), "packaging", "tabulate")
    return python


def _run(command, cwd):
    return subprocess.run([str(part) for part in command], cwd=str(cwd), capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_the_installed_command_lists_every_check_beside_a_learners_checks_py(installed, tmp_path):
    (tmp_path / "checks.py").write_text("print('LEARNER CODE RAN')\nraise SystemExit(7)\n")
    completed = _run([installed.parent / "dl-doctor", "list"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "LEARNER CODE RAN" not in completed.stdout
    assert [line.split()[0] for line in completed.stdout.splitlines()[2:]] == [
        spec.id for spec in registered_checks()]


def test_python_m_doctor_from_the_install_lists_every_check(installed, tmp_path):
    completed = _run([installed, "-m", "doctor", "list", "--format", "json"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert sorted(item["id"] for item in json.loads(completed.stdout)) == CHECK_IDS


def test_the_install_adds_no_top_level_checks_module(installed, tmp_path):
    program = ("import importlib.util, doctor.checks, sys; "
               "print(importlib.util.find_spec('checks'), doctor.checks.__file__.startswith(sys.prefix))")
    completed = _run([installed, "-c", program], tmp_path)
    assert completed.stdout.split() == ["None", "True"], completed.stderr
