"""The ``mps-fallback`` fix: turn on PyTorch's CPU fallback for ops MPS lacks, for every new process of
one environment, before anything imports torch.

torch reads PYTORCH_ENABLE_MPS_FALLBACK once, when it loads (knowledge.md #1), so the variable has to be
in the process's environment before the first ``import torch``. A ``.pth`` file in the environment's
site-packages does that: ``site`` executes its ``import`` lines at interpreter start-up (Python docs,
"site — Site-specific configuration hook"). Unlike a kernelspec's ``env`` (notebooks only), a shell
profile (terminals only, every environment) or conda's env vars (only after ``conda activate``), it
reaches scripts and kernels alike, and only that environment. ``setdefault`` leaves a value the learner
set themselves in charge.
"""

import os
import sys
from pathlib import Path

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
