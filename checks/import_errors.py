"""Explaining a failed import: match the captured error to the root causes learners hit, so a finding
names the cause and its fix rather than repeating the traceback."""

import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from packaging.utils import canonicalize_name

from doctor.findings import Fix, fix
from doctor.lessons import DISTRIBUTION_FOR_MODULE, statement_package

from .commands import conflicts_text, install_fix, pip_install, plan_install
from .packages import pairing_fix
from .shadowing import shadow_fix, shadowing, stdlib_shadow_fix, stdlib_shadows

# What to install when a distribution is missing, where the bare name is not enough for the lessons:
# transformers' Trainer needs accelerate, which its "torch" extra brings (transformers' own ImportError says
# "Please run `pip install transformers[torch]`", transformers/utils/import_utils.py).
INSTALL_FOR_DISTRIBUTION = {"transformers": "transformers[torch]"}


def install_words(distributions):
    """The pip words that install these distributions the way the lessons use them."""
    return [INSTALL_FOR_DISTRIBUTION.get(name, name) for name in distributions]


@dataclass(frozen=True)
class Explanation:
    cause: str
    fix: Optional[Fix]


def missing_module(message: str) -> Optional[str]:
    found = re.search(r"No module named '([^']+)'", message)
    return found.group(1) if found else None


def not_a_package(message: str) -> Optional[str]:
    """The module that ``import a.b`` found as a plain module: "No module named 'a.b'; 'a' is not a package"."""
    found = re.search(r"; '([^']+)' is not a package", message)
    return found.group(1) if found else None


def _names(text: str, files, module: str, path: str) -> bool:
    """Whether an error points at this shadowing file: its path in the traceback, or the module's name where
    Python names the module an attribute or a name was missing from."""
    if path in text or any(f == path or f.startswith(path + os.sep) for f in files):
        return True
    quoted = re.escape(module)
    return re.search(r"module '%s' has no attribute|partially initialized module '%s'|from '%s'"
                     % (quoted, quoted, quoted), text) is not None


def not_installed(statement: str, error_info) -> bool:
    """Whether an import failed only because the package it names is absent (not because it is broken)."""
    missing = missing_module(error_info.get("message", "")) if error_info.get("type") == "ModuleNotFoundError" else None
    return missing is not None and missing.split(".")[0] == statement_package(statement)


def explain_import_error(facts, error_info) -> Explanation:
    """``error_info`` is the probe's error record: type, message, traceback, files."""
    kind = error_info.get("type", "")
    message = error_info.get("message", "")
    text = error_info.get("traceback", "") + "\n" + message
    files = error_info.get("files") or []

    found = shadowing(facts)
    named = not_a_package(message)
    shadows = [(module, path) for module, path in sorted(found.items())
               if module == named or _names(text, files, module, path)]
    if shadows:
        # A local torch.py or fastai.py gives circular-import and missing-attribute errors (fastbook#349), and
        # "No module named 'fastai.vision'; 'fastai' is not a package" (importlib._bootstrap's _find_and_load_unlocked).
        module, path = shadows[0]
        return Explanation("%s shadows the installed %s" % (path, module),
                           shadow_fix(facts, {module: path}, commands=False))
    stdlib = [(module, path) for module, path in sorted(stdlib_shadows(facts).items())
              if _names(text, files, module, path)]
    if stdlib:
        module, path = stdlib[0]
        return Explanation("%s shadows the standard library's %s (see stdlib-shadowed)" % (path, module),
                           stdlib_shadow_fix(facts, {module: path}, commands=False))
    if "partially initialized module" in text:
        return Explanation("a local file shadows an installed package",
                           fix("Rename or move the file (and delete its __pycache__ folder), then restart the kernel."))
    kaggle = kaggle_credentials(facts, text)
    if kaggle is not None:
        return kaggle
    # Mismatched torchvision: pytorch/vision#4728.
    if "torchvision::nms does not exist" in text or "Couldn't load custom C++ ops" in text:
        return Explanation("torchvision does not match the installed torch",
                           pairing_fix(facts, "Install the torchvision built for this torch "
                                              "(see torchvision-pairing):"))
    # NumPy 2 with an extension built for NumPy 1.x: numpy/core/_multiarray_umath.py raises it when an old
    # extension asks for _ARRAY_API; older C code says "numpy.core.multiarray failed to import".
    if re.search(r"compiled using NumPy 1\.x|_ARRAY_API not found|numpy\.core\.multiarray failed to import", text):
        return numpy_1_extension(facts, error_info)
    if kind == "ModuleNotFoundError" and missing_module(message):
        module = missing_module(message)
        top = module.split(".")[0]
        if facts.distribution(DISTRIBUTION_FOR_MODULE.get(top, top)) is not None and "." in module:
            if not _from_its_distribution(facts, top):
                return Explanation(
                    "%s is installed but `import %s` finds %s, outside the installed package"
                    % (top, top, _origin_path(facts, top)),
                    fix("Find what puts %s first on sys.path (see shadowed-modules); reinstalling does not help."
                        % _origin_path(facts, top)))
            return Explanation(
                "%s is installed but has no module %s: an incomplete or mismatched install" % (top, module),
                fix("Reinstall it:", pip_install(facts, "--force-reinstall", DISTRIBUTION_FOR_MODULE.get(top, top))),
            )
        distribution = DISTRIBUTION_FOR_MODULE.get(top, top)
        return Explanation(
            "%s is not installed in %s" % (distribution, facts.python),
            fix("Install it into this interpreter (in a notebook: %%pip install %s):"
                % " ".join(install_words([distribution])), pip_install(facts, *install_words([distribution]))),
        )
    cannot_import = re.search(r"cannot import name '([^']+)' from '([^']+)'", message)
    if cannot_import:
        name, module = cannot_import.groups()
        top = module.split(".")[0]
        return Explanation(
            "%s has no %s: installed versions do not fit together" % (module, name),
            fix("Upgrade the packages together so pip can pick matching versions:",
                pip_install(facts, "--upgrade", DISTRIBUTION_FOR_MODULE.get(top, top), "fastai")),
        )
    if re.search(r"undefined symbol|DLL load failed|lib[a-z0-9_]+\.so[.0-9]*: cannot open shared object", text):
        return Explanation(
            "a compiled library failed to load (a broken or mixed install)",
            fix("Reinstall torch and torchvision together, from one index:",
                pip_install(facts, "--force-reinstall", "torch", "torchvision")),
        )
    return Explanation("%s: %s" % (kind, message.splitlines()[0] if message else ""), None)


def _origin_path(facts, module: str) -> Optional[str]:
    record = ((facts.data("python") or {}).get("module_origins") or {}).get(module) or {}
    return record.get("origin") or next(iter(record.get("locations") or []), None)


def _from_its_distribution(facts, module: str) -> bool:
    """Whether ``import module`` finds the copy its installed distribution put there (True when unknown)."""
    path = _origin_path(facts, module)
    dist = facts.distribution(DISTRIBUTION_FOR_MODULE.get(module, module))
    if path is None or dist is None or not dist.location:
        return True
    location = os.path.normcase(os.path.abspath(dist.location))
    return os.path.normcase(os.path.abspath(path)).startswith(location.rstrip(os.sep) + os.sep) or dist.editable


def kaggle_credentials(facts, text: str) -> Optional[Explanation]:
    """``import kaggle`` authenticates at import time in some versions and raises without a token
    ("OSError: Could not find kaggle.json. Make sure it's located in ...", Kaggle/kaggle-cli#617): the
    package works, the credentials are missing."""
    if "Could not find kaggle.json" not in text:
        return None
    from .course_tools import kaggle_credentials_fix
    return Explanation("kaggle is installed but finds no API token (~/.kaggle/kaggle.json or KAGGLE_USERNAME/"
                       "KAGGLE_KEY): it authenticates when imported (see kaggle-credentials)",
                       kaggle_credentials_fix(facts))


def failing_owner(error_info, skip=()):
    """The installed distribution that owns the deepest traceback frame, ``skip`` left out: the library
    whose code failed, as opposed to the ones that merely imported it."""
    for owner in reversed(error_info.get("owners") or []):
        if owner and owner.get("name") and canonicalize_name(owner["name"]) not in skip:
            return owner
    return None


def numpy_1_extension(facts, error_info) -> Explanation:
    """An extension built for NumPy 1.x under NumPy 2: upgrade the distribution that owns it, holding NumPy.

    NumPy's own hint, numpy<2, breaks everything built for NumPy 2 (pandas >= 2.2.2 needs numpy >= 2 on new
    Pythons), so it is offered only when no installed distribution needs NumPy 2.
    """
    numpy = facts.distribution("numpy")
    owner = failing_owner(error_info, skip=("numpy",))
    numpy_version = numpy.version if numpy else "2"
    if owner is None:
        pin = plan_install(facts, "numpy<2")
        return Explanation(
            "an extension module was compiled for NumPy 1.x but NumPy %s is installed" % numpy_version,
            fix("Upgrade the package named last in the traceback, or pin NumPy 1.x:", pin.command, choice=True)
            if pin.command
            else fix("Upgrade the package named last in the traceback (pinning NumPy 1.x is no way out: %s)."
                     % conflicts_text(pin.conflicts)))
    cause = "%s %s was built for NumPy 1.x; NumPy %s is installed" % (owner["name"], owner["version"], numpy_version)
    held = ["numpy==%s" % numpy.version] if numpy else []
    return Explanation(cause, install_fix(facts, "Upgrade %s to a release built for NumPy 2, keeping NumPy %s:"
                                          % (owner["name"], numpy_version), "--upgrade", owner["name"], *held))


def probe_failure(outcome) -> Tuple[str, str]:
    """Title and detail for a probe that died instead of answering."""
    return outcome.reason or "the probe did not answer", outcome.stderr_tail.strip()
