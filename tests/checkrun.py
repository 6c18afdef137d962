"""Helpers for the check tests: run one check through the real engine (so findings carry their id and
category, and ``needs`` is honoured), read a finding's words, and build the common machine variants
from layers of ``make_facts`` keywords."""

from typing import Any, Dict, List, Mapping, Sequence

from doctor.engine import run_check
from doctor.facts import Facts, assemble_facts
from doctor.findings import Finding
from doctor.registry import registered_checks
from factories import deep_merge, make_facts, ok_outcome

SPECS = {spec.id: spec for spec in registered_checks()}


def findings(check_id: str, facts: Facts) -> List[Finding]:
    return run_check(SPECS[check_id], facts)


def one(check_id: str, facts: Facts) -> Finding:
    """The single finding a check gives; every check here reports exactly one."""
    found = findings(check_id, facts)
    assert len(found) == 1, found
    assert found[0].id == check_id
    assert not found[0].crashed, found[0].detail
    return found[0]


def commands(finding: Finding) -> Sequence[str]:
    return finding.fix.commands if finding.fix else ()


def words(finding: Finding) -> str:
    """Everything a user reads in a finding, for keyword assertions."""
    parts = [finding.title, finding.detail]
    if finding.fix:
        parts.append(finding.fix.text)
        parts.extend(finding.fix.commands)
    return "\n".join(parts)


def build(*layers: Mapping[str, Any], **keywords: Any) -> Facts:
    """``make_facts`` with several layers of its keywords deep-merged, later layers winning."""
    merged: Dict[str, Any] = {}
    for layer in layers + (keywords,):
        merged = deep_merge(merged, layer)
    return make_facts(**merged)


def without_probe(facts: Facts, name: str) -> Facts:
    """The same facts as if the probe had never been asked (no outcome at all)."""
    probes = {key: value for key, value in facts.probes.items() if key != name}
    return assemble_facts(facts.python, facts.cwd, facts.quick, facts.lesson, probes)


def import_error(kind: str, message: str, traceback: str = "", files: Sequence[str] = ()) -> Dict[str, Any]:
    """An error record as the probes write it (prelude ``_doctor_error``)."""
    return {"type": kind, "message": message,
            "traceback": traceback or "Traceback (most recent call last):\n%s: %s\n" % (kind, message),
            "files": list(files)}


NO_CUDA_TORCH = {"available": False, "available_error": None, "device_count": 0, "arch_list": [],
                 "arch_list_error": None, "devices": [], "cudnn_available": False, "cudnn_error": None,
                 "cudnn_version": None}

# A CPU-only wheel (torch 2.14.1+cpu) on the default machine, which has an NVIDIA H100 and driver 580.
CPU_TORCH: Dict[str, Any] = {
    "torch": {"version": "2.14.1+cpu", "cuda_version": None, "cuda": NO_CUDA_TORCH},
    "packages": {"version_modules": {"torch": {"__version__": "2.14.1+cpu", "cuda": None, "hip": None, "xpu": None},
                                     "torchvision": {"__version__": "0.29.1+cpu"}}},
    "imports": {"fastai_default_device": "cpu"},
}

# No NVIDIA GPU answered (neither NVML nor nvidia-smi).
NO_NVIDIA: Dict[str, Any] = {
    "hardware": {"nvidia": {"source": None, "driver_version": None, "gpus": [],
                            "error": "nvml: NVMLError_LibraryNotFound; nvidia-smi: FileNotFoundError"}},
}

# An Apple Silicon Mac (arm64 Python, macOS 15.1) with the standard macOS arm64 torch, MPS working.
APPLE_ARM64: Dict[str, Any] = {
    "python": {
        "marker_environment": {"sys_platform": "darwin", "platform_machine": "arm64", "platform_system": "Darwin",
                               "platform_release": "24.1.0"},
        "apple": {"macos_version": "15.1", "rosetta_translated": False, "arm64_hardware": True},
        "multiprocessing_start_method": "spawn",
    },
    "hardware": dict(NO_NVIDIA["hardware"], machine="arm64", system="Darwin", cpu_model="Apple M3"),
    "torch": {"version": "2.14.1", "cuda_version": None, "cuda": NO_CUDA_TORCH,
              "mps": {"built": True, "available": True, "error": None}},
    "packages": {"version_modules": {"torch": {"__version__": "2.14.1", "cuda": None, "hip": None, "xpu": None},
                                     "torchvision": {"__version__": "0.29.1"}}},
    "imports": {"fastai_default_device": "mps"},
}


def failed_torch_import(error: Mapping[str, Any]) -> Dict[str, Any]:
    """The torch probe's answer when ``import torch`` raised (the probe's own record shape)."""
    return {"outcomes": {"torch": ok_outcome("torch", {"importable": False, "error": dict(error),
                                                       "import_seconds": 0.2})}}


def torch_missing() -> Dict[str, Any]:
    """torch is not installed at all: no distribution, no torch/version.py, and import fails."""
    return dict(
        failed_torch_import(import_error("ModuleNotFoundError", "No module named 'torch'")),
        distributions={"torch": None, "torchvision": None, "fastai": None},
        packages={"version_modules": {"torch": None, "torchvision": None}},
    )


def environment(**variables: str) -> Dict[str, Any]:
    return {"python": {"environment_variables": dict(variables)}}

