"""The probes behind checks/memory.py, run for real in child processes: the hardware probe with a stand-in pynvml
(on PYTHONPATH) and a stand-in nvidia-smi (on PATH) listing a real process, whose command line and parent come from
/proc; the python probe's /dev/shm and usable CPUs."""

import os
import subprocess
import sys

import pytest

from doctor.collect import probe_arguments, probe_environment
from doctor.probes import builtin_probes
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
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ipykernel_launcher"])
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
            "command": "%s -c import time; time.sleep(60) ipykernel_launcher" % sys.executable}


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
