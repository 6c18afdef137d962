"""The pytest plugin (`pytest -p doctor.pytest_plugin`), run for real on an inner test suite: tests whose
device or op is missing here are skipped with the doctor's reason, the rest run, bad markers stop the run
with one message, and nothing happens unless the plugin is asked for."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

HEADER = "import pytest\n"
HOST_TESTS = '''
@pytest.mark.requires_device("cuda")
def test_on_cuda():
    pass

@pytest.mark.requires_device("cpu")
def test_on_cpu():
    pass

@pytest.mark.requires_op("linalg_solve", device="cpu")
def test_solve_on_cpu():
    pass
'''
MPS_TESTS = '''
@pytest.mark.requires_op("linalg.solve", device="mps")
def test_solve_on_mps():
    pass

@pytest.mark.requires_op("conv2d", device="mps")
def test_conv_on_mps():
    pass
'''
UNMARKED_TEST = '''
def test_unmarked():
    pass
'''
INNER_SUITE = HEADER + HOST_TESTS + MPS_TESTS + UNMARKED_TEST


def run_inner(folder, source, *options, env=None):
    (folder / "test_inner.py").write_text(source)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-q", *options, "test_inner.py"],
        cwd=str(folder), capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    return completed


def outcomes(completed):
    """{test name: 'passed' | skip reason} from pytest's -rs summary and -q progress."""
    lines = completed.stdout.splitlines()
    skipped = {}
    for line in lines:
        if line.startswith("SKIPPED [1] test_inner.py:"):
            number, reason = line[len("SKIPPED [1] test_inner.py:"):].split(": ", 1)
            skipped[int(number)] = reason
    return skipped


def line_of(source, name):
    return next(index for index, line in enumerate(source.splitlines(), 1) if "def %s(" % name in line) - 1


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    return run_inner(tmp_path_factory.mktemp("plugin"), INNER_SUITE, "-p", "doctor.pytest_plugin")


def test_missing_device_is_skipped_with_the_doctors_reason(plain_run):
    assert plain_run.returncode == 0, plain_run.stdout + plain_run.stderr
    skipped = outcomes(plain_run)
    cuda = skipped[line_of(INNER_SUITE, "test_on_cuda")]
    assert cuda.startswith("dl-doctor: cuda is not available here (torch ")
    assert "devices: cpu" in cuda
    assert "mps is not available here" in skipped[line_of(INNER_SUITE, "test_solve_on_mps")]


def test_available_device_and_native_op_run(plain_run):
    skipped = outcomes(plain_run)
    for name in ("test_on_cpu", "test_solve_on_cpu", "test_unmarked"):
        assert line_of(INNER_SUITE, name) not in skipped
    assert "3 passed, 3 skipped" in plain_run.stdout


def test_op_missing_on_the_device_is_skipped_and_the_others_run(tmp_path):
    # The simulated MPS backend (tests only) makes linalg.solve's kernel missing, as on older Macs.
    env = dict(os.environ, DL_DOCTOR_SIMULATE=json.dumps({"missing": ["aten::_linalg_solve_ex"]}))
    # Only MPS tests: under simulation every device question is answered as the simulated MPS.
    source = HEADER + MPS_TESTS + UNMARKED_TEST
    completed = run_inner(tmp_path, source, "-p", "doctor.pytest_plugin", env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    skipped = outcomes(completed)
    reason = skipped[line_of(source, "test_solve_on_mps")]
    assert reason.startswith("dl-doctor: linalg.solve is not native on mps (simulated): unsupported")
    assert "aten::_linalg_solve_ex" in reason
    assert line_of(source, "test_conv_on_mps") not in skipped
    assert "2 passed, 1 skipped" in completed.stdout


@pytest.mark.parametrize("marker, message", [
    ('@pytest.mark.requires_op("no_such_op")', "unknown op 'no_such_op'"),
    ('@pytest.mark.requires_device("tpu")', "unknown device 'tpu'"),
    ('@pytest.mark.requires_op("conv2d", device="gpu")', "unknown device 'gpu'"),
])
def test_a_bad_marker_stops_the_run_with_one_message(tmp_path, marker, message):
    completed = run_inner(tmp_path, "import pytest\n\n%s\ndef test_x():\n    pass\n" % marker,
                          "-p", "doctor.pytest_plugin")
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


def test_off_unless_asked_for(tmp_path):
    completed = run_inner(tmp_path, INNER_SUITE)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "6 passed" in completed.stdout
    strict = run_inner(tmp_path, INNER_SUITE, "--strict-markers")
    assert "'requires_device' not found in `markers` configuration option" in strict.stdout + strict.stderr
