"""What an op run means: the class of each op from the child's measurement, one line of evidence for it, and
why torch is not usable. Pure functions of probe answers, read by the checks, the renderers and ``doctor.ops``.

Classes: ``native`` (runs on the device and matches the CPU reference), ``fallback`` (matches, but only
because the MPS fallback ran it on the CPU), ``unsupported`` (no kernel for the op on the device: the
NotImplementedError the MPS fallback covers), ``dtype-unsupported`` (a dtype or input type the kernel rejects),
``wrong`` (outside the tolerance), ``error`` (another exception), ``crashed`` (the child died in it),
``timeout`` (it hung).
"""

import re
from typing import Any, List, Mapping, Optional

from doctor.outcome import ProbeOutcome

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
