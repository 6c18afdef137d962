"""``--python``: an empty name, a Python too old to examine and an interpreter whose site customisation prints a
banner, each through the real command line."""

import json
import os
import sys

import pytest

from conftest import make_venv, run_cli, site_packages

posix_only = pytest.mark.skipif(os.name != "posix", reason="shell-script interpreters")


def assert_one_line_usage_error(completed, *words):
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dl-doctor: error: "), completed.stderr
    for word in words:
        assert word in lines[0]


def test_an_empty_python_is_bad_input_not_this_interpreter():
    assert_one_line_usage_error(run_cli("check", "--quick", "--python", ""), "--python is empty")


@posix_only
def test_a_python_2_is_named_and_refused_in_one_line(tmp_path):
    # What a Python 2.7 does here: --version on stderr, and a SyntaxError for Python 3 code.
    python2 = tmp_path / "python2"
    python2.write_text('#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Python 2.7.18" >&2; exit 0; fi\n'
                       'echo "  File \\"<string>\\", line 2" >&2; echo "SyntaxError: invalid syntax" >&2; exit 1\n')
    python2.chmod(0o755)
    assert_one_line_usage_error(run_cli("check", "--quick", "--python", str(python2)),
                                "Python 2.7.18", "does not support", "3.6 or newer")


@posix_only
def test_a_python_older_than_3_6_that_answers_is_refused_with_its_version(tmp_path):
    python35 = tmp_path / "python3.5"
    python35.write_text("#!%s\nimport os\nos.write(int(os.environ['DL_DOCTOR_ANSWER_FD']), %r)\n"
                        % (sys.executable, b'{"data": [3, 5, 10]}\n'))
    python35.chmod(0o755)
    assert_one_line_usage_error(run_cli("check", "--quick", "--python", str(python35)),
                                "Python 3.5.10", "does not support")


@pytest.mark.slow
def test_a_banner_from_sitecustomize_does_not_make_python_not_a_python(tmp_path):
    python = make_venv(tmp_path / "venv")
    # No trailing newline, as a banner written with sys.stdout.write would leave it.
    (site_packages(python) / "sitecustomize.py").write_text(
        "import sys\nsys.stdout.write('Welcome to the lab cluster! Quota: 10 GB')\nsys.stdout.flush()\n")
    report = tmp_path / "report.json"
    completed = run_cli("check", "--quick", "--python", str(python), "--format", "json", "--output", str(report))
    assert completed.returncode in (0, 1), completed.stderr
    probes = json.loads(report.read_text())["facts"]["probes"]
    ran = {name: probe["status"] for name, probe in probes.items() if probe["status"] != "skipped"}
    assert ran and ran == dict.fromkeys(ran, "ok")
    assert os.path.realpath(probes["python"]["data"]["executable"]) == os.path.realpath(str(python))
