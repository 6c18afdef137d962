"""Op probing: run the op catalogue on a device in a child process, restart after an op that kills the
child, and classify every op from what the child measured (``doctor.results.ops`` says what each class means).
A crashing op costs one extra child start; the ops after it still run.
"""

import re
import time
from typing import Any, Dict, Mapping, Optional, Sequence

from doctor.outcome import FAILED, OK, TIMEOUT, ProbeOutcome, skipped_outcome
from doctor.probes import torch_probe
from doctor.probes.programs.op_catalog import CATALOG
from doctor.probes.runner import run_probe
from doctor.requests import OpsRequest
from doctor.results.ops import OP_CRASHED, OP_TIMEOUT, classify, describe
from doctor.supervisor import Children

# faulthandler.dump_traceback_later(exit=True) prints this before it ends a hung child.
_CATALOG = {op.name: op for op in CATALOG}
_WATCHDOG = re.compile(r"^Timeout \(\d+:\d\d:\d\d", re.MULTILINE)


def _culprit(progress: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The op the child announced but never reported: the one it died in."""
    begun = [record.get("op") for record in progress if record.get("kind") == "begin"]
    finished = {record.get("op") for record in progress if record.get("kind") == "result"}
    unfinished = [name for name in begun if isinstance(name, str) and name not in finished]
    return unfinished[-1] if unfinished else None


def _lost_op(name: str, outcome: ProbeOutcome, op_timeout_s: float) -> Dict[str, Any]:
    """The record of the op a child crashed or hung in, from how that child ended."""
    hung = outcome.status == TIMEOUT or (outcome.status == FAILED and bool(_WATCHDOG.search(outcome.stderr_tail)))
    reason = ("did not finish within %g s" % op_timeout_s if hung
              else (outcome.reason or "").replace("probe torch ", "the child "))
    entry = _CATALOG.get(name)
    return {"kind": "result", "op": name, "status": OP_TIMEOUT if hung else OP_CRASHED, "reason": reason,
            "stderr_tail": outcome.stderr_tail[-800:], "lessons": list(entry.lessons) if entry else [],
            "why": entry.why if entry else ""}


class _Catalogue:
    """What the children of one op run reported: torch's facts and the run's header (from the first child that
    sent them) and every op's record, the ops children died in included."""

    def __init__(self, request: OpsRequest) -> None:
        self.request = request
        self.torch_facts: Optional[Dict[str, Any]] = None
        self.header: Optional[Dict[str, Any]] = None
        self.results: Dict[str, Dict[str, Any]] = {}
        self.restarts = 0

    def arguments(self) -> Dict[str, Any]:
        request = self.request
        return {"device": request.device, "catalog": request.catalog, "lesson": request.lesson,
                "only": list(request.only), "skip": sorted(self.results), "op_timeout_s": request.op_timeout_s}

    def absorb(self, outcome: ProbeOutcome) -> bool:
        """Take one child's records; True when a new child should go on after the op this one died in."""
        for record in outcome.progress:
            # A record without its fields (a probe cut off or garbled) is left out, never trusted: an ok outcome
            # always carries its data.
            kind = record.get("kind")
            if kind == "torch" and self.torch_facts is None and isinstance(record.get("facts"), dict):
                self.torch_facts = record["facts"]
            elif kind == "start" and self.header is None:
                self.header = dict(record)
            elif kind == "result" and isinstance(record.get("op"), str):
                self.results[record["op"]] = dict(record)
        culprit = _culprit(outcome.progress)
        if outcome.status == OK or self.header is None or culprit is None:
            return False
        self.results[culprit] = _lost_op(culprit, outcome, self.request.op_timeout_s)
        self.restarts += 1
        return True

    def outcomes(self, last: ProbeOutcome, elapsed: float) -> Dict[str, ProbeOutcome]:
        def finished(name, status, data, reason):
            return ProbeOutcome(name, status, data, reason, last.stderr_tail, elapsed, last.peak_rss_kb,
                                last.returncode)

        if self.torch_facts is None:
            return {"torch": finished("torch", last.status, None, last.reason),
                    "ops": finished("ops", last.status, None, last.reason)}
        torch = finished("torch", OK, self.torch_facts, None)
        if not self.torch_facts.get("importable"):
            return {"torch": torch, "ops": skipped_outcome("ops", "torch does not import")}
        if self.header is None:
            return {"torch": torch, "ops": finished("ops", last.status, None, last.reason)}
        for record in self.results.values():
            record["class"] = classify(record)
            record["evidence"] = describe(record)
        data = dict(self.header, ops=list(self.results.values()), restarts=self.restarts)
        return {"torch": torch, "ops": finished("ops", OK, data, None)}


def run_torch_probe(
    python: str,
    cwd: str,
    env: Mapping[str, str],
    request: OpsRequest,
    children: Optional[Children] = None,
) -> Dict[str, ProbeOutcome]:
    """Run the torch probe and its op catalogue to the end, one child after another when ops crash or hang.

    Returns two outcomes: ``torch`` (the build and devices, as the first child reported them) and ``ops``
    (``ok`` with every op's record once the catalogue ran, crashed ops included and marked; ``skipped``
    when torch does not import; otherwise the failure of the child that never reached the first op).
    """
    started = time.monotonic()
    spec = torch_probe(request.timeout_s)
    catalogue = _Catalogue(request)
    outcome = run_probe(spec, python, cwd, env, catalogue.arguments(), children)
    while catalogue.absorb(outcome):
        outcome = run_probe(spec, python, cwd, env, catalogue.arguments(), children)
    return catalogue.outcomes(outcome, time.monotonic() - started)
