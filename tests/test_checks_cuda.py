"""checks/cuda.py: arch_serves, cuda-arch, cuda-driver, cudnn. The build each fix recommends is table-driven
in test_cuda_build_choice.py."""

import pytest

from checkrun import (APPLE_ARM64, CPU_TORCH, NO_CUDA_TORCH, NO_NVIDIA, build, commands, environment,
                      failed_torch_import, import_error, one)
from doctor.checks.cuda import CUBIN, PTX, arch_serves, parse_capability
from factories import failed_outcome

# --- arch_serves: CUDA binary and PTX compatibility ----------------------------------------------

ARCH_CASES = [
    # sm_XY (cubin): same major, minor >= Y (torch's _code_compatible_with_device)
    ("sm_90", (9, 0), CUBIN),
    ("sm_80", (8, 6), CUBIN),
    ("sm_80", (8, 9), CUBIN),
    ("sm_86", (8, 0), None),
    ("sm_80", (9, 0), None),  # no cubin runs on another major
    ("sm_90", (8, 9), None),
    ("sm_100", (10, 0), CUBIN),
    ("sm_100", (10, 3), CUBIN),
    ("sm_120", (12, 0), CUBIN),
    ("sm_120", (10, 0), None),
    ("sm_75", (7, 5), CUBIN),
    ("sm_70", (7, 5), CUBIN),
    ("sm_75", (7, 0), None),
    ("sm_50", (5, 2), CUBIN),
    ("sm_60", (6, 1), CUBIN),
    # Jetson integrated GPUs take only their own code; 10.1 was renamed 11.0 (DEVICE_REQUIREMENT)
    ("sm_80", (8, 7), None),
    ("sm_87", (8, 7), CUBIN),
    ("sm_60", (6, 2), None),
    ("sm_100", (10, 1), None),
    ("sm_110", (10, 1), CUBIN),
    # sm_XYa (architecture-specific): exactly X.Y; sm_XYf (family-specific): the major's family from X.Y
    ("sm_90a", (9, 0), CUBIN),
    ("sm_90a", (10, 0), None),
    ("sm_100a", (10, 0), CUBIN),
    ("sm_100a", (10, 3), None),
    ("sm_100f", (10, 3), CUBIN),
    ("sm_120f", (12, 1), CUBIN),
    ("sm_120f", (10, 0), None),
    # compute_XY (PTX): JIT on any capability >= X.Y, across majors
    ("compute_90", (9, 0), PTX),
    ("compute_90", (12, 0), PTX),
    ("compute_120", (12, 1), PTX),
    ("compute_120", (10, 0), None),
    ("compute_80", (7, 5), None),
    # not a CUDA arch
    ("gfx90a", (9, 0), None),
    ("sm_", (9, 0), None),
    ("", (9, 0), None),
]


@pytest.mark.parametrize("arch, capability, serves", ARCH_CASES,
                         ids=["%s-on-%d.%d" % (arch or "empty", *cap) for arch, cap, _ in ARCH_CASES])
def test_arch_serves(arch, capability, serves):
    assert arch_serves(arch, capability) == serves


@pytest.mark.parametrize("text, capability", [
    ("9.0", (9, 0)), ("12.0", (12, 0)), ([8, 6], (8, 6)), ((7, 5), (7, 5)), ("[N/A]", None), (None, None), ("9", None),
])
def test_parse_capability(text, capability):
    assert parse_capability(text) == capability


# --- cuda-arch ------------------------------------------------------------------------------------

CU126_ARCHES = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU130_ARCHES = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]


def _gpu(name, capability, arch_list=None, seen_by_torch=True):
    """One GPU as the driver and (when it can) torch report it."""
    major, minor = capability
    layer = {"hardware": {"nvidia": {"gpus": [{"index": 0, "name": name, "uuid": "GPU-1",
                                               "compute_capability": "%d.%d" % capability,
                                               "memory_total_mb": 8192}]}},
             "torch": {"cuda": {"devices": [{"index": 0, "name": name, "capability": [major, minor],
                                             "total_memory_mb": 8192}] if seen_by_torch else []}}}
    if arch_list is not None:
        layer["torch"]["cuda"]["arch_list"] = arch_list
    return layer


CUDA_ARCH_CASES = [
    ("h100-in-cu130", [], "ok", "NVIDIA H100 80GB HBM3 (sm_90)"),
    ("rtx-4090-via-sm_86", [_gpu("NVIDIA GeForce RTX 4090", (8, 9), CU130_ARCHES)], "ok", "(sm_89)"),
    ("rtx-5090-in-cu130", [_gpu("NVIDIA GeForce RTX 5090", (12, 0), CU130_ARCHES)], "ok", "(sm_120)"),
    ("future-gpu-via-ptx", [_gpu("NVIDIA Future", (12, 1), ["sm_90", "compute_120"])], "info",
     "NVIDIA Future (sm_121) runs only through PTX: the first run JIT-compiles"),
    ("ptx-and-cubin", [_gpu("NVIDIA GeForce RTX 5090", (12, 0), CU130_ARCHES)], "ok", "(sm_120)"),
    ("rtx-5090-in-cu126", [_gpu("NVIDIA GeForce RTX 5090", (12, 0), CU126_ARCHES)], "error",
     "no kernels for NVIDIA GeForce RTX 5090 (sm_120)"),
    ("gtx-1080-in-cu130", [_gpu("NVIDIA GeForce GTX 1080", (6, 1), CU130_ARCHES)], "error",
     "no kernels for NVIDIA GeForce GTX 1080 (sm_61)"),
    ("gtx-1080-in-cu126", [_gpu("NVIDIA GeForce GTX 1080", (6, 1), CU126_ARCHES)], "ok", "(sm_61)"),
    ("capability-from-driver-when-torch-sees-none",
     [_gpu("NVIDIA GeForce GTX 1080", (6, 1), CU130_ARCHES, seen_by_torch=False)], "error", "(sm_61)"),
    ("arch-list-unreadable", [{"torch": {"cuda": {"arch_list": None,
                                                  "arch_list_error": "RuntimeError: CUDA driver error"}}}],
     "skipped", "RuntimeError: CUDA driver error"),
    ("arch-list-empty", [{"torch": {"cuda": {"arch_list": []}}}], "skipped", "gave nothing to compare"),
    ("cpu-build", [CPU_TORCH], "skipped", "not a CUDA build of torch"),
    ("mac", [APPLE_ARM64], "skipped", "not a CUDA build of torch"),
    ("import-failed", [failed_torch_import(import_error("OSError", "libcudart.so.13: cannot open shared object"))],
     "skipped", "torch did not import"),
    ("no-gpu", [NO_NVIDIA, {"torch": {"cuda": NO_CUDA_TORCH}}], "skipped", "no NVIDIA GPU present"),
    ("quick", [{"quick": True}], "skipped", "needs the torch probe (not run with --quick)"),
    ("hardware-probe-crashed", [{"outcomes": {"hardware": failed_outcome("hardware")}}], "skipped",
     "needs the hardware probe"),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in CUDA_ARCH_CASES],
                         ids=[case[0] for case in CUDA_ARCH_CASES])
def test_cuda_arch(layers, status, expected):
    finding = one("cuda-arch", build(*layers))
    assert finding.status == status
    assert expected in finding.title


def test_cuda_arch_lists_only_the_unsupported_gpus():
    two = {"hardware": {"nvidia": {"gpus": []}},
           "torch": {"cuda": {"arch_list": CU130_ARCHES, "device_count": 2, "devices": [
               {"index": 0, "name": "NVIDIA A100", "capability": [8, 0], "total_memory_mb": 40000},
               {"index": 1, "name": "Tesla V100", "capability": [7, 0], "total_memory_mb": 16000}]}}}
    finding = one("cuda-arch", build(two))
    assert finding.status == "error"
    assert "Tesla V100 (sm_70)" in finding.title
    assert "A100" not in finding.title
    assert "sm_75 sm_80" in finding.detail


@pytest.mark.parametrize("arch_list, warns", [
    (["sm_80", "sm_90", "compute_90"], True),    # no sm_12x: _check_cubins warns
    (["sm_86", "compute_80"], False),            # sm_86 is of the GPU's major and compute_80 serves 8.0
], ids=["other-major", "same-major"])
def test_ptx_only_gpu_says_whether_torch_warns(arch_list, warns):
    capability = (12, 0) if warns else (8, 0)
    finding = one("cuda-arch", build(_gpu("NVIDIA GPU", capability, arch_list)))
    assert finding.status == "info"
    assert "slow" in finding.title
    assert ("is not compatible with the current PyTorch installation" in finding.title) is warns
    assert commands(finding) == ()


def test_device_without_properties_falls_back_to_the_driver():
    layer = {"torch": {"cuda": {"devices": [{"index": 0, "error": "RuntimeError: CUDA error: unknown error"}]}}}
    finding = one("cuda-arch", build(layer))
    assert finding.status == "ok"
    assert "(sm_90)" in finding.title


# --- cuda-driver ----------------------------------------------------------------------------------

def _cuda_runtime(version, local):
    return {"torch": {"version": "2.14.1+%s" % local, "cuda_version": version},
            "packages": {"version_modules": {"torch": {"__version__": "2.14.1+%s" % local, "cuda": version}}}}


def _driver(version):
    return {"hardware": {"nvidia": {"driver_version": version}}}


CUDA_DRIVER_CASES = [
    ("580-runs-13.0", [], "ok", "driver 580.95.05 runs CUDA 13.0"),
    ("minimum-for-13", [_driver("580.65.06")], "ok", "runs CUDA 13.0"),
    ("two-part-driver", [_driver("590.44")], "ok", "driver 590.44 runs CUDA 13.0"),
    ("570-too-old-for-13", [_driver("570.172.08")], "error",
     "NVIDIA driver 570.172.08 is too old for CUDA 13.0 (needs 580.65.06 or newer on Linux)"),
    ("535-runs-12.6", [_cuda_runtime("12.6", "cu126"), _driver("535.230.02")], "ok", "runs CUDA 12.6"),
    ("470-too-old-for-12.8", [_cuda_runtime("12.8", "cu128"), _driver("470.256.02")], "error",
     "too old for CUDA 12.8"),
    ("440-too-old-for-11.8", [_cuda_runtime("11.8", "cu118"), _driver("440.100")], "error", "too old for CUDA 11.8"),
    ("quick-reads-version-py", [{"quick": True}, _driver("560.35.03")], "error", "too old for CUDA 13.0"),
    ("cpu-build", [CPU_TORCH], "skipped", "not a CUDA build"),
    ("no-driver", [NO_NVIDIA], "skipped", "no NVIDIA driver answered"),
    ("unreadable-driver", [_driver("N/A")], "skipped", "cannot read driver 'N/A'"),
    ("hardware-probe-failed", [{"outcomes": {"hardware": failed_outcome("hardware")}}], "skipped",
     "needs the hardware probe"),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in CUDA_DRIVER_CASES],
                         ids=[case[0] for case in CUDA_DRIVER_CASES])
def test_cuda_driver(layers, status, expected):
    finding = one("cuda-driver", build(*layers))
    assert finding.status == status
    assert expected in finding.title


# --- cudnn ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("version, text", [
    (92400, "cuDNN 9.24.0"),
    (90100, "cuDNN 9.1.0"),
    (91002, "cuDNN 9.10.2"),
    (8907, "cuDNN 8.9.7"),
    (8600, "cuDNN 8.6.0"),
    (7605, "cuDNN 7.6.5"),
], ids=["9.24.0", "9.1.0", "9.10.2", "8.9.7", "8.6.0", "7.6.5"])
def test_cudnn_version_text(version, text):
    finding = one("cudnn", build(torch={"cuda": {"cudnn_version": version}}))
    assert finding.status == "ok"
    assert finding.title == text


WRONG_CUDNN = ("RuntimeError: cuDNN version incompatibility: PyTorch was compiled against (9, 24, 0) but found "
               "runtime version (8, 9, 2).")

CUDNN_CASES = [
    ("loads", [], "ok", "cuDNN 9.24.0"),
    ("wrong-library-on-ld-library-path",
     [{"torch": {"cuda": {"cudnn_available": True, "cudnn_error": WRONG_CUDNN, "cudnn_version": None}}},
      environment(LD_LIBRARY_PATH="/usr/local/cuda-12.2/lib64")], "error", "cuDNN version incompatibility"),
    ("not-available", [{"torch": {"cuda": {"cudnn_available": False, "cudnn_version": None}}}], "error",
     "is_available() is False"),
    ("cpu-build", [CPU_TORCH], "skipped", "not a CUDA build"),
    ("import-failed", [failed_torch_import(import_error("OSError", "libcudnn.so.9: cannot open shared object"))],
     "skipped", "torch did not import"),
    ("quick", [{"quick": True}], "skipped", "needs the torch probe"),
]


@pytest.mark.parametrize("layers, status, expected", [case[1:] for case in CUDNN_CASES],
                         ids=[case[0] for case in CUDNN_CASES])
def test_cudnn(layers, status, expected):
    finding = one("cudnn", build(*layers))
    assert finding.status == status
    assert expected in finding.title


@pytest.mark.parametrize("variables, shown", [
    ({"LD_LIBRARY_PATH": "/usr/local/cuda-12.2/lib64"}, "LD_LIBRARY_PATH=/usr/local/cuda-12.2/lib64"),
    ({}, "LD_LIBRARY_PATH=(unset)"),
], ids=["set", "unset"])
def test_cudnn_failure_shows_ld_library_path_and_unsets_it(variables, shown):
    facts = build({"torch": {"cuda": {"cudnn_error": WRONG_CUDNN, "cudnn_version": None}}}, environment(**variables))
    finding = one("cudnn", facts)
    assert shown in finding.detail
    assert commands(finding) == ("unset LD_LIBRARY_PATH",)
