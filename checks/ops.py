"""Op support on the device the lessons use: the lesson's op catalogue, run there and compared with the
CPU (doctor/ops.py classifies each op). Ops that only the MPS fallback rescues are ``mps-fallback``'s."""

from doctor.findings import error, fix, ok, skipped, warning
from doctor.results.ops import (DTYPE_UNSUPPORTED, ERROR, FALLBACK, NATIVE, OP_CRASHED, SEVERE_CLASSES, UNSUPPORTED,
                        by_class)
from doctor.registry import check

SEVERE = SEVERE_CLASSES


def _listing(records):
    return "\n".join("%s [%s]: %s (used for %s)" % (r["op"], r["class"], r.get("evidence", ""), r.get("why", ""))
                     for r in records)


@check("device-ops", "The lesson's ops run on the lesson device and match the CPU", needs=("ops",), topic="ops")
def device_ops(facts):
    data = facts.data("ops")
    device = data.get("device")
    total = len(data.get("ops", []))
    mps = device == "mps"
    # On MPS, missing ops are the fallback's business (mps-fallback); elsewhere a missing op is a failure.
    failing = by_class(data, *(SEVERE + ((ERROR,) if mps else (ERROR, UNSUPPORTED))))
    dtype = by_class(data, DTYPE_UNSUPPORTED)
    if not total:
        yield skipped("no ops ran on %s" % device)
        return
    if failing:
        severe = [r for r in failing if r["class"] in SEVERE or r["class"] == UNSUPPORTED]
        names = ", ".join("%s (%s)" % (r["op"], r["class"]) for r in failing)
        crashed = by_class(data, OP_CRASHED)
        text = "Update torch (newer releases fix many device kernels); until then keep these ops off the device."
        if crashed:
            text += " Crashing ops kill the kernel without a Python error: %s." % ", ".join(r["op"] for r in crashed)
        yield (error if severe else warning)(
            "%d of %d lesson ops fail on %s: %s" % (len(failing), total, device, names),
            detail=_listing(failing + dtype),
            fix=fix(text),
        )
        return
    if dtype:
        # MPS has no float64 and the fallback does not cover it (pytorch#122602).
        yield warning(
            "%d of %d lesson ops need a dtype %s lacks: %s" % (len(dtype), total, device,
                                                               ", ".join(r["op"] for r in dtype)),
            detail=_listing(dtype),
            fix=fix("Convert data to float32 before it reaches the device (df.astype('float32'), tensor.float())."),
        )
        return
    fallback = len(by_class(data, FALLBACK))
    native = len(by_class(data, NATIVE))
    restarts = data.get("restarts", 0)
    yield ok("%d of %d lesson ops run natively on %s%s" % (
        native, total, device, " (%d through the CPU fallback)" % fallback if fallback else ""),
        detail="torch %s; %d child restart(s)" % (data.get("torch"), restarts))
