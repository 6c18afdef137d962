"""Explaining a failed import: match the captured error to the root causes learners hit, so a finding
names the cause and its fix rather than repeating the traceback."""

import os
import re
from dataclasses import dataclass
from typing import Optional, Tuple

from checks.commands import pip_install
from checks.packages import pairing_command
from checks.shadowing import shadowing_files
from doctor.findings import Fix, fix

# Module names that differ from the distribution that provides them.
DISTRIBUTION_FOR_MODULE = {
    "PIL": "pillow", "sklearn": "scikit-learn", "cv2": "opencv-python", "yaml": "pyyaml",
    "skimage": "scikit-image", "fasthtml": "python-fasthtml", "IPython": "ipython",
}


@dataclass(frozen=True)
class Explanation:
    cause: str
    fix: Optional[Fix]


def missing_module(message: str) -> Optional[str]:
    found = re.search(r"No module named '([^']+)'", message)
    return found.group(1) if found else None


def statement_package(statement: str) -> str:
    """The top-level package an import statement names: ``from fastai.vision.all import *`` -> fastai."""
    words = statement.split()
    return words[1].split(".")[0] if len(words) > 1 else ""


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

    shadows = [path for path in shadowing_files(facts)
               if path in text or any(f == path or f.startswith(path + os.sep) for f in files)]
    if shadows or "partially initialized module" in text:
        where = shadows[0] if shadows else "a local file"
        # A local torch.py or fastai.py gives circular-import and missing-attribute errors (knowledge.md #30).
        return Explanation(
            "%s shadows an installed package" % where,
            fix("Rename or move the file (and delete its __pycache__ folder), then restart the kernel."),
        )
    # Mismatched torchvision (knowledge.md #20).
    if "torchvision::nms does not exist" in text or "Couldn't load custom C++ ops" in text:
        return Explanation(
            "torchvision does not match the installed torch",
            fix("Install the torchvision built for this torch (see torchvision-pairing):", pairing_command(facts)),
        )
    # NumPy 2 with an extension built against NumPy 1.x (knowledge.md #21).
    if re.search(r"compiled using NumPy 1\.x|_ARRAY_API not found|numpy\.core\.multiarray failed to import", text):
        return Explanation(
            "an extension module was compiled for NumPy 1.x but NumPy 2 is installed",
            fix("Pin NumPy 1.x, or upgrade the package named in the traceback:", pip_install(facts, "numpy<2")),
        )
    if kind == "ModuleNotFoundError" and missing_module(message):
        module = missing_module(message)
        top = module.split(".")[0]
        if facts.distribution(DISTRIBUTION_FOR_MODULE.get(top, top)) is not None and "." in module:
            return Explanation(
                "%s is installed but has no module %s: an incomplete or mismatched install" % (top, module),
                fix("Reinstall it:", pip_install(facts, "--force-reinstall", DISTRIBUTION_FOR_MODULE.get(top, top))),
            )
        distribution = DISTRIBUTION_FOR_MODULE.get(top, top)
        return Explanation(
            "%s is not installed in %s" % (distribution, facts.python),
            fix("Install it into this interpreter (in a notebook: %%pip install %s):" % distribution,
                pip_install(facts, distribution)),
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


def probe_failure(outcome) -> Tuple[str, str]:
    """Title and detail for a probe that died instead of answering."""
    return outcome.reason or "the probe did not answer", outcome.stderr_tail.strip()
