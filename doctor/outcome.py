"""A probe's outcome as data: its status, its answer or the reason it has none, and what it left behind.

Everything the engine learns from a child process ends up in a ``ProbeOutcome``; facts, checks and reports
read these, so this module knows nothing about processes.
"""

from dataclasses import asdict, dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

OK = "ok"
FAILED = "failed"
CRASHED = "crashed"
TIMEOUT = "timeout"
GARBAGE = "garbage"
NOT_STARTED = "not-started"
SKIPPED = "skipped"


@dataclass(frozen=True)
class ProbeOutcome:
    """What one probe produced. ``data`` is the probe's answer when ``status`` is ``ok``."""

    name: str
    status: str
    data: Optional[Dict[str, Any]]
    reason: Optional[str]
    stderr_tail: str
    duration_s: float
    peak_rss_kb: Optional[int]
    returncode: Optional[int]
    # Partial results the probe sent before its answer; kept when it crashes or hangs later.
    progress: Tuple[Dict[str, Any], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> Dict[str, Any]:
        raw = asdict(self)
        raw["progress"] = list(self.progress)
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ProbeOutcome":
        return cls(
            name=str(raw["name"]),
            status=str(raw["status"]),
            data=raw.get("data"),
            reason=raw.get("reason"),
            stderr_tail=str(raw.get("stderr_tail") or ""),
            duration_s=float(raw.get("duration_s") or 0.0),
            peak_rss_kb=raw.get("peak_rss_kb"),
            returncode=raw.get("returncode"),
            progress=tuple(raw.get("progress") or ()),
        )


def skipped_outcome(name: str, reason: str) -> ProbeOutcome:
    return ProbeOutcome(name, SKIPPED, None, reason, "", 0.0, None, None)
