"""Op probing: run the op catalogue on a device in a child process, restart after an op that kills the
child, and classify every op from what the child measured (``doctor.results.ops`` says what each class means).
A crashing op costs one extra child start; the ops after it still run.
"""

import re
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from doctor.outcome import FAILED, OK, TIMEOUT, ProbeOutcome, skipped_outcome
from doctor.probes import torch_probe
from doctor.probes.programs.op_catalog import CATALOG
from doctor.probes.runner import run_probe
from doctor.requests import OpsRequest
from doctor.results.ops import OP_CRASHED, OP_TIMEOUT, classify, describe

# faulthandler.dump_traceback_later(exit=True) prints this before it ends a hung child.
_CATALOG = {op.name: op for op in CATALOG}
_WATCHDOG = re.compile(r"^Timeout \(\d+:\d\d:\d\d", re.MULTILINE)


def _culprit(progress: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The op the child announced but never reported: the one it died in."""
    begun = [record["op"] for record in progress if record.get("kind") == "begin"]
    finished = {record["op"] for record in progress if record.get("kind") == "result"}
    unfinished = [name for name in begun if name not in finished]
    return unfinished[-1] if unfinished else None


def run_torch_probe(
    python: str,
    cwd: str,
    env: Mapping[str, str],
    request: OpsRequest,
    started_processes: Optional[List[Any]] = None,
) -> Dict[str, ProbeOutcome]:
    """Run the torch probe and its op catalogue to the end, one child after another when ops crash or hang.

    Returns two outcomes: ``torch`` (the build and devices, as the first child reported them) and ``ops``
    (``ok`` with every op's record once the catalogue ran, crashed ops included and marked; ``skipped``
    when torch does not import; otherwise the failure of the child that never reached the first op).
    """
    started = time.monotonic()
    spec = torch_probe(request.timeout_s)
    torch_facts: Optional[Dict[str, Any]] = None
    header: Optional[Dict[str, Any]] = None
    results: Dict[str, Dict[str, Any]] = {}
    restarts = 0
    while True:
        arguments = {"device": request.device, "catalog": request.catalog, "lesson": request.lesson,
                     "only": list(request.only), "skip": sorted(results), "op_timeout_s": request.op_timeout_s}
        outcome = run_probe(spec, python, cwd, env, arguments, started_processes)
        for record in outcome.progress:
            kind = record.get("kind")
            if kind == "torch" and torch_facts is None:
                torch_facts = record["facts"]
            elif kind == "start" and header is None:
                header = dict(record)
            elif kind == "result":
                results[record["op"]] = dict(record)
        if outcome.status == OK:
            break
        culprit = _culprit(outcome.progress)
        if header is None or culprit is None:
            break
        hung = outcome.status == TIMEOUT or (outcome.status == FAILED and _WATCHDOG.search(outcome.stderr_tail))
        reason = ("did not finish within %g s" % request.op_timeout_s if hung
                  else (outcome.reason or "").replace("probe torch ", "the child "))
        entry = _CATALOG.get(culprit)
        results[culprit] = {"kind": "result", "op": culprit, "status": OP_TIMEOUT if hung else OP_CRASHED,
                            "reason": reason, "stderr_tail": outcome.stderr_tail[-800:],
                            "lessons": list(entry.lessons) if entry else [], "why": entry.why if entry else ""}
        restarts += 1
    elapsed = time.monotonic() - started

    def finished(name, status, data, reason):
        return ProbeOutcome(name, status, data, reason, outcome.stderr_tail, elapsed, outcome.peak_rss_kb,
                            outcome.returncode)

    if torch_facts is None:
        return {"torch": finished("torch", outcome.status, None, outcome.reason),
                "ops": finished("ops", outcome.status, None, outcome.reason)}
    torch = finished("torch", OK, torch_facts, None)
    if not torch_facts.get("importable"):
        return {"torch": torch, "ops": skipped_outcome("ops", "torch does not import")}
    if header is None:
        return {"torch": torch, "ops": finished("ops", outcome.status, None, outcome.reason)}
    for record in results.values():
        record["class"] = classify(record)
        record["evidence"] = describe(record)
    return {"torch": torch, "ops": finished("ops", OK, dict(header, ops=list(results.values()), restarts=restarts),
                                            None)}


