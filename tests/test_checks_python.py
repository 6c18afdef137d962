"""checks/python.py: python-version, python-wheels, python-bitness, python-environment."""

import pytest

from checkrun import build, commands, one, words
from doctor.checks.wheel_table import PLATFORMS, RECOMMENDED_MINOR, WHEELS
from factories import failed_outcome


def _python(version, **extra):
    major, minor, micro = version
    markers = {"python_version": "%d.%d" % (major, minor), "python_full_version": "%d.%d.%d" % version}
    return dict({"version": list(version), "version_string": "%d.%d.%d" % version, "marker_environment": markers},
                **extra)


# (id, make_facts keywords, expected status, words expected in the finding)
PYTHON_VERSION_CASES = [
    ("healthy-3.11", {}, "ok", ["Python 3.11.7", "/opt/course/bin/python"]),
    ("3.12-ok", {"python": _python((3, 12, 4))}, "ok", ["Python 3.12.4"]),
    ("3.9-with-fastai-declaring-3.10", {"python": _python((3, 9, 6))}, "error",
     ["3.9.6", "fastai 2.8.12 requires Python >=3.10", "torch 2.14.1 requires Python >=3.10"]),
    ("3.9-before-fastai-installed", {"python": _python((3, 9, 6)),
                                     "distributions": {"fastai": None, "torch": None, "torchvision": None}},
     "error", ["fastai needs Python >= 3.10"]),
    ("3.8-empty-environment", {"python": _python((3, 8, 10)),
                               "distributions": {name: None for name in
                                                 ("torch", "torchvision", "fastai", "fastcore", "ipywidgets")}},
     "error", ["3.8.10", "fastai needs Python >= 3.10"]),
    ("too-new-for-torch", {"python": _python((3, 15, 0)),
                           "distributions": {"torch": {"requires_python": ">=3.10,<3.15"}}},
     "error", ["torch 2.14.1 requires Python >=3.10,<3.15"]),
    ("unparsable-requires-python-ignored", {"distributions": {"torch": {"requires_python": "3.10 or newer"}}},
     "ok", ["Python 3.11.7"]),
    ("numpy-is-not-a-declaring-package", {"python": _python((3, 10, 14))}, "ok", ["Python 3.10.14"]),
]


@pytest.mark.parametrize("overrides, status, expected",
                         [case[1:] for case in PYTHON_VERSION_CASES], ids=[case[0] for case in PYTHON_VERSION_CASES])
def test_python_version(overrides, status, expected):
    finding = one("python-version", build(overrides))
    assert finding.status == status
    for word in expected:
        assert word in words(finding)


def test_python_version_error_tells_how_to_get_a_good_python():
    finding = one("python-version", build(python=_python((3, 9, 6))))
    assert any("-m venv" in command for command in commands(finding))
    assert "https://www.python.org/downloads/" in finding.links


def test_python_version_lists_only_the_packages_that_object():
    finding = one("python-version", build(python=_python((3, 9, 6))))
    assert "fastcore" in finding.detail  # fastcore declares >=3.10 too
    assert "numpy" not in finding.detail  # numpy's >=3.11 is not one the course checks
    assert "ipywidgets" not in finding.detail  # ipywidgets allows >=3.7


@pytest.mark.parametrize("bits, status, expected", [
    (64, "ok", "64-bit"),
    (32, "error", "32-bit Python"),
], ids=["64-bit", "32-bit"])
def test_python_bitness(bits, status, expected):
    finding = one("python-bitness", build(python={"pointer_bits": bits}))
    assert finding.status == status
    assert expected in finding.title
    if status == "error":
        assert "from versions: none" in finding.detail
        assert "64-bit" in finding.fix.text


ENVIRONMENT_CASES = [
    ("venv", {"virtualenv": True, "conda": False, "prefix": "/opt/course"}, "ok", "virtual environment at /opt/course"),
    ("conda", {"virtualenv": False, "conda": True, "prefix": "/home/learner/miniforge3/envs/fastai"}, "ok",
     "conda environment at /home/learner/miniforge3/envs/fastai"),
    ("conda-wins-over-venv-flag", {"virtualenv": True, "conda": True, "prefix": "/opt/conda"}, "ok",
     "conda environment"),
    ("debian-system-python", {"virtualenv": False, "conda": False, "externally_managed": True, "prefix": "/usr",
                              "executable": "/usr/bin/python3"}, "warning", "externally-managed-environment"),
    ("plain-system-python", {"virtualenv": False, "conda": False, "externally_managed": False, "prefix": "/usr/local",
                             "executable": "/usr/local/bin/python3"}, "info", "no virtual environment"),
]


@pytest.mark.parametrize("python, status, expected", [case[1:] for case in ENVIRONMENT_CASES],
                         ids=[case[0] for case in ENVIRONMENT_CASES])
def test_python_environment(python, status, expected):
    finding = one("python-environment", build(python=python))
    assert finding.status == status
    assert expected in finding.title


def test_externally_managed_fix_makes_a_venv_with_the_target_python():
    finding = one("python-environment", build(python={"virtualenv": False, "externally_managed": True,
                                                      "prefix": "/usr", "executable": "/usr/bin/python3"}))
    assert commands(finding)[0].startswith("/usr/bin/python3 -m venv ")
    assert any("-m pip install" in command and "fastai" in command for command in commands(finding))
    assert any("pep-0668" in link for link in finding.links)


@pytest.mark.parametrize("check_id", ["python-version", "python-wheels", "python-bitness", "python-environment"])
def test_python_checks_skip_when_the_python_probe_crashed(check_id):
    finding = one(check_id, build(outcomes={"python": failed_outcome("python")}))
    assert finding.status == "skipped"
    assert "python probe" in finding.title
    assert "SIGSEGV" in finding.title


NOTHING_INSTALLED = {name: None for name in ("torch", "torchvision", "fastai", "fastcore")}
WINDOWS = {"sys_platform": "win32", "platform_machine": "AMD64", "os_name": "nt"}
MAC_ARM = {"sys_platform": "darwin", "platform_machine": "arm64"}
MAC_INTEL = {"sys_platform": "darwin", "platform_machine": "x86_64"}
LINUX_ARM = {"sys_platform": "linux", "platform_machine": "aarch64"}


def _on(markers, version, **distributions):
    python = _python(version)
    python["marker_environment"].update(markers)
    return build(python=python, distributions=dict(NOTHING_INSTALLED, **distributions))


# (id, facts, expected status, words expected, words that must not appear) -- judged against checks/wheel_table.py
PYTHON_WHEELS_CASES = [
    ("3.12-linux-nothing-installed", _on({}, (3, 12, 8)), "ok", ["wheels exist for Python 3.12 on Linux x86_64",
                                                                "2026-12-07", "pypi.org/project/torch/2.15.0"], []),
    ("3.15-linux-torchvision-stops-at-3.14", _on({}, (3, 15, 0)), "error",
     ["too new", "torchvision has no wheel for Python 3.15 on Linux x86_64", "0.29.1, stops at 3.14",
      "python3.12 -m venv course-env"], ["torch has no wheel"]),
    ("3.16-linux-everything-missing", _on({}, (3, 16, 0)), "error",
     ["torch has no wheel for Python 3.16", "spacy has no wheel", "blis has no wheel"], []),
    ("3.15-windows", _on(WINDOWS, (3, 15, 1)), "error",
     ["Windows amd64", "py -3.12 -m venv course-env", r"course-env\Scripts\python -m pip install"], ["python3.12"]),
    ("3.15-windows-git-bash", build(python=dict(_python((3, 15, 1)), marker_environment=dict(
        _python((3, 15, 1))["marker_environment"], **WINDOWS), shell_environment={"shell": "/usr/bin/bash"}),
        distributions=NOTHING_INSTALLED), "error", ["py -3.12 -m venv course-env", "course-env/Scripts/python -m pip"],
     ["\\Scripts"]),
    ("3.13-intel-mac-no-torch-after-2.2.2", _on(MAC_INTEL, (3, 13, 2)), "error",
     ["torch has no wheel for Python 3.13 on macOS x86_64", "torch 2.2.2, stops at 3.12"], []),
    ("3.14-apple-silicon", _on(MAC_ARM, (3, 14, 0)), "ok", ["macOS arm64"], []),
    ("3.9-too-old", _on(LINUX_ARM, (3, 9, 18)), "error",
     ["too old", "torch 2.14.1 has no wheel for Python 3.9 on Linux aarch64 (it starts at 3.10)"], []),
    # Installed is a fact the table must not contradict: a torch that pip found (a local build, a later table).
    ("3.15-torch-and-torchvision-installed", _on({}, (3, 15, 0), torch="2.15.0", torchvision="0.30.0"), "ok",
     ["torch 2.15.0: installed, not judged", "torchvision 0.30.0: installed, not judged"], []),
    ("3.16-only-spacy-missing", _on({}, (3, 16, 0), torch="3.0.0", torchvision="0.31.0", spacy="3.9.0",
                                    thinc="8.4.0"), "warning",
     ["spaCy for the NLP lessons", "blis has no wheel for Python 3.16"], ["torch has no wheel"]),
]


@pytest.mark.parametrize("facts, status, expected, absent", [case[1:] for case in PYTHON_WHEELS_CASES],
                         ids=[case[0] for case in PYTHON_WHEELS_CASES])
def test_python_wheels(facts, status, expected, absent):
    finding = one("python-wheels", facts)
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding) + "\n".join(finding.links)
    for word in absent:
        assert word not in words(finding)


def test_python_wheels_skips_a_platform_the_table_does_not_cover():
    finding = one("python-wheels", _on({"sys_platform": "linux", "platform_machine": "ppc64le"}, (3, 12, 1)))
    assert finding.status == "skipped"
    assert "ppc64le" in finding.title


def test_the_recommended_python_has_wheels_everywhere_the_table_covers():
    """The fix names one Python for every platform: it must be inside every row."""
    assert all(row.oldest <= RECOMMENDED_MINOR <= row.newest for row in WHEELS)
    assert {row.platform for row in WHEELS} == set(PLATFORMS.values())
    for package in ("torch", "torchvision", "spacy", "thinc", "blis"):
        assert {row.platform for row in WHEELS if row.package == package} == set(PLATFORMS.values())
