"""Every package the course's notebooks import is known to a lesson profile (doctor/lessons.py), and what
those packages need outside Python is checked (checks/course_tools.py): Graphviz's dot on PATH, Kaggle
credentials (stat only) and `import kaggle` failing for want of them (checks/import_errors.py)."""

import os
import sys

import pytest

from checkrun import build, commands, import_error, one, words
from doctor.checks.import_errors import explain_import_error
from doctor.collect import probe_arguments
from doctor.lessons import course_distributions
from doctor.probes import builtin_probes
from doctor.probes.runner import run_probes
from factories import ok_outcome

# What fastai/course22's notebooks import beyond the stack, and the lessons that import it.
COURSE_PACKAGES = {
    "duckduckgo_search": (1,), "ddgs": (1,), "fastdownload": (1,),  # 00-is-it-a-bird
    "plotly": (3,),  # 03-which-image-models-are-best
    "transformers": (4,), "datasets": (4,), "sentencepiece": (4,),  # slides/nlp-intro
    "sympy": (5,),  # 05-linear-model-and-neural-net-from-scratch
    "seaborn": (6,), "graphviz": (6,),  # 07-how-random-forests-really-work
    "scikit-learn": (4, 6),  # slides/nlp-intro, 07-how-random-forests-really-work
    "fastkaggle": (6, 7),  # 08/09 and 10 road to the top
    "kaggle": (4, 5, 6, 7, 8),  # nlp-intro, 05, 06, 07 (and through fastkaggle)
}


@pytest.mark.parametrize("name", sorted(COURSE_PACKAGES))
def test_every_course_package_belongs_to_a_lesson(name):
    assert course_distributions()[name] == COURSE_PACKAGES[name]


def _course(tmp_path, **environment):
    spec = next(s for s in builtin_probes() if "course" in s.members)
    env = {key: value for key, value in os.environ.items() if not key.startswith("KAGGLE")}
    env.update(environment)
    outcome = run_probes([spec], sys.executable, str(tmp_path), env, probe_arguments(6))["course"]
    assert outcome.ok, (outcome.reason, outcome.stderr_tail)
    return outcome.data


def _facts(data, lesson=6, **layers):
    return build({"outcomes": {"course": ok_outcome("course", data)}}, lesson=lesson, **layers)


def test_graphviz_with_and_without_dot_on_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    data = _course(tmp_path, PATH=str(empty))
    assert data["dot"]["path"] is None
    finding = one("graphviz-dot", _facts(data, distributions={"graphviz": "0.21"}))
    assert (finding.status, finding.title) == (
        "warning", "`graphviz.Source(...)` fails: graphviz 0.21 is installed but the dot program is not on PATH")
    assert commands(finding) == ("sudo apt-get install graphviz",)
    assert "ExecutableNotFound" in finding.detail

    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    dot = bin_folder / "dot"
    dot.write_text("#!/bin/sh\nexit 0\n")
    dot.chmod(0o755)
    data = _course(tmp_path, PATH=str(bin_folder))
    assert data["dot"]["path"] == str(dot)
    assert one("graphviz-dot", _facts(data, distributions={"graphviz": "0.21"})).status == "ok"


@pytest.mark.parametrize("platform, conda, expected", [
    ("darwin", False, ("brew install graphviz",)),
    ("linux", True, ("conda install -c conda-forge python-graphviz", "sudo apt-get install graphviz")),
    ("win32", False, ()),
])
def test_graphviz_fix_per_platform(platform, conda, expected):
    data = {"dot": {"path": None}, "kaggle": {}, "tables": {}}
    facts = _facts(data, distributions={"graphviz": "0.21"},
                   python={"conda": conda, "marker_environment": {"sys_platform": platform}})
    finding = one("graphviz-dot", facts)
    assert commands(finding) == expected
    if platform == "win32":
        assert "graphviz.org/download" in finding.fix.text


def _home_with_token(tmp_path, mode):
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    token = home / ".kaggle" / "kaggle.json"
    token.write_text('{"username": "learner", "key": "0123456789abcdef"}')
    token.chmod(mode)
    return home, token


@pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")
def test_kaggle_token_modes_and_variables(tmp_path):
    home, token = _home_with_token(tmp_path, 0o644)
    data = _course(tmp_path, HOME=str(home))
    assert data["kaggle"]["mode"] == 0o644 and data["kaggle"]["exists"]
    finding = one("kaggle-credentials", _facts(data, distributions={"kaggle": "1.7.4"}))
    assert finding.status == "warning" and "readable by other users (mode 0644)" in finding.title
    assert commands(finding) == ("chmod 600 %s" % token,)
    assert "0123456789abcdef" not in repr(data) + words(finding)  # never read, never shown

    token.chmod(0o600)
    finding = one("kaggle-credentials", _facts(_course(tmp_path, HOME=str(home)), distributions={"kaggle": "1.7.4"}))
    assert finding.status == "ok" and "(mode 0600)" in finding.title

    empty_home = tmp_path / "nobody"
    empty_home.mkdir()
    data = _course(tmp_path, HOME=str(empty_home))
    finding = one("kaggle-credentials", _facts(data, distributions={"kaggle": "1.7.4"}))
    assert finding.status == "warning" and finding.title.startswith("no Kaggle API token")
    assert commands(finding)[-1] == "chmod 600 %s" % (empty_home / ".kaggle" / "kaggle.json")
    assert one("kaggle-credentials", _facts(data)).status == "info"  # kaggle not installed: nothing fails yet

    variables = _course(tmp_path, HOME=str(empty_home), KAGGLE_USERNAME="learner", KAGGLE_KEY="secret")
    assert "secret" not in repr(variables)
    assert one("kaggle-credentials", _facts(variables)).title.startswith("Kaggle credentials come from")
    on_kaggle = _course(tmp_path, HOME=str(empty_home), KAGGLE_KERNEL_RUN_TYPE="Interactive")
    assert one("kaggle-credentials", _facts(on_kaggle)).title.startswith("running on Kaggle")

    config = tmp_path / "config"
    config.mkdir()
    (config / "kaggle.json").write_text("{}")
    (config / "kaggle.json").chmod(0o600)
    data = _course(tmp_path, HOME=str(empty_home), KAGGLE_CONFIG_DIR=str(config))
    assert data["kaggle"]["path"] == str(config / "kaggle.json") and data["kaggle"]["config_dir_variable"]
    assert one("kaggle-credentials", _facts(data)).status == "ok"


def test_kaggle_credentials_only_for_lessons_that_use_kaggle():
    data = {"dot": {"path": None}, "kaggle": {"exists": False}, "tables": {}}
    assert one("kaggle-credentials", _facts(data, lesson=1)).status == "skipped"
    assert one("graphviz-dot", _facts(data, lesson=4)).status == "skipped"


KAGGLE_ERROR = import_error(
    "OSError", "Could not find kaggle.json. Make sure it's located in /home/learner/.kaggle. Or use the environment "
               "method. See setup instructions at https://github.com/Kaggle/kaggle-api/",
    files=["<lesson cell>", "/opt/course/lib/python3.11/site-packages/kaggle/__init__.py"])


def test_import_kaggle_without_a_token_is_the_credential_problem():
    explanation = explain_import_error(build(), KAGGLE_ERROR)
    assert explanation.cause.startswith("kaggle is installed but finds no API token")
    assert explanation.fix.commands[-1] == "chmod 600 ~/.kaggle/kaggle.json"

    statements = [{"statement": "import kaggle", "required": False, "ok": False, "seconds": 0.1,
                   "error": KAGGLE_ERROR}]
    finding = one("lesson-optional-imports", build({"imports": {"statements": statements}}, lesson=5))
    assert finding.status == "warning"
    assert "import kaggle: kaggle is installed but finds no API token" in finding.detail
    assert "pip install" not in words(finding)
