"""Which PyTorch CUDA index (or driver update) the GPU findings recommend, table-driven over GPU capability x
driver x installed build x OS: torch-build (a CPU wheel on a GPU machine), cuda-arch (a build without the GPU's
kernels) and cuda-driver (a driver too old for the build). The build table is torch 2.14.1's own
PYTORCH_RELEASES_CODE_CC unless a case gives the installed torch's."""

import pytest

from checkrun import CPU_TORCH, build, commands, one, words
from doctor.checks.cuda_releases import FALLBACK_RELEASES

INDEX = "--index-url https://download.pytorch.org/whl/"
CU126_ARCHES = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
CU130_ARCHES = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]

PASCAL = ("NVIDIA GeForce GTX 1080 Ti", (6, 1))
TURING = ("NVIDIA GeForce RTX 2080", (7, 5))
AMPERE = ("NVIDIA GeForce RTX 3090", (8, 6))
HOPPER = ("NVIDIA H100 80GB HBM3", (9, 0))
BLACKWELL = ("NVIDIA GeForce RTX 5090", (12, 0))
KEPLER = ("Tesla K80", (3, 7))

WINDOWS = {"python": {"executable": "C:\\course\\python.exe", "marker_environment": {
    "os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64"}}}
ARM_LINUX = {"python": {"marker_environment": {"platform_machine": "aarch64"}}}


def machine(gpus, driver, torch_build="cpu", *layers):
    """GPUs (name, capability) as the driver and torch report them, a driver, and the installed build."""
    cards = [{"index": i, "name": name, "uuid": "GPU-%d" % i, "compute_capability": "%d.%d" % cap,
              "memory_total_mb": 8192} for i, (name, cap) in enumerate(gpus)]
    devices = [{"index": i, "name": name, "capability": list(cap), "total_memory_mb": 8192}
               for i, (name, cap) in enumerate(gpus)]
    layer = {"hardware": {"nvidia": {"driver_version": driver, "gpus": cards}},
             "torch": {"cuda": {"devices": devices, "device_count": len(gpus)}}}
    if torch_build == "cpu":
        return build(CPU_TORCH, layer, *layers)
    cuda = {"cu126": "12.6", "cu130": "13.0"}[torch_build]
    arches = {"cu126": CU126_ARCHES, "cu130": CU130_ARCHES}[torch_build]
    installed = {"torch": {"version": "2.14.1+" + torch_build, "cuda_version": cuda,
                           "cuda": {"arch_list": arches}},
                 "packages": {"version_modules": {"torch": {"__version__": "2.14.1+" + torch_build, "cuda": cuda}}}}
    return build(installed, layer, *layers)


def indexes_in(text):
    return [index for index in ("cu118", "cu126", "cu128", "cu130", "cu132", "cu134") if index in text]


def assert_installs(finding, index):
    (command,) = commands(finding)
    assert INDEX + index in command
    assert "--force-reinstall" in command and "torch" in command and "torchvision" in command


def assert_updates_driver(finding, minimum, then_index=None):
    assert commands(finding) == ()  # nothing to paste that cannot work on this driver
    assert "Update the NVIDIA driver to %s or newer" % minimum in finding.fix.text
    if then_index:
        assert INDEX + then_index in finding.fix.text


# (id, gpus, driver, extra layers, expected: ("install", index) | ("driver", minimum, index) | ("none", words))
CPU_WHEEL_CASES = [
    ("hopper-580", [HOPPER], "580.95.05", [], ("install", "cu130")),
    ("hopper-580-minimum", [HOPPER], "580.65.06", [], ("install", "cu130")),
    ("hopper-570", [HOPPER], "570.172.08", [], ("install", "cu126")),
    ("hopper-525-minimum", [HOPPER], "525.60.13", [], ("install", "cu126")),
    # torch 2.14 ships no CUDA 11 build: a CUDA-11-only driver must be updated, never sent to cu118.
    ("hopper-470-no-cu118", [HOPPER], "470.256.02", [], ("driver", "525.60.13", "cu126")),
    # Pascal: only the cu126 build has sm_60 code, however new the driver.
    ("pascal-580", [PASCAL], "580.95.05", [], ("install", "cu126")),
    ("pascal-535", [PASCAL], "535.230.02", [], ("install", "cu126")),
    # Blackwell: only CUDA 13 builds have sm_120; a CUDA 12 driver must be updated.
    ("blackwell-580", [BLACKWELL], "580.95.05", [], ("install", "cu130")),
    ("blackwell-570", [BLACKWELL], "570.172.08", [], ("driver", "580.65.06", "cu130")),
    # Several GPUs: the build must serve all of them.
    ("pascal-and-ampere", [PASCAL, AMPERE], "580.95.05", [], ("install", "cu126")),
    ("turing-and-blackwell", [TURING, BLACKWELL], "580.95.05", [], ("install", "cu130")),
    ("pascal-and-blackwell", [PASCAL, BLACKWELL], "580.95.05", [],
     ("none", ["cu126 serves NVIDIA GeForce GTX 1080 Ti (sm_61)",
               "cu130, cu132, cu134 serve NVIDIA GeForce RTX 5090 (sm_120)",
               "CUDA_VISIBLE_DEVICES"])),
    ("kepler", [KEPLER], "470.256.02", [], ("none", ["No CUDA build of this torch has kernels for Tesla K80 (sm_37)",
                                                     "older torch release"])),
    # Windows has its own driver minimums (527.41 for CUDA 12.x), not Linux's 525.60.13.
    ("windows-hopper-526", [HOPPER], "526.98", [WINDOWS], ("driver", "527.41", "cu126")),
    ("linux-hopper-526", [HOPPER], "526.98", [], ("install", "cu126")),
    ("windows-hopper-527", [HOPPER], "527.41", [WINDOWS], ("install", "cu126")),
    ("windows-blackwell-581", [BLACKWELL], "581.57", [WINDOWS], ("install", "cu130")),
    ("windows-blackwell-572", [BLACKWELL], "572.16", [WINDOWS], ("driver", "580", "cu130")),
    # aarch64 builds have other code lists: cu126 there starts at sm_80.
    ("aarch64-hopper", [HOPPER], "580.95.05", [ARM_LINUX], ("install", "cu130")),
    ("aarch64-pascal", [PASCAL], "580.95.05", [ARM_LINUX], ("none", ["No CUDA build of this torch"])),
    # The installed torch's own table wins over the copied one.
    ("installed-table", [BLACKWELL], "570.172.08",
     [{"packages": {"torch_release_capabilities": dict(FALLBACK_RELEASES, **{"12.8": {"x86_64": [75, 120]}})}}],
     ("install", "cu128")),
]


@pytest.mark.parametrize("gpus, driver, layers, expected", [case[1:] for case in CPU_WHEEL_CASES],
                         ids=[case[0] for case in CPU_WHEEL_CASES])
def test_cpu_wheel_on_a_gpu_machine_gets_a_build_that_serves_every_gpu_on_this_driver(gpus, driver, layers,
                                                                                     expected):
    finding = one("torch-build", machine(gpus, driver, "cpu", *layers))
    assert finding.status == "error"
    assert "GPU stays idle" in finding.title
    if expected[0] == "install":
        assert_installs(finding, expected[1])
    elif expected[0] == "driver":
        assert_updates_driver(finding, expected[1], expected[2])
        assert indexes_in(finding.fix.text) == [expected[2]]  # e.g. never a CUDA 12 build for Blackwell
    else:
        assert commands(finding) == ()
        for word in expected[1]:
            assert word in words(finding)


def test_the_chosen_build_is_explained_with_what_each_build_serves():
    finding = one("torch-build", machine([PASCAL], "580.95.05"))
    assert "cu126 serves NVIDIA GeForce GTX 1080 Ti (sm_61)" in finding.detail
    assert "cu130" not in finding.detail  # cu130 has no kernels for it
    assert "runs on driver 580.95.05" in finding.fix.text


def test_a_cpu_wheel_with_gpus_of_unknown_capability_is_chosen_by_the_driver_alone():
    facts = build(CPU_TORCH, {"hardware": {"nvidia": {"driver_version": "570.172.08", "gpus": [
        {"index": 0, "name": "NVIDIA GPU", "uuid": "GPU-0", "compute_capability": None, "memory_total_mb": 0}]}}})
    assert_installs(one("torch-build", facts), "cu126")


# --- cuda-arch: the installed CUDA build has no kernels for a GPU -----------------------------------

ARCH_CASES = [
    ("pascal-in-cu130-new-driver", [PASCAL], "580.95.05", "cu130", [], ("install", "cu126")),
    ("blackwell-in-cu126-new-driver", [BLACKWELL], "580.95.05", "cu126", [], ("install", "cu130")),
    ("blackwell-in-cu126-old-driver", [BLACKWELL], "570.172.08", "cu126", [], ("driver", "580.65.06", "cu130")),
    ("windows-blackwell-in-cu126-old-driver", [BLACKWELL], "566.36", "cu126", [WINDOWS],
     ("driver", "580", "cu130")),
    ("pascal-and-blackwell-in-cu130", [PASCAL, BLACKWELL], "580.95.05", "cu130", [],
     ("none", ["GTX 1080 Ti (sm_61)", "cu126 serves", "CUDA_VISIBLE_DEVICES"])),
]


@pytest.mark.parametrize("gpus, driver, installed, layers, expected", [case[1:] for case in ARCH_CASES],
                         ids=[case[0] for case in ARCH_CASES])
def test_a_build_without_the_gpus_kernels_moves_to_one_that_has_them(gpus, driver, installed, layers, expected):
    finding = one("cuda-arch", machine(gpus, driver, installed, *layers))
    assert finding.status == "error"
    assert "no kernel image is available" in finding.title
    if expected[0] == "install":
        assert_installs(finding, expected[1])
    elif expected[0] == "driver":
        assert_updates_driver(finding, expected[1], expected[2])
        assert "cu126" not in finding.fix.text  # no CUDA 12 build has sm_120
        assert "cu118" not in words(finding)
    else:
        assert commands(finding) == ()
        for word in expected[1]:
            assert word in words(finding)


# --- cuda-driver: the driver is too old for the installed build ------------------------------------

DRIVER_CASES = [
    # Another build serves the GPU on this driver: offer it beside the driver update.
    ("hopper-cu130-570", [HOPPER], "570.172.08", "cu130", [], "error", ("install", "cu126")),
    # Pascal in cu130 with an old driver: cu126 serves it and runs.
    ("pascal-cu130-570", [PASCAL], "570.172.08", "cu130", [], "error", ("install", "cu126")),
    # Blackwell: no CUDA 12 build has sm_120, so only a driver update helps.
    ("blackwell-cu130-570", [BLACKWELL], "570.172.08", "cu130", [], "error", ("driver", "580.65.06", None)),
    # Windows minimums are Windows' own.
    ("windows-cu126-526", [HOPPER], "526.98", "cu126", [WINDOWS], "error", ("driver", "527.41", None)),
    ("linux-cu126-526", [HOPPER], "526.98", "cu126", [], "ok", None),
    ("windows-cu130-581", [BLACKWELL], "581.57", "cu130", [WINDOWS], "ok", None),
    ("windows-cu130-572", [BLACKWELL], "572.16", "cu130", [WINDOWS], "error", ("driver", "580", None)),
]


@pytest.mark.parametrize("gpus, driver, installed, layers, status, expected", [case[1:] for case in DRIVER_CASES],
                         ids=[case[0] for case in DRIVER_CASES])
def test_an_old_driver_is_updated_or_paired_with_a_build_that_serves_the_gpus(gpus, driver, installed, layers,
                                                                              status, expected):
    finding = one("cuda-driver", machine(gpus, driver, installed, *layers))
    assert finding.status == status
    if expected is None:
        return
    if expected[0] == "install":
        assert "Update the NVIDIA driver" in finding.fix.text
        assert_installs(finding, expected[1])
    else:
        assert_updates_driver(finding, expected[1], expected[2])
        assert "cu126" not in finding.fix.text and "cu118" not in finding.fix.text


def test_the_driver_title_names_the_os_whose_minimum_applies():
    finding = one("cuda-driver", machine([HOPPER], "526.98", "cu126", WINDOWS))
    assert finding.title == "NVIDIA driver 526.98 is too old for CUDA 12.6 (needs 527.41 or newer on Windows)"
