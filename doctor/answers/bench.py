"""The ``bench`` probe's answer (probes/programs/bench.py): lesson 1's path end to end. The answer grows stage by
stage; ``stage`` says where the run stopped ("done" when it went through), and the parts of later stages are
absent."""

from typing import Dict, List, Literal, Optional, TypedDict, Union

from doctor.answers.common import ProbeError


class BenchImportFailed(TypedDict):
    stage: Literal["import"]
    error: ProbeError


class BadImage(TypedDict):
    path: str
    error: str


class BenchData(TypedDict):
    path: str
    synthetic: bool
    images: int
    classes: List[str]
    bad_files: List[BadImage]


class Numerics(TypedDict):
    """Relative errors of float32 on the device against float64 on the CPU, for one resnet18 batch."""

    logits_error: float
    gradient_error: float
    logits_tolerance: float
    gradient_tolerance: float
    batch: int
    size: int


class _Speed(TypedDict):
    matmul_gflops: float
    forward_flops_per_image: int
    raw_images_per_second: float
    data_images_per_second: float


class Speed(_Speed, total=False):
    # The same measures on the CPU, when the device is not the CPU.
    cpu_raw_images_per_second: float
    cpu_matmul_gflops: float
    # After training; None when the unfrozen epochs took no measurable time.
    fit_images_per_second: Optional[float]


class Learning(TypedDict):
    epoch_train_losses: List[float]
    valid_images: int
    accuracy: float
    train_images: int


class Export(TypedDict):
    items: int
    agree: bool
    max_probability_difference: float
    bytes: int


class _BenchRun(TypedDict):
    stage: Literal["started", "data", "budget", "done"]
    device: str
    available: bool
    available_devices: List[str]
    torch: str
    platform: str
    cpu_count: Optional[int]
    import_seconds: float
    size: int
    batch: int
    epochs: int
    budget_s: float
    # Seconds since the start at the end of each phase reached.
    phases: Dict[str, float]


class BenchRun(_BenchRun, total=False):
    data: BenchData
    numerics: Numerics
    weights: Literal["imagenet", "random"]
    weights_path: Optional[str]
    speed: Speed
    learning_estimate_s: float
    # Only when the training would not fit the budget (stage "budget").
    budget_left_s: float
    learning: Learning
    export: Export


BenchAnswer = Union[BenchImportFailed, BenchRun]
