# Probe "imports": runs a lesson's import statements, in order, the way a notebook cell would,
# and records each one's outcome and error without judging it.
import sys
import time


def _fastai_default_device():
    # The device fastai trains on, from fastai itself (it may differ from torch's view: fastai#3952).
    core = sys.modules.get("fastai.torch_core")
    if core is None:
        return None, None
    try:
        return str(core.default_device()), None
    except Exception as exc:
        return None, "%s: %s" % (type(exc).__name__, exc)


def collect(arguments):
    results = []
    for item in arguments.get("statements", []):
        started = time.time()
        try:
            exec(compile(item["statement"], "<lesson cell>", "exec"), {"__name__": "__main__"})
            error = None
        except BaseException as exc:
            error = _doctor_error(exc)
        results.append({
            "statement": item["statement"],
            "required": item["required"],
            "ok": error is None,
            "seconds": time.time() - started,
            "error": error,
        })
    device, device_error = _fastai_default_device()
    return {"statements": results, "fastai_default_device": device, "fastai_default_device_error": device_error}
