"""CUDA details for CUDA builds: the GPU's architecture is in the build, the driver is new enough for
the build's CUDA runtime, and cuDNN loads."""

import re

from packaging.version import InvalidVersion, Version

from checks.commands import PYTORCH_INDEX, pip_install
from doctor.findings import error, fix, ok, skipped
from doctor.registry import check

# Minimum Linux driver per CUDA major, with minor-version compatibility (knowledge.md #13; NVIDIA's
# CUDA Toolkit release notes, "CUDA Toolkit and Minimum Required Driver Version").
# Kept as NVIDIA spells them: Version("580.65.06") would print as 580.65.6.
MINIMUM_DRIVER_TEXT = {11: "450.80.02", 12: "525.60.13", 13: "580.65.06"}
MINIMUM_DRIVER = {major: Version(text) for major, text in MINIMUM_DRIVER_TEXT.items()}
# GPUs older than Turing (sm_75) are served only by the legacy cu126 builds.
LEGACY_ONLY_BELOW = (7, 5)
_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([a-z]?)$")


def parse_capability(text):
    """'9.0' or [9, 0] -> (9, 0); None when unreadable."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        return int(text[0]), int(text[1])
    found = re.match(r"^(\d+)\.(\d+)$", str(text or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def arch_runs_on(arch, capability):
    """Whether a torch.cuda.get_arch_list() entry serves a GPU of this capability.

    sm_XY (cubin) runs on the same major with minor >= Y; sm_XYa only on exactly X.Y; compute_XY (PTX)
    JIT-compiles on any capability >= X.Y (knowledge.md #12; CUDA C++ Programming Guide, "Binary
    Compatibility" and "PTX Compatibility").
    """
    found = _ARCH.match(arch)
    if not found:
        return False
    kind, major, minor, suffix = found.group(1), int(found.group(2)), int(found.group(3)), found.group(4)
    if kind == "compute":
        return capability >= (major, minor)
    if suffix:
        return capability == (major, minor)
    return capability[0] == major and capability[1] >= minor


def _cuda_facts(facts):
    build = facts.derived.torch_build
    if build is None or build.flavour != "cuda":
        return None, "not a CUDA build of torch"
    data = facts.data("torch")
    if not data or not data.get("importable"):
        return None, "torch did not import"
    return data["cuda"], None


def _capabilities(facts, cuda):
    """(name, capability) for every GPU, from torch when it sees them, else from the driver."""
    found = [(d.get("name"), parse_capability(d.get("capability")))
             for d in cuda.get("devices") or [] if "capability" in d]
    if not found:
        found = [(g.get("name"), parse_capability(g.get("compute_capability"))) for g in facts.derived.nvidia_gpus]
    return [(name, cap) for name, cap in found if cap is not None]


@check("cuda-arch", "Every GPU's architecture is compiled into the CUDA build", needs=("torch", "hardware"))
def cuda_arch(facts):
    cuda, reason = _cuda_facts(facts)
    if cuda is None:
        yield skipped(reason)
        return
    gpus = _capabilities(facts, cuda)
    if not gpus:
        yield skipped("no NVIDIA GPU present")
        return
    arch_list = cuda.get("arch_list") or []
    if not arch_list:
        # An unreadable (or unrecorded) arch list says nothing about which GPUs the build serves.
        yield skipped("torch.cuda.get_arch_list() gave nothing to compare: %s"
                      % (cuda.get("arch_list_error") or "an empty list"))
        return
    unsupported = [(name, cap) for name, cap in gpus if not any(arch_runs_on(a, cap) for a in arch_list)]
    if unsupported:
        described = ", ".join("%s (sm_%d%d)" % (name, cap[0], cap[1]) for name, cap in unsupported)
        oldest = min(cap for _, cap in unsupported)
        if oldest < LEGACY_ONLY_BELOW:
            # CUDA 13 builds serve Turing (7.5) and newer; only the cu126 builds still ship Maxwell, Pascal and
            # Volta (pytorch#172352 and #190385: cu126 stays as "Legacy" in torch 2.14).
            advice, command = ("the cu126 build, the last that ships Maxwell, Pascal and Volta",
                               pip_install(facts, "--force-reinstall", "torch", "torchvision",
                                           index_url=PYTORCH_INDEX + "cu126"))
        else:
            advice, command = ("a newer build (cu128 or later serves sm_120)",
                               pip_install(facts, "--upgrade", "torch", "torchvision",
                                           index_url=PYTORCH_INDEX + "cu130"))
        yield error(
            "torch has no kernels for %s: \"no kernel image is available for execution on the device\"" % described,
            detail="compiled for: %s" % " ".join(arch_list),
            fix=fix("Install %s:" % advice, command),
        )
        return
    yield ok("compiled for %s" % ", ".join("%s (sm_%d%d)" % (n, c[0], c[1]) for n, c in gpus),
             detail="arch list: %s" % " ".join(arch_list))


@check("cuda-driver", "The NVIDIA driver is new enough for the build's CUDA runtime", needs=("hardware",))
def cuda_driver(facts):
    build = facts.derived.torch_build
    if build is None or build.flavour != "cuda" or not build.cuda_version:
        yield skipped("not a CUDA build of torch")
        return
    driver = ((facts.data("hardware") or {}).get("nvidia") or {}).get("driver_version")
    if not driver:
        yield skipped("no NVIDIA driver answered")
        return
    try:
        runtime_major = Version(build.cuda_version).major
        installed = Version(driver)
    except InvalidVersion:
        yield skipped("cannot read driver %r or CUDA %r" % (driver, build.cuda_version))
        return
    minimum = MINIMUM_DRIVER.get(runtime_major)
    if minimum is not None and installed < minimum:
        # "The NVIDIA driver on your system is too old" (knowledge.md #13).
        older = [cuda for cuda, need in sorted(MINIMUM_DRIVER.items()) if installed >= need]
        yield error(
            "NVIDIA driver %s is too old for CUDA %s (needs %s or newer)"
            % (driver, build.cuda_version, MINIMUM_DRIVER_TEXT[runtime_major]),
            detail="torch %s was built with CUDA %s." % (build.version, build.cuda_version),
            fix=fix("Update the NVIDIA driver, or install a torch build for an older CUDA%s."
                    % (" (CUDA %d.x works with this driver)" % older[-1] if older else "")),
        )
        return
    yield ok("driver %s runs CUDA %s" % (driver, build.cuda_version))


@check("cudnn", "cuDNN loads, and it is the version torch was built with", needs=("torch",))
def cudnn(facts):
    cuda, reason = _cuda_facts(facts)
    if cuda is None:
        yield skipped(reason)
        return
    library_path = ((facts.data("python") or {}).get("environment_variables") or {}).get("LD_LIBRARY_PATH")
    if cuda.get("cudnn_error") or not cuda.get("cudnn_available"):
        # A wrong libcudnn on LD_LIBRARY_PATH: "cuDNN version incompatibility" (knowledge.md #14).
        yield error(
            "cuDNN does not load: %s" % (cuda.get("cudnn_error") or "torch.backends.cudnn.is_available() is False"),
            detail="LD_LIBRARY_PATH=%s" % (library_path or "(unset)"),
            fix=fix("Unset LD_LIBRARY_PATH (or remove other CUDA/cuDNN folders from it) and restart; torch ships "
                    "its own cuDNN.", "unset LD_LIBRARY_PATH"),
        )
        return
    version = cuda.get("cudnn_version")
    yield ok("cuDNN %s" % _cudnn_text(version))


def _cudnn_text(version):
    # torch.backends.cudnn.version() encodes 9.24.0 as 92400 (major*10000 + minor*100 + patch) for cuDNN 9.
    # cuDNN 8 encodes 8.9.7 as 8907 (major*1000 + minor*100 + patch).
    if isinstance(version, int) and version >= 90000:
        return "%d.%d.%d" % (version // 10000, version % 10000 // 100, version % 100)
    if isinstance(version, int) and version >= 1000:
        return "%d.%d.%d" % (version // 1000, version % 1000 // 100, version % 100)
    return str(version)
