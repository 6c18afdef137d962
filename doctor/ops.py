"""Op probing: run the op catalogue on a device in a child process, restart after an op that kills the
child, and classify every op from what the child measured.

Classes: ``native`` (runs on the device and matches the CPU reference), ``fallback`` (matches, but only
because the MPS fallback ran it on the CPU), ``unsupported`` (no kernel for the op on the device: the
NotImplementedError the MPS fallback covers), ``dtype-unsupported`` (a dtype or input type the kernel rejects),
``wrong`` (outside the tolerance), ``error`` (another exception), ``crashed`` (the child died in it),
``timeout`` (it hung). A crashing op costs one extra child start; the ops after it still run.
"""

import re
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from doctor.probes import torch_probe
from doctor.probes.programs.op_catalog import CATALOG
from doctor.probes.runner import FAILED, OK, TIMEOUT, ProbeOutcome, run_probe, skipped_outcome

NATIVE = "native"
FALLBACK = "fallback"
UNSUPPORTED = "unsupported"
DTYPE_UNSUPPORTED = "dtype-unsupported"
WRONG = "wrong"
ERROR = "error"
OP_CRASHED = "crashed"
OP_TIMEOUT = "timeout"
# Results that mean the device computes wrong or kills the process: `dl-doctor ops` exits 1 on them.
SEVERE_CLASSES = (WRONG, OP_CRASHED, OP_TIMEOUT)
OP_STATUSES = (NATIVE, FALLBACK, UNSUPPORTED, DTYPE_UNSUPPORTED, WRONG, ERROR, OP_CRASHED, OP_TIMEOUT)
DEVICES = ("auto", "cpu", "cuda", "mps", "xpu")
CATALOGS = ("lesson", "all")
# Only the device's availability: the torch facts and the run's header, no ops.
NO_OPS = "none"
OP_TIMEOUT_S = 30.0
# faulthandler.dump_traceback_later(exit=True) prints this before it ends a hung child.
_CATALOG = {op.name: op for op in CATALOG}
_WATCHDOG = re.compile(r"^Timeout \(\d+:\d\d:\d\d", re.MULTILINE)
# Errors that name a dtype the device lacks, e.g. MPS's "TypeError: Cannot convert a MPS Tensor to float64 dtype",
# a kernel's "RuntimeError: "eq_cpu" not implemented for 'ComplexHalf'", or a kernel rejecting an input type,
# "NotImplementedError: log_softmax for complex is not supported for MPS" (all quoted in the installed
# torch/testing/_internal/common_methods_invocations.py).
_DTYPE_WORDS = re.compile(r"float64|double|dtype|not implemented for '(Half|BFloat16|Double|Float)'"
                          r"|\bfor '?(bool|complex\w*|u?int\d*|long|short|byte|half|bfloat16|float\d*)'?\b",
                          re.IGNORECASE)
# The only NotImplementedError that means "no kernel for this op on this device", which the MPS fallback
# covers: "The operator 'aten::X' is not currently implemented for the MPS device" (aten/src/ATen/mps/
# MPSFallback.mm; quoted in torch/testing/_internal/common_methods_invocations.py), and the dispatcher's
# "Could not run 'aten::X' with arguments from the 'Y' backend" (c10/core/impl/OperatorEntry.cpp). A kernel
# that raises NotImplementedError for an input it rejects is not a missing op: the fallback cannot help.
_MISSING_OP = re.compile(r"is not currently implemented for the MPS device"
                         r"|Could not run 'aten::[^']+' with arguments from the '[\w ]+' backend")


def _exception_class(exception: Mapping[str, Any]) -> str:
    kind, message = exception.get("type"), exception.get("message") or ""
    if kind == "NotImplementedError" and _MISSING_OP.search(message):
        return UNSUPPORTED
    if kind in ("NotImplementedError", "TypeError", "RuntimeError") and _DTYPE_WORDS.search(message):
        return DTYPE_UNSUPPORTED
    return ERROR


def classify(record: Mapping[str, Any]) -> str:
    """The class of one op from the child's measurement (see the module docstring)."""
    if record.get("status") in (OP_CRASHED, OP_TIMEOUT):
        return record["status"]
    if record.get("reference_error"):
        return ERROR
    exception = record.get("exception")
    if exception:
        return _exception_class(exception)
    if record.get("within_tolerance") is False or record.get("mismatch"):
        return WRONG
    if record.get("fallback_warnings"):
        return FALLBACK
    return NATIVE


def describe(record: Mapping[str, Any]) -> str:
    """One line of evidence for an op's class."""
    status = classify(record)
    if status in (OP_CRASHED, OP_TIMEOUT):
        return record.get("reason", "")
    if record.get("reference_error"):
        return "fails on the CPU too: %s" % record["reference_error"]
    if record.get("exception"):
        message = record["exception"].get("message", "").strip().splitlines()
        return "%s: %s" % (record["exception"]["type"], message[0]) if message else record["exception"]["type"]
    if status == WRONG:
        if record.get("mismatch"):
            return record["mismatch"]
        return "max abs error %.3g beyond rtol %g, atol %g" % ((record.get("max_abs_error") or 0.0),
                                                               *record.get("tolerance", (0, 0)))
    if status == FALLBACK:
        return record["fallback_warnings"][0]
    if record.get("compare_error"):
        return "ran; not compared (%s)" % record["compare_error"]
    if record.get("max_abs_error") is not None:
        return "max abs error %.3g" % record["max_abs_error"]
    return ""


@dataclass(frozen=True)
class OpsRequest:
    device: str = "auto"
    catalog: str = "lesson"
    lesson: Optional[int] = None
    only: Sequence[str] = ()
    op_timeout_s: float = OP_TIMEOUT_S
    timeout_s: float = 300.0


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


def by_class(data: Mapping[str, Any], *classes: str) -> List[Mapping[str, Any]]:
    return [record for record in data.get("ops", []) if record.get("class") in classes]


def available_devices(torch_facts: Mapping[str, Any]) -> List[str]:
    """The devices the torch probe found usable, CPU first."""
    return ["cpu"] + [kind for kind in ("cuda", "mps", "xpu") if (torch_facts.get(kind) or {}).get("available")]


def torch_failure(outcome: ProbeOutcome) -> Optional[str]:
    """Why torch is not usable, in one line (from the torch probe's outcome), or None when it imported."""
    if outcome.ok and (outcome.data or {}).get("importable"):
        return None
    reason = outcome.reason or ((outcome.data or {}).get("error") or {}).get("message") or ""
    lines = str(reason).strip().splitlines()
    return lines[0] if lines else "no reason given"
