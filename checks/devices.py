"""The torch build against the hardware: a CPU wheel on a GPU machine, a CUDA build without a GPU,
MPS on Apple Silicon, an x86_64 Python under Rosetta, and the device fastai will actually pick."""

from packaging.version import InvalidVersion, Version

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

from .commands import pip_install
from .cuda import build_fix, parse_capability
from .cuda_releases import choose_build, serving_text

GET_STARTED = "https://pytorch.org/get-started/locally/"
FREE_GPUS = "Kaggle and Google Colab give free GPU notebooks for the course."
# MPS needs macOS 12.3 or newer ("The MPS backend is supported on MacOS 12.3+", torch's MPS notes); newer
# torch releases raised the floor to 13.0 (pytorch#133141) and then 14.0.
MPS_MINIMUM_MACOS = Version("12.3")
MPS_CURRENT_MACOS = Version("14.0")


def _driver_gpus(facts):
    """(name, capability) of every GPU the driver reports with a readable compute capability."""
    found = [(gpu.get("name"), parse_capability(gpu.get("compute_capability"))) for gpu in facts.derived.nvidia_gpus]
    return [(name, cap) for name, cap in found if cap is not None]


def _apple(facts):
    return (facts.data("python") or {}).get("apple") or None


def _gpu_names(facts):
    return ", ".join(gpu.get("name") or "?" for gpu in facts.derived.nvidia_gpus)


def _torch(facts):
    data = facts.data("torch")
    return data if data and data.get("importable") else None


def _why_not_imported(facts):
    outcome = facts.outcome("torch")
    if outcome is None or outcome.status == "skipped":
        return "not imported with --quick"
    return "import torch failed: see torch-import"


@check("torch-build", "The torch build (cpu, cuda, rocm, xpu, mps) fits the hardware present", needs=("hardware",),
       reads=('torch', 'packages', 'python'), topic="devices")
def torch_build(facts):
    build = facts.derived.torch_build
    if build is None:
        yield skipped("torch is not installed")
        return
    torch = _torch(facts)
    gpus = facts.derived.nvidia_gpus
    driver = ((facts.data("hardware") or {}).get("nvidia") or {}).get("driver_version")
    apple = _apple(facts)
    described = "torch %s (%s build)" % (build.version, build.flavour)
    if gpus:
        if build.flavour == "cuda":
            if torch is None:
                yield info("%s; %d NVIDIA GPU(s): %s (%s)" % (described, len(gpus), _gpu_names(facts),
                                                             _why_not_imported(facts)))
            elif torch["cuda"].get("available"):
                yield ok("%s uses %s" % (described, _gpu_names(facts)))
            else:
                yield error("%s cannot use the GPU: torch.cuda.is_available() is False" % described,
                            detail="GPUs: %s; driver %s\n%s" % (_gpu_names(facts), driver,
                                                              torch["cuda"].get("available_error") or ""),
                            fix=fix("See cuda-driver and cuda-arch; restart after changing drivers."))
            return
        choice = choose_build(facts, _driver_gpus(facts), driver)
        # "Torch not compiled with CUDA enabled" (torch/cuda/__init__.py _lazy_init).
        yield error(
            "%s on a machine with an NVIDIA GPU (%s): the GPU stays idle" % (described, _gpu_names(facts)),
            detail="NVIDIA driver %s. Lessons would run on the CPU, many times slower; fastai prints nothing about "
                   "it.\n%s" % (driver, serving_text(choice)),
            fix=build_fix(facts, choice, _driver_gpus(facts), driver),
            links=(GET_STARTED,),
        )
        return
    if build.flavour == "mps":
        yield from _apple_build(facts, described, torch, apple)
        return
    if build.flavour in ("rocm", "xpu") and torch is None:
        # Whether the GPU is usable is only known from torch itself.
        yield info("%s (GPU not checked: %s)" % (described, _why_not_imported(facts)))
        return
    if build.flavour == "rocm":
        if torch is not None and torch["cuda"].get("available"):
            yield ok("%s uses the AMD GPU" % described)
        else:
            yield error("%s but no AMD GPU is usable" % described,
                        detail="Consumer RDNA cards need HSA_OVERRIDE_GFX_VERSION.",
                        fix=fix("Check `rocminfo`; for consumer cards try HSA_OVERRIDE_GFX_VERSION=10.3.0 or 11.0.0."))
        return
    if build.flavour == "xpu":
        if torch is not None and torch["xpu"].get("available"):
            yield ok("%s uses the Intel GPU" % described)
        else:
            yield warning("%s but no Intel GPU is usable: lessons will run on the CPU, slowly" % described,
                          fix=fix("Install Intel's GPU driver, or use a CPU build."))
        return
    # A CPU-only machine is a warning, never an error (issue #2).
    yield warning(
        "no GPU found: lessons will run on the CPU, slowly",
        detail="%s is a %s build; no NVIDIA GPU answered (NVML / nvidia-smi). %s"
        % ("torch " + build.version, build.flavour, FREE_GPUS),
        fix=fix("Use a GPU notebook for training, or keep image sizes and epochs small here."),
    )


def _apple_build(facts, described, torch, apple):
    if torch is None:
        yield info("%s on Apple Silicon (MPS not checked: %s)" % (described, _why_not_imported(facts)))
        return
    mps = torch.get("mps") or {}
    macos = (apple or {}).get("macos_version")
    if mps.get("available"):
        yield ok("%s uses the Apple GPU (MPS), macOS %s" % (described, macos))
        return
    if not mps.get("built"):
        yield error("%s was built without MPS" % described,
                    fix=fix("Install the standard macOS arm64 build:",
                            pip_install(facts, "--force-reinstall", "torch")))
        return
    try:
        too_old = macos is not None and Version(macos) < MPS_MINIMUM_MACOS
    except InvalidVersion:
        too_old = False
    try:
        maybe_old = macos is not None and Version(macos) < MPS_CURRENT_MACOS
    except InvalidVersion:
        maybe_old = False
    if too_old:
        yield error("macOS %s is too old for MPS (needs %s+; newer torch needs 14+)" % (macos, MPS_MINIMUM_MACOS),
                    fix=fix("Update macOS, or train on the CPU."))
    elif maybe_old:
        yield error("MPS is built but unavailable on macOS %s: this torch likely needs a newer macOS" % macos,
                    detail="Recent torch releases need macOS 13 or 14 for MPS. %s" % (mps.get("error") or ""),
                    fix=fix("Update macOS to 14 or newer, or install an older torch, or train on the CPU."))
    else:
        # An OS new enough but no Metal device: sandboxed or headless processes (pytorch#167679, #177819).
        yield error("MPS is built but unavailable on macOS %s: no Metal device is visible to this process" % macos,
                    detail=mps.get("error") or "",
                    fix=fix("Run Python from a normal login session (not sandboxed or over SSH without a GUI "
                            "session) and restart the kernel."))


@check("apple-rosetta", "On Apple Silicon, Python runs natively (arm64), not as x86_64 under Rosetta",
       needs=("python",), topic="devices")
def apple_rosetta(facts):
    apple = _apple(facts)
    if apple is None:
        yield skipped("not a Mac")
        return
    machine = (facts.data("python") or {}).get("marker_environment", {}).get("platform_machine")
    # sysctl.proc_translated is 1 for a process under Rosetta (Apple, "About the Rosetta translation environment").
    if apple.get("rosetta_translated") or (machine == "x86_64" and apple.get("arm64_hardware")):
        yield error(
            "x86_64 Python running under Rosetta on an Apple chip: no MPS, and no torch after 2.2.2",
            detail="platform.machine() is x86_64 while the hardware is arm64.",
            fix=fix("Install an arm64 Python (python.org's universal installer, or Miniforge for arm64) and "
                    "make the course environment with it."),
        )
        return
    yield ok("native %s Python" % machine)


@check("fastai-device", "The device fastai's default_device() picks is one torch can use", needs=("imports",),
       reads=('torch', 'packages', 'python'), topic="devices")
def fastai_device(facts):
    imports = facts.data("imports")
    device = imports.get("fastai_default_device")
    if device is None:
        reason = imports.get("fastai_default_device_error") or "fastai did not import"
        yield skipped("fastai's device is unknown: %s" % reason)
        return
    torch = _torch(facts) or {}
    mps = torch.get("mps") or {}
    cuda = torch.get("cuda") or {}
    # fastai's _has_mps() is True when MPS is merely built, so it picks MPS where it cannot work
    # (fastai/torch_core.py default_device; fastai#3952).
    if device.startswith("mps") and not mps.get("available"):
        yield error(
            "fastai will train on MPS, which torch cannot use here",
            detail="fastai's default_device() checks torch.backends.mps.is_built(), not is_available().",
            fix=fix("At the top of the notebook, before creating DataLoaders: default_device(False)  "
                    "# from fastai.torch_core: train on the CPU"),
        )
        return
    if device == "cpu" and cuda.get("available"):
        yield warning("fastai will train on the CPU although CUDA is available",
                      fix=fix("Remove `defaults.use_cuda = False` / `default_device(False)` from your setup."))
        return
    if device == "cpu" and (torch.get("xpu") or {}).get("available"):
        yield from _fastai_skips_xpu()
        return
    if device == "cpu":
        yield info("fastai will train on the CPU")
        return
    yield ok("fastai will train on %s" % device)


def _fastai_skips_xpu():
    # default_device() tries CUDA, then MPS, then returns the CPU; it never asks torch.xpu, and
    # default_device(torch.device('xpu')) returns the CPU too (fastai/torch_core.py default_device).
    # Learner trains where the DataLoaders are: TrainEvalCallback.before_fit moves the model to dls.device
    # (fastai/callback/core.py), and DataLoaders.to(device) returns the DataLoaders (fastai/data/core.py).
    yield warning(
        "fastai will train on the CPU although the Intel GPU (XPU) works: fastai's default_device() never picks XPU",
        detail="torch.xpu.is_available() is True, but fastai chooses CUDA, then MPS, then the CPU.",
        fix=fix("Put the DataLoaders on the XPU before creating the Learner (the Learner trains on their device): "
                "dls = dls.to('xpu')  # or device='xpu' when making them, e.g. ImageDataLoaders.from_folder(..., "
                "device='xpu')"),
    )
