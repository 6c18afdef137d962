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
            })
        return {"source": "nvml", "driver_version": driver, "gpus": gpus, "error": None}
    finally:
        pynvml.nvmlShutdown()


def _nvidia_smi():
    fields = "index,name,uuid,compute_cap,memory.total,driver_version"
    out = subprocess.check_output(
        ["nvidia-smi", "--query-gpu=" + fields, "--format=csv,noheader,nounits"],
        stderr=subprocess.STDOUT, timeout=10,
    ).decode("utf-8", "replace")
    gpus = []
    driver = None
    for line in out.strip().splitlines():
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 6:
            continue
        index, name, uuid, capability, memory, driver = parts
        gpus.append({
            "index": int(index),
            "name": name,
            "uuid": uuid,
            "compute_capability": capability,
            "memory_total_mb": int(float(memory)) if memory.replace(".", "").isdigit() else None,
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
