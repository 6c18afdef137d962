"""The probes behind checks/memory.py, run for real in child processes: the hardware probe with a stand-in pynvml
(on PYTHONPATH) and a stand-in nvidia-smi (on PATH) listing a real process, whose command line and parent come from
/proc; the python probe's /dev/shm and usable CPUs; the torch probe's free memory, with a stand-in torch.cuda."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from doctor.collect import probe_arguments, probe_environment
from doctor.probes import builtin_probes, programs
from doctor.probes.runner import run_probes

SPECS = {spec.name: spec for spec in builtin_probes()}

FAKE_PYNVML = '''
import types
def nvmlInit(): pass
def nvmlShutdown(): pass
def nvmlSystemGetDriverVersion(): return b"580.95.05"
def nvmlDeviceGetCount(): return 1
def nvmlDeviceGetHandleByIndex(index): return index
def nvmlDeviceGetName(handle): return b"NVIDIA GeForce RTX 3060"
def nvmlDeviceGetUUID(handle): return "GPU-1234"
def nvmlDeviceGetCudaComputeCapability(handle): return (8, 6)
def nvmlDeviceGetMemoryInfo(handle):
    return types.SimpleNamespace(total=12288 * 2 ** 20, free=2100 * 2 ** 20, used=10188 * 2 ** 20)
def nvmlDeviceGetComputeRunningProcesses(handle):
    return [types.SimpleNamespace(pid=%d, usedGpuMemory=9318 * 2 ** 20),
            types.SimpleNamespace(pid=4194000, usedGpuMemory=None)]
'''

FAKE_NVIDIA_SMI = '''#!/bin/sh
case "$1" in
  --query-gpu=*) echo "0, NVIDIA GeForce RTX 3060, GPU-1234, 8.6, 12288, 2100, 580.95.05" ;;
  --query-compute-apps=*) echo "GPU-1234, %d, python3, 9318"; echo "GPU-1234, 4194000, [Not Found], [N/A]" ;;
  *) exit 9 ;;
esac
'''


@pytest.fixture
def holder():
    """A real process standing in for another notebook kernel."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "ipykernel_launcher"])
    yield process
    process.kill()
    process.wait()


def hardware(cwd, **environment):
    outcome = run_probes([SPECS["hardware"]], sys.executable, str(cwd), dict(probe_environment(), **environment),
                         probe_arguments(1))["hardware"]
    assert outcome.ok, outcome.reason
    return outcome.data["nvidia"]


def _expected_holder(holder, used):
    return {"pid": holder.pid, "used_memory_mb": used, "parent_pid": os.getpid(),
            "command": "%s -c import time; time.sleep(3600) ipykernel_launcher" % sys.executable}


def test_nvml_gives_free_memory_and_the_processes_with_their_commands(tmp_path, holder):
    (tmp_path / "pynvml.py").write_text(FAKE_PYNVML % holder.pid)
    nvidia = hardware(tmp_path, PYTHONPATH=str(tmp_path))
    assert nvidia["source"] == "nvml"
    gpu = nvidia["gpus"][0]
    assert (gpu["memory_total_mb"], gpu["memory_free_mb"]) == (12288, 2100)
    assert gpu["processes"] == [_expected_holder(holder, 9318),
                                {"pid": 4194000, "used_memory_mb": None, "command": None, "parent_pid": None}]


def test_nvidia_smi_is_the_fallback_for_memory_and_processes(tmp_path, holder):
    tool = tmp_path / "bin" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text(FAKE_NVIDIA_SMI % holder.pid)
    tool.chmod(0o755)
    nvidia = hardware(tmp_path, PATH="%s%s%s" % (tool.parent, os.pathsep, os.environ["PATH"]))
    assert nvidia["source"] == "nvidia-smi"
    gpu = nvidia["gpus"][0]
    assert (gpu["memory_total_mb"], gpu["memory_free_mb"]) == (12288, 2100)
    assert gpu["processes"] == [_expected_holder(holder, 9318),
                                {"pid": 4194000, "used_memory_mb": None, "command": None, "parent_pid": None}]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/shm and sched_getaffinity are Linux's")
def test_the_python_probe_reads_dev_shm_and_the_usable_cpus(tmp_path):
    outcome = run_probes([SPECS["metadata"]], sys.executable, str(tmp_path), probe_environment(),
                         probe_arguments(1))["python"]
    stats = os.statvfs("/dev/shm")
    assert outcome.data["shared_memory"]["total_bytes"] == stats.f_blocks * stats.f_frsize
    assert outcome.data["usable_cpus"] == len(os.sched_getaffinity(0))


def _torch_probe_namespace():
    """The torch probe's functions with the shared helpers they call (not the prelude: it opens the answer channel)."""
    folder = Path(programs.__file__).parent
    namespace = {}
    for name in ("shared", "torch_facts"):
        exec(compile((folder / (name + ".py")).read_text(), name, "exec"), namespace)
    return namespace


class _FakeCuda:
    """torch.cuda on a two-GPU machine whose current device is 1; mem_get_info fails on ``broken``."""

    def __init__(self, broken=()):
        self.broken, self.asked = broken, []

    def is_available(self):
        return True

    def device_count(self):
        return 2

    def get_arch_list(self):
        return ["sm_86"]

    def current_device(self):
        return 1

    def get_device_properties(self, index):
        return types.SimpleNamespace(name="GPU %d" % index, major=8, minor=6, total_memory=12288 * 2 ** 20)

    def mem_get_info(self, index):
        self.asked.append(index)
        if index in self.broken:
            raise RuntimeError("CUDA error: out of memory")
        return (2100 * 2 ** 20, 12288 * 2 ** 20)


def _fake_torch(cuda):
    cudnn = types.SimpleNamespace(is_available=lambda: False)
    return types.SimpleNamespace(cuda=cuda, backends=types.SimpleNamespace(cudnn=cudnn))


def test_the_torch_probe_asks_free_memory_of_the_device_fastai_trains_on_only():
    cuda = _FakeCuda()
    devices = _torch_probe_namespace()["_cuda"](_fake_torch(cuda))["devices"]
    assert [(d["index"], d["free_memory_mb"]) for d in devices] == [(0, None), (1, 2100)]
    assert cuda.asked == [1]  # mem_get_info makes a CUDA context: none on the other GPU


def test_the_torch_probe_records_unknown_free_memory_when_cuda_refuses():
    devices = _torch_probe_namespace()["_cuda"](_fake_torch(_FakeCuda(broken=(1,))))["devices"]
    assert devices[1]["free_memory_mb"] is None
    assert devices[1]["total_memory_mb"] == 12288
