"""Collection: run the probes against a target interpreter and assemble the Facts.

The parent process never imports torch and never changes its own ``os.environ``: every probe gets
an explicit copy of the environment and runs in the target's working directory.
"""

import os
import sys
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from doctor.facts import Facts, assemble_facts
from doctor.lessons import LESSONS
from doctor.probes import ProbeSpec, builtin_probes
from doctor.probes.runner import run_probes, skipped_outcome

# Modules a local file or folder most often shadows (knowledge.md #30).
SHADOWABLE_MODULES = (
    "torch", "torchvision", "fastai", "fastcore", "numpy", "PIL", "pandas", "ipywidgets", "matplotlib",
)


@dataclass(frozen=True)
class Target:
    """The interpreter to examine and the working directory its code would run in."""

    python: str = sys.executable
    cwd: str = os.getcwd()


def probe_environment() -> Mapping[str, str]:
    environment = dict(os.environ)
    # Probes answer in UTF-8 whatever the locale, and must not litter __pycache__ folders.
    environment["PYTHONIOENCODING"] = "utf-8"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def probe_arguments(lesson: int) -> Mapping[str, Mapping[str, object]]:
    profile = LESSONS[lesson]
    statements = [{"statement": s, "required": True} for s in profile.required]
    statements += [{"statement": s, "required": False} for s in profile.optional]
    return {"python": {"modules": list(SHADOWABLE_MODULES)}, "imports": {"statements": statements}}


def collect_facts(
    target: Target,
    lesson: int,
    quick: bool = False,
    probes: Optional[Sequence[ProbeSpec]] = None,
) -> Facts:
    specs = tuple(probes if probes is not None else builtin_probes())
    to_run = [spec for spec in specs if spec.quick or not quick]
    outcomes = run_probes(to_run, target.python, target.cwd, probe_environment(), probe_arguments(lesson))
    for spec in specs:
        if spec.name not in outcomes:
            outcomes[spec.name] = skipped_outcome(spec.name, "not run with --quick")
    return assemble_facts(target.python, target.cwd, quick, lesson, outcomes)
