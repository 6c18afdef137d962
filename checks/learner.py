"""Will this exported learner load here? The globals an export's pickle names (``learner``, read without
unpickling it by doctor/learner_export.py) against the target interpreter (``learner-names``, looked up there),
or against the pins of a deployment's requirements.txt: functions from the training notebook, the fastai
generation that wrote it, paths from another OS or Python, and any other name that does not resolve."""

import functools
from typing import Dict, List, Optional, Sequence, Tuple

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from doctor.facts import active_requirements
from doctor.findings import error, fix, info, ok, skipped
from doctor.registry import check
from doctor.requirements import can_meet

from .commands import install_fix

NOT_GIVEN = "no exported learner given (dl-doctor learner PATH, or dl-doctor check --learner PATH)"
# fastai/learner.py load_learner: an ImportError naming these is re-raised as "attempted to import from
# `fastcore.dispatch` and/or `fastcore.transform` which are deprecated in `fastai>=2.8.0`" (fastai PRs #4083, #4115).
OLD_FASTAI_MODULES = ("fastcore.transform", "fastcore.dispatch")
# fastai 2.8's wheels require fasttransform and plum-dispatch; from 2.8.1 export() pickles with cloudpickle
# (fastai/learner.py export(pickle_module=cloudpickle)), read from the 2.8.0 and 2.8.1 wheels.
NEW_FASTAI_MODULES = ("fasttransform", "plum")
FASTAI_NEW_GENERATION = Version("2.8")
CLOUDPICKLE_EXPORT_FASTAI = "2.8.1"
# fastai 2.7.19's wheel: Requires-Dist torch<2.7,>=1.10 (the last fastai before 2.8).
LAST_OLD_FASTAI = "2.7.19"
# Python 3.13 moved pathlib's classes to pathlib._local, and pickles name it (cpython#133789).
PATHLIB_LOCAL_PYTHON = Version("3.13")
# Import names whose distribution is spelled otherwise, for modules that are not installed at all.
KNOWN_DISTRIBUTIONS = {"PIL": "pillow", "plum": "plum-dispatch", "sklearn": "scikit-learn", "cv2": "opencv-python",
                       "skimage": "scikit-image", "yaml": "PyYAML", "fasttransform": "fasttransform"}


def _export(facts) -> Optional[dict]:
    return facts.data("learner")


def _file(data: dict) -> str:
    path = str(data.get("path") or "the export")
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _references(data: dict) -> List[Tuple[str, str]]:
    return [(str(item[0]), str(item[1])) for item in data.get("references") or ()]


def _under(module: str, roots: Sequence[str]) -> bool:
    return any(module == root or module.startswith(root + ".") for root in roots)


def _not_given_or_unread(facts):
    """A skipped finding when no export was given, an error when reading it failed; None when it was read."""
    outcome = facts.outcome("learner")
    if outcome is None or outcome.status == "skipped":
        return skipped(NOT_GIVEN)
    if not outcome.ok:
        return error("the export could not be read: %s" % outcome.reason)
    return None


def reads_export(body):
    """A learner check judges the export's data; without an export (or when it could not be read) the check
    gives the one finding that says so instead."""
    @functools.wraps(body)
    def judged(facts):
        problem = _not_given_or_unread(facts)
        if problem is not None:
            yield problem
            return
        yield from body(facts, _export(facts))

    return judged


def _requirements(data: dict) -> Optional[dict]:
    return data.get("requirements")


def _pin(data: dict, name: str) -> Tuple[bool, Optional[SpecifierSet], str]:
    """(listed, specifier, the line) for a distribution in the --requirements file."""
    requirements = _requirements(data) or {}
    pinned = (requirements.get("pins") or {}).get(canonicalize_name(name))
    if pinned is None:
        return False, None, ""
    return True, SpecifierSet(pinned.get("specifier") or ""), str(pinned.get("line") or name)


def _generation_of_pin(specifier: SpecifierSet) -> str:
    """'old' (< 2.8) or 'new' (>= 2.8) fastai, as pip would pick under the pin: the newest it allows."""
    return "new" if can_meet([specifier, SpecifierSet(">=%s" % FASTAI_NEW_GENERATION)]) else "old"


def export_generation(references: Sequence[Tuple[str, str]]) -> Tuple[Optional[str], List[str]]:
    """('old'|'new'|None, the modules that tell) for the fastai that wrote an export."""
    old = sorted({m for m, _ in references if _under(m, OLD_FASTAI_MODULES)})
    if old:
        return "old", old
    new = sorted({m.split(".")[0] for m, _ in references if _under(m, NEW_FASTAI_MODULES)})
    return ("new", new) if new else (None, [])


def _judged_fastai(facts, data) -> Tuple[Optional[str], str, bool]:
    """(generation, words for it, from the requirements file) of the fastai that would load the export."""
    if _requirements(data) is not None:
        listed, specifier, line = _pin(data, "fastai")
        if not listed:
            return None, "requirements.txt lists no fastai", True
        generation = _generation_of_pin(specifier)
        words = "requirements.txt's %s" % line if str(specifier) else "requirements.txt's unpinned fastai (pip " \
                                                                      "installs the newest, >= 2.8)"
        return generation, words, True
    dist = facts.distribution("fastai")
    if dist is None or dist.parsed_version is None:
        return None, "fastai is not installed here", False
    generation = "new" if dist.parsed_version >= FASTAI_NEW_GENERATION else "old"
    return generation, "fastai %s here" % dist.version, False


def generation_conflict(facts, data) -> Tuple[Optional[str], List[str]]:
    """The export's generation and the modules it names that the judged fastai cannot load, when they differ."""
    references = _references(data)
    made, modules = export_generation(references)
    judged, _, _ = _judged_fastai(facts, data)
    if made is None or judged is None or made == judged:
        return None, []
    if made == "new" and any(_under(m, ("cloudpickle",)) for m, _ in references):
        modules = modules + ["cloudpickle"]
    return made, modules


def _judged_python(facts, data) -> Tuple[Optional[Version], str]:
    requirements = _requirements(data) or {}
    if requirements.get("python_version"):
        return Version(str(requirements["python_version"])), "Python %s (%s)" % (
            requirements["python_version"], requirements.get("python_source") or "the requirements")
    python = facts.data("python") or {}
    version = python.get("version") or (facts.data("learner-names") or {}).get("python")
    if not version:
        return None, "Python ?"
    text = ".".join(str(part) for part in version)
    return Version(text), "Python %s here" % text


def _target_os_name(facts) -> Optional[str]:
    markers = (facts.data("python") or {}).get("marker_environment") or {}
    return markers.get("os_name") or (facts.data("learner-names") or {}).get("os_name")


def _pathlib_local_unloadable(facts, data) -> bool:
    python, _ = _judged_python(facts, data)
    return python is not None and python < PATHLIB_LOCAL_PYTHON and any(
        _under(m, ("pathlib._local",)) for m, _ in _references(data))


@check("learner-export", "The exported learner was read without unpickling it",
       reads=('learner',), topic="learner", suites=("check", "learner"))
@reads_export
def learner_export(facts, data):
    references = _references(data)
    modules = {m for m, _ in references}
    made, telling = export_generation(references)
    generation = {"old": "fastai < 2.8 (names %s)" % ", ".join(telling),
                  "new": "fastai >= 2.8 (names %s)" % ", ".join(telling)}.get(made, "no fastai generation named")
    requirements = _requirements(data)
    judged = " against %s" % requirements.get("path") if requirements else ""
    yield ok("%s: %d globals from %d modules, made by %s%s" % (_file(data), len(references), len(modules),
                                                               generation, judged),
             detail="pickle %s: %d bytes, protocol %s, %d opcodes, %d tensors, read in %.3f s"
             % (data.get("pickle_name"), data.get("pickle_bytes") or 0, data.get("protocol"), data.get("opcodes") or 0,
                data.get("tensors") or 0, data.get("seconds") or 0.0))


@check("learner-main-functions", "The export names no function or class from the training notebook (__main__)",
       reads=('learner',), topic="learner", suites=("check", "learner"))
@reads_export
def learner_main_functions(facts, data):
    names = [name for module, name in _references(data) if module == "__main__"]
    if not names:
        yield ok("%s names nothing from __main__ (the notebook that trained it)" % _file(data))
        return
    shown = ", ".join(names)
    yield error(
        "%s needs %s from the training notebook (__main__): load_learner fails without %s" % (
            _file(data), shown, "it" if len(names) == 1 else "them"),
        detail="The export stores %s by name only; loading raises \"AttributeError: Can't get attribute '%s' on "
               "<module '__main__'>\" unless the loading script defines it first." % (shown, names[0]),
        fix=fix("Define or import %s (the same code as in the training notebook) before calling load_learner, "
                "e.g. at the top of app.py; or re-export with fastai >= %s, whose export stores functions defined "
                "in the notebook inside the file (cloudpickle)." % (shown, CLOUDPICKLE_EXPORT_FASTAI)),
        links=("https://github.com/fastai/fastbook/issues/472",),
    )


@check("learner-fastai-generation", "The fastai that loads the export is of the generation that made it (2.8 "
                                    "moved Transform to fasttransform)",
       reads=('learner', 'packages', 'python'), topic="learner", suites=("check", "learner"))
@reads_export
def learner_fastai_generation(facts, data):
    made, telling = export_generation(_references(data))
    judged, words, from_pins = _judged_fastai(facts, data)
    name = _file(data)
    if from_pins and judged is None and made is not None:
        yield error("requirements.txt lists no fastai, which %s needs" % name,
                    fix=fix("Add fastai to requirements.txt: %s" % (
                        "fastai>=%s" % CLOUDPICKLE_EXPORT_FASTAI if made == "new" else "fastai==%s" % LAST_OLD_FASTAI)))
        return
    if made is None or judged is None or made == judged:
        if made is None:
            yield ok("%s names no fastai transform module: no generation to match" % name)
        elif judged is None:
            yield info("%s was made by fastai %s 2.8; %s" % (name, "<" if made == "old" else ">=", words))
        else:
            yield ok("%s was made by fastai %s 2.8, as %s" % (name, "<" if made == "old" else ">=", words))
        return
    if made == "old":
        detail = ("The export names %s, which fastai >= 2.8 no longer has (fastcore 1.8 removed them); fastai's "
                  "load_learner raises \"attempted to import from `fastcore.dispatch` and/or `fastcore.transform` "
                  "which are deprecated in `fastai>=2.8.0`\". fastai %s needs torch<2.7." % (
                      ", ".join(telling), LAST_OLD_FASTAI))
        if from_pins:
            yield error("%s was made by fastai < 2.8; %s installs a fastai that refuses it" % (name, words),
                        detail=detail,
                        fix=fix("Re-export it with the fastai the Space installs (load it where it was made, "
                                "upgrade fastai there, learn.export()), or change the pin in requirements.txt to "
                                "fastai<2.8 (with torch<2.7), e.g. fastai==%s" % LAST_OLD_FASTAI))
        else:
            yield error("%s was made by fastai < 2.8, which %s refuses" % (name, words), detail=detail,
                        # fastai 2.7.19 requires torch<2.7 (its metadata), and torch 2.6 pairs with torchvision 0.21.
                        fix=install_fix(facts, "Re-export it with this fastai (load it where it was made, upgrade "
                                               "fastai there, learn.export()), or install a fastai before 2.8 here, "
                                               "with the torch it needs:",
                                        "fastai<2.8", "torch<2.7", "torchvision<0.22"),
                        links=("https://github.com/fastai/fastai/pull/4115",))
        return
    detail = ("The export names %s (fastai >= 2.8 moved Transform and Pipeline to fasttransform, dispatch to "
              "plum%s); %s cannot load it." % (", ".join(telling), ", and pickles with cloudpickle" if any(
                  _under(m, ("cloudpickle",)) for m, _ in _references(data)) else "", words))
    if from_pins:
        yield error("%s was made by fastai >= 2.8; %s cannot load it" % (name, words), detail=detail,
                    fix=fix("Change the pin in requirements.txt to fastai>=%s" % CLOUDPICKLE_EXPORT_FASTAI))
    else:
        yield error("%s was made by fastai >= 2.8; %s cannot load it (no fasttransform, plum)" % (name, words),
                    detail=detail, fix=install_fix(facts, "Upgrade fastai here (it brings fasttransform, "
                                                          "plum-dispatch and cloudpickle):",
                                                   "fastai>=%s" % CLOUDPICKLE_EXPORT_FASTAI))


@check("learner-paths", "The export's paths instantiate here (PosixPath vs WindowsPath, Python 3.13's "
                        "pathlib._local)",
       reads=('learner', 'learner-names', 'python', 'packages'), topic="learner", suites=("check", "learner"))
@reads_export
def learner_paths(facts, data):
    name = _file(data)
    classes = {attribute for module, attribute in _references(data) if _under(module, ("pathlib",))}
    os_name = _target_os_name(facts)
    found = False
    # pathlib: PosixPath.__new__ on Windows (and WindowsPath elsewhere) raises "cannot instantiate 'PosixPath'
    # on your system" (Lib/pathlib.py, Lib/pathlib/_local.py).
    if "PosixPath" in classes and os_name == "nt":
        found = True
        yield error("%s holds a PosixPath (exported on Linux or macOS): load_learner on Windows fails with "
                    "\"cannot instantiate 'PosixPath' on your system\"" % name,
                    fix=fix("Before load_learner, map the class for the load: import pathlib; "
                            "pathlib.PosixPath = pathlib.WindowsPath (or load it on Linux or macOS)."),
                    links=("https://github.com/fastai/fastai/issues/3921",))
    if "WindowsPath" in classes and os_name == "posix":
        found = True
        yield error("%s holds a WindowsPath (exported on Windows): load_learner here fails with \"cannot "
                    "instantiate 'WindowsPath' on your system\"" % name,
                    fix=fix("Before load_learner, map the class for the load: import pathlib; "
                            "pathlib.WindowsPath = pathlib.PosixPath (or re-export it on Linux or macOS)."))
    if _pathlib_local_unloadable(facts, data):
        found = True
        _, words = _judged_python(facts, data)
        yield error("%s was exported with Python >= 3.13 (it names pathlib._local), which %s does not have"
                    % (name, words),
                    detail="Loading raises \"ModuleNotFoundError: No module named 'pathlib._local'; 'pathlib' "
                           "is not a package\" (cpython#133789).",
                    fix=fix("Load it with Python >= 3.13, re-export it with the Python that will load it, or before "
                            "load_learner: import sys, pathlib; sys.modules['pathlib._local'] = pathlib"))
    if not found:
        yield ok("%s's paths load here%s" % (name, " (%s)" % ", ".join(sorted(classes)) if classes else ""))


def _distribution_of(facts, names: dict, top: str) -> Tuple[str, Optional[str]]:
    """(distribution name, installed version or None) providing a top-level module."""
    provided = (names.get("distributions") or {}).get(top) or []
    for candidate in provided:
        dist = facts.distribution(candidate)
        if dist is not None:
            return dist.name, dist.version
    name = provided[0] if provided else KNOWN_DISTRIBUTIONS.get(top, top)
    dist = facts.distribution(name)
    return name, dist.version if dist else None


def _requirement_closure(facts, data) -> Optional[set]:
    """Every distribution the --requirements file installs, as far as installed metadata tells."""
    requirements = _requirements(data)
    if requirements is None:
        return None
    markers = (facts.data("python") or {}).get("marker_environment")
    pending = list(requirements.get("pins") or {})
    seen = set()
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        dist = facts.distribution(name)
        if dist is not None:
            pending.extend(r.name for r in active_requirements(dist, markers))
    return seen


class _Unresolved:
    """What the export imports and the target lacks, in the order the lookup met it: ``culprits`` name it in the
    title, ``evidence`` says why in the detail, and ``to_install`` / ``drifted`` choose the fix. Modules that a
    --requirements file installs although this environment lacks them are not culprits: they are only
    mentioned (``listed_elsewhere``)."""

    def __init__(self, closure: Optional[set], requirements_path: Optional[str]):
        self.closure = closure
        self.requirements_path = requirements_path
        self.culprits: List[str] = []
        self.evidence: List[str] = []
        self.to_install: Dict[str, None] = {}
        self.drifted: Dict[str, str] = {}
        self.listed_elsewhere: List[str] = []

    def module_not_installed(self, module: str, dist: str, reason: str) -> None:
        if self.closure is not None and canonicalize_name(dist) in self.closure:
            self.listed_elsewhere.append("%s (%s, listed in %s)" % (module, dist, self.requirements_path))
            return
        self.culprits.append("%s (%s, not installed)" % (module, dist))
        self.to_install[dist] = None
        self.evidence.append("%s: %s" % (module, reason))

    def module_not_in_version(self, module: str, dist: str, version: str, reason: str) -> None:
        self.culprits.append("%s (%s %s has no such module)" % (module, dist, version))
        self.drifted[dist] = version
        self.evidence.append("%s: %s" % (module, reason))

    def attribute_missing(self, module: str, attribute: str, dist: str, version: Optional[str], reason: str) -> None:
        self.culprits.append("%s.%s (%s %s)" % (module, attribute, dist, version or "?"))
        self.drifted[dist] = version or "?"
        self.evidence.append("%s.%s: %s" % (module, attribute, reason))

    def distribution_unlisted(self, top: str, dist: str) -> None:
        self.culprits.append("%s (%s, missing from %s)" % (top, dist, self.requirements_path))
        self.evidence.append("%s: installed here from %s, but neither requirements.txt nor what it installs "
                             "lists it" % (top, dist))
        self.to_install[dist] = None


def _names_not_looked_up(facts):
    """The finding when the learner-names probe did not run (skipped) or failed (error); None when its answer
    can be judged."""
    outcome = facts.outcome("learner-names")
    if outcome is None or outcome.status == "skipped":
        return skipped("the names were not looked up (%s)" % (getattr(outcome, "reason", None) or "not run"))
    if not outcome.ok:
        return error("the export's names could not be looked up in %s: %s" % (facts.python, outcome.reason),
                     detail=outcome.stderr_tail.strip())
    return None


def _reported_by_another_check(facts, data, module: str, explained: Sequence[str]) -> bool:
    """Modules whose absence another learner check already explains (the training notebook's __main__, the
    other fastai generation's modules, Python 3.13's pathlib._local): one cause, one finding."""
    if module == "__main__" or _under(module, explained):
        return True
    return _under(module, ("pathlib._local",)) and _pathlib_local_unloadable(facts, data)


def _unimportable(record: dict) -> bool:
    """The module was not found, or was found but raised on import."""
    return not record.get("found") or bool(record.get("error") and not record.get("imported"))


def _judge_module(found: _Unresolved, facts, names: dict, record: dict) -> None:
    """A looked-up module that does not import is blamed on a missing distribution or on the installed
    version; one that imports can still lack the names the export takes from it."""
    module = str(record.get("module"))
    dist, version = _distribution_of(facts, names, module.split(".")[0])
    if _unimportable(record):
        reason = record.get("error") or "no module named %r" % module
        if version is None:
            found.module_not_installed(module, dist, reason)
        else:
            found.module_not_in_version(module, dist, version, reason)
        return
    for attribute, reason in sorted((record.get("missing") or {}).items()):
        found.attribute_missing(module, attribute, dist, version, reason)


def _judge_requirements_closure(found: _Unresolved, data, names: dict) -> None:
    """Against a --requirements file: every top-level module the export names must come from a distribution
    that the file (or what it pulls in) installs, even when this environment happens to have it."""
    distributions = names.get("distributions") or {}
    for top in sorted({m.split(".")[0] for m, _ in _references(data)} - {"__main__"}):
        provided = distributions.get(top) or []
        if provided and not any(canonicalize_name(p) in found.closure for p in provided):
            found.distribution_unlisted(top, provided[0])


def _unresolved(facts, data, names: dict) -> _Unresolved:
    _, explained = generation_conflict(facts, data)
    closure = _requirement_closure(facts, data)
    found = _Unresolved(closure, (_requirements(data) or {}).get("path"))
    for record in names.get("modules") or ():
        if not _reported_by_another_check(facts, data, str(record.get("module")), explained):
            _judge_module(found, facts, names, record)
    if closure is not None:
        _judge_requirements_closure(found, data, names)
    return found


def _resolved_finding(name: str, names: dict, found: _Unresolved):
    looked = len([r for r in names.get("modules") or () if r.get("module") != "__main__"])
    return ok("every module and name %s imports resolves here (%d modules)%s" % (
        name, looked, "; %s" % "; ".join(found.listed_elsewhere) if found.listed_elsewhere else ""))


def _unresolved_fix(facts, found: _Unresolved):
    """Install (or add to requirements.txt) what is missing; for what drifted, the versions it was made with.
    Only an install in this environment gets a command: a requirements file is edited by hand."""
    texts = []
    if found.to_install:
        texts.append("Add to requirements.txt: %s." % ", ".join(found.to_install) if found.closure is not None
                     else "Install what the export needs.")
    if found.drifted:
        texts.append("The export was made with other versions of %s: install the versions it was made with, or "
                     "re-export it with %s." % (", ".join(found.drifted), ", ".join("%s %s" % item for item in
                                                                                     found.drifted.items())))
    if found.to_install and found.closure is None:
        return install_fix(facts, " ".join(texts), *found.to_install)
    return fix(" ".join(texts))


def _unresolved_finding(facts, name: str, found: _Unresolved):
    culprits = found.culprits
    shown = ", ".join(culprits[:3]) + (" and %d more" % (len(culprits) - 3) if len(culprits) > 3 else "")
    return error("%s needs what this environment lacks: %s" % (name, shown), detail="\n".join(found.evidence),
                 fix=_unresolved_fix(facts, found))


@check("learner-unresolved-names", "Every module and name the export imports resolves here",
       reads=('learner', 'learner-names', 'python', 'packages'), topic="learner", suites=("check", "learner"))
@reads_export
def learner_unresolved_names(facts, data):
    problem = _names_not_looked_up(facts)
    if problem is not None:
        yield problem
        return
    names = facts.outcome("learner-names").data
    found = _unresolved(facts, data, names)
    if found.culprits:
        yield _unresolved_finding(facts, _file(data), found)
    else:
        yield _resolved_finding(_file(data), names, found)
