# Probe "torch" (op_catalog.py and torch_facts.py are prepended): imports torch once, reports its build
# and devices, then runs the op catalogue on a device and records, per op, what happened: the exception,
# the CPU-fallback warnings, and the largest difference from a CPU reference. It measures; the engine
# classifies (doctor/ops.py). Everything goes out as progress lines the moment it is known, so a crash or
# hang in an op loses only that op.
import faulthandler
import json
import os
import platform
import threading
import time
import warnings

# torch's MPS fallback warning (aten/src/ATen/mps/MPSFallback.mm).
FALLBACK_WARNING = "will fall back to run on the CPU"
SIMULATION_VARIABLE = "DL_DOCTOR_SIMULATE"
DEFAULT_TOLERANCE = (1e-3, 1e-4)  # (rtol, atol) for float32 against a float64 reference
OPINFO_TOLERANCE = (1e-3, 1e-3)  # same dtype on both sides
# OpInfo entries whose values are random or uninitialised: they are run, not compared.
OPINFO_UNCOMPARABLE = ("bernoulli", "multinomial", "normal", "uniform", "rand", "dropout", "rrelu", "empty",
                       "exponential", "geometric", "cauchy", "log_normal", "randint")


def _simulated_backend(torch, config):
    """Tests only (DL_DOCTOR_SIMULATE): makes chosen aten ops behave as on a Mac's MPS device, on the CPU.

    "missing" ops raise MPS's NotImplementedError, or with PYTORCH_ENABLE_MPS_FALLBACK on, warn and run on
    the CPU, as MPS does; "wrong" ops return perturbed values; "abort" ops abort the process; "hang" ops hang.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    fallback = os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK", "0").strip()
    fallback_on = fallback.lstrip("+-").isdigit() and int(fallback) != 0
    behaviours = {}
    for behaviour in ("missing", "wrong", "abort", "hang"):
        for name in config.get(behaviour, []):
            behaviours[name] = behaviour

    class SimulatedMPS(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = func._schema.name
            behaviour = behaviours.get(name)
            if behaviour == "missing" and not fallback_on:
                overload = func._schema.overload_name
                raise NotImplementedError(
                    "The operator '%s%s' is not currently implemented for the MPS device. As a temporary fix, "
                    "you can set the environment variable `PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a "
                    "fallback for this op. WARNING: this will be slower than running natively on MPS."
                    % (name, "." + overload if overload else ""))
            if behaviour == "missing":
                warnings.warn("The operator '%s' is not currently supported on the MPS backend and will fall "
                              "back to run on the CPU. This may have performance implications." % name,
                              stacklevel=2)
            if behaviour == "abort":
                os.abort()
            if behaviour == "hang":
                threading.Event().wait()
            result = func(*args, **(kwargs or {}))
            if behaviour == "wrong" and isinstance(result, torch.Tensor) and result.is_floating_point():
                result = result + 1.0
            return result

    return SimulatedMPS


def _to(torch, value, device, dtype):
    if isinstance(value, torch.Tensor):
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(torch, item, device, dtype) for item in value)
    if isinstance(value, dict):
        return dict((key, _to(torch, item, device, dtype)) for key, item in value.items())
    return value


def _outputs(torch, result):
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        found = []
        for item in result:
            found.extend(_outputs(torch, item))
        return found
    return []


def _difference(torch, got, expected, tolerance):
    """(largest absolute difference, within tolerance, a sentence when shapes or kinds differ)."""
    if len(got) != len(expected):
        return None, False, "%d outputs instead of %d" % (len(got), len(expected))
    worst, fits = 0.0, True
    rtol, atol = tolerance
    for actual, wanted in zip(got, expected):
        actual = actual.detach().cpu()
        wanted = wanted.detach().cpu()
        if tuple(actual.shape) != tuple(wanted.shape):
            return None, False, "shape %s instead of %s" % (tuple(actual.shape), tuple(wanted.shape))
        if not (actual.is_floating_point() or actual.is_complex()):
            if not torch.equal(actual.to(wanted.dtype), wanted):
                return None, False, "integer results differ"
            continue
        if actual.numel() == 0:
            continue
        actual, wanted = actual.double(), wanted.double()
        if not torch.equal(torch.isnan(actual), torch.isnan(wanted)):
            return None, False, "NaN where the reference has a number (or the reverse)"
        # Equal values (infinities included) are no gap; NaN positions were checked above.
        finite = ~torch.isnan(wanted) & (actual != wanted)
        gap = (actual - wanted).abs()[finite]
        if gap.numel():
            worst = max(worst, gap.max().item())
            fits = fits and bool((gap <= atol + rtol * wanted.abs()[finite]).all().item())
    return worst, fits, None


def _run_once(torch, op_call, inputs, backward, mode):
    """Run an op (and its backward) and return the outputs followed by the input gradients."""
    leaves = [t.detach().requires_grad_(backward) if isinstance(t, torch.Tensor) and t.is_floating_point()
              else t for t in inputs]
    context = mode() if mode is not None else None
    if context is not None:
        context.__enter__()
    try:
        result = _outputs(torch, op_call(*leaves))
        gradients = []
        if backward:
            trainable = [t for t in leaves if isinstance(t, torch.Tensor) and t.requires_grad]
            total = sum(output.float().sum() if output.dtype != torch.float64 else output.sum()
                        for output in result if output.is_floating_point())
            gradients = list(torch.autograd.grad(total, trainable, allow_unused=True))
            gradients = [g for g in gradients if g is not None]
    finally:
        if context is not None:
            context.__exit__(None, None, None)
    return [r.detach() for r in result] + gradients


def _new_record(dtype):
    return {"fallback_warnings": [], "exception": None, "max_abs_error": None, "within_tolerance": None,
            "mismatch": None, "reference_error": None, "dtype": dtype}


def _on_device(record, run):
    """Run ``run()`` (the device side of one op), recording its time, its exception and the CPU-fallback
    warnings it raised; returns its outputs, or None when it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        started = time.time()
        try:
            got = run()
        except Exception as exc:
            record["exception"] = {"type": type(exc).__name__, "message": str(exc)[:600]}
            got = None
        record["seconds"] = time.time() - started
    record["fallback_warnings"] = sorted(set(str(w.message)[:300] for w in caught
                                             if FALLBACK_WARNING in str(w.message)))
    return got


def _compare(torch, record, got, expected, tolerance):
    record["tolerance"] = list(tolerance)
    try:
        record["max_abs_error"], record["within_tolerance"], record["mismatch"] = _difference(
            torch, got, expected, tolerance)
    except Exception as exc:
        # Some layouts (sparse, nested) cannot be compared elementwise here: the op ran, unverified.
        record["compare_error"] = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:200])


def _catalog_entry(torch, op, device, mode):
    inputs = op.inputs(torch, torch.Generator().manual_seed(0))
    record = _new_record(op.dtype)
    call = lambda *tensors: op.call(torch, *tensors)  # noqa: E731
    if op.validate is None:
        try:
            expected = _run_once(torch, call, inputs, op.backward, None)
        except Exception as exc:
            record["reference_error"] = _doctor_error_text(exc)
            return record
    dtype = None if op.keep_float64 else getattr(torch, op.dtype)
    got = _on_device(record, lambda: _run_once(torch, call, _to(torch, inputs, device, dtype), op.backward, mode))
    if got is None:
        return record
    if op.validate is not None:
        record["mismatch"] = op.validate(torch, got[0], inputs)
        record["within_tolerance"] = record["mismatch"] is None
        return record
    _compare(torch, record, got, expected, op.tolerance or DEFAULT_TOLERANCE)
    return record


def _opinfo_entries(torch):
    from torch.testing._internal.common_methods_invocations import op_db
    return op_db


def _opinfo_name(info):
    return "opinfo:" + info.name + ("." + info.variant_test_name if info.variant_test_name else "")


def _opinfo_on_device(torch, info, sample, device, mode):
    context = mode() if mode is not None else None
    if context is not None:
        context.__enter__()
    try:
        moved = [_to(torch, part, device, None) for part in (sample.input, sample.args, sample.kwargs)]
        torch.manual_seed(0)
        return _outputs(torch, info(moved[0], *moved[1], **moved[2]))
    finally:
        if context is not None:
            context.__exit__(None, None, None)


def _opinfo_entry(torch, info, device, mode):
    dtypes = info.supported_dtypes("cpu")
    dtype = torch.float32 if torch.float32 in dtypes else (sorted(dtypes, key=str)[0] if dtypes else torch.float32)
    record = _new_record(str(dtype).replace("torch.", ""))
    try:
        torch.manual_seed(0)
        sample = next(iter(info.sample_inputs("cpu", dtype, requires_grad=False)))
        torch.manual_seed(0)
        expected = _outputs(torch, info(sample.input, *sample.args, **sample.kwargs))
    except Exception as exc:
        record["reference_error"] = "%s: %s" % (type(exc).__name__, str(exc)[:300])
        return record
    got = _on_device(record, lambda: _opinfo_on_device(torch, info, sample, device, mode))
    if got is None:
        return record
    if any(word in info.name for word in OPINFO_UNCOMPARABLE):
        record["within_tolerance"] = True
        return record
    _compare(torch, record, got, expected, OPINFO_TOLERANCE)
    return record


def collect(arguments):
    started = time.time()
    fallback_variable = os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK")
    try:
        import torch
    except BaseException as exc:
        _doctor_progress({"kind": "torch", "facts": {"importable": False, "error": _doctor_error(exc),
                                                     "import_seconds": time.time() - started}})
        return {"finished": True}
    import_seconds = time.time() - started
    facts = describe_torch(torch, import_seconds)
    _doctor_progress({"kind": "torch", "facts": facts})
    if not facts["importable"] or arguments.get("describe_only"):
        return {"finished": True}
    simulation = json.loads(os.environ.get(SIMULATION_VARIABLE) or "null")
    requested = arguments.get("device") or "auto"
    device = auto_device(torch) if requested == "auto" else requested
    mode = None
    if simulation:
        device, mode = "cpu", _simulated_backend(torch, simulation)
    reported_device = simulation.get("device", "mps") if simulation else device
    header = {"kind": "start", "device": reported_device, "requested": requested, "simulated": bool(simulation),
              "available": True if simulation else device_available(torch, device),
              "torch": torch.__version__, "fallback_variable": fallback_variable, "import_seconds": import_seconds,
              "catalog": arguments.get("catalog", "lesson"), "catalog_error": None,
              "python": platform.python_version(), "os": platform.system(), "machine": platform.machine()}
    if not header["available"]:
        _doctor_progress(header)
        return {"finished": True}
    # The fallback warning is TORCH_WARN_ONCE (aten/src/ATen/mps/MPSFallback.mm): once per process without this.
    torch.set_warn_always(True)
    skip = set(arguments.get("skip") or [])
    only = set(arguments.get("only") or [])
    if arguments.get("catalog") == "all":
        try:
            entries = [(_opinfo_name(info), info) for info in _opinfo_entries(torch)]
        except Exception as exc:
            header["catalog_error"] = _doctor_error_text(exc)
            _doctor_progress(header)
            return {"finished": True}
        run_entry = _opinfo_entry
    elif arguments.get("catalog") == "none":
        entries, run_entry = [], None
    else:
        lesson = arguments.get("lesson")
        entries = [(op.name, op) for op in ops_for_lesson(lesson)]
        run_entry = _catalog_entry
    _doctor_progress(header)
    op_timeout = float(arguments.get("op_timeout_s") or 30)
    for name, entry in entries:
        if name in skip or (only and name not in only):
            continue
        _doctor_progress({"kind": "begin", "op": name})
        # A watchdog thread in C: exits the process with a traceback if this op hangs, even inside C code.
        faulthandler.dump_traceback_later(op_timeout, exit=True)
        try:
            record = run_entry(torch, entry, device, mode)
        except Exception as exc:
            # The probe's own handling failed (an odd sample, an odd output): still only this op's problem.
            record = {"reference_error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:300])
                      if str(exc) else type(exc).__name__, "exception": None, "fallback_warnings": []}
        faulthandler.cancel_dump_traceback_later()
        record.update({"kind": "result", "op": name, "lessons": list(getattr(entry, "lessons", ())),
                       "why": getattr(entry, "why", "")})
        _doctor_progress(record)
    return {"finished": True}
