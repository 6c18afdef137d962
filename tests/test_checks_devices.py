"""checks/devices.py (torch-build, apple-rosetta, fastai-device) and checks/torch_build.py (torch-import)."""

import pytest

from checkrun import (APPLE_ARM64, CPU_TORCH, NO_CUDA_TORCH, NO_NVIDIA, build, commands, failed_torch_import,
                      import_error, one, torch_missing, without_probe, words)
from factories import failed_outcome


def _driver(version):
    return {"hardware": {"nvidia": {"driver_version": version}}}


def _mps(built, available, macos="15.1", error=None):
    return {"torch": {"mps": {"built": built, "available": available, "error": error}},
            "python": {"apple": {"macos_version": macos}}}


ROCM = {
    "torch": {"version": "2.14.1+rocm7.0", "cuda_version": None, "hip_version": "7.0",
              "cuda": dict(NO_CUDA_TORCH, available=True, device_count=1)},
    "packages": {"version_modules": {"torch": {"__version__": "2.14.1+rocm7.0", "cuda": None, "hip": "7.0"},
                                     "torchvision": {"__version__": "0.29.1+rocm7.0"}}},
}
XPU = {
    "torch": {"version": "2.14.1+xpu", "cuda_version": None, "xpu_version": "20250101",
              "cuda": NO_CUDA_TORCH, "xpu": {"available": True, "device_count": 1, "error": None}},
    "packages": {"version_modules": {"torch": {"__version__": "2.14.1+xpu", "cuda": None, "xpu": "20250101"},
                                     "torchvision": {"__version__": "0.29.1+xpu"}}},
}
QUICK = {"quick": True}

# --- torch-build ----------------------------------------------------------------------------------

# (id, layers, status, words in the title)
TORCH_BUILD_CASES = [
    ("cuda-build-on-h100", [], "ok", ["torch 2.14.1+cu130 (cuda build) uses NVIDIA H100"]),
    ("cuda-build-quick", [QUICK], "info", ["cuda build", "NVIDIA H100", "not imported with --quick"]),
    ("cuda-build-import-crashed", [{"outcomes": {"torch": failed_outcome("torch")}}], "info",
     ["cuda build", "import torch failed"]),
    ("cuda-build-gpu-unusable", [{"torch": {"cuda": {"available": False, "devices": [],
                                                     "available_error": "CUDA driver initialization failed"}}}],
     "error", ["cannot use the GPU", "is_available() is False"]),
    ("cpu-build-on-gpu-machine", [CPU_TORCH], "error", ["(cpu build) on a machine with an NVIDIA GPU",
                                                         "GPU stays idle"]),
    ("cpu-build-on-gpu-machine-quick", [CPU_TORCH, QUICK], "error", ["2.14.1+cpu", "GPU stays idle"]),
    ("cpu-build-no-gpu", [CPU_TORCH, NO_NVIDIA], "warning", ["no GPU found", "a cpu build"]),
    ("cuda-build-no-gpu", [NO_NVIDIA, {"torch": {"cuda": NO_CUDA_TORCH}}], "warning", ["no GPU found", "a cuda build"]),
    ("mps-available", [APPLE_ARM64], "ok", ["(mps build) uses the Apple GPU (MPS), macOS 15.1"]),
    ("mps-quick", [APPLE_ARM64, QUICK], "info", ["Apple Silicon", "not imported with --quick"]),
    ("mps-not-built", [APPLE_ARM64, _mps(False, False)], "error", ["built without MPS"]),
    ("mps-macos-too-old", [APPLE_ARM64, _mps(True, False, macos="12.1")], "error",
     ["macOS 12.1 is too old for MPS"]),
    ("mps-no-metal-device", [APPLE_ARM64, _mps(True, False, macos="15.1")], "error",
     ["built but unavailable on macOS 15.1", "no Metal device"]),
    ("rocm-usable", [NO_NVIDIA, ROCM], "ok", ["(rocm build) uses the AMD GPU"]),
    ("rocm-unusable", [NO_NVIDIA, ROCM, {"torch": {"cuda": {"available": False}}}], "error",
     ["no AMD GPU is usable"]),
    ("rocm-quick", [NO_NVIDIA, ROCM, QUICK], "info", ["rocm build", "not imported with --quick"]),
    ("xpu-usable", [NO_NVIDIA, XPU], "ok", ["(xpu build) uses the Intel GPU"]),
    ("xpu-unusable", [NO_NVIDIA, XPU, {"torch": {"xpu": {"available": False, "device_count": 0}}}], "warning",
     ["no Intel GPU is usable"]),
    ("xpu-quick", [NO_NVIDIA, XPU, QUICK], "info", ["xpu build", "not imported with --quick"]),
    ("torch-not-installed", [torch_missing()], "skipped", ["torch is not installed"]),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in TORCH_BUILD_CASES],
                         ids=[case[0] for case in TORCH_BUILD_CASES])
def test_torch_build(layers, status, expected):
    finding = one("torch-build", build(*layers))
    assert finding.status == status
    for word in expected:
        assert word in finding.title + " " + finding.detail


@pytest.mark.parametrize("driver, index", [
    ("580.95.05", "cu130"),
    ("570.172.08", "cu126"),
], ids=["580", "570"])
def test_cpu_build_on_gpu_machine_installs_the_cuda_build_the_driver_runs(driver, index):
    # The full capability x driver x OS table is in test_cuda_build_choice.py.
    finding = one("torch-build", build(CPU_TORCH, _driver(driver)))
    assert finding.status == "error"
    assert driver in finding.detail
    (command,) = commands(finding)
    assert command.startswith("/opt/course/bin/python -m pip install --force-reinstall ")
    assert "torchvision" in command
    assert "--index-url https://download.pytorch.org/whl/" + index in command


@pytest.mark.parametrize("driver", ["440.33.01", None, "N/A"], ids=["too-old", "unknown", "unreadable"])
def test_cpu_build_with_a_driver_too_old_for_any_cuda_build_says_update_the_driver(driver):
    finding = one("torch-build", build(CPU_TORCH, _driver(driver)))
    assert finding.status == "error"
    assert "Update the NVIDIA driver" in finding.fix.text
    assert commands(finding) == ()  # no pip command that could not work


def test_gpu_unusable_shows_why_torch_said_so():
    finding = one("torch-build", build(torch={"cuda": {"available": False, "devices": [],
                                                       "available_error": "CUDA driver initialization failed"}}))
    assert "CUDA driver initialization failed" in finding.detail
    assert "580.95.05" in finding.detail
    assert "cuda-driver" in finding.fix.text


def test_no_gpu_is_a_warning_that_points_at_free_gpus():
    finding = one("torch-build", build(CPU_TORCH, NO_NVIDIA))
    assert "Kaggle" in finding.detail and "Colab" in finding.detail


def test_mps_not_built_reinstalls_the_standard_build():
    finding = one("torch-build", build(APPLE_ARM64, _mps(False, False)))
    (command,) = commands(finding)
    assert "--force-reinstall" in command and "torch" in command and "--index-url" not in command


def test_mps_unavailable_shows_torchs_error():
    finding = one("torch-build", build(APPLE_ARM64, _mps(True, False, error="MPS backend is not available")))
    assert "MPS backend is not available" in finding.detail


def test_torch_build_skips_without_the_hardware_probe():
    finding = one("torch-build", build(outcomes={"hardware": failed_outcome("hardware", "timeout",
                                                                            "probe hardware timed out")}))
    assert finding.status == "skipped"
    assert "hardware probe" in finding.title


# --- apple-rosetta --------------------------------------------------------------------------------

def _mac(machine, translated, arm64_hardware):
    return {"python": {"marker_environment": {"sys_platform": "darwin", "platform_machine": machine},
                       "apple": {"macos_version": "14.6", "rosetta_translated": translated,
                                 "arm64_hardware": arm64_hardware}}}


ROSETTA_CASES = [
    ("linux", {}, "skipped", "not a Mac"),
    ("apple-silicon-native", _mac("arm64", False, True), "ok", "native arm64 Python"),
    ("under-rosetta", _mac("x86_64", True, True), "error", "x86_64 Python running under Rosetta"),
    ("rosetta-unknown-but-x86-on-arm-hardware", _mac("x86_64", None, True), "error", "under Rosetta"),
    ("intel-mac", _mac("x86_64", None, None), "ok", "native x86_64 Python"),
    ("intel-mac-answering-sysctl", _mac("x86_64", False, False), "ok", "native x86_64 Python"),
]


@pytest.mark.parametrize("overrides, status, expected", [case[1:] for case in ROSETTA_CASES],
                         ids=[case[0] for case in ROSETTA_CASES])
def test_apple_rosetta(overrides, status, expected):
    finding = one("apple-rosetta", build(overrides))
    assert finding.status == status
    assert expected in finding.title


def test_rosetta_fix_asks_for_an_arm64_python():
    finding = one("apple-rosetta", build(_mac("x86_64", True, True)))
    assert "arm64 Python" in finding.fix.text
    assert "2.2.2" in finding.title  # the last x86_64 macOS torch


# --- fastai-device --------------------------------------------------------------------------------

FASTAI_DEVICE_CASES = [
    ("cuda", [], "ok", "fastai will train on cuda:0"),
    ("mps-working", [APPLE_ARM64], "ok", "fastai will train on mps"),
    ("mps-built-not-available", [APPLE_ARM64, _mps(True, False)], "error", "MPS, which torch cannot use"),
    ("mps-on-intel-mac", [CPU_TORCH, NO_NVIDIA, _mac("x86_64", None, None),
                          {"imports": {"fastai_default_device": "mps"}}], "error",
     "MPS, which torch cannot use"),
    ("cpu-despite-cuda", [{"imports": {"fastai_default_device": "cpu"}}], "warning",
     "CPU although CUDA is available"),
    ("cpu-on-cpu-machine", [CPU_TORCH, NO_NVIDIA], "info", "fastai will train on the CPU"),
    ("cpu-despite-xpu", [NO_NVIDIA, XPU, {"imports": {"fastai_default_device": "cpu"}}], "warning",
     "CPU although the Intel GPU (XPU) works"),
    ("cpu-with-xpu-build-but-no-gpu", [NO_NVIDIA, XPU, {"imports": {"fastai_default_device": "cpu"}},
                                       {"torch": {"xpu": {"available": False, "device_count": 0}}}], "info",
     "fastai will train on the CPU"),
    ("fastai-did-not-import", [{"imports": {"fastai_default_device": None,
                                            "fastai_default_device_error": "ModuleNotFoundError: No module named "
                                                                           "'fastai'"}}],
     "skipped", "No module named 'fastai'"),
    ("no-reason-given", [{"imports": {"fastai_default_device": None, "fastai_default_device_error": None}}],
     "skipped", "fastai did not import"),
    ("quick", [QUICK], "skipped", "needs the imports probe"),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in FASTAI_DEVICE_CASES],
                         ids=[case[0] for case in FASTAI_DEVICE_CASES])
def test_fastai_device(layers, status, expected):
    finding = one("fastai-device", build(*layers))
    assert finding.status == status
    assert expected in finding.title


def test_fastai_on_a_working_xpu_says_how_to_train_there():
    finding = one("fastai-device", build(NO_NVIDIA, XPU, {"imports": {"fastai_default_device": "cpu"}}))
    assert "dls = dls.to('xpu')" in finding.fix.text
    assert "default_device(" not in finding.fix.text  # default_device(torch.device('xpu')) still returns the CPU
    assert commands(finding) == ()  # Python for the notebook, not a shell command


def test_fastai_on_unusable_mps_says_how_to_train_on_the_cpu():
    finding = one("fastai-device", build(APPLE_ARM64, _mps(True, False)))
    assert "default_device(False)" in finding.fix.text
    assert "is_built()" in finding.detail


# --- torch-import ---------------------------------------------------------------------------------

TORCH_IMPORT_CASES = [
    ("imports", [], "ok", ["torch 2.14.1+cu130 imports (1.5 s)"]),
    ("quick-installed", [QUICK], "skipped", ["torch 2.14.1+cu130 is installed", "--quick"]),
    ("quick-not-installed", [torch_missing(), QUICK], "error", ["torch is not installed"]),
    ("probe-crashed", [{"outcomes": {"torch": failed_outcome("torch")}}], "error",
     ["import torch does not finish", "SIGSEGV"]),
    ("probe-timed-out", [{"outcomes": {"torch": failed_outcome("torch", "timeout",
                                                               "probe torch timed out after 120 s")}}],
     "error", ["import torch does not finish", "timed out after 120 s"]),
    ("not-installed", [torch_missing()], "error", ["torch is not installed in /opt/course/bin/python"]),
    ("cudnn-library-missing", [failed_torch_import(import_error(
        "OSError", "libcudnn.so.9: cannot open shared object file: No such file or directory"))], "error",
     ["import torch fails", "compiled library failed to load"]),
    ("undefined-symbol", [failed_torch_import(import_error(
        "ImportError", "/opt/course/lib/python3.11/site-packages/torch/lib/libtorch_cuda.so: undefined symbol: "
                       "ncclCommWindowRegister"))], "error", ["compiled library failed to load"]),
    ("local-torch-py", [{"python": {"module_origins": {"torch": {"origin": "/home/learner/torch.py",
                                                                 "locations": []}}}},
                        failed_torch_import(import_error(
                            "AttributeError", "module 'torch' has no attribute 'get_num_threads'",
                            files=["<string>", "/home/learner/torch.py"]))],
     "error", ["/home/learner/torch.py shadows the installed torch"]),
    ("unknown-error", [failed_torch_import(import_error("RuntimeError", "something odd\nsecond line"))], "error",
     ["import torch fails: RuntimeError: something odd"]),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in TORCH_IMPORT_CASES],
                         ids=[case[0] for case in TORCH_IMPORT_CASES])
def test_torch_import(layers, status, expected):
    finding = one("torch-import", build(*layers))
    assert finding.status == status
    for word in expected:
        assert word in finding.title
    assert "second line" not in finding.title


@pytest.mark.parametrize("installed, status", [(True, "skipped"), (False, "error")], ids=["installed", "missing"])
def test_torch_import_without_a_torch_outcome(installed, status):
    facts = without_probe(build(*([] if installed else [torch_missing()])), "torch")
    assert one("torch-import", facts).status == status


@pytest.mark.parametrize("layers", [[torch_missing()], [torch_missing(), QUICK]], ids=["probed", "quick"])
def test_missing_torch_fix_installs_torch_and_torchvision(layers):
    finding = one("torch-import", build(*layers))
    assert commands(finding) == ("/opt/course/bin/python -m pip install torch torchvision",)
    assert "https://pytorch.org/get-started/locally/" in finding.links


def test_crashed_import_offers_a_reinstall_and_faulthandler():
    finding = one("torch-import", build(outcomes={"torch": failed_outcome(
        "torch", stderr="Fatal Python error: Segmentation fault\n  File torch/__init__.py")}))
    assert "Segmentation fault" in finding.detail
    assert "faulthandler" in finding.fix.text
    (command,) = commands(finding)
    assert command.startswith("/opt/course/bin/python -m pip install --force-reinstall ") and "torch" in command


def test_failed_import_shows_the_traceback_and_a_fix():
    finding = one("torch-import", build(failed_torch_import(import_error(
        "OSError", "libcudnn.so.9: cannot open shared object file", traceback="Traceback ...\nOSError: libcudnn"))))
    assert "Traceback" in finding.detail
    (command,) = commands(finding)
    assert "--force-reinstall" in command and "torchvision" in command


def test_unknown_failure_has_no_made_up_fix():
    finding = one("torch-import", build(failed_torch_import(import_error("RuntimeError", "something odd"))))
    assert finding.fix is None
    assert "something odd" in words(finding)
