"""Minimum Python versions, read by vermin: only 3.11 is on these machines, but the core must run on
3.9+ (a learner with an old Python must still be told what is wrong) and the probe programs on 3.6+
(they run inside whatever interpreter ``--python`` names)."""

import os
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VERMIN = os.path.join(sysconfig.get_path("scripts"), "vermin")


def vermin(target, *paths):
    completed = subprocess.run(
        [VERMIN, "--no-tips", "--violations", "--eval-annotations", "-t=%s-" % target, *map(str, paths)],
        capture_output=True, text=True, timeout=300,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.parametrize("target, paths", [
    ("3.9", [ROOT / "doctor", ROOT / "checks"]),
    ("3.6", [ROOT / "doctor" / "probes" / "programs"]),
], ids=["core-3.9", "probe-programs-3.6"])
def test_code_runs_on_its_minimum_python(target, paths):
    code, output = vermin(target, *paths)
    assert code == 0, output


def test_vermin_notices_code_newer_than_the_target(tmp_path):
    newer = tmp_path / "walrus.py"
    newer.write_text("if (n := 3) > 2:\n    print(n)\n")
    code, output = vermin("3.6", newer)
    assert code != 0 and "3.8" in output
