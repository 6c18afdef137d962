# Probe "hardware": accelerators present on the machine, asked of the driver rather than of torch,
# so that a CPU-only torch build on a GPU machine is still seen.
import sys
import platform
import subprocess

# nvidia-ml-py's pynvml, when the target environment has it: imported with the probe's machinery, while the
# working folder is off sys.path (prelude.py), so its own standard-library imports are the real ones.
try:
    import pynvml
    _PYNVML_ERROR = None
except Exception as exc:
    pynvml, _PYNVML_ERROR = None, exc


def _nvml():
    if pynvml is None:
        raise _PYNVML_ERROR
    pynvml.nvmlInit()
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else driver
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append({
                "index": index,
                "name": name.decode() if isinstance(name, bytes) else name,
                "uuid": uuid.decode() if isinstance(uuid, bytes) else uuid,
                "compute_capability": "%d.%d" % (major, minor),
                "memory_total_mb": int(memory.total // (1024 * 1024)),
                "memory_free_mb": int(memory.free // (1024 * 1024)),
                "processes": _nvml_processes(pynvml, handle),
            })
        return {"source": "nvml", "driver_version": driver, "gpus": gpus, "error": None}
    finally:
        pynvml.nvmlShutdown()


def _nvml_processes(pynvml, handle):
    try:
        running = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    except Exception:
        return None
    # usedGpuMemory is None where the driver cannot tell (NVML_VALUE_NOT_AVAILABLE, e.g. Windows WDDM).
    return [_gpu_process(process.pid, None if process.usedGpuMemory is None
                         else process.usedGpuMemory // (1024 * 1024), None) for process in running]


def _gpu_process(pid, used_mb, driver_name):
    """A process holding GPU memory, with its command line and parent when /proc shows them. The PID is the one the
    driver gives: inside a container it may belong to the host's PID namespace."""
    command, parent = None, None
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip() or None
        with open("/proc/%d/stat" % pid) as handle:
            # The parent PID is the second field after the ")" closing the command name.
            parent = int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {"pid": int(pid), "used_memory_mb": None if used_mb is None else int(used_mb),
            "command": command or driver_name, "parent_pid": parent}


def _nvidia_smi_processes():
    try:
        out = subprocess.check_output(
            ["nvidia-smi", "--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
             "--format=csv,noheader,nounits"], stderr=subprocess.STDOUT, timeout=10,
        ).decode("utf-8", "replace")
    except Exception:
        return None
    processes = {}
    for line in out.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 4 or not parts[1].isdigit():
            continue
        uuid, pid, name, used = parts
        processes.setdefault(uuid, []).append(
            # nvidia-smi writes "[Not Found]" or "[N/A]" where it has no value.
            _gpu_process(int(pid), int(used) if used.isdigit() else None, None if name.startswith("[") else name))
    return processes


def _mib(text):
    return int(float(text)) if text.replace(".", "").isdigit() else None


def _nvidia_smi():
    fields = "index,name,uuid,compute_cap,memory.total,memory.free,driver_version"
    out = subprocess.check_output(
        ["nvidia-smi", "--query-gpu=" + fields, "--format=csv,noheader,nounits"],
        stderr=subprocess.STDOUT, timeout=10,
    ).decode("utf-8", "replace")
    gpus = []
    driver = None
    processes = _nvidia_smi_processes()
    for line in out.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 7:
            continue
        index, name, uuid, capability, total, free, driver = parts
        gpus.append({
            "index": int(index),
            "name": name,
            "uuid": uuid,
            "compute_capability": capability,
            "memory_total_mb": _mib(total),
            "memory_free_mb": _mib(free),
            "processes": None if processes is None else processes.get(uuid, []),
        })
    return {"source": "nvidia-smi", "driver_version": driver, "gpus": gpus, "error": None}


def _nvidia():
    errors = []
    try:
        return _nvml()
    except Exception as exc:
        errors.append("nvml: " + _doctor_error_text(exc))
    try:
        return _nvidia_smi()
    except Exception as exc:
        errors.append("nvidia-smi: " + _doctor_error_text(exc))
    return {"source": None, "driver_version": None, "gpus": [], "error": "; ".join(errors)}


def _cpu_model():
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo") as handle:
                for line in handle:
                    if line.startswith("model name"):
                        return line.split(":", 1)[1].strip()
        except OSError:
            pass
    if sys.platform == "darwin":
        model = _doctor_command_output(["sysctl", "-n", "machdep.cpu.brand_string"], 5)
        if model is not None:
            return model
    return platform.processor() or None


def collect(arguments):
    return {
        "nvidia": _nvidia(),
        "cpu_model": _cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
    }
