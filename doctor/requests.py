"""What a user asks `ops`, `bench` and `dist` to do: the request values, their defaults and the choices the
command line offers. Kept apart from the modules that run those children, so building the parser (and
``dl-doctor --version``) imports no process code."""

from dataclasses import dataclass
from typing import Optional, Sequence

DEVICES = ("auto", "cpu", "cuda", "mps", "xpu")
CATALOGS = ("lesson", "all")
# Only the device's availability: the torch facts and the run's header, no ops.
NO_OPS = "none"
OP_TIMEOUT_S = 30.0
BACKENDS = ("auto", "gloo", "nccl")
STEP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class OpsRequest:
    device: str = "auto"
    catalog: str = "lesson"
    lesson: Optional[int] = None
    only: Sequence[str] = ()
    op_timeout_s: float = OP_TIMEOUT_S
    timeout_s: float = 300.0


@dataclass(frozen=True)
class BenchRequest:
    device: str = "auto"
    size: int = 64
    epochs: int = 8
    batch: int = 32
    # 160 a class: 8 steps an epoch at batch 32, enough for batch norm's running statistics to settle
    # when resnet18 starts from random weights (with 5 steps validation accuracy stayed near chance).
    per_class: int = 160
    data: Optional[str] = None
    budget_s: float = 60.0


@dataclass(frozen=True)
class DistRequest:
    backend: str = "auto"
    nproc: Optional[int] = None
    port: Optional[int] = None
    timeout_s: float = STEP_TIMEOUT_S
    fastai: bool = True
