"""Which PyTorch CUDA build fits this machine: one with kernels for every GPU's compute capability (torch's
own release table) whose CUDA runtime the installed NVIDIA driver can run (NVIDIA's minimums, per OS).

Shared by torch-build (a CPU wheel on a GPU machine), cuda-arch (a build without the GPU's kernels) and
cuda-driver (a driver too old for the build), so the three never recommend different indexes.
"""

import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.version import InvalidVersion, Version

# torch 2.14.1's PYTORCH_RELEASES_CODE_CC (torch/cuda/__init__.py; "Kept in sync with
# .ci/manywheel/build_cuda.sh"), for a torch too old to ship the table; copied 2026-12-02.
FALLBACK_RELEASES = {
    "12.6": {"x86_64": [50, 60, 70, 75, 80, 86, 90], "aarch64": [80, 90]},
    "13.0": {"x86_64": [75, 80, 86, 90, 100, 120], "aarch64": [80, 90, 100, 110, 120]},
    "13.2": {"x86_64": [75, 80, 86, 90, 100, 120], "aarch64": [80, 90, 100, 110, 120]},
    "13.4": {"x86_64": [75, 80, 86, 90, 100, 120], "aarch64": [80, 90, 100, 110, 120]},
}
FALLBACK_SOURCE = "torch 2.14.1's release table (copied 2026-12-02)"
INSTALLED_SOURCE = "the installed torch's PYTORCH_RELEASES_CODE_CC"

# Minimum driver per CUDA major with minor-version compatibility: NVIDIA CUDA Toolkit release notes, "CUDA
# Toolkit and Minimum Required Driver Version for CUDA Minor Version Compatibility" (Linux / Windows); 13.x is
# ">= 580" on every OS in docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html.
# Kept as NVIDIA spells them: Version("580.65.06") would print as 580.65.6.
MINIMUM_DRIVER_TEXT = {
    "linux": {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"},
    "windows": {11: "452.39", 12: "527.41", 13: "580"},
}

# Capabilities that run only code built for themselves, although the major matches: Jetson integrated
# GPUs (5.3, 6.2, 7.2, 8.7) and 10.1, which was renamed 11.0 (torch/cuda/__init__.py DEVICE_REQUIREMENT).
OWN_CODE_ONLY = (53, 62, 72, 87, 101)
RENAMED = (101, 110)
# From CUDA 13.2, sm_70/80/86 code also runs on the Jetsons 7.2 and 8.7 (torch/cuda/__init__.py
# DEVICE_REQUIREMENT_POST_JETSON_SBSA_UNIFICATION).
UNIFIED_FROM = (13, 2)
UNIFIED_JETSONS = (72, 87)


def cuda_tuple(cuda: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", cuda))


def code_serves(code_cc: int, device_cc: int, cuda: Optional[str] = None) -> bool:
    """Whether a cubin for ``code_cc`` (90 for sm_90) runs on a GPU of ``device_cc``, as torch's
    ``_code_compatible_with_device`` decides: same major, minor at least the code's, with the exceptions above."""
    if code_cc in RENAMED:
        return device_cc in RENAMED
    if code_cc in OWN_CODE_ONLY:
        return device_cc == code_cc
    unified = cuda is not None and cuda_tuple(cuda) >= UNIFIED_FROM and device_cc in UNIFIED_JETSONS
    if device_cc in OWN_CODE_ONLY and not unified:
        return False
    return device_cc // 10 == code_cc // 10 and device_cc >= code_cc


def capability_code(capability: Tuple[int, int]) -> int:
    return capability[0] * 10 + capability[1]


def host_arch(facts) -> str:
    """torch's ``_host_arch_key``: aarch64 or else x86_64."""
    return "aarch64" if _markers(facts).get("platform_machine", "").lower() == "aarch64" else "x86_64"


def driver_os(facts) -> str:
    return "windows" if _markers(facts).get("os_name") == "nt" else "linux"


def _markers(facts) -> Mapping[str, str]:
    return (facts.data("python") or {}).get("marker_environment") or {}


def release_table(facts) -> Tuple[Mapping[str, Mapping[str, Sequence[int]]], str]:
    """(CUDA version -> host arch -> codes, where it comes from): the installed torch's own table when it has one."""
    installed = (facts.data("packages") or {}).get("torch_release_capabilities")
    if installed:
        return installed, INSTALLED_SOURCE
    return FALLBACK_RELEASES, FALLBACK_SOURCE


def minimum_driver(facts, cuda: str) -> Optional[str]:
    """NVIDIA's minimum driver for a CUDA version on the target's OS, as NVIDIA spells it."""
    major = cuda_tuple(cuda)[:1]
    return MINIMUM_DRIVER_TEXT[driver_os(facts)].get(major[0]) if major else None


def driver_runs(facts, driver: Optional[str], cuda: str) -> Optional[bool]:
    """Whether the driver runs this CUDA version; None when the driver is unknown or unreadable."""
    need = minimum_driver(facts, cuda)
    try:
        return need is not None and Version(driver or "") >= Version(need)
    except InvalidVersion:
        return None


def index_name(cuda: str) -> str:
    return "cu" + cuda.replace(".", "")


# The outcomes of choose_build.
INSTALL = "install"          # a build serves every GPU and runs on the driver
UPDATE_DRIVER = "update-driver"  # builds serve every GPU, but the driver is too old for all of them
DRIVER_UNKNOWN = "driver-unknown"  # builds serve every GPU; the driver did not answer readably
NONE_SERVES_ALL = "none-serves-all"  # no single build has kernels for every GPU


@dataclass(frozen=True)
class BuildChoice:
    outcome: str
    cuda: Optional[str]  # the build to install (after a driver update for UPDATE_DRIVER)
    driver_needed: Optional[str]
    serving: Mapping[str, Tuple[str, ...]]  # CUDA version -> the GPUs (described) it serves
    source: str

    @property
    def index(self) -> Optional[str]:
        return index_name(self.cuda) if self.cuda else None


def describe_gpu(name: Optional[str], capability: Tuple[int, int]) -> str:
    return "%s (sm_%d%d)" % (name or "GPU", capability[0], capability[1])


def choose_build(facts, gpus: Sequence[Tuple[Optional[str], Tuple[int, int]]], driver: Optional[str],
                 exclude: Sequence[str] = ()) -> BuildChoice:
    """The CUDA build to recommend for these GPUs ((name, capability) pairs) and driver.

    Among builds with kernels for every GPU and a runtime the driver runs, the newest CUDA major and, within
    it, the oldest minor: a newer minor on the same driver works only with a limited feature set (NVIDIA's
    "Minor Version Compatibility"). ``exclude`` leaves out CUDA versions (the installed one).
    """
    table, source = release_table(facts)
    arch = host_arch(facts)
    serving: Dict[str, Tuple[str, ...]] = {}
    for cuda in sorted(table, key=cuda_tuple):
        if cuda in exclude:
            continue
        codes = (table[cuda] or {}).get(arch) or []
        served = tuple(describe_gpu(name, cap) for name, cap in gpus
                       if any(code_serves(int(code), capability_code(cap), cuda) for code in codes))
        if served or not gpus:
            serving[cuda] = served
    complete = [cuda for cuda, served in serving.items() if len(served) == len(gpus)]
    if not complete:
        return BuildChoice(NONE_SERVES_ALL, None, None, serving, source)
    runs = {cuda: driver_runs(facts, driver, cuda) for cuda in complete}
    if any(answer is None for answer in runs.values()):
        best = _preferred(complete)
        return BuildChoice(DRIVER_UNKNOWN, best, minimum_driver(facts, best), serving, source)
    runnable = [cuda for cuda in complete if runs[cuda]]
    if runnable:
        best = _preferred(runnable)
        return BuildChoice(INSTALL, best, minimum_driver(facts, best), serving, source)
    # The oldest build asks for the smallest driver update.
    oldest = min(complete, key=cuda_tuple)
    return BuildChoice(UPDATE_DRIVER, oldest, minimum_driver(facts, oldest), serving, source)


def _preferred(candidates: List[str]) -> str:
    newest_major = max(cuda_tuple(cuda)[0] for cuda in candidates)
    return min((cuda for cuda in candidates if cuda_tuple(cuda)[0] == newest_major), key=cuda_tuple)


def serving_text(choice: BuildChoice) -> str:
    """'cu126 serves GTX 1080 (sm_61); cu130, cu132 serve RTX 5090 (sm_120)' for a finding's detail."""
    if not choice.serving:
        return "no CUDA build in %s serves these GPUs" % choice.source
    builds: Dict[Tuple[str, ...], List[str]] = {}
    for cuda, gpus in choice.serving.items():
        builds.setdefault(gpus, []).append(index_name(cuda))
    return "; ".join("%s serve%s %s" % (", ".join(indexes), "s" if len(indexes) == 1 else "", ", ".join(gpus))
                     for gpus, indexes in builds.items()) + " (from %s)" % choice.source
