"""The ``hardware`` probe's answer (probes/programs/hardware.py): GPUs as the driver sees them."""

from typing import List, Literal, Optional, TypedDict


class GpuProcess(TypedDict):
    """A process holding memory on a GPU (NVML's running compute processes, or nvidia-smi --query-compute-apps)."""

    # As the driver reports it: inside a container, possibly a PID of the host's namespace.
    pid: int
    # None where the driver cannot tell (Windows WDDM).
    used_memory_mb: Optional[int]
    # /proc/PID/cmdline when readable, else nvidia-smi's process name, else None.
    command: Optional[str]
    parent_pid: Optional[int]


class NvidiaGpu(TypedDict):
    index: int
    name: str
    uuid: str
    # "9.0"; None when not known (the checks then choose by the driver alone).
    compute_capability: Optional[str]
    memory_total_mb: Optional[int]
    memory_free_mb: Optional[int]
    # None when the driver would not list them.
    processes: Optional[List[GpuProcess]]


class Nvidia(TypedDict):
    """From NVML, else nvidia-smi; with neither, no source and the errors of both."""

    source: Optional[Literal["nvml", "nvidia-smi"]]
    driver_version: Optional[str]
    gpus: List[NvidiaGpu]
    error: Optional[str]


class HardwareAnswer(TypedDict):
    nvidia: Nvidia
    cpu_model: Optional[str]
    machine: str
    system: str
