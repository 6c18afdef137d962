"""CUDA paths on a real NVIDIA GPU: they skip cleanly on machines without one (CI here has none) and are
run on a lent GPU machine when one is at hand (see the closing notes of the op-probing issue)."""

import json
import sys

import pytest

from conftest import run_cli
from doctor.collect import probe_environment
from doctor.probes import builtin_probes
from doctor.probes.runner import run_probe

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nvidia_gpus(tmp_path_factory):
    spec = next(spec for spec in builtin_probes() if spec.name == "hardware")
    outcome = run_probe(spec, sys.executable, str(tmp_path_factory.mktemp("gpu")), probe_environment())
    gpus = (outcome.data or {}).get("nvidia", {}).get("gpus") or []
    if not gpus:
        pytest.skip("no NVIDIA GPU on this machine")
    return gpus


def test_lesson_ops_launch_real_kernels_on_the_gpu(nvidia_gpus, tmp_path):
    completed = run_cli("ops", "--device", "cuda", "--format", "json", cwd=str(tmp_path))
    document = json.loads(completed.stdout)
    assert document["device"] == "cuda"
    bad = {op["op"]: op["evidence"] for op in document["ops"] if op["class"] in ("wrong", "crashed", "timeout")}
    assert bad == {}


def test_cuda_checks_pass_on_a_working_gpu(nvidia_gpus, tmp_path):
    completed = run_cli("check", "--format", "json", cwd=str(tmp_path))
    findings = {f["id"]: f for f in json.loads(completed.stdout)["findings"]}
    for check_id in ("torch-build", "cuda-arch", "cuda-driver", "cudnn", "device-ops"):
        assert findings[check_id]["status"] == "ok", (check_id, findings[check_id]["title"])
    assert findings["fastai-device"]["title"].startswith("fastai will train on cuda")
