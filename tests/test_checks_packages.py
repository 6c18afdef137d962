"""checks/packages.py: package-versions, package-requirements, torchvision-pairing, numpy-abi, pillow-api."""

import pytest

from checkrun import build, commands, one, torch_missing, words
from doctor.checks.packages import expected_torchvision_minor
from factories import failed_outcome
from packaging.version import Version

PACKAGE_CHECKS = ["package-versions", "package-requirements", "torchvision-pairing", "numpy-abi", "pillow-api"]


def _torch_version(version, vision=None):
    """torch (and torchvision) as torch/version.py, the import and the metadata all report them."""
    public = version.split("+")[0]
    layer = {
        "torch": {"version": version},
        "packages": {"version_modules": {"torch": {"__version__": version}}},
        "distributions": {"torch": public},
    }
    if vision is not None:
        layer["packages"]["version_modules"]["torchvision"] = {"__version__": vision}
        layer["distributions"]["torchvision"] = {"version": vision.split("+")[0],
                                                 "requires": ["numpy", "torch==%s" % public]}
    return layer


@pytest.mark.parametrize("check_id", PACKAGE_CHECKS)
def test_package_checks_skip_without_the_packages_probe(check_id):
    finding = one(check_id, build(outcomes={"packages": failed_outcome("packages", "timeout",
                                                                       "probe packages timed out after 60 s")}))
    assert finding.status == "skipped"
    assert "packages probe" in finding.title
    assert "timed out" in finding.title


# --- package-versions -----------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, in_title, not_installed", [
    ({}, "9 of 9 course packages installed", []),
    ({"distributions": {"fastai": None, "fastcore": None}}, "7 of 9", ["fastai", "fastcore"]),
    ({"distributions": {"ipywidgets": None, "jupyterlab-widgets": None, "widgetsnbextension": None}}, "6 of 9",
     ["ipywidgets", "jupyterlab_widgets", "widgetsnbextension"]),
], ids=["all-installed", "no-fastai", "no-widgets"])
def test_package_versions(overrides, in_title, not_installed):
    finding = one("package-versions", build(overrides))
    assert finding.status == "info"
    assert in_title in finding.title
    for name in not_installed:
        assert name in finding.title
        assert "%s: not installed" % name in finding.detail


def test_package_versions_show_the_torch_build_not_just_the_metadata():
    finding = one("package-versions", build())
    assert "torch 2.14.1+cu130" in finding.detail
    assert "torchvision 0.29.1+cu130" in finding.detail
    assert "fastai 2.8.12" in finding.detail


# --- package-requirements -------------------------------------------------------------------------

REQUIREMENT_CASES = [
    ("healthy", {}, "ok", ["no broken requirements"], []),
    ("old-fastcore-in-stack", {"distributions": {"fastcore": "2.2.0"}}, "error",
     ["1 broken requirement in the course stack", "fastai 2.8.12 has requirement fastcore>=2.2.22",
      "you have fastcore 2.2.0"], ["fastcore>=2.2.22"]),
    ("missing-fastcore-in-stack", {"distributions": {"fastcore": None}}, "error",
     ["fastai 2.8.12 requires fastcore, which is not installed"], ["fastcore>=2.2.22"]),
    ("torchvision-wants-newer-torch", {"distributions": {"torch": "2.13.0"}}, "error",
     ["torchvision 0.29.1 has requirement torch>=2.14.0"], ["'torch<3,>=2.14.0'"]),
    ("two-in-stack", {"distributions": {"fastcore": "2.1.0", "widgetsnbextension": "3.6.10"}}, "error",
     ["2 broken requirements in the course stack", "widgetsnbextension~=4.0.14"],
     ["fastcore>=2.2.22", "widgetsnbextension~=4.0.14"]),
    ("outside-the-stack", {"distributions": {"gradio": {"version": "5.0.0", "requires": ["httpx>=0.24"]}}},
     "warning",
     ["1 broken requirement outside the course stack", "gradio 5.0.0 requires httpx, which is not installed"],
     ["httpx>=0.24"]),
    ("marker-for-other-platform-ignored",
     {"distributions": {"fastai": {"requires": ["torch<3,>=1.10", "pywin32>=300; sys_platform == 'win32'"]}}},
     "ok", ["no broken requirements"], []),
    ("marker-for-this-python-applies",
     {"distributions": {"fastai": {"requires": ["torch<3,>=1.10", "tomli>=1; python_version < '3.12'"]}}},
     "error", ["fastai 2.8.12 requires tomli, which is not installed"], ["tomli>=1"]),
    ("extra-only-requirement-ignored",
     {"distributions": {"fastai": {"requires": ["torch<3,>=1.10", "accelerate; extra == 'dev'"]}}},
     "ok", ["no broken requirements"], []),
    ("installed-prerelease-accepted-like-pip-check", {"distributions": {"fastcore": "2.3.0rc1"}}, "ok",
     ["no broken requirements"], []),
]


@pytest.mark.parametrize("overrides, status, expected, requirements", [case[1:] for case in REQUIREMENT_CASES],
                         ids=[case[0] for case in REQUIREMENT_CASES])
def test_package_requirements(overrides, status, expected, requirements):
    finding = one("package-requirements", build(overrides))
    assert finding.status == status
    for word in expected:
        assert word in words(finding)
    for requirement in requirements:
        assert any(command.startswith("/opt/course/bin/python -m pip install ") and requirement in command
                   for command in commands(finding)), commands(finding)


def test_requirement_problems_inside_the_stack_come_first():
    facts = build(distributions={"fastcore": "2.1.0", "gradio": {"version": "5.0.0", "requires": ["httpx>=0.24"]}})
    finding = one("package-requirements", facts)
    assert finding.status == "error"
    lines = finding.detail.splitlines()
    assert lines[0] == "1 broken requirement in the course stack:"
    assert "fastcore" in lines[1] and "httpx" in lines[2]
    assert finding.title == "fastcore 2.1.0 is older than fastai 2.8.12 needs (>=2.2.22); and 1 more"


def test_requirement_fix_is_quoted_for_the_shell():
    finding = one("package-requirements", build(distributions={"fastcore": "2.2.0"}))
    assert commands(finding) == ("/opt/course/bin/python -m pip install 'fastcore>=2.2.22'",)


def test_requirement_fix_is_quoted_for_cmd_on_windows():
    facts = build(distributions={"fastcore": "2.2.0"},
                  python={"executable": "C:\\course\\Scripts\\python.exe",
                          "marker_environment": {"os_name": "nt", "sys_platform": "win32",
                                                 "platform_system": "Windows"}})
    finding = one("package-requirements", facts)
    assert commands(finding) == ('C:\\course\\Scripts\\python.exe -m pip install "fastcore>=2.2.22"',)


def test_unreadable_metadata_is_a_warning_without_commands():
    finding = one("package-requirements", build(packages={"broken": [
        {"path": "/opt/course/lib/python3.11/site-packages/~orch-2.13.0.dist-info", "error": "no METADATA"}]}))
    assert finding.status == "warning"
    assert "~orch-2.13.0.dist-info" in finding.detail
    assert finding.fix is None


def test_unparsable_requirement_is_a_warning():
    finding = one("package-requirements", build(distributions={
        "oldpkg": {"version": "0.1", "requires": ["numpy (>=1.0"]}}))
    assert finding.status == "warning"
    assert "unparsable requirement" in finding.detail
    # The title names the distribution, not a count.
    assert "declares an unparsable requirement" in finding.title
    assert "numpy (>=1.0" in finding.detail


# --- torchvision-pairing --------------------------------------------------------------------------

@pytest.mark.parametrize("torch_version, expected_minor", [
    ("2.14.1", 29), ("2.0.1", 15), ("2.5.1", 20), ("1.13.1", 14), ("1.4.0", 5), ("1.3.1", None), ("3.0.0", None),
])
def test_expected_torchvision_minor(torch_version, expected_minor):
    assert expected_torchvision_minor(Version(torch_version)) == expected_minor


PAIRING_CASES = [
    ("matching-cu130", {}, "ok", ["torch 2.14.1+cu130 with torchvision 0.29.1+cu130"]),
    ("pypi-builds-without-local-tags", _torch_version("2.14.1", "0.29.1"), "ok", ["torchvision 0.29.1"]),
    ("one-side-without-tag", _torch_version("2.14.1", "0.29.1+cu130"), "ok", ["torchvision 0.29.1+cu130"]),
    ("torch-1.x-rule", _torch_version("1.13.1+cu117", "0.14.1+cu117"), "ok", ["torch 1.13.1+cu117"]),
    ("older-torchvision", _torch_version("2.14.1+cu130", "0.28.0+cu130"), "error",
     ["does not match torch 2.14.1+cu130", "needs torchvision 0.29", "torchvision::nms does not exist"]),
    ("torch-1.x-mismatch", _torch_version("1.13.1+cu117", "0.15.2+cu117"), "error", ["needs torchvision 0.14"]),
    ("cpu-torchvision-beside-cuda-torch", _torch_version("2.14.1+cu130", "0.29.1+cpu"), "error",
     ["+cu130 build but torchvision is +cpu"]),
    ("unreadable-torchvision-version", _torch_version("2.14.1+cu130", "0.29.1-custom build"), "warning",
     ["cannot read versions"]),
    ("no-rule-for-torch-3", _torch_version("3.0.0+cu130", "0.35.0+cu130"), "ok", ["torch 3.0.0+cu130"]),
]


@pytest.mark.parametrize("overrides, status, expected", [case[1:] for case in PAIRING_CASES],
                         ids=[case[0] for case in PAIRING_CASES])
def test_torchvision_pairing(overrides, status, expected):
    finding = one("torchvision-pairing", build(overrides))
    assert finding.status == status
    for word in expected:
        assert word in words(finding)


def test_mismatched_torchvision_fix_installs_the_pair_from_torchs_index():
    finding = one("torchvision-pairing", build(_torch_version("2.14.1+cu130", "0.28.0+cu130")))
    (command,) = commands(finding)
    assert "-m pip install" in command
    assert "torch==2.14.1" in command and "torchvision==0.29.*" in command
    assert command.endswith("--index-url https://download.pytorch.org/whl/cu130")


def test_mismatched_tags_fix_reinstalls_both_from_torchs_index():
    finding = one("torchvision-pairing", build(_torch_version("2.14.1+cu130", "0.29.1+cpu")))
    (command,) = commands(finding)
    assert "torch==2.14.1" in command and "torchvision==0.29.1" in command
    assert "+cpu" not in command
    assert "https://download.pytorch.org/whl/cu130" in command


def test_mismatch_without_local_tag_uses_the_default_index():
    finding = one("torchvision-pairing", build(_torch_version("2.14.1", "0.27.0")))
    assert finding.status == "error"
    (command,) = commands(finding)
    assert "torchvision==0.29.*" in command
    assert "--index-url" not in command


@pytest.mark.parametrize("overrides", [
    {"distributions": {"torchvision": None}, "packages": {"version_modules": {"torchvision": None}}},
    torch_missing(),
], ids=["no-torchvision", "no-torch"])
def test_torchvision_pairing_skips_when_one_is_missing(overrides):
    finding = one("torchvision-pairing", build(overrides))
    assert finding.status == "skipped"
    assert "not both installed" in finding.title


def test_torchvision_pairing_reads_metadata_when_version_modules_are_absent():
    facts = build(distributions={"torchvision": "0.27.0"}, packages={"version_modules": {"torchvision": None}})
    finding = one("torchvision-pairing", facts)
    assert finding.status == "error"
    assert "torchvision 0.27.0" in finding.title


# --- numpy-abi ------------------------------------------------------------------------------------

NUMPY_CASES = [
    ("numpy2-with-new-torch", {}, "ok", "NumPy 2.4.6 works with torch 2.14.1+cu130"),
    ("numpy1-with-new-torch", {"distributions": {"numpy": "1.26.4"}}, "ok", "NumPy 1.26.4"),
    ("numpy2-with-torch-2.3", dict(_torch_version("2.3.0+cu121"), distributions={"torch": "2.3.0"}), "ok",
     "torch 2.3.0+cu121"),
    ("numpy2-with-torch-2.2", _torch_version("2.2.2+cu121"), "error",
     "NumPy 2.4.6 with torch 2.2.2+cu121, which was compiled for NumPy 1.x"),
    ("numpy1-with-torch-2.2", dict(_torch_version("2.2.2"), distributions={"torch": "2.2.2", "numpy": "1.26.4"}),
     "ok", "NumPy 1.26.4 works with torch 2.2.2"),
    ("no-numpy", {"distributions": {"numpy": None}}, "skipped", "not both installed"),
]


@pytest.mark.parametrize("overrides, status, expected", [case[1:] for case in NUMPY_CASES],
                         ids=[case[0] for case in NUMPY_CASES])
def test_numpy_abi(overrides, status, expected):
    finding = one("numpy-abi", build(overrides))
    assert finding.status == status
    assert expected in finding.title


def test_numpy_abi_error_offers_both_ways_out():
    finding = one("numpy-abi", build(_torch_version("2.2.2+cu121")))
    assert "compiled using NumPy 1.x" in finding.detail
    assert any("-m pip install" in c and "numpy<2" in c for c in commands(finding))
    # The torch upgrade keeps fastai's own bound on torch (torch<3).
    assert any("'torch<3,>=2.3' torchvision" in c for c in commands(finding))


# --- pillow-api -----------------------------------------------------------------------------------

PILLOW_CASES = [
    ("no-users", {}, "ok", "Pillow 13.0.0"),
    ("user-with-new-pillow", {"packages": {"antialias_users": {"fastai": ["fastai/vision/core.py"]}}}, "error",
     "fastai uses Image.ANTIALIAS, which Pillow 13.0.0 no longer has"),
    ("two-users", {"packages": {"antialias_users": {"fastai": ["fastai/vision/core.py"],
                                                    "oldviz": ["oldviz/draw.py"]}}}, "error",
     "fastai, oldviz use Image.ANTIALIAS"),
    ("user-with-pillow-9", {"packages": {"antialias_users": {"fastai": ["fastai/vision/core.py"]}},
                            "distributions": {"pillow": "9.5.0"}}, "ok", "Pillow 9.5.0"),
    ("no-pillow", {"distributions": {"pillow": None}}, "skipped", "Pillow is not installed"),
]


@pytest.mark.parametrize("overrides, status, expected", [case[1:] for case in PILLOW_CASES],
                         ids=[case[0] for case in PILLOW_CASES])
def test_pillow_api(overrides, status, expected):
    finding = one("pillow-api", build(overrides))
    assert finding.status == status
    assert expected in finding.title


def test_pillow_api_error_names_the_file_and_both_fixes():
    finding = one("pillow-api", build(packages={"antialias_users": {"fastai": ["fastai/vision/core.py"]}}))
    assert "fastai/vision/core.py" in finding.detail
    assert "has no attribute 'ANTIALIAS'" in finding.detail
    assert any("--upgrade" in c and c.endswith("fastai") for c in commands(finding))
    assert any("pillow<10" in c for c in commands(finding))
