"""Shapes several probes share."""

from typing import List, TypedDict


class ProbeError(TypedDict):
    """An exception caught in a probe child (``_doctor_error`` in probes/programs/prelude.py); the probe's own
    frames are left out of ``traceback`` and ``files``."""

    type: str
    message: str
    traceback: str
    files: List[str]
