"""Resolver-aware fixes from recorded facts: a printed install keeps every installed distribution's
requirement, a pin that would break one is named instead of printed, titles name the culprit, and
--quick says what a full check says wherever no import is needed."""

import pytest
from packaging.specifiers import SpecifierSet

from checkrun import SPECS, build, commands, failed_torch_import, findings, import_error, one, words
from doctor.requirements import can_meet, constrain

PIP = "/opt/course/bin/python -m pip install "
# pandas 3 needs NumPy 2 (its metadata on Python 3.11: numpy>=2.0.2, pandas-dev/pandas#55519).
PANDAS_3 = {"version": "3.0.1", "requires": ["numpy>=2.0.2"]}
OLD_MATPLOTLIB = {"version": "3.7.1", "requires": ["numpy<2,>=1.20"]}


@pytest.mark.parametrize("sets, meets", [
    (["<2", ">=2.0.2"], False),
    (["<2.10", ">=2.9.5"], True),
    (["~=2.2", ">2.2.4,<2.2.5"], True),
    (["==0.29.*", "<0.29"], False),
    (["==0.29.*", ">=0.11"], True),
    ([">=1.10,<3", "==2.14.1"], True),
    (["!=2.0.0", "==2.0.0"], False),
    ([">2", "<2.0.1"], True),
    ([], True),
], ids=lambda value: repr(value))
def test_can_meet_answers_whether_one_release_satisfies_every_set(sets, meets):
    assert can_meet([SpecifierSet(text) for text in sets]) is meets


@pytest.mark.parametrize("words, printed, conflicts", [
    (["numpy<2"], None, ["pandas 3.0.1 needs numpy>=2.0.2"]),
    (["--upgrade", "matplotlib", "numpy==2.4.6"], ["--upgrade", "matplotlib", "numpy==2.4.6"], []),
    (["torch"], ["torch<3"], []),
    (["torchvision==0.29.*"], ["torchvision==0.29.*"], []),
    (["torch==2.14.1"], ["torch==2.14.1"], []),
    (["fastai>=2.8", "torch<2"], None, ["torchvision 0.29.1 needs torch>=2.14.0"]),
], ids=["blocked-downgrade", "owner-upgrade-holding-numpy", "bare-name-keeps-upper-bound", "wildcard-pin",
        "exact-pin", "downgrade-blocked-by-second-dependent"])
def test_constrain_adds_what_dependents_need_and_finds_what_breaks_them(words, printed, conflicts):
    facts = build(distributions={"pandas": PANDAS_3, "matplotlib": OLD_MATPLOTLIB})
    constrained = constrain(facts, words)
    assert [c.describe() for c in constrained.conflicts] == conflicts
    if printed is not None:
        assert list(constrained.words) == printed


def test_a_requirement_no_release_can_meet_does_not_block_installing_the_package():
    # Broken metadata ("fastcore>2.3,<2.1") on an uninstalled fastcore must not stop `pip install fastcore`.
    facts = build(distributions={"fastcore": None, "oddpkg": {"version": "1.0", "requires": ["fastcore>2.3,<2.1"]}})
    constrained = constrain(facts, ["fastcore"])
    assert constrained.conflicts == ()
    assert "fastcore" in constrained.words[0]


# --- package-requirements: titles and fixes ---------------------------------------------------------

@pytest.mark.parametrize("distributions, title", [
    ({"plum-dispatch": "2.10.1", "fastai": {"requires": ["torch<3,>=1.10", "plum-dispatch<2.10"]}},
     "plum-dispatch 2.10.1 is newer than fastai 2.8.12 allows (<2.10)"),
    ({"fastcore": "2.2.0"}, "fastcore 2.2.0 is older than fastai 2.8.12 needs (>=2.2.22)"),
    ({"fastcore": None}, "fastai 2.8.12 requires fastcore, which is not installed"),
    ({"fastcore": "2.2.30", "fastai": {"requires": ["torch<3,>=1.10", "fastcore!=2.2.30"]}},
     "fastcore 2.2.30 does not meet fastai 2.8.12's requirement (!=2.2.30)"),
    ({"fastcore": "2.1.0", "widgetsnbextension": "3.6.10"},
     "fastcore 2.1.0 is older than fastai 2.8.12 needs (>=2.2.22); and 1 more"),
], ids=["newer", "older", "missing", "excluded", "two"])
def test_requirement_titles_name_the_culprit_and_the_bound(distributions, title):
    finding = one("package-requirements", build(distributions=distributions))
    assert finding.status == "error"
    assert finding.title == title


def test_several_broken_requirements_get_one_command():
    finding = one("package-requirements", build(distributions={"fastcore": "2.1.0", "widgetsnbextension": "3.6.10"}))
    assert commands(finding) == (PIP + "'fastcore>=2.2.22' 'widgetsnbextension~=4.0.14'",)


def test_a_downgrade_that_breaks_another_package_is_never_printed():
    # matplotlib 3.7.1 was built for NumPy 1.x (numpy<2); pandas 3 needs NumPy 2.
    facts = build(distributions={"pandas": PANDAS_3, "matplotlib": OLD_MATPLOTLIB,
                                 "fastai": {"requires": ["torch<3,>=1.10", "matplotlib"]}})
    finding = one("package-requirements", facts)
    assert finding.title == "matplotlib 3.7.1 needs numpy<2,>=1.20 but pandas 3.0.1 needs numpy>=2.0.2"
    assert "numpy<2" not in " ".join(commands(finding))
    assert commands(finding) == (PIP + "--upgrade matplotlib numpy==2.4.6",)
    assert "numpy<2,>=1.20 cannot be installed: numpy<2,>=1.20 would break pandas 3.0.1" in finding.detail


def test_numpy_abi_drops_the_numpy_pin_when_it_would_break_pandas():
    facts = build({"torch": {"version": "2.2.2"}, "packages": {"version_modules": {"torch": {"__version__": "2.2.2"}}},
                   "distributions": {"torch": "2.2.2", "pandas": PANDAS_3}})
    finding = one("numpy-abi", facts)
    assert finding.status == "error"
    assert not any("numpy<2" in command for command in commands(finding))
    assert "Pin NumPy 1.x is ruled out: numpy<2 would break pandas 3.0.1 (it needs numpy>=2.0.2)" in finding.fix.text


# --- the failing extension's owner ------------------------------------------------------------------

SITE = "/opt/course/lib/python3.11/site-packages"
NUMPY_1X_TRACEBACK = [SITE + "/fastai/vision/all.py", SITE + "/matplotlib/__init__.py",
                      SITE + "/matplotlib/colors.py", SITE + "/numpy/core/_multiarray_umath.py"]
OWNERS = [{"name": "fastai", "version": "2.8.12"}, {"name": "matplotlib", "version": "3.7.1"},
          {"name": "matplotlib", "version": "3.7.1"}, {"name": "numpy", "version": "2.4.6"}]


def _numpy_1x_lesson_failure(**distributions):
    failure = import_error("ImportError", "numpy.core.multiarray failed to import", files=NUMPY_1X_TRACEBACK)
    failure["owners"] = OWNERS
    statement = {"statement": "from fastai.vision.all import *", "required": True, "ok": False, "seconds": 1.0,
                 "error": failure}
    return build(imports={"statements": [statement]}, distributions=distributions)


def test_numpy_1x_failure_names_the_distribution_that_owns_the_extension():
    finding = one("lesson-imports", _numpy_1x_lesson_failure(pandas=PANDAS_3, matplotlib=OLD_MATPLOTLIB))
    assert finding.title == ("`from fastai.vision.all import *` fails: matplotlib 3.7.1 was built for NumPy 1.x; "
                             "NumPy 2.4.6 is installed")
    assert commands(finding) == (PIP + "--upgrade matplotlib numpy==2.4.6",)


def test_numpy_1x_failure_without_a_known_owner_does_not_pin_numpy_over_pandas():
    facts = _numpy_1x_lesson_failure(pandas=PANDAS_3)
    facts.data("imports")["statements"][0]["error"]["owners"] = [None] * 4
    finding = one("lesson-imports", facts)
    assert "compiled for NumPy 1.x but NumPy 2.4.6 is installed" in finding.title
    assert commands(finding) == ()
    assert "numpy<2 would break pandas 3.0.1" in words(finding)


# --- missing lesson packages: all in one command ------------------------------------------------------

def _missing(*modules):
    return {"python": {"module_origins": {module: {"found": False, "origin": None, "locations": [], "error": None}
                                          for module in modules}}}


def test_every_missing_lesson_package_is_named_and_installed_in_one_command():
    facts = build(_missing("transformers", "datasets"), lesson=4)
    finding = one("lesson-imports", facts)
    assert finding.title == ("`import transformers` fails: transformers and datasets are not installed in "
                             "/opt/course/bin/python")
    # transformers' Trainer needs accelerate, which transformers[torch] brings along.
    assert commands(finding) == (PIP + "'transformers[torch]' datasets",)


def test_a_data_folder_named_like_a_missing_lesson_package_is_reported_as_missing():
    folder = {"found": True, "origin": None, "locations": ["/home/learner/datasets"], "error": None}
    facts = build(_missing("transformers"), {"python": {"module_origins": {"datasets": folder}}}, lesson=4)
    finding = one("lesson-imports", facts)
    assert "transformers and datasets are not installed" in finding.title


def test_an_owner_without_a_name_falls_back_to_the_generic_numpy_advice():
    facts = _numpy_1x_lesson_failure(pandas=PANDAS_3)
    facts.data("imports")["statements"][0]["error"]["owners"] = [{"name": None, "version": None}] * 4
    finding = one("lesson-imports", facts)
    assert "compiled for NumPy 1.x but NumPy 2.4.6 is installed" in finding.title


# --- --quick says what a full check says --------------------------------------------------------------

METADATA_VARIANTS = {
    "healthy": {},
    "fastai-missing": {"distributions": {"fastai": None}, **_missing("fastai")},
    "lesson-4-missing": {"lesson": 4, **_missing("transformers", "datasets", "sentencepiece")},
    "shadowing-torch": {"python": {"module_origins": {"torch": {"found": True, "origin": "/home/learner/torch.py",
                                                                "locations": [], "error": None}}}},
    "conflict": {"distributions": {"plum-dispatch": "2.10.1",
                                   "fastai": {"requires": ["torch<3,>=1.10", "plum-dispatch<2.10"]}}},
    "numpy-blocked": {"distributions": {"pandas": PANDAS_3, "matplotlib": OLD_MATPLOTLIB}},
    "torchvision-mismatch": {"packages": {"version_modules": {"torchvision": {"__version__": "0.28.0+cu130"}}},
                             "distributions": {"torchvision": "0.28.0"}},
    "torch-missing": dict(failed_torch_import(import_error("ModuleNotFoundError", "No module named 'torch'")),
                          distributions={"torch": None, "torchvision": None},
                          packages={"version_modules": {"torch": None, "torchvision": None}}),
}


@pytest.mark.parametrize("variant", sorted(METADATA_VARIANTS))
@pytest.mark.parametrize("check_id", sorted(SPECS))
def test_quick_finds_each_problem_a_full_check_finds_in_the_same_words(variant, check_id):
    """A problem that metadata shows (a warning or an error in --quick) reads the same in a full check."""
    layer = dict(METADATA_VARIANTS[variant])
    lesson = layer.pop("lesson", 1)
    quick = findings(check_id, build(layer, lesson=lesson, quick=True))
    full = findings(check_id, build(layer, lesson=lesson))
    problems = [(f.status, f.title) for f in quick if f.status in ("warning", "error")]
    if problems:
        assert problems == [(f.status, f.title) for f in full]


@pytest.mark.parametrize("variant, check_id", [
    ("fastai-missing", "lesson-imports"), ("lesson-4-missing", "lesson-imports"), ("shadowing-torch", "lesson-imports"),
    ("shadowing-torch", "shadowed-modules"), ("conflict", "package-requirements"),
    ("numpy-blocked", "package-requirements"), ("torchvision-mismatch", "torchvision-pairing"),
    ("torch-missing", "torch-import"),
])
def test_quick_reports_what_metadata_shows(variant, check_id):
    """The variants above are problems --quick must see, so the agreement is not vacuous."""
    layer = dict(METADATA_VARIANTS[variant])
    assert one(check_id, build(layer, lesson=layer.pop("lesson", 1), quick=True)).status in ("warning", "error")
