"""checks/ops.py: device-ops, the lesson's op catalogue run on the lesson device and compared with the CPU.
Ops MPS lacks are mps-fallback's business, not device-ops'; everywhere else a missing op is a failure."""

import pytest

from checkrun import APPLE_ARM64, build, one, words
from doctor.outcome import skipped_outcome
from factories import op_record, failed_outcome

SOLVE = ("linalg.solve", (1, 2), "fastai aug_transforms warp (find_coeffs)")
GRID = ("grid_sample", (1, 2, 8), "fastai affine and warp augmentations")
CONV = ("conv2d", (1, 2, 8), "every convolutional layer of resnet")
BERNOULLI = ("bernoulli_.int64", (4,), "fastai mask_tensor (dropout masks on integer tensors)")
CATALOGUE = (SOLVE, GRID, CONV, BERNOULLI)

# How each class looks in the facts (doctor/ops.py sets class and evidence).
RESULTS = {
    "wrong": dict(op_class="wrong", evidence="max abs error 0.5 beyond rtol 1e-05, atol 1e-06",
                  within_tolerance=False, max_abs_error=0.5),
    "crashed": dict(op_class="crashed", evidence="the child crashed with SIGABRT", status="crashed",
                    reason="the child crashed with SIGABRT"),
    "timeout": dict(op_class="timeout", evidence="did not finish within 30 s", status="timeout",
                    reason="did not finish within 30 s"),
    "error": dict(op_class="error", evidence="RuntimeError: Placeholder storage has not been allocated",
                  exception={"type": "RuntimeError", "message": "Placeholder storage has not been allocated"},
                  within_tolerance=None, max_abs_error=None),
    "dtype-unsupported": dict(op_class="dtype-unsupported",
                              evidence="TypeError: Cannot convert a MPS Tensor to float64 dtype",
                              exception={"type": "TypeError",
                                         "message": "Cannot convert a MPS Tensor to float64 dtype"},
                              within_tolerance=None, max_abs_error=None),
    "unsupported": dict(op_class="unsupported",
                        evidence="NotImplementedError: The operator 'aten::_linalg_solve_ex.result' is not currently "
                                 "implemented for the MPS device",
                        exception={"type": "NotImplementedError", "message": "not currently implemented"},
                        within_tolerance=None, max_abs_error=None),
    "fallback": dict(op_class="fallback",
                     evidence="The operator 'aten::_linalg_solve_ex.result' is not currently supported on the MPS "
                              "backend and will fall back to run on the CPU.",
                     fallback_warnings=["The operator 'aten::_linalg_solve_ex.result' is not currently supported"]),
}


def ops_on(device, **classes):
    """The four catalogue ops on ``device``, native unless named: ``ops_on("mps", grid_sample="wrong")``."""
    records = []
    for name, lessons, why in CATALOGUE:
        result = classes.get(name.replace(".", "_"))
        records.append(op_record(name, lessons, why, **RESULTS[result]) if result else op_record(name, lessons, why))
    layers = (APPLE_ARM64,) if device == "mps" else ()
    return build(*layers, ops={"device": device, "torch": "2.14.1" if device == "mps" else "2.14.1+cu130",
                               "ops": records})


def test_every_op_native_on_cuda_is_ok_and_counts_them():
    finding = one("device-ops", ops_on("cuda"))
    assert finding.status == "ok"
    assert finding.title == "4 of 4 lesson ops run natively on cuda"
    assert "torch 2.14.1+cu130" in finding.detail


def test_the_default_facts_are_the_healthy_catalogue():
    assert one("device-ops", build()).title == "4 of 4 lesson ops run natively on cuda"


# (id, device, {op: class}, status, words in the title)
FAILING = [
    ("wrong-on-cuda", "cuda", {"grid_sample": "wrong"}, "error", "1 of 4 lesson ops fail on cuda: grid_sample (wrong)"),
    ("wrong-on-mps", "mps", {"grid_sample": "wrong"}, "error", "1 of 4 lesson ops fail on mps: grid_sample (wrong)"),
    ("crashed-on-mps", "mps", {"bernoulli__int64": "crashed"}, "error",
     "1 of 4 lesson ops fail on mps: bernoulli_.int64 (crashed)"),
    ("timeout-on-cuda", "cuda", {"conv2d": "timeout"}, "error", "1 of 4 lesson ops fail on cuda: conv2d (timeout)"),
    ("error-alone-on-cuda", "cuda", {"conv2d": "error"}, "warning", "1 of 4 lesson ops fail on cuda: conv2d (error)"),
    ("error-alone-on-mps", "mps", {"conv2d": "error"}, "warning", "1 of 4 lesson ops fail on mps: conv2d (error)"),
    ("unsupported-on-cuda", "cuda", {"linalg_solve": "unsupported"}, "error",
     "1 of 4 lesson ops fail on cuda: linalg.solve (unsupported)"),
    ("error-and-wrong", "cuda", {"conv2d": "error", "grid_sample": "wrong"}, "error",
     "2 of 4 lesson ops fail on cuda: grid_sample (wrong), conv2d (error)"),
    ("two-errors-stay-a-warning", "cuda", {"conv2d": "error", "linalg_solve": "error"}, "warning",
     "2 of 4 lesson ops fail on cuda: linalg.solve (error), conv2d (error)"),
    ("crashed-beside-dtype", "mps", {"bernoulli__int64": "crashed", "linalg_solve": "dtype-unsupported"}, "error",
     "1 of 4 lesson ops fail on mps: bernoulli_.int64 (crashed)"),
]


@pytest.mark.parametrize("device, classes, status, title", [case[1:] for case in FAILING],
                         ids=[case[0] for case in FAILING])
def test_failing_ops(device, classes, status, title):
    finding = one("device-ops", ops_on(device, **classes))
    assert finding.status == status
    assert finding.title == title
    assert "Update torch" in finding.fix.text
    # Every failing op is listed with its evidence and what the lessons use it for.
    for name, _, why in CATALOGUE:
        if name.replace(".", "_") in classes:
            assert name in finding.detail
            assert why in finding.detail


@pytest.mark.parametrize("device, classes, crashing", [
    ("mps", {"bernoulli__int64": "crashed"}, "bernoulli_.int64"),
    ("cuda", {"bernoulli__int64": "crashed", "conv2d": "wrong"}, "bernoulli_.int64"),
    ("cuda", {"conv2d": "timeout"}, None),
    ("cuda", {"grid_sample": "wrong"}, None),
], ids=["crashed", "crashed-and-wrong", "timeout-is-not-a-crash", "wrong-is-not-a-crash"])
def test_the_fix_warns_that_a_crashing_op_kills_the_kernel(device, classes, crashing):
    finding = one("device-ops", ops_on(device, **classes))
    if crashing:
        assert "Crashing ops kill the kernel without a Python error: %s." % crashing in finding.fix.text
    else:
        assert "kill the kernel" not in finding.fix.text


def test_a_dtype_the_device_lacks_is_a_warning_that_suggests_float32():
    finding = one("device-ops", ops_on("mps", linalg_solve="dtype-unsupported"))
    assert finding.status == "warning"
    assert finding.title == "1 of 4 lesson ops need a dtype mps lacks: linalg.solve"
    assert "float32" in finding.fix.text
    assert "float64" in finding.detail


def test_the_failure_listing_includes_dtype_problems_too():
    finding = one("device-ops", ops_on("mps", bernoulli__int64="crashed", linalg_solve="dtype-unsupported"))
    assert "linalg.solve [dtype-unsupported]" in finding.detail
    assert "bernoulli_.int64 [crashed]" in finding.detail


# On MPS a missing op is mps-fallback's finding; device-ops stays quiet about it.
@pytest.mark.parametrize("device, status", [("mps", "ok"), ("cuda", "error")], ids=["mps", "cuda"])
def test_an_unsupported_op_is_device_ops_business_only_off_mps(device, status):
    finding = one("device-ops", ops_on(device, linalg_solve="unsupported"))
    assert finding.status == status
    if device == "mps":
        assert finding.title == "3 of 4 lesson ops run natively on mps"
        assert "linalg.solve" not in words(finding)
    else:
        assert "linalg.solve (unsupported)" in finding.title


@pytest.mark.parametrize("classes, title", [
    ({"linalg_solve": "fallback"}, "3 of 4 lesson ops run natively on mps (1 through the CPU fallback)"),
    ({"linalg_solve": "fallback", "grid_sample": "fallback"},
     "2 of 4 lesson ops run natively on mps (2 through the CPU fallback)"),
    ({}, "4 of 4 lesson ops run natively on mps"),
], ids=["one-fallback", "two-fallbacks", "none"])
def test_fallback_ops_are_ok_and_counted(classes, title):
    finding = one("device-ops", ops_on("mps", **classes))
    assert finding.status == "ok"
    assert finding.title == title


def test_restarts_are_reported_in_the_detail():
    facts = build(ops={"restarts": 2})
    assert "2 child restart(s)" in one("device-ops", facts).detail


def test_no_ops_ran_is_skipped():
    finding = one("device-ops", build(ops={"ops": []}))
    assert finding.status == "skipped"
    assert finding.title == "no ops ran on cuda"


@pytest.mark.parametrize("keywords, reason", [
    ({"quick": True}, "not run with --quick"),
    ({"outcomes": {"ops": skipped_outcome("ops", "torch does not import")}}, "torch does not import"),
    ({"outcomes": {"ops": failed_outcome("ops")}}, "probe ops crashed with SIGSEGV"),
    ({"outcomes": {"ops": failed_outcome("ops", "timeout", "probe ops did not finish within 300 s")}},
     "did not finish within 300 s"),
], ids=["quick", "torch-does-not-import", "probe-crashed", "probe-timed-out"])
def test_without_the_ops_probe_it_is_skipped(keywords, reason):
    finding = one("device-ops", build(**keywords))
    assert finding.status == "skipped"
    assert "ops probe" in finding.title
    assert reason in finding.title
