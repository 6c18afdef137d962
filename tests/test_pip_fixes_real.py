"""The pip commands dl-doctor prints, pasted for real: each test breaks a real venv the way learners' venvs
break (tiny local wheels, no network), runs `dl-doctor check`, runs the printed command exactly as printed
(offline, against the same wheels), and asserts the environment is healthy afterwards: `pip check` clean,
the import works, and the finding is gone. A full check run beside `--quick` must word each problem the same."""

import json
import os
import shlex
import subprocess

import pytest

from conftest import run_cli
from wheels import build_wheel, make_venv_with_pip, offline_pip_environment, pip

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="venv layout as on Linux and macOS")]

# numpy 2's shim (numpy/core/_multiarray_umath.py) raises this when an extension built for NumPy 1.x asks
# for _ARRAY_API; the fake keeps the message and the place it is raised from.
NUMPY_2_SHIM = '''
def __getattr__(name):
    if name in {"_ARRAY_API", "_UFUNC_API"}:
        raise ImportError("A module that was compiled using NumPy 1.x cannot be run in NumPy 2.1.3 as it may crash.")
    raise AttributeError(name)
'''


def check(python, cwd, *options):
    completed = run_cli("check", "--python", str(python), "--format", "json", *options, cwd=str(cwd))
    assert "Traceback" not in completed.stderr, completed.stderr
    return {f["id"]: f for f in json.loads(completed.stdout)["findings"]}


def paste(command, wheels):
    """Run a printed command as a shell would split it, offline against the test's wheels."""
    completed = subprocess.run(shlex.split(command), env=offline_pip_environment(wheels), capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def assert_healthy(python, wheels, statement):
    assert pip(python, ["check"], wheels).stdout.strip() == "No broken requirements found."
    imported = subprocess.run([str(python), "-c", statement], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr


def assert_quick_words_problems_as_full(quick, full):
    for check_id, finding in quick.items():
        if finding["status"] in ("warning", "error"):
            assert (full[check_id]["status"], full[check_id]["title"]) == (finding["status"], finding["title"])


def _fastai(folder, requires, imports):
    return build_wheel(folder, "fastai", "2.8.12", requires=requires, files={
        "fastai/__init__.py": "", "fastai/vision/__init__.py": "", "fastai/vision/all.py": imports})


@pytest.fixture
def venv(tmp_path):
    return make_venv_with_pip(tmp_path / "venv")


def test_a_requirement_conflict_is_mended_by_the_printed_pin(venv, tmp_path):
    wheels = tmp_path / "wheels"
    _fastai(wheels, ["plum-dispatch<2.10"], "import plum\n")
    for version in ("2.9.5", "2.10.1"):
        build_wheel(wheels, "plum-dispatch", version, files={"plum/__init__.py": "VERSION = %r\n" % version})
    assert pip(venv, ["install", "fastai"], wheels).returncode == 0
    assert pip(venv, ["install", "--no-deps", "plum-dispatch==2.10.1"], wheels).returncode == 0

    quick = check(venv, tmp_path, "--quick")
    finding = quick["package-requirements"]
    assert finding["status"] == "error"
    assert finding["title"] == "plum-dispatch 2.10.1 is newer than fastai 2.8.12 allows (<2.10)"
    (command,) = finding["fix"]["commands"]
    assert_quick_words_problems_as_full(quick, check(venv, tmp_path))
    paste(command, wheels)
    assert_healthy(venv, wheels, "import plum; assert plum.VERSION == '2.9.5'")
    assert check(venv, tmp_path, "--quick")["package-requirements"]["status"] == "ok"


def test_an_extension_built_for_numpy_1_is_upgraded_holding_numpy_never_numpy_below_2(venv, tmp_path):
    wheels = tmp_path / "wheels"
    _fastai(wheels, ["plotkit", "tablekit"], "import plotkit, tablekit\n")
    build_wheel(wheels, "numpy", "2.1.3", files={"numpy/__init__.py": "__version__ = '2.1.3'\n",
                                                 "numpy/core/__init__.py": "",
                                                 "numpy/core/_multiarray_umath.py": NUMPY_2_SHIM})
    # plotkit 1.0's "extension" asks NumPy for the 1.x C API; 1.1 is built for NumPy 2.
    build_wheel(wheels, "plotkit", "1.0", requires=["numpy<2"], files={
        "plotkit/__init__.py": "from plotkit import _path\n",
        "plotkit/_path.py": "import numpy.core._multiarray_umath as api\napi._ARRAY_API\n"})
    build_wheel(wheels, "plotkit", "1.1", requires=["numpy>=2"],
                files={"plotkit/__init__.py": "", "plotkit/_path.py": ""})
    build_wheel(wheels, "tablekit", "3.0", requires=["numpy>=2.0.2"], files={"tablekit/__init__.py": ""})
    assert pip(venv, ["install", "numpy==2.1.3", "tablekit", "plotkit==1.1", "fastai"], wheels).returncode == 0
    assert pip(venv, ["install", "--no-deps", "plotkit==1.0"], wheels).returncode == 0

    full = check(venv, tmp_path)
    lesson = full["lesson-imports"]
    assert lesson["title"] == ("`from fastai.vision.all import *` fails: plotkit 1.0 was built for NumPy 1.x; "
                               "NumPy 2.1.3 is installed")
    (command,) = lesson["fix"]["commands"]
    assert shlex.split(command)[1:] == ["-m", "pip", "install", "--upgrade", "plotkit", "numpy==2.1.3"]
    quick = check(venv, tmp_path, "--quick")
    requirements = quick["package-requirements"]
    assert requirements["title"] == "plotkit 1.0 needs numpy<2 but tablekit 3.0 needs numpy>=2.0.2"
    assert not any("numpy<2" in c for f in list(quick.values()) + list(full.values())
                   for c in (f["fix"] or {}).get("commands", []))
    assert_quick_words_problems_as_full(quick, full)
    paste(command, wheels)
    assert_healthy(venv, wheels, "from fastai.vision.all import *")
    assert check(venv, tmp_path)["lesson-imports"]["status"] == "ok"


def test_every_missing_lesson_package_is_installed_by_one_command(venv, tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "numpy", "2.1.3", files={"numpy/__init__.py": ""})
    build_wheel(wheels, "pandas", "3.0.1", requires=["numpy>=2.0.2"], files={"pandas/__init__.py": ""})
    build_wheel(wheels, "transformers", "5.0.0", requires=['accelerate>=1.1.0; extra == "torch"'],
                files={"transformers/__init__.py": ""})
    build_wheel(wheels, "accelerate", "1.1.0", files={"accelerate/__init__.py": ""})
    build_wheel(wheels, "datasets", "5.0.0", files={"datasets/__init__.py": ""})

    quick = check(venv, tmp_path, "--quick", "--lesson", "4")
    finding = quick["lesson-imports"]
    assert finding["status"] == "error"
    assert finding["title"] == ("`import transformers` fails: transformers, datasets, pandas and numpy are not "
                                "installed in %s" % venv)
    assert_quick_words_problems_as_full(quick, check(venv, tmp_path, "--lesson", "4"))
    (command,) = finding["fix"]["commands"]
    paste(command, wheels)
    # transformers[torch]: the Trainer's accelerate comes along, so lesson 4 needs no second round.
    assert_healthy(venv, wheels, "import transformers, datasets, pandas, numpy, accelerate")
    assert check(venv, tmp_path, "--lesson", "4")["lesson-imports"]["status"] == "ok"


def test_a_torchvision_for_another_torch_is_replaced_by_the_matching_one(venv, tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "torch", "2.14.1", files={"torch/__init__.py": "__version__ = '2.14.1'\n",
                                                  "torch/version.py": "__version__ = '2.14.1'\ncuda = None\n"})
    for version, torch in (("0.28.0", "torch"), ("0.29.1", "torch==2.14.1")):
        build_wheel(wheels, "torchvision", version, requires=[torch], files={
            "torchvision/__init__.py": "", "torchvision/version.py": "__version__ = %r\n" % version})
    assert pip(venv, ["install", "torch==2.14.1", "torchvision==0.28.0"], wheels).returncode == 0

    finding = check(venv, tmp_path, "--quick")["torchvision-pairing"]
    assert finding["title"] == "torchvision 0.28.0 does not match torch 2.14.1 (it needs torchvision 0.29)"
    (command,) = finding["fix"]["commands"]
    paste(command, wheels)
    assert_healthy(venv, wheels, "import torchvision.version as v; assert v.__version__ == '0.29.1'")
    assert check(venv, tmp_path, "--quick")["torchvision-pairing"]["status"] == "ok"


def test_an_incomplete_install_is_mended_by_the_printed_reinstall(venv, tmp_path):
    wheels = tmp_path / "wheels"
    _fastai(wheels, [], "LESSON = 1\n")
    assert pip(venv, ["install", "fastai"], wheels).returncode == 0
    site = subprocess.run([str(venv), "-c", "import fastai, os; print(os.path.dirname(fastai.__file__))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    os.remove(os.path.join(site, "vision", "all.py"))  # an interrupted install or a hand edit

    finding = check(venv, tmp_path)["lesson-imports"]
    assert finding["title"] == ("`from fastai.vision.all import *` fails: fastai is installed but has no module "
                                "fastai.vision.all: an incomplete or mismatched install")
    (command,) = finding["fix"]["commands"]
    paste(command, wheels)
    assert_healthy(venv, wheels, "from fastai.vision.all import *")


def test_mismatched_widget_packages_are_replaced_by_the_printed_set(venv, tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "ipywidgets", "8.1.9", requires=["jupyterlab_widgets~=3.0.15", "widgetsnbextension~=4.0.14"],
                files={"ipywidgets/__init__.py": "__version__ = '8.1.9'\n"})
    for name, version in (("jupyterlab_widgets", "1.1.0"), ("jupyterlab_widgets", "3.0.17"),
                          ("widgetsnbextension", "4.0.16")):
        build_wheel(wheels, name, version, files={"%s/__init__.py" % name: ""})
    assert pip(venv, ["install", "ipywidgets"], wheels).returncode == 0
    assert pip(venv, ["install", "--no-deps", "jupyterlab_widgets==1.1.0"], wheels).returncode == 0

    quick = check(venv, tmp_path, "--quick")
    finding = quick["widgets-versions"]
    assert finding["status"] == "error"
    assert "jupyterlab_widgets 1.1.0 (needs 3.x)" in finding["title"]
    (command,) = finding["fix"]["commands"]
    paste(command, wheels)
    assert_healthy(venv, wheels, "import ipywidgets, jupyterlab_widgets, widgetsnbextension")
    after = check(venv, tmp_path, "--quick")
    assert after["widgets-versions"]["status"] == "ok" and after["package-requirements"]["status"] == "ok"
