"""doctor/ops.py: each op's class and one line of evidence, from the raw record the probe child measured
(doctor/probes/programs/ops.py writes these records; run_torch_probe adds ``status`` to the ops a child
died in). The classes decide what `device-ops` and `mps-fallback` tell the learner."""

import pytest

from doctor.results.ops import (DTYPE_UNSUPPORTED, ERROR, FALLBACK, NATIVE, OP_CRASHED, OP_STATUSES, OP_TIMEOUT,
                                SEVERE_CLASSES, UNSUPPORTED, WRONG, available_devices, by_class, classify, describe,
                                torch_failure)
from doctor.outcome import ProbeOutcome

MISSING_ON_MPS = ("The operator 'aten::_linalg_solve_ex.result' is not currently implemented for the MPS device. "
                  "If you want this op to be added in priority during the prototype phase of this feature, please "
                  "comment on https://github.com/pytorch/pytorch/issues/77764.")
# The text of torch 2.5 and later (torch/testing/_internal/common_methods_invocations.py quotes it).
MISSING_ON_MPS_NOW = ("The operator 'aten::_linalg_solve_ex.result' is not currently implemented for the MPS device. "
                      "If you want this op to be considered for addition please comment on "
                      "https://github.com/pytorch/pytorch/issues/141287 and mention use-case, that resulted in "
                      "missing op as well as commit hash")
# MPS has no float64 (quoted in torch/testing/_internal/common_methods_invocations.py).
NO_FLOAT64 = ("Cannot convert a MPS Tensor to float64 dtype as the MPS framework doesn't support float64. "
              "Please use float32 instead.")
FALLBACK_WARNING = ("The operator 'aten::_linalg_solve_ex.result' is not currently supported on the MPS backend and "
                    "will fall back to run on the CPU. This may have performance implications.")


def measured(**changes):
    """A record as the child leaves it for an op that ran and matched the CPU reference."""
    record = {"kind": "result", "op": "linalg.solve", "lessons": [1, 2], "why": "fastai warp",
              "fallback_warnings": [], "exception": None, "max_abs_error": 1e-7, "within_tolerance": True,
              "mismatch": None, "reference_error": None, "dtype": "float32", "tolerance": [1e-5, 1e-6],
              "seconds": 0.001}
    record.update(changes)
    return record


def raised(kind, message):
    """The record of an op whose device run raised: the child stops before comparing."""
    return measured(exception={"type": kind, "message": message}, max_abs_error=None, within_tolerance=None)


def died(status, reason):
    """What run_torch_probe records for the op a child crashed or hung in."""
    return {"kind": "result", "op": "bernoulli_.int64", "status": status, "reason": reason,
            "stderr_tail": "LLVM ERROR: Failed to infer result type(s).", "lessons": [4], "why": "fastai mask_tensor"}


# (id, record, class, evidence: exact string, or a tuple of words it must contain)
CASES = [
    ("plain", measured(), NATIVE, "max abs error 1e-07"),
    ("exact", measured(max_abs_error=0.0), NATIVE, "max abs error 0"),
    ("uncomparable-output", measured(max_abs_error=None), NATIVE, ""),
    ("compare-error", measured(max_abs_error=None, within_tolerance=None,
                               compare_error="RuntimeError: sparse tensors do not have strides"),
     NATIVE, "ran; not compared (RuntimeError: sparse tensors do not have strides)"),
    ("not-implemented", raised("NotImplementedError", MISSING_ON_MPS), UNSUPPORTED,
     "NotImplementedError: " + MISSING_ON_MPS),
    ("missing-op-current-text", raised("NotImplementedError", MISSING_ON_MPS_NOW), UNSUPPORTED,
     ("NotImplementedError", "aten::_linalg_solve_ex.result")),
    ("missing-kernel-on-a-backend", raised("NotImplementedError", "Could not run 'aten::_foreach_add_.List' with "
                                                                  "arguments from the 'XPU' backend."),
     UNSUPPORTED, ("NotImplementedError", "'XPU' backend")),
    # An MPS kernel rejecting an input is not a missing op: the fallback cannot help it.
    ("mps-kernel-rejects-bool", raised("NotImplementedError", "log_softmax for bool is not supported for MPS"),
     DTYPE_UNSUPPORTED, "NotImplementedError: log_softmax for bool is not supported for MPS"),
    ("mps-kernel-rejects-complex", raised("NotImplementedError", "log_softmax for complex is not supported for MPS"),
     DTYPE_UNSUPPORTED, ("log_softmax for complex",)),
    ("not-implemented-naming-a-dtype", raised("NotImplementedError", "aten::foo not implemented for 'Half'"),
     DTYPE_UNSUPPORTED, "NotImplementedError: aten::foo not implemented for 'Half'"),
    ("not-implemented-for-another-reason", raised("NotImplementedError", "MPS does not support cumsum op with "
                                                                        "sparse inputs"),
     ERROR, ("NotImplementedError", "sparse inputs")),
    ("mps-float64", raised("TypeError", NO_FLOAT64), DTYPE_UNSUPPORTED, "TypeError: " + NO_FLOAT64),
    ("half-kernel-missing", raised("RuntimeError", "\"addmm_impl_cpu_\" not implemented for 'Half'"),
     DTYPE_UNSUPPORTED, "RuntimeError: \"addmm_impl_cpu_\" not implemented for 'Half'"),
    ("bfloat16-kernel-missing", raised("RuntimeError", "\"baddbmm_cuda\" not implemented for 'BFloat16'"),
     DTYPE_UNSUPPORTED, ("RuntimeError", "BFloat16")),
    ("other-runtime-error", raised("RuntimeError", "shape '[2, 3]' is invalid for input of size 5"), ERROR,
     "RuntimeError: shape '[2, 3]' is invalid for input of size 5"),
    ("other-type-error", raised("TypeError", "unsupported operand type(s) for +: 'Tensor' and 'str'"), ERROR,
     "TypeError: unsupported operand type(s) for +: 'Tensor' and 'str'"),
    ("multi-line-message", raised("RuntimeError", "  MPS backend out of memory\nTried to allocate 2 GiB\n"),
     ERROR, "RuntimeError: MPS backend out of memory"),
    ("reference-error", measured(reference_error="RuntimeError: expected a non-empty list of Tensors",
                                 max_abs_error=None, within_tolerance=None),
     ERROR, "fails on the CPU too: RuntimeError: expected a non-empty list of Tensors"),
    ("reference-error-wins-over-exception",
     dict(raised("NotImplementedError", MISSING_ON_MPS), reference_error="TypeError: bad argument"),
     ERROR, "fails on the CPU too: TypeError: bad argument"),
    ("outside-tolerance", measured(max_abs_error=0.5, within_tolerance=False), WRONG,
     "max abs error 0.5 beyond rtol 1e-05, atol 1e-06"),
    ("outside-own-tolerance", measured(max_abs_error=0.25, within_tolerance=False, tolerance=[2e-2, 2e-2]), WRONG,
     "max abs error 0.25 beyond rtol 0.02, atol 0.02"),
    ("shape-mismatch", measured(max_abs_error=None, within_tolerance=False, mismatch="shape (2, 3) instead of (3, 2)"),
     WRONG, "shape (2, 3) instead of (3, 2)"),
    ("validator-mismatch", measured(within_tolerance=None, mismatch="integer results differ"), WRONG,
     "integer results differ"),
    ("fallback", measured(fallback_warnings=[FALLBACK_WARNING]), FALLBACK, FALLBACK_WARNING),
    ("fallback-but-wrong", measured(fallback_warnings=[FALLBACK_WARNING], within_tolerance=False, max_abs_error=3.0),
     WRONG, ("max abs error 3", "beyond rtol")),
    ("fallback-then-raised", dict(raised("RuntimeError", "Placeholder storage has not been allocated on MPS device!"),
                                  fallback_warnings=[FALLBACK_WARNING]),
     ERROR, "RuntimeError: Placeholder storage has not been allocated on MPS device!"),
    ("crashed", died("crashed", "the child crashed with SIGABRT"), OP_CRASHED, "the child crashed with SIGABRT"),
    ("timeout", died("timeout", "did not finish within 30 s"), OP_TIMEOUT, "did not finish within 30 s"),
    ("crashed-status-wins", dict(raised("NotImplementedError", MISSING_ON_MPS), status="crashed",
                                 reason="the child crashed with SIGSEGV"),
     OP_CRASHED, "the child crashed with SIGSEGV"),
    ("crashed-without-reason", {"op": "x", "status": "crashed"}, OP_CRASHED, ""),
]


@pytest.mark.parametrize("record, expected_class, evidence", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_classify_and_describe(record, expected_class, evidence):
    assert classify(record) == expected_class
    assert expected_class in OP_STATUSES
    line = describe(record)
    if isinstance(evidence, tuple):
        for word in evidence:
            assert word in line
    else:
        assert line == evidence


@pytest.mark.parametrize("record", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_classify_and_describe_do_not_change_the_record(record):
    before = repr(record)
    classify(record)
    describe(record)
    assert repr(record) == before


@pytest.mark.parametrize("status, severe", [
    (NATIVE, False), (FALLBACK, False), (UNSUPPORTED, False), (DTYPE_UNSUPPORTED, False), (ERROR, False),
    (WRONG, True), (OP_CRASHED, True), (OP_TIMEOUT, True),
], ids=lambda value: str(value))
def test_severe_classes_are_wrong_results_and_dead_children(status, severe):
    # `dl-doctor ops` exits 1 on these.
    assert (status in SEVERE_CLASSES) is severe


DATA = {"device": "mps", "ops": [
    {"op": "conv2d", "class": NATIVE},
    {"op": "linalg.solve", "class": UNSUPPORTED},
    {"op": "grid_sample", "class": WRONG},
    {"op": "bernoulli_.int64", "class": OP_CRASHED},
    {"op": "index_put", "class": UNSUPPORTED},
    {"op": "unclassified"},
]}


@pytest.mark.parametrize("data, classes, names", [
    (DATA, (UNSUPPORTED,), ["linalg.solve", "index_put"]),
    (DATA, (OP_CRASHED, WRONG), ["grid_sample", "bernoulli_.int64"]),
    (DATA, (NATIVE,), ["conv2d"]),
    (DATA, (FALLBACK,), []),
    (DATA, (), []),
    ({"device": "cuda"}, (NATIVE,), []),
    ({"device": "cuda", "ops": []}, (NATIVE,), []),
], ids=["one-class", "two-classes-in-catalogue-order", "native", "absent-class", "no-class", "no-ops-key",
        "empty-ops"])
def test_by_class(data, classes, names):
    found = by_class(data, *classes)
    assert [record["op"] for record in found] == names
    assert all(record is original for record in found for original in data.get("ops", [])
               if original["op"] == record["op"])


@pytest.mark.parametrize("outcome, expected", [
    (ProbeOutcome("torch", "ok", {"importable": True}, None, "", 1.0, None, 0), None),
    (ProbeOutcome("torch", "ok", {"importable": False, "error": {"message": "No module named 'torch'\nmore"}},
                  None, "", 1.0, None, 0), "No module named 'torch'"),
    (ProbeOutcome("torch", "crashed", None, "probe torch crashed with SIGSEGV", "", 1.0, None, -11),
     "probe torch crashed with SIGSEGV"),
    # A reason of blanks once made the pytest plugin fail with an IndexError.
    (ProbeOutcome("torch", "failed", None, "  \n ", "", 1.0, None, 1), "no reason given"),
])
def test_torch_failure_is_one_line_or_none(outcome, expected):
    assert torch_failure(outcome) == expected


def test_available_devices_lists_the_cpu_then_what_torch_found():
    facts = {"cuda": {"available": False}, "mps": {"available": True}, "xpu": None}
    assert available_devices(facts) == ["cpu", "mps"]
