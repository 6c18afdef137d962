"""CUDA details for CUDA builds: the GPU's architecture is in the build, the driver is new enough for
the build's CUDA runtime, and cuDNN loads."""

import re

from packaging.version import InvalidVersion, Version

from doctor.findings import error, fix, info, ok, skipped
from doctor.registry import check

from .commands import PYTORCH_INDEX, pip_install
from .cuda_releases import (DRIVER_UNKNOWN, INSTALL, UPDATE_DRIVER, capability_code,
                            choose_build, code_serves, describe_gpu, driver_os, minimum_driver, serving_text)

# torch.cuda.get_arch_list() entries: sm_XY (cubin), sm_XYa / sm_XYf (architecture- / family-specific cubin),
# compute_XY (PTX); torch reads the number as _extract_arch_version does (torch/cuda/__init__.py).
_ARCH = re.compile(r"^(sm|compute)_(\d+)([af]?)$")
CUBIN, PTX = "cubin", "ptx"


def parse_capability(text):
    """'9.0' or [9, 0] -> (9, 0); None when unreadable."""
    if isinstance(text, (list, tuple)) and len(text) == 2:
        return int(text[0]), int(text[1])
    found = re.match(r"^(\d+)\.(\d+)$", str(text or ""))
    return (int(found.group(1)), int(found.group(2))) if found else None


def arch_serves(arch, capability):
    """How an arch-list entry serves a GPU: CUBIN, PTX (JIT-compiled at first use) or None.

    sm_XY runs as torch's _code_compatible_with_device says (same major, minor >= Y, Jetson exceptions);
    sm_XYa only on exactly X.Y and sm_XYf on its family (same major, minor >= Y) (CUDA C++ Programming
    Guide, "Feature Availability"); compute_XY PTX JIT-compiles on any capability >= X.Y ("PTX Compatibility").
    """
    found = _ARCH.match(arch)
    if not found:
        return None
    kind, code, suffix = found.group(1), int(found.group(2)), found.group(3)
    device = capability_code(capability)
    if kind == "compute":
        return PTX if device >= code else None
    if suffix == "a":
        return CUBIN if device == code else None
    return CUBIN if code_serves(code, device) else None


def torch_warns_about(arch_list, capability):
    """Whether torch's own start-up checks warn about this GPU: _check_capability (no entry serves it by its
    rule) or _check_cubins (no sm_ entry of the GPU's major) in torch/cuda/__init__.py."""
    device = capability_code(capability)
    codes = [(kind, int(number)) for kind, number, _ in (_ARCH.match(a).groups() for a in arch_list if _ARCH.match(a))]
    capability_ok = any(code_serves(code, device) for _, code in codes)
    cubin_ok = any(kind == "sm" and code // 10 == capability[0] for kind, code in codes)
    return not (capability_ok and cubin_ok)


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


def build_fix(facts, choice, gpus, driver, installed_cuda=None):
    """The fix that moves to the build choose_build picked: a pip command only when it can work now."""
    described = ", ".join(describe_gpu(name, cap) for name, cap in gpus) or "your GPUs"
    if choice.outcome == INSTALL:
        return fix("Install the %s build (CUDA %s), which has kernels for %s and runs on driver %s:"
                   % (choice.index, choice.cuda, described, driver),
                   pip_install(facts, "--force-reinstall", "torch", "torchvision",
                               index_url=PYTORCH_INDEX + choice.index))
    if choice.outcome in (UPDATE_DRIVER, DRIVER_UNKNOWN):
        then = "" if choice.cuda == installed_cuda else ", then install the %s build: %s" % (
            choice.index, pip_install(facts, "--force-reinstall", "torch", "torchvision",
                                      index_url=PYTORCH_INDEX + choice.index))
        why = ("every CUDA build of torch with kernels for %s needs a newer driver than %s" % (described, driver)
               if choice.outcome == UPDATE_DRIVER
               else "driver version %r is unreadable" % driver if driver else "the driver's version is unknown")
        return fix("Update the NVIDIA driver to %s or newer (%s)%s." % (choice.driver_needed, why, then))
    if not choice.serving:
        return fix("No CUDA build of this torch has kernels for %s: an older torch release may "
                   "(https://pytorch.org/get-started/previous-versions/), or use a free GPU notebook (Kaggle, Colab)."
                   % described)
    return fix("No single CUDA build of torch has kernels for every GPU here (%s). Pick the course's GPU with "
               "CUDA_VISIBLE_DEVICES and install the build that serves it." % serving_text(choice))


def _driver_version(facts):
    return ((facts.data("hardware") or {}).get("nvidia") or {}).get("driver_version")


@check("cuda-arch", "Every GPU's architecture is compiled into the CUDA build", needs=("torch", "hardware"),
       reads=('packages', 'python'), topic="cuda")
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
    served = {gpu: {arch_serves(a, gpu[1]) for a in arch_list} for gpu in gpus}
    unsupported = [gpu for gpu in gpus if served[gpu] <= {None}]
    if unsupported:
        build = facts.derived.torch_build
        choice = choose_build(facts, gpus, _driver_version(facts), exclude=(build.cuda_version,))
        yield error(
            "torch has no kernels for %s: \"no kernel image is available for execution on the device\""
            % ", ".join(describe_gpu(*gpu) for gpu in unsupported),
            detail="compiled for: %s\n%s" % (" ".join(arch_list), serving_text(choice)),
            fix=build_fix(facts, choice, gpus, _driver_version(facts)),
        )
        return
    jit = [gpu for gpu in gpus if CUBIN not in served[gpu]]
    if jit:
        warned = [gpu for gpu in jit if torch_warns_about(arch_list, gpu[1])]
        yield info(
            "%s run%s only through PTX: the first run JIT-compiles the kernels (slow, minutes)%s"
            % (", ".join(describe_gpu(*gpu) for gpu in jit), "s" if len(jit) == 1 else "",
               " and torch warns that the GPU \"is not compatible with the current PyTorch installation\""
               if warned else ""),
            detail="arch list: %s (compute_XY is PTX, sm_XY a compiled kernel)" % " ".join(arch_list),
            fix=fix("It works; later runs reuse the JIT cache (~/.nv/ComputeCache). A build with sm_%d%d kernels "
                    "starts faster." % jit[0][1]),
        )
        return
    yield ok("compiled for %s" % ", ".join(describe_gpu(*gpu) for gpu in gpus),
             detail="arch list: %s" % " ".join(arch_list))


def _gpus_for_driver_check(facts):
    data = facts.data("torch")
    cuda = (data or {}).get("cuda") if (data or {}).get("importable") else None
    return _capabilities(facts, cuda or {})


def _parsed_version(text):
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _old_driver_fix(facts, build, driver, minimum):
    """Update the driver; or, when another build serves every GPU on this driver, install that one instead."""
    gpus = _gpus_for_driver_check(facts)
    other = choose_build(facts, gpus, driver, exclude=(build.cuda_version,))
    if other.outcome == INSTALL:
        instead = build_fix(facts, other, gpus, driver)
        return fix("Update the NVIDIA driver to %s or newer, or: %s" % (minimum, instead.text), *instead.commands)
    anything = choose_build(facts, gpus, driver)
    if anything.outcome == UPDATE_DRIVER:
        return build_fix(facts, anything, gpus, driver, installed_cuda=build.cuda_version)
    return fix("Update the NVIDIA driver to %s or newer (%s)." % (minimum, serving_text(anything)))


@check("cuda-driver", "The NVIDIA driver is new enough for the build's CUDA runtime", needs=("hardware",),
       reads=('torch', 'packages', 'python'), topic="cuda")
def cuda_driver(facts):
    build = facts.derived.torch_build
    if build is None or build.flavour != "cuda" or not build.cuda_version:
        yield skipped("not a CUDA build of torch")
        return
    driver = _driver_version(facts)
    if not driver:
        yield skipped("no NVIDIA driver answered")
        return
    minimum = minimum_driver(facts, build.cuda_version)
    installed = _parsed_version(driver)
    if minimum is None or installed is None:
        yield skipped("cannot read driver %r or CUDA %r" % (driver, build.cuda_version))
        return
    if installed < Version(minimum):
        # "The NVIDIA driver on your system is too old" at the first CUDA call.
        yield error(
            "NVIDIA driver %s is too old for CUDA %s (needs %s or newer on %s)"
            % (driver, build.cuda_version, minimum, "Windows" if driver_os(facts) == "windows" else "Linux"),
            detail="torch %s was built with CUDA %s." % (build.version, build.cuda_version),
            fix=_old_driver_fix(facts, build, driver, minimum),
        )
        return
    yield ok("driver %s runs CUDA %s" % (driver, build.cuda_version))


@check("cudnn", "cuDNN loads, and it is the version torch was built with", needs=("torch",),
       reads=('packages', 'python'), topic="cuda")
def cudnn(facts):
    cuda, reason = _cuda_facts(facts)
    if cuda is None:
        yield skipped(reason)
        return
    library_path = ((facts.data("python") or {}).get("environment_variables") or {}).get("LD_LIBRARY_PATH")
    if cuda.get("cudnn_error") or not cuda.get("cudnn_available"):
        # A wrong libcudnn on LD_LIBRARY_PATH: "cuDNN version incompatibility" (torch/backends/cudnn/__init__.py _init).
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
