"""The ``dist`` outcome's answer (doctor/dist.py over probes/programs/dist_worker.py): the plan, how each rank
ended, what each step measured on each rank, and what outlived the run."""

from typing import Dict, List, Literal, Optional, TypedDict, Union

from doctor.answers.common import ProbeError


class Rank(TypedDict):
    rank: int
    pid: int
    ending: Literal["finished", "died", "timeout", "killed", "error"]
    returncode: Optional[int]
    signal: Optional[str]
    last_step: Optional[str]
    completed: List[str]
    in_step: Optional[str]
    error: Optional[ProbeError]
    stderr_tail: str


class Cleanup(TypedDict):
    left_behind_pids: List[int]
    port_free_before: bool
    port_free: bool


class ImportStep(TypedDict):
    seconds: float
    torch: str


class BackendsStep(TypedDict):
    available: bool
    gloo: bool
    nccl: bool
    mpi: bool
    cuda_devices: int


class RendezvousStep(TypedDict):
    seconds: float
    backend: str
    world_size: int
    device: str


class BarrierStep(TypedDict):
    seconds: float


class ReducedValues(TypedDict):
    expected: int
    got_min: float
    got_max: float
    correct: bool


class AllReduceStep(TypedDict):
    # float32 and int64
    dtypes: Dict[str, ReducedValues]
    correct: bool


class BroadcastStep(TypedDict):
    correct: bool
    max_error: float


class AllGatherStep(TypedDict):
    correct: bool
    got: List[float]
    expected: List[float]


class BandwidthRow(TypedDict):
    bytes: int
    calls: int
    time_us: float
    algbw_gbps: float
    busbw_gbps: float


class PairBandwidth(TypedDict):
    ranks: List[int]
    busbw_gbps: float


class PcieLink(TypedDict):
    generation: int
    width: int


class Topology(TypedDict):
    """nvidia-smi topo -m, parsed ("0-1": "NV12") and as text, and each GPU's PCIe link."""

    links: Dict[str, str]
    pcie: Dict[str, PcieLink]
    matrix: Optional[str]
    error: Optional[str]


class _BandwidthTable(TypedDict):
    rows: List[BandwidthRow]
    world_size: int
    device: str


class BandwidthTable(_BandwidthTable, total=False):
    """Rank 0's bandwidth step: the table, with NCCL the pairs (more than 2 GPUs) and the topology."""

    pairs: List[PairBandwidth]
    topology: Topology


class RankPairs(TypedDict):
    """Every other rank's bandwidth step: the pairs it took part in."""

    pairs: List[PairBandwidth]


class FastaiUnavailable(TypedDict):
    available: Literal[False]
    error: ProbeError


class _FastaiRun(TypedDict):
    available: Literal[True]
    cpu_broadcast_shim: bool
    import_seconds: float
    fit_seconds: float
    losses: List[float]
    world_size: int
    batch_per_rank: int
    steps: int
    device: str


class FastaiRun(_FastaiRun, total=False):
    # Rank 0 only: the same training as one process with the combined batch.
    reference_losses: List[float]


# Step -> rank (as a string) -> what that rank's step measured; a step no rank finished maps to {}.
DistResults = TypedDict("DistResults", {
    "import": Dict[str, ImportStep],
    "backends": Dict[str, BackendsStep],
    "rendezvous": Dict[str, RendezvousStep],
    "barrier": Dict[str, BarrierStep],
    "all_reduce": Dict[str, AllReduceStep],
    "broadcast": Dict[str, BroadcastStep],
    "all_gather": Dict[str, AllGatherStep],
    "bandwidth": Dict[str, Union[BandwidthTable, RankPairs]],
    "fastai": Dict[str, Union[FastaiRun, FastaiUnavailable]],
})


class DistAnswer(TypedDict):
    backend: Literal["gloo", "nccl"]
    nproc: int
    master_addr: str
    port: int
    gloo_socket_ifname: Optional[str]
    timeout_s: float
    step_timeouts_s: Dict[str, float]
    steps: List[str]
    ranks: List[Rank]
    results: DistResults
    wall_s: float
    cleanup: Cleanup
