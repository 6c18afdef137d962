"""The learner and torch_load checks, table-driven over facts: an export's references (the ``learner`` fact)
and their lookup in the target (the ``learner-names`` probe) against the installed set or a requirements
file's pins."""

import pytest

from checkrun import build, environment, findings, one, words
from factories import make_facts, ok_outcome

NEW_REFS = [["fastai.learner", "Learner", 1], ["fasttransform.transform", "Pipeline", 1], ["plum._function",
                                                                                          "Function", 1],
            ["cloudpickle.cloudpickle", "_make_function", 1], ["pathlib", "PosixPath", 1]]
OLD_REFS = [["fastai.learner", "Learner", 1], ["fastcore.transform", "Pipeline", 1], ["fastcore.dispatch",
                                                                                      "TypeDispatch", 1],
            ["pathlib", "PosixPath", 1]]


def export(references, requirements=None):
    data = {"path": "/home/learner/export.pkl", "archive": "export", "pickle_name": "export/data.pkl",
            "pickle_bytes": 40000, "protocol": 2, "opcodes": 5000, "references": references,
            "format_version": "3", "seconds": 0.01, "tensors": 5, "extension_codes": []}
    if requirements is not None:
        data["requirements"] = requirements
    return data


def looked_up(references, missing_modules=(), missing_names=None, distributions=None):
    records = []
    for module in dict.fromkeys(reference[0] for reference in references):
        found = None if module == "__main__" else module not in missing_modules
        records.append({"module": module, "found": found, "imported": bool(found), "error": None,
                        "missing": (missing_names or {}).get(module, {}), "looked_up": bool(found)})
    return {"modules": records, "distributions": distributions or {}, "python": [3, 11, 7], "os_name": "posix"}


def facts_with(references, requirements=None, missing_modules=(), missing_names=None, provided=None,
               **keywords):
    outcomes = {"learner": ok_outcome("learner", export(references, requirements)),
                "learner-names": ok_outcome("learner-names", looked_up(references, missing_modules, missing_names,
                                                                       provided))}
    return build(keywords, outcomes=outcomes)


WINDOWS = {"python": {"marker_environment": {"os_name": "nt", "platform_system": "Windows", "sys_platform": "win32"}}}
PYTHON_312 = {"python": {"version": [3, 12, 4]}}


@pytest.mark.parametrize("check_id", ["learner-export", "learner-main-functions", "learner-fastai-generation",
                                      "learner-paths", "learner-unresolved-names"])
def test_without_an_export_every_learner_check_is_skipped(check_id):
    finding = one(check_id, make_facts())
    assert finding.status == "skipped" and "dl-doctor learner PATH" in finding.title


@pytest.mark.parametrize("check_id,references,keywords,status,title", [
    ("learner-main-functions", NEW_REFS + [["__main__", "is_cat", 1]], {}, "error",
     "export.pkl needs is_cat from the training notebook (__main__): load_learner fails without it"),
    ("learner-main-functions", NEW_REFS, {}, "ok", "export.pkl names nothing from __main__"),
    ("learner-fastai-generation", OLD_REFS, {}, "error",
     "export.pkl was made by fastai < 2.8, which fastai 2.8.12 here refuses"),
    ("learner-fastai-generation", NEW_REFS, {"distributions": {"fastai": "2.7.19"}}, "error",
     "export.pkl was made by fastai >= 2.8; fastai 2.7.19 here cannot load it"),
    ("learner-fastai-generation", OLD_REFS, {"distributions": {"fastai": "2.7.19"}}, "ok",
     "export.pkl was made by fastai < 2.8, as fastai 2.7.19 here"),
    ("learner-fastai-generation", NEW_REFS, {}, "ok", "export.pkl was made by fastai >= 2.8, as fastai 2.8.12 here"),
    ("learner-paths", NEW_REFS, WINDOWS, "error",
     "export.pkl holds a PosixPath (exported on Linux or macOS): load_learner on Windows fails"),
    ("learner-paths", NEW_REFS + [["pathlib", "WindowsPath", 1]], {}, "error",
     "export.pkl holds a WindowsPath (exported on Windows)"),
    ("learner-paths", [["pathlib._local", "PosixPath", 1]], PYTHON_312, "error",
     "export.pkl was exported with Python >= 3.13 (it names pathlib._local), which Python 3.12.4 here"),
    ("learner-paths", [["pathlib._local", "PosixPath", 1]], {"python": {"version": [3, 13, 1]}}, "ok",
     "export.pkl's paths load here"),
])
def test_learner_checks(check_id, references, keywords, status, title):
    finding = one(check_id, facts_with(references, **keywords))
    assert finding.status == status, finding
    assert title in finding.title, finding.title


def test_old_export_fix_offers_both_ways():
    finding = one("learner-fastai-generation", facts_with(OLD_REFS))
    assert "Re-export it with this fastai" in finding.fix.text
    # For the target interpreter, with the torch fastai 2.7 needs: pip would otherwise leave torchvision broken.
    assert finding.fix.commands == (
        "/opt/course/bin/python -m pip install 'fastai<2.8' 'torch<2.7' 'torchvision<0.22'",)


def test_new_export_on_old_fastai_installs_a_current_one():
    finding = one("learner-fastai-generation", facts_with(NEW_REFS, distributions={"fastai": "2.7.19"},
                                                          missing_modules=("fasttransform.transform",)))
    assert "fastai>=2.8.1" in words(finding)
    # fasttransform's absence is the generation's doing: not reported twice.
    assert one("learner-unresolved-names", facts_with(NEW_REFS, distributions={"fastai": "2.7.19"},
               missing_modules=("fasttransform.transform", "plum._function", "cloudpickle.cloudpickle"))).status == "ok"


def test_unresolved_names_name_their_distribution():
    references = NEW_REFS + [["timm.models.resnet", "ResNet", 1], ["fastai.vision.learner", "OldHead", 1]]
    facts = facts_with(references, missing_modules=("timm.models.resnet",),
                       missing_names={"fastai.vision.learner": {"OldHead": "AttributeError: no OldHead"}},
                       provided={"fastai": ["fastai"]})
    finding = one("learner-unresolved-names", facts)
    assert finding.status == "error"
    assert "timm.models.resnet (timm, not installed)" in finding.title
    assert "fastai.vision.learner.OldHead (fastai 2.8.12)" in finding.title
    assert any("pip install timm" in command for command in finding.fix.commands)


def test_pathlib_local_is_not_reported_twice():
    references = [["pathlib._local", "PosixPath", 1]]
    facts = facts_with(references, missing_modules=("pathlib._local",), **PYTHON_312)
    assert one("learner-unresolved-names", facts).status == "ok"


def requirements(*lines, python_version=None):
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {canonicalize_name(Requirement(line).name): {"line": line, "specifier": str(Requirement(line).specifier)}
            for line in lines}
    return {"path": "requirements.txt", "pins": pins, "python_version": python_version,
            "python_source": "python_version in README.md" if python_version else None}


@pytest.mark.parametrize("references,pins,status,title", [
    (NEW_REFS, ("fastai==2.7.12",), "error", "requirements.txt's fastai==2.7.12 cannot load it"),
    (NEW_REFS, ("fastai",), "ok", "as requirements.txt's unpinned fastai"),
    (OLD_REFS, ("fastai",), "error", "installs a fastai that refuses it"),
    (OLD_REFS, ("fastai<2.8",), "ok", "as requirements.txt's fastai<2.8"),
    (NEW_REFS, ("torch",), "error", "requirements.txt lists no fastai"),
])
def test_requirements_pins_decide_the_generation(references, pins, status, title):
    finding = one("learner-fastai-generation", facts_with(references, requirements(*pins)))
    assert finding.status == status and title in finding.title, finding.title


def test_requirements_python_version_decides_pathlib():
    references = [["pathlib._local", "PosixPath", 1]]
    facts = facts_with(references, requirements("fastai", python_version="3.10"), python={"version": [3, 13, 1]})
    finding = one("learner-paths", facts)
    assert finding.status == "error" and "Python 3.10 (python_version in README.md)" in finding.title


def test_requirements_missing_a_needed_distribution():
    references = NEW_REFS + [["timm.models", "ResNet", 1]]
    facts = facts_with(references, requirements("fastai"), provided={"timm": ["timm"], "fastai": ["fastai"]},
                       distributions={"timm": "1.0.0"})
    finding = one("learner-unresolved-names", facts)
    assert finding.status == "error" and "timm (timm, missing from requirements.txt)" in finding.title
    assert "Add to requirements.txt: timm" in finding.fix.text


@pytest.mark.parametrize("variables,status,title", [
    ({}, "ok", "TORCH_FORCE_WEIGHTS_ONLY_LOAD is not set"),
    ({"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "0"}, "ok", "is not set"),
    ({"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1"}, "error",
     "TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 stops fastai's load_learner: \"Can not safely load weights when explicit "
     "pickle_module is specified\""),
    ({"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "YES"}, "error", "stops fastai's load_learner"),
    ({"TORCH_FORCE_WEIGHTS_ONLY_LOAD": "1", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}, "error",
     "are both set: every torch.load fails"),
])
def test_torch_weights_only_variable(variables, status, title):
    finding = one("torch-weights-only-variable", make_facts(**environment(**variables)))
    assert finding.status == status and title in finding.title, finding.title


def test_torch_weights_only_variable_fix_unsets_it():
    finding = one("torch-weights-only-variable", make_facts(**environment(TORCH_FORCE_WEIGHTS_ONLY_LOAD="1")))
    assert finding.fix.commands == ("unset TORCH_FORCE_WEIGHTS_ONLY_LOAD",)


@pytest.mark.parametrize("fastai,torch,status,title", [
    ("2.8.12", "2.14.1", "ok", "agree on torch.load's weights_only"),
    ("2.7.18", "2.5.1", "ok", "agree"),
    ("2.7.18", "2.6.0", "warning", "fastai 2.7.18 predates torch 2.6.0's weights_only default: learn.load, lr_find "
                                   "and SaveModelCallback(with_opt=True) fail"),
    ("2.8.3", "2.7.1", "warning", "fastai 2.8.3 predates torch 2.7.1's weights_only default: "
                                  "SaveModelCallback(with_opt=True)"),
    ("2.8.4", "2.8.0", "ok", "agree"),
])
def test_fastai_weights_only(fastai, torch, status, title):
    facts = make_facts(distributions={"fastai": fastai, "torch": torch},
                       torch={"version": torch}, packages={"version_modules": {"torch": {"__version__": torch}}})
    finding = one("fastai-weights-only", facts)
    assert finding.status == status and title in finding.title, finding.title
    if status == "warning":
        assert any("fastai>=2.8.4" in command for command in finding.fix.commands)


def test_checks_without_learner_facts_stay_quiet_in_a_check():
    # A plain `dl-doctor check` shows no learner error: the checks skip.
    statuses = {f.id: f.status for check_id in ("learner-export", "learner-unresolved-names")
                for f in findings(check_id, make_facts())}
    assert set(statuses.values()) == {"skipped"}
