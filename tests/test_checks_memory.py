"""checks/memory.py: gpu-memory, gpu-processes, apple-memory, mps-memory-limit, shared-memory, from recorded facts
(NVML and nvidia-smi process lists, statvfs of /dev/shm, macOS hw.memsize)."""

import pytest

from checkrun import build, commands, one, words
from doctor.checks.memory import CUDA_ALLOWANCE_MIB, LESSON_BATCHES

GIB = 2 ** 30
MIB = 2 ** 20


def _gpu(total_mb, free_mb, processes=(), name="NVIDIA GeForce RTX 3050"):
    return {"nvidia": {"gpus": [{"index": 0, "name": name, "uuid": "GPU-1234", "compute_capability": "8.6",
                                 "memory_total_mb": total_mb, "memory_free_mb": free_mb,
                                 "processes": None if processes is None else list(processes)}]}}


def _torch_without_free():
    return {"cuda": {"devices": [{"index": 0, "name": "NVIDIA GeForce RTX 3050", "capability": [8, 6],
                                  "total_memory_mb": 4096, "free_memory_mb": None}]}}


KERNEL = {"pid": 31337, "used_memory_mb": 9318, "parent_pid": 1200,
          "command": "/opt/course/bin/python -m ipykernel_launcher -f /run/user/1000/jupyter/kernel-1.json"}
OWN_PROBE = {"pid": 5151, "used_memory_mb": 512, "parent_pid": 4242, "command": "/opt/course/bin/python -I -c ..."}

LESSON_1_GPU_MIB = LESSON_BATCHES[1].gpu_mib()

# (id, make_facts keywords, lesson, expected status, words expected)
GPU_MEMORY_CASES = [
    ("h100-plenty", {}, 1, "ok", ["79.1 GiB free of 79.6 GiB", "needs about 2.2 GiB"]),
    ("2-gib-card-too-small", {"hardware": _gpu(2048, 1900), "torch": _torch_without_free()}, 1, "warning",
     ["lesson 1's default batch", "resnet18, 64 images of 192x192", "GPU has only 2.0 GiB in all",
      "bs=32", ".to_fp16()"]),
    ("shared-card-crowded", {"hardware": _gpu(12288, 1100, [KERNEL])}, 1, "warning",
     ["1.1 GiB free of 12.0 GiB", "rest is in use", "Even a batch of 1 would not fit", "Free the GPU first"]),
    ("lesson-7-convnext-fp16", {"hardware": _gpu(4096, 3000)}, 7, "warning",
     ["convnext_small_in22k", "mixed precision", "already trains in mixed precision", "bs=32"]),
    ("lesson-4-deberta-fits-a-t4", {"hardware": _gpu(15360, 14900, name="Tesla T4")}, 4, "ok",
     ["14.6 GiB free of 15.0 GiB", "lesson 4's default batch needs about 6.7 GiB", "microsoft/deberta-v3-small",
      "per_device_train_batch_size=bs"]),
    ("lesson-4-deberta-6-gib-card", {"hardware": _gpu(6144, 5800)}, 4, "warning",
     ["deberta-v3-small, 128 texts of up to 48 tokens, mixed precision", "needs about 6.7 GiB",
      "GPU has only 6.0 GiB in all", "bs = 128, which TrainingArguments takes as per_device_train_batch_size",
      "already trains in mixed precision (fp16=True)", "bs = 64", "gradient_accumulation_steps=2"]),
    ("lesson-4-deberta-crowded", {"hardware": _gpu(12288, 3000, [KERNEL])}, 4, "warning",
     ["rest is in use", "Even a batch of 1 would not fit", "alone take 2165 MiB", "Free the GPU first"]),
    ("lesson-without-figure", {"hardware": _gpu(4096, 3000)}, 5, "ok", ["lesson 5 trains no model"]),
    ("nvidia-smi-without-free", {"hardware": _gpu(4096, None), "torch": _torch_without_free()}, 1, "info",
     ["did not say how much memory"]),
    ("no-gpu", {"hardware": {"nvidia": {"source": None, "gpus": [], "error": "nvml: no libnvidia-ml"}},
                "torch": {"cuda": {"available": False, "device_count": 0, "devices": []}}}, 1, "skipped",
     ["no NVIDIA GPU"]),
]


@pytest.mark.parametrize("overrides, lesson, status, expected", [case[1:] for case in GPU_MEMORY_CASES],
                         ids=[case[0] for case in GPU_MEMORY_CASES])
def test_gpu_memory(overrides, lesson, status, expected):
    finding = one("gpu-memory", build(overrides, lesson=lesson))
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding), word


def test_gpu_memory_suggests_a_batch_that_fits_what_is_free():
    finding = one("gpu-memory", build(hardware=_gpu(4096, 1800)))
    suggested = int(commands(finding)[0].split("bs=")[1].rstrip(")"))
    assert LESSON_BATCHES[1].gpu_mib(suggested) <= 1800 < LESSON_BATCHES[1].gpu_mib(suggested * 2)


def test_gpu_memory_lesson_4_fix_speaks_of_the_trainer_not_fastai():
    finding = one("gpu-memory", build(hardware=_gpu(6144, 5800), lesson=4))
    assert commands(finding) == ("bs = 64", "args = TrainingArguments('outputs', ..., per_device_train_batch_size=bs, "
                                            "gradient_accumulation_steps=2)")
    for fastai_word in (".to_fp16()", ".dataloaders(", "vision_learner"):
        assert fastai_word not in words(finding), fastai_word
    assert finding.links == ("https://huggingface.co/docs/transformers/perf_train_gpu_one",)


def test_gpu_memory_reads_the_gpu_cuda_visible_devices_picks():
    gpus = [{"index": 0, "name": "NVIDIA A100", "uuid": "GPU-aaaa", "compute_capability": "8.0",
             "memory_total_mb": 81920, "memory_free_mb": 81000, "processes": []},
            {"index": 1, "name": "NVIDIA T400", "uuid": "GPU-bbbb", "compute_capability": "7.5",
             "memory_total_mb": 2048, "memory_free_mb": 2000, "processes": []}]
    facts = build(hardware={"nvidia": {"gpus": gpus}}, torch=_torch_without_free(),
                  python={"environment_variables": {"CUDA_VISIBLE_DEVICES": "1"}})
    finding = one("gpu-memory", facts)
    assert finding.status == "warning"
    assert "2.0 GiB free of" in finding.title


def test_memory_dl_doctors_own_torch_probe_holds_counts_as_free():
    crowded = one("gpu-memory", build(hardware=_gpu(4096, 1800, [dict(OWN_PROBE, used_memory_mb=600)])))
    assert crowded.status == "ok"
    assert "2.3 GiB free of 4.0 GiB" in crowded.title


def test_the_figures_add_the_cuda_allowance_to_the_measured_step():
    batch = LESSON_BATCHES[1]
    assert batch.gpu_mib() == batch.fixed_mib + batch.batch_mib + CUDA_ALLOWANCE_MIB
    assert batch.step_mib(32) == batch.fixed_mib + batch.batch_mib / 2


# (id, processes on the GPU as NVML or nvidia-smi lists them, free MiB, status, words expected, words not expected)
GPU_PROCESS_CASES = [
    ("none", [], 80000, "ok", ["no other process"], []),
    ("only-dl-doctor's-own-probe", [OWN_PROBE], 80000, "ok", ["no other process"], ["5151"]),
    ("this-kernel-itself", [dict(KERNEL, pid=4242, parent_pid=1)], 80000, "ok", ["this process holds 9.1 GiB"], []),
    ("another-kernel-crowding", [KERNEL, OWN_PROBE], 1100, "warning",
     ["another notebook kernel (PID 31337) holds 9.1 GiB", "shut it down", "lesson 1's batch does not fit",
      "ipykernel_launcher -f /run/user/1000/jupyter/kernel-1.json", "Running tab"], ["5151"]),
    ("another-kernel-room-left", [KERNEL], 60000, "info", ["another notebook kernel (PID 31337) holds 9.1 GiB"],
     ["does not fit"]),
    ("unreadable-command-in-a-container", [{"pid": 88, "used_memory_mb": 3000, "parent_pid": None, "command": None}],
     1000, "warning", ["another process (PID 88) holds 2.9 GiB", "command not readable from here",
                       "in a container, the host's"], []),
    ("nvidia-smi-name-windows-no-usage", [{"pid": 9120, "used_memory_mb": None, "parent_pid": None,
                                           "command": "C:\\Python311\\python.exe"}], 1000, "warning",
     ["another Python process (PID 9120) holds memory (the driver does not say how much)"], ["0.0 GiB"]),
    ("several", [KERNEL, dict(KERNEL, pid=31338, used_memory_mb=2048, command="/usr/bin/blender")], 900, "warning",
     ["2 other processes hold 11.1 GiB", "the largest a notebook kernel (PID 31337)",
      "PID 31338 (a process) holds 2.0 GiB: /usr/bin/blender"], []),
    ("driver-would-not-list", None, 80000, "info", ["would not list"], []),
]


@pytest.mark.parametrize("processes, free, status, expected, absent", [case[1:] for case in GPU_PROCESS_CASES],
                         ids=[case[0] for case in GPU_PROCESS_CASES])
def test_gpu_processes(processes, free, status, expected, absent):
    finding = one("gpu-processes", build(hardware=_gpu(12288, free, processes), torch=_torch_without_free()))
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding), word
    for word in absent:
        assert word not in words(finding), word


def test_gpu_processes_never_offers_to_kill():
    finding = one("gpu-processes", build(hardware=_gpu(12288, 1000, [KERNEL])))
    assert not any("kill" in command for command in commands(finding))
    assert finding.fix.automatic is None


def _mac(memory_bytes, variables=None):
    markers = {"sys_platform": "darwin", "platform_system": "Darwin", "platform_machine": "arm64"}
    return {"python": {"marker_environment": markers, "environment_variables": variables or {},
                       "shared_memory": None,
                       "apple": {"macos_version": "15.5", "rosetta_translated": False, "arm64_hardware": True,
                                 "memory_bytes": memory_bytes}}}


# (id, make_facts keywords, lesson, status, words expected)
APPLE_CASES = [
    ("8-gib-air", _mac(8 * GIB), 1, "warning", ["8.0 GiB of unified memory", "lesson 1's default batch needs about",
                                                "bs=32", "MPS backend out of memory"]),
    ("16-gib", _mac(16 * GIB), 1, "ok", ["16.0 GiB of unified memory"]),
    ("8-gib-lesson-without-figure", _mac(8 * GIB), 5, "warning", ["bs=32"]),
    ("8-gib-lesson-4-trainer", _mac(8 * GIB), 4, "warning",
     ["lesson 4's default batch needs about 5.7 GiB", "bs = 64", "gradient_accumulation_steps=2"]),
    ("memsize-unreadable", _mac(None), 1, "info", ["hw.memsize"]),
    ("linux", {}, 1, "skipped", ["not macOS"]),
]


@pytest.mark.parametrize("overrides, lesson, status, expected", [case[1:] for case in APPLE_CASES],
                         ids=[case[0] for case in APPLE_CASES])
def test_apple_memory(overrides, lesson, status, expected):
    finding = one("apple-memory", build(overrides, lesson=lesson))
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding), word


def test_apple_memory_does_not_offer_cuda_mixed_precision():
    assert ".to_fp16()" not in words(one("apple-memory", build(_mac(8 * GIB))))


WATERMARK_CASES = [
    ("zero", _mac(16 * GIB, {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.0"}), "warning",
     ["switches off MPS's memory limit", "may cause system failure if system-wide OOM occurs",
      "unset PYTORCH_MPS_HIGH_WATERMARK_RATIO"]),
    ("zero-int", _mac(16 * GIB, {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0"}), "warning", ["switches off"]),
    ("lowered", _mac(16 * GIB, {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.8"}), "ok", ["0.8 times"]),
    ("garbage", _mac(16 * GIB, {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "off"}), "warning", ["not a number"]),
    ("unset", _mac(16 * GIB), "ok", ["not set"]),
    ("linux", {"python": {"environment_variables": {"PYTORCH_MPS_HIGH_WATERMARK_RATIO": "0.0"}}}, "skipped",
     ["not macOS"]),
]


@pytest.mark.parametrize("overrides, status, expected", [case[1:] for case in WATERMARK_CASES],
                         ids=[case[0] for case in WATERMARK_CASES])
def test_mps_memory_limit(overrides, status, expected):
    finding = one("mps-memory-limit", build(overrides))
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding), word


def _shm(total, free, cpus):
    return {"python": {"usable_cpus": cpus, "cpu_count": cpus,
                       "shared_memory": {"path": "/dev/shm", "total_bytes": total, "free_bytes": free}}}


# (id, make_facts keywords, lesson, status, words expected)
SHM_CASES = [
    ("docker-default-2-cpus-fits", _shm(64 * MIB, 64 * MIB, 2), 1, "ok", ["2 workers need about 27 MiB"]),
    ("docker-default-16-cpus", _shm(64 * MIB, 64 * MIB, 16), 1, "warning",
     ["64 MiB free of 64 MiB (Docker's default)", "16 DataLoader workers need about 216 MiB", "--shm-size=8g",
      "--ipc=host", "num_workers=0", "unable to allocate shared memory"]),
    ("64-cpus-capped-at-16", _shm(64 * MIB, 64 * MIB, 64), 1, "warning", ["min(16, 64 usable CPUs)"]),
    ("lesson-6-480px-items-2-cpus", _shm(64 * MIB, 64 * MIB, 2), 6, "warning",
     ["2 DataLoader workers need about 169 MiB", "64 uint8 images of 480x480"]),
    ("mostly-used", _shm(8 * GIB, 10 * MIB, 2), 1, "warning", ["10 MiB free of 8.0 GiB"]),
    ("host-shm", {}, 6, "ok", ["8 workers need about"]),
    ("lesson-4-trainer-loads-in-process", _shm(64 * MIB, 64 * MIB, 16), 4, "skipped",
     ["lesson 4's Trainer", "dataloader_num_workers=0"]),
    ("lesson-without-images", _shm(64 * MIB, 64 * MIB, 16), 5, "skipped", ["lesson 5"]),
    ("unreadable", {"python": {"shared_memory": None}}, 1, "info", ["could not be read"]),
    ("mac", _mac(16 * GIB), 1, "skipped", ["not Linux"]),
]


@pytest.mark.parametrize("overrides, lesson, status, expected", [case[1:] for case in SHM_CASES],
                         ids=[case[0] for case in SHM_CASES])
def test_shared_memory(overrides, lesson, status, expected):
    finding = one("shared-memory", build(overrides, lesson=lesson))
    assert finding.status == status, finding
    for word in expected:
        assert word in words(finding), word
