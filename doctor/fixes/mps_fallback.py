"""The ``mps-fallback`` fix: turn on PyTorch's CPU fallback for ops MPS lacks, for every new process of
one environment, before anything imports torch.

torch reads PYTORCH_ENABLE_MPS_FALLBACK once, when it loads (aten/src/ATen/mps/MPSFallback.mm), so the variable has
to be in the process's environment before the first ``import torch``. A ``.pth`` file in the environment's
site-packages does that: ``site`` executes its ``import`` lines at interpreter start-up (Python docs,
"site — Site-specific configuration hook"). Unlike a kernelspec's ``env`` (notebooks only), a shell
profile (terminals only, every environment) or conda's env vars (only after ``conda activate``), it
reaches scripts and kernels alike, and only that environment. ``setdefault`` leaves a value the learner
set themselves in charge, so a 0 set before Python starts (conda env vars, an activate.d script, a shell
profile, a kernelspec's ``env``) wins, and ``python -S`` skips ``.pth`` files altogether: the plan refuses
then and names where to change it (``preset_blockers``).
"""

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from doctor.facts import Facts
from doctor.fixes import FileWrite, FixDefinition, FixRefused, Plan, check_writable

FIX_ID = "mps-fallback"
VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
FILE_NAME = "dl_doctor_mps_fallback.pth"
CONTENT = (
    "# Written by `dl-doctor fix` (mps-fallback): turns on PyTorch's CPU fallback for ops the Apple GPU lacks,\n"
    "# in every process of this environment, before torch is imported. `dl-doctor fix --undo` removes it.\n"
    "import os; os.environ.setdefault('PYTORCH_ENABLE_MPS_FALLBACK', '1')\n"
).encode("utf-8")


# torch parses the value with std::stoi (aten/src/ATen/mps/MPSFallback.mm): leading spaces, a sign and
# digits within a C int, what follows ignored. ASCII: std::isspace and the digits stoi knows.
_INTEGER = re.compile(r"^\s*[-+]?\d+", re.ASCII)
_INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)


def fallback_value_valid(value: str) -> bool:
    found = _INTEGER.match(value)
    return bool(found) and _INT_RANGE[0] <= int(found.group(0)) <= _INT_RANGE[1]


def fallback_turns_on(value: Optional[str]) -> bool:
    return value is not None and fallback_value_valid(value) and int(_INTEGER.match(value).group(0)) != 0


@dataclass(frozen=True)
class Blocker:
    """Something that keeps the start-up hook from turning the fallback on, and how the learner changes it."""

    where: str
    change: str
    command: Optional[str] = None

    @property
    def advice(self) -> str:
        return "%s: %s%s" % (self.where, self.change, " (`%s`)" % self.command if self.command else "")


def preset_blockers(facts: Facts) -> List[Blocker]:
    """Where a value that keeps the fallback off is set before Python starts, or where ``-S`` skips the hook."""
    notebook = facts.data("notebook") or {}
    prefix = (facts.data("python") or {}).get("prefix")
    blockers = [_preset_blocker(preset, prefix) for preset in notebook.get("fallback_presets") or []
                if not fallback_turns_on(preset.get("value"))]
    for spec in notebook.get("kernelspecs") or []:
        if prefix is None or spec.get("prefix") != prefix:
            continue
        value = spec.get("fallback_variable")
        if value is not None and not fallback_turns_on(value):
            blockers.append(Blocker("the \"env\" of kernelspec %s (%s)" % (spec["name"], spec["path"]),
                                    'set "%s": "1" in its "env", then restart the kernel' % VARIABLE))
        if spec.get("no_site"):
            blockers.append(Blocker("-S in the argv of kernelspec %s (%s), which skips site-packages hooks"
                                    % (spec["name"], spec["path"]), "remove -S from its \"argv\", then restart "
                                                                   "the kernel"))
    process = facts.data("process") or {}
    if process.get("kernel") and process.get("no_site"):
        blockers.append(Blocker("this kernel, started with -S, which skips site-packages hooks",
                                "remove -S from the kernel's command line (its kernelspec \"argv\"), then restart "
                                "the kernel"))
    running = _value_in_running_environment(facts)
    if not blockers and running is not None and not fallback_turns_on(running):
        blockers.append(Blocker("the environment this Python started with",
                                "find where it is set (a shell profile, an IDE's environment settings, a "
                                "launcher) and use 1 there"))
    return blockers


def _preset_blocker(preset, prefix) -> Blocker:
    path, line = preset.get("path"), preset.get("line")
    where = "%s%s" % (path, ":%d" % line if line else "")
    if preset.get("kind") == "conda-env-vars":
        return Blocker("conda env vars of %s (%s)" % (prefix, path),
                       "set it to 1 in the environment's conda variables, then `conda deactivate` and `conda "
                       "activate` it again",
                       "conda env config vars set %s=1 -p %s" % (VARIABLE, prefix))
    if preset.get("kind") == "conda-activate-script":
        return Blocker("the conda activation script %s" % where,
                       "change that line to `export %s=1`, then `conda deactivate` and `conda activate` the "
                       "environment again" % VARIABLE)
    return Blocker("the shell profile %s" % where,
                   "change that line to `export %s=1` (or delete it), then open a new terminal" % VARIABLE)


def _value_in_running_environment(facts: Facts) -> Optional[str]:
    ops = facts.data("ops") or {}
    if ops.get("fallback_variable") is not None:
        return ops["fallback_variable"]
    return ((facts.data("python") or {}).get("environment_variables") or {}).get(VARIABLE)


def _site_packages(python) -> Path:
    prefix = python["prefix"]
    for folder in python.get("site_packages") or []:
        if Path(folder).resolve().is_relative_to(Path(prefix).resolve()):
            return Path(folder)
    raise FixRefused("no site-packages folder inside %s" % prefix)


def plan_mps_fallback(facts: Facts) -> Plan:
    python = facts.data("python")
    if python is None:
        raise FixRefused("the interpreter did not answer (see probes-answered)")
    if python.get("externally_managed"):
        raise FixRefused("%s is managed by the operating system (PEP 668); make a virtual environment for the "
                         "course and fix that one" % python["prefix"])
    blockers = preset_blockers(facts)
    if blockers:
        raise FixRefused("a start-up hook cannot turn the fallback on here (it only sets %s where nothing set it "
                         "before): %s" % (VARIABLE, "; ".join(b.advice for b in blockers)))
    folder = _site_packages(python)
    check_writable(folder, python["prefix"])
    return Plan(
        fix_id=FIX_ID,
        summary="turn on PYTORCH_ENABLE_MPS_FALLBACK for every process of %s" % python["prefix"],
        writes=(FileWrite(str(folder / FILE_NAME), CONTENT,
                          "an interpreter-start hook that sets the variable before torch is imported"),),
        rechecks=("mps-fallback-variable", "mps-fallback"),
        prefix=python["prefix"],
        notes=("Restart running kernels and Python processes: torch reads the variable when it is imported.",),
    )


def set_in_this_process() -> str:
    """Inside a kernel where torch is not imported yet, the variable still takes effect if set now."""
    if "torch" in sys.modules:
        return ("mps-fallback: torch is already imported in this kernel, so the variable takes effect after a "
                "restart of the kernel")
    os.environ.setdefault(VARIABLE, "1")
    return "mps-fallback: %s=%s set in this kernel (torch is not imported yet)" % (VARIABLE, os.environ[VARIABLE])


MPS_FALLBACK = FixDefinition(FIX_ID, "turn on PyTorch's CPU fallback for ops MPS lacks, in this environment",
                             plan_mps_fallback, set_in_this_process)
