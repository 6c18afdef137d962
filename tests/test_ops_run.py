"""The op catalogue for real: a child process imports torch and runs every op on this machine's CPU, and a
test-only simulated MPS backend (DL_DOCTOR_SIMULATE) makes chosen aten ops go missing, fall back, compute
wrong values, abort the process or hang inside that real child."""

import json
import sys

import pytest

from conftest import install_fake_distribution, make_venv, run_cli, site_packages
from doctor.collect import probe_environment
from doctor.ops import run_torch_probe
from doctor.requests import OpsRequest
from doctor.probes.programs.op_catalog import CATALOG, catalog_names

pytestmark = pytest.mark.slow

SIMULATED_FAULTS = {
    "missing": ["aten::_linalg_solve_ex"],
    "wrong": ["aten::_softmax"],
    "abort": ["aten::bernoulli_"],
    "hang": ["aten::randperm"],
}


def simulated_run(tmp_path, fallback=None, **request):
    env = dict(probe_environment(), DL_DOCTOR_SIMULATE=json.dumps(SIMULATED_FAULTS))
    env.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
    if fallback is not None:
        env["PYTORCH_ENABLE_MPS_FALLBACK"] = fallback
    # Long enough that no catalogue op reaches it on a busy machine; the simulated hang pays it once.
    return run_torch_probe(sys.executable, str(tmp_path), env, OpsRequest(op_timeout_s=20.0, **request))


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory):
    return simulated_run(tmp_path_factory.mktemp("ops"))


def classes(outcome):
    return {record["op"]: record["class"] for record in outcome.data["ops"]}


def test_every_catalogue_op_runs_natively_on_this_cpu(tmp_path):
    completed = run_cli("ops", "--format", "json", cwd=str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(completed.stdout)
    assert document["device"] == "cpu" and document["simulated"] is False
    assert {op["op"]: op["class"] for op in document["ops"]} == {name: "native" for name in catalog_names()}
    assert all(isinstance(op["seconds"], float) for op in document["ops"])


def test_text_table_names_each_op_and_a_summary(tmp_path):
    completed = run_cli("ops", "--lesson", "7", cwd=str(tmp_path))
    lesson_7 = [op.name for op in CATALOG if 7 in op.lessons]
    assert completed.returncode == 0
    for name in lesson_7:
        assert name in completed.stdout
    assert "linalg.solve" not in completed.stdout
    assert "%d ops: %d native" % (len(lesson_7), len(lesson_7)) in completed.stdout


def test_simulated_faults_are_classified_and_the_run_survives_them(faulty_run):
    found = classes(faulty_run["ops"])
    faults = {"linalg.solve": "unsupported", "softmax": "wrong", "bernoulli_.int64": "crashed", "randperm": "timeout"}
    # Every catalogue op got a verdict although the child died twice; only the faulty ones are not native.
    assert found == dict({name: "native" for name in catalog_names()}, **faults)
    assert faulty_run["ops"].data["restarts"] == 2
    assert faulty_run["ops"].data["device"] == "mps" and faulty_run["ops"].data["simulated"] is True


def test_evidence_says_what_happened(faulty_run):
    records = {record["op"]: record for record in faulty_run["ops"].data["ops"]}
    assert "is not currently implemented for the MPS device" in records["linalg.solve"]["evidence"]
    assert "SIGABRT" in records["bernoulli_.int64"]["evidence"]
    assert "did not finish within 20 s" in records["randperm"]["evidence"]
    assert "beyond rtol" in records["softmax"]["evidence"]
    assert records["bernoulli_.int64"]["why"].startswith("fastai mask_tensor")


def test_torch_facts_come_from_the_first_child(faulty_run):
    torch = faulty_run["torch"]
    assert torch.ok and torch.data["importable"] is True
    assert torch.data["cuda"]["arch_list"]


def test_fallback_runs_missing_ops_on_the_cpu_with_the_warning(tmp_path):
    outcome = simulated_run(tmp_path, fallback="1", only=("linalg.solve", "conv2d"))["ops"]
    records = {record["op"]: record for record in outcome.data["ops"]}
    assert records["linalg.solve"]["class"] == "fallback"
    assert "will fall back to run on the CPU" in records["linalg.solve"]["evidence"]
    assert records["conv2d"]["class"] == "native"
    assert outcome.data["fallback_variable"] == "1"


@pytest.mark.parametrize("arguments, words", [
    (["ops", "--op", "no-such-op"], ["unknown op 'no-such-op'", "linalg.solve"]),
    (["ops", "--device", "cuda"], ["--device cuda is not available here; available: cpu"]),
    (["ops", "--device", "tpu"], ["invalid choice: 'tpu'"]),
    (["ops", "--lesson", "0"], ["lesson '0' does not exist"]),
    (["ops", "--op-timeout", "0"], ["--op-timeout must be positive"]),
], ids=["unknown-op", "absent-device", "unknown-device", "unknown-lesson", "timeout"])
def test_bad_ops_input_is_one_line_and_exit_2(tmp_path, arguments, words):
    completed = run_cli(*arguments, cwd=str(tmp_path))
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr
    for word in words:
        assert word in lines[0]


def test_catalog_all_says_what_it_needs_when_opinfo_cannot_import(tmp_path):
    python = make_venv(tmp_path / "venv", system_site_packages=True)
    install_fake_distribution(site_packages(python), "expecttest", "0.0", files={
        "expecttest.py": "raise ImportError('this environment has no working expecttest')\n"})
    completed = run_cli("ops", "--catalog", "all", "--python", str(python), cwd=str(tmp_path))
    assert completed.returncode == 2
    assert "needs the expecttest package" in completed.stderr
    assert "-m pip install expecttest" in completed.stderr


def test_ops_without_torch_says_so(tmp_path):
    python = make_venv(tmp_path / "venv")
    completed = run_cli("ops", "--python", str(python), cwd=str(tmp_path))
    assert completed.returncode == 1
    assert "torch does not import" in completed.stdout and "No module named 'torch'" in completed.stdout

