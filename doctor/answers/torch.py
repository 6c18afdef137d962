"""The ``torch`` probe's answer (probes/programs/torch_facts.py, sent first by the torch child): torch's build and
the devices it can use, or why something named torch is not usable. None where torch's own call raised."""

from typing import List, Literal, Optional, TypedDict, Union

from doctor.answers.common import ProbeError


class CudaDevice(TypedDict):
    index: int
    name: str
    capability: List[int]
    total_memory_mb: int
    # torch.cuda.mem_get_info, for the device fastai trains on (current_device) only; None for the others.
    free_memory_mb: Optional[int]


class UnreadableCudaDevice(TypedDict):
    index: int
    error: Optional[str]


class Cuda(TypedDict):
    available: Optional[bool]
    available_error: Optional[str]
    device_count: Optional[int]
    arch_list: Optional[List[str]]
    arch_list_error: Optional[str]
    devices: List[Union[CudaDevice, UnreadableCudaDevice]]
    cudnn_available: Optional[bool]
    cudnn_error: Optional[str]
    cudnn_version: Optional[int]


class Mps(TypedDict):
    built: Optional[bool]
    available: Optional[bool]
    error: Optional[str]


class _Xpu(TypedDict):
    available: Optional[bool]
    device_count: Optional[int]


class Xpu(_Xpu, total=False):
    # Absent when this torch has no torch.xpu at all.
    error: Optional[str]


class Distributed(TypedDict):
    """Which torch.distributed backends the build has."""

    available: Optional[bool]
    error: Optional[str]
    gloo: Optional[bool]
    nccl: Optional[bool]
    mpi: Optional[bool]


class TorchImported(TypedDict):
    importable: Literal[True]
    import_seconds: float
    file: Optional[str]
    version: Optional[str]
    cuda_version: Optional[str]
    hip_version: Optional[str]
    xpu_version: Optional[str]
    debug: Optional[bool]
    num_threads: int
    cuda: Cuda
    mps: Mps
    xpu: Xpu
    distributed: Distributed


class _TorchUnusable(TypedDict):
    importable: Literal[False]
    error: ProbeError
    import_seconds: float


class TorchUnusable(_TorchUnusable, total=False):
    # Absent when ``import torch`` itself raised; the module's __file__ when it imported but is not torch.
    file: Optional[str]


TorchAnswer = Union[TorchImported, TorchUnusable]
