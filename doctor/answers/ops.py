"""The ``ops`` outcome's answer (doctor/ops.py over probes/programs/ops.py): the run's header and one record per
op, classified by the engine (doctor/results/ops.py says what each class means)."""

from typing import List, Literal, Optional, TypedDict, Union

from doctor.results.ops import OP_STATUSES

OpClass = Literal[OP_STATUSES]  # type: ignore[valid-type]  # the classes doctor.results.ops defines

# Each record says what the child measured, then the engine's class and one line of evidence for it.
_OpRecord = TypedDict("_OpRecord", {
    "kind": Literal["result"], "op": str, "lessons": List[int], "why": str, "class": OpClass, "evidence": str,
})


class OpException(TypedDict):
    type: str
    message: str


class _MeasuredOp(_OpRecord):
    dtype: str
    exception: Optional[OpException]
    fallback_warnings: List[str]
    max_abs_error: Optional[float]
    within_tolerance: Optional[bool]
    mismatch: Optional[str]
    reference_error: Optional[str]


class MeasuredOp(_MeasuredOp, total=False):
    # Absent when the CPU reference failed before the op ran on the device.
    seconds: float
    # (rtol, atol); absent unless the outputs were compared with the reference.
    tolerance: List[float]
    # Present when the outputs could not be compared (sparse or nested layouts).
    compare_error: str


class UnhandledOp(_OpRecord):
    """The probe's own handling of the op raised (an odd sample or output): still only this op's problem."""

    reference_error: str
    exception: None
    fallback_warnings: List[str]


class DeadOp(_OpRecord):
    """The op the child died in or hung in (the engine restarted the child after it)."""

    status: Literal["crashed", "timeout"]
    reason: str
    stderr_tail: str


class OpsAnswer(TypedDict):
    kind: Literal["start"]
    device: str
    requested: str
    simulated: bool
    available: bool
    torch: str
    fallback_variable: Optional[str]
    import_seconds: float
    catalog: str
    catalog_error: Optional[str]
    python: str
    os: str
    machine: str
    ops: List[Union[MeasuredOp, UnhandledOp, DeadOp]]
    restarts: int
