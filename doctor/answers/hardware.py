"""The ``hardware`` probe's answer (probes/programs/hardware.py): GPUs as the driver sees them."""

from typing import List, Literal, Optional, TypedDict


class NvidiaGpu(TypedDict):
    index: int
    name: str
    uuid: str
    # "9.0"; None when not known (the checks then choose by the driver alone).
    compute_capability: Optional[str]
    memory_total_mb: Optional[int]


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
