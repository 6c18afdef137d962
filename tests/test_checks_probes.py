"""checks/probes.py: probes-answered (the interpreter, package, hardware and notebook probes answered)."""

import pytest

from checkrun import build, one, without_probe
from factories import failed_outcome
from doctor.outcome import skipped_outcome

CRASH = failed_outcome("python", "crashed", "probe python crashed with SIGSEGV", "Fatal Python error: Segmentation")
TIMEOUT = failed_outcome("packages", "timeout", "probe packages timed out after 60 s", "reading site-packages")
GARBAGE = failed_outcome("hardware", "garbage", "probe hardware printed something that is not JSON", "<html>")
NOT_STARTED = failed_outcome("python", "not-started", "cannot start /opt/course/bin/python: No such file")

# (id, outcomes, status, reasons in the title)
CASES = [
    ("all-answered", {}, "ok", []),
    ("python-crashed", {"python": CRASH}, "error", ["probe python crashed with SIGSEGV"]),
    ("packages-timed-out", {"packages": TIMEOUT}, "error", ["timed out after 60 s"]),
    ("hardware-garbage", {"hardware": GARBAGE}, "error", ["not JSON"]),
    ("notebook-failed", {"notebook": failed_outcome("notebook", "failed", "probe notebook failed: OSError: denied")},
     "error", ["probe notebook failed: OSError: denied"]),
    ("interpreter-missing", {"python": NOT_STARTED}, "error", ["cannot start /opt/course/bin/python"]),
    ("two-failed", {"python": CRASH, "packages": TIMEOUT}, "error",
     ["probe python crashed with SIGSEGV", "probe packages timed out"]),
    ("torch-and-imports-failures-are-not-its-business",
     {"torch": failed_outcome("torch"), "imports": failed_outcome("imports", "timeout", "imports timed out")},
     "ok", []),
    ("skipped-is-not-a-failure", {"hardware": skipped_outcome("hardware", "not run")}, "ok", []),
]


@pytest.mark.parametrize("outcomes, status, reasons", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_probes_answered(outcomes, status, reasons):
    finding = one("probes-answered", build(outcomes=outcomes))
    assert finding.status == status
    for reason in reasons:
        assert reason in finding.title
    if status == "ok":
        assert "answered every probe" in finding.title


def test_failure_detail_carries_each_probes_stderr():
    finding = one("probes-answered", build(outcomes={"python": CRASH, "packages": TIMEOUT}))
    assert "Fatal Python error: Segmentation" in finding.detail
    assert "reading site-packages" in finding.detail


def test_probe_never_asked_is_not_a_failure():
    assert one("probes-answered", without_probe(build(), "hardware")).status == "ok"


def test_answers_in_quick_mode():
    assert one("probes-answered", build(quick=True)).status == "ok"
