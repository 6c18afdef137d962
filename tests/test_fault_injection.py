"""A short seeded fault-injection run over the probe programs (benchmarks/fault_injection.py runs 200 trials),
of `check --quick` and of a full check:
kills, crashes, garbage on fds 1 and 2, hangs, half answers, grandchildren and SIGTERM to the doctor. Every trial
must end within its budget with a complete report, no surviving process and no partial report file."""

import os
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find survivors")]

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks"))
from fault_injection import run_trials  # noqa: E402


def test_a_seeded_fault_injection_run_keeps_every_promise(tmp_path):
    summary = run_trials(trials=16, seed=14, root=str(tmp_path))
    assert summary["failures"] == {}
    assert summary["runs"].get("sigterm", 0) >= 1 and len(summary["faults_injected"]) >= 8


def test_a_full_check_under_faults_keeps_every_promise(tmp_path):
    """The imports child and the torch child (with its op restarts) under the same faults."""
    summary = run_trials(trials=3, seed=14, root=str(tmp_path), full=True)
    assert summary["failures"] == {}
