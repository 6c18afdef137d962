"""`dl-doctor dist` for real: 2 gloo workers on loopback on this machine — a healthy run (shared by the tests that
read it), a killed worker, a hung worker against a short timeout, wrong values, an occupied port — each leaving
no process and no bound port behind; the inputs it must refuse; NCCL where there are GPUs."""

import json
import os
import shutil
import socket
import subprocess

import pytest

from conftest import dist_run, process_alive, run_cli
from doctor.dist import port_is_free
from report_schema import report_validator

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="process groups and signals as on Linux and macOS")]


def group_alive(pid):
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_nothing_left(run):
    data = run["data"]
    for rank in data["ranks"]:
        assert not process_alive(rank["pid"]) and not group_alive(rank["pid"]), rank
    assert port_is_free(data["port"])
    assert run["findings"]["dist-cleanup"]["status"] == "ok"


def test_the_dist_report_is_a_schema_report_that_matrix_reads(healthy_dist, tmp_path):
    report_validator().validate(healthy_dist["report"])
    assert healthy_dist["report"]["kind"] == "dist" and healthy_dist["report"]["redacted"] is True
    path = tmp_path / "dist.json"
    path.write_text(json.dumps(healthy_dist["report"]))
    merged = run_cli("matrix", str(path), "--format", "json")
    rows = {row["name"]: row["cells"][0]["status"] for row in json.loads(merged.stdout)["rows"]}
    assert rows["dist-all-reduce"] == "ok" and rows["dist-rendezvous"] == "ok"


def test_healthy_run_passes_every_step(healthy_dist):
    statuses = {check_id: finding["status"] for check_id, finding in healthy_dist["findings"].items()}
    assert healthy_dist["completed"].returncode == 0, healthy_dist["completed"].stdout
    for check_id in ("dist-run", "dist-rendezvous", "dist-barrier", "dist-all-reduce", "dist-broadcast",
                     "dist-all-gather", "dist-cleanup", "dist-backends", "torch-import"):
        assert statuses[check_id] == "ok", healthy_dist["findings"][check_id]
    assert [rank["ending"] for rank in healthy_dist["data"]["ranks"]] == ["finished", "finished"]
    assert healthy_dist["data"]["gloo_socket_ifname"] == ("lo" if os.uname().sysname == "Linux" else "lo0")


def test_healthy_run_measures_bandwidth_from_1_kib_to_64_mib(healthy_dist):
    rows = healthy_dist["data"]["results"]["bandwidth"]["0"]["rows"]
    assert [row["bytes"] for row in rows] == [1024 * 4 ** power for power in range(9)]
    assert all(row["busbw_gbps"] > 0 and row["time_us"] > 0 for row in rows)
    assert healthy_dist["findings"]["dist-bandwidth"]["status"] == "info"


def test_healthy_run_trains_fastai_data_parallel_like_one_process(healthy_dist):
    finding = healthy_dist["findings"]["dist-fastai"]
    # On a CPU-only machine fastai's own DistributedDL needs CUDA: the run says so and uses a CPU broadcast.
    assert finding["status"] in ("ok", "warning"), finding
    assert "matches one process" in finding["title"] and "tolerance 1e-04" in finding["title"]


def test_healthy_run_leaves_nothing_and_says_nothing_on_stderr(healthy_dist):
    assert_nothing_left(healthy_dist)
    assert healthy_dist["completed"].stderr == ""


def test_a_killed_worker_is_named_with_its_step_and_everything_is_cleaned_up(tmp_path):
    run = dist_run(tmp_path, "--no-fastai", simulate="die:1:all_reduce")
    assert run["completed"].returncode == 1
    finding = run["findings"]["dist-all-reduce"]
    assert (finding["status"], finding["title"]) == ("error", "rank 1 died with SIGKILL during all_reduce")
    assert "rank 1 (pid %d): died; last step reached: all_reduce" % run["data"]["ranks"][1]["pid"] in finding["detail"]
    assert run["findings"]["dist-barrier"]["status"] == "ok"
    assert run["findings"]["dist-broadcast"]["status"] == "skipped"
    assert_nothing_left(run)


def test_a_hung_worker_hits_the_timeout_and_everything_is_cleaned_up(tmp_path):
    # The steps before the hang must finish within the timeout on a busy machine too: 15 s, not a tight 2.
    run = dist_run(tmp_path, "--no-fastai", "--timeout", "15", simulate="hang:1:broadcast")
    finding = run["findings"]["dist-broadcast"]
    assert (finding["status"], finding["title"]) == ("error", "ranks 0, 1 did not finish broadcast within 15 s")
    assert run["data"]["ranks"][1]["last_step"] == "broadcast"
    assert_nothing_left(run)


def test_wrong_values_from_one_rank_are_caught(tmp_path):
    run = dist_run(tmp_path, "--no-fastai", simulate="wrong:1:all_gather")
    finding = run["findings"]["dist-all-gather"]
    assert (finding["status"], finding["title"]) == ("error", "all_gather gave wrong values on ranks 0, 1")
    assert run["findings"]["dist-all-reduce"]["status"] == "ok"
    assert_nothing_left(run)


def test_an_occupied_port_is_a_rendezvous_failure_naming_it(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        # The port is refused at once; the timeout only has to outlast a busy machine's start-up.
        run = dist_run(tmp_path, "--no-fastai", "--port", str(port), "--timeout", "120")
    finding = run["findings"]["dist-run"]
    assert finding["status"] == "error"
    assert finding["title"] == ("rendezvous failed: port %d on 127.0.0.1 is already in use (rank 0 could not listen "
                                "on it)" % port)
    assert_nothing_left(run)


def one_line_error(completed, *words):
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    for word in words:
        assert word in lines[0], lines[0]


def nvidia_gpus():
    if shutil.which("nvidia-smi") is None:
        return 0
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    return sum(1 for line in listed.stdout.splitlines() if line.startswith("GPU ")) if listed.returncode == 0 else 0


def test_refused_inputs(tmp_path):
    one_line_error(run_cli("dist", "--nproc", "1", cwd=str(tmp_path)), "--nproc 1: a distributed run needs at least 2",
                   "available: gloo")
    one_line_error(run_cli("dist", "--nproc", "999", cwd=str(tmp_path)), "--nproc 999 is more workers than")
    one_line_error(run_cli("dist", "--backend", "mpi", cwd=str(tmp_path)), "invalid choice: 'mpi'")
    one_line_error(run_cli("dist", "--port", "70000", cwd=str(tmp_path)),
                   "port '70000' is not a number from 1 to 65535")


@pytest.mark.skipif(nvidia_gpus() > 0, reason="this machine has a GPU")
def test_nccl_without_gpus_is_refused_naming_what_is_available(tmp_path):
    one_line_error(run_cli("dist", "--backend", "nccl", cwd=str(tmp_path)),
                   "--backend nccl needs NVIDIA GPUs and torch sees none here; available: gloo")


@pytest.mark.skipif(nvidia_gpus() < 2, reason="needs 2 NVIDIA GPUs")
def test_nccl_across_two_gpus(tmp_path):
    run = dist_run(tmp_path, "--backend", "nccl", "--nproc", "2")
    for check_id in ("dist-run", "dist-all-reduce", "dist-broadcast", "dist-all-gather", "dist-fastai"):
        assert run["findings"][check_id]["status"] == "ok", run["findings"][check_id]
    assert run["data"]["results"]["bandwidth"]["0"]["device"].startswith("cuda")
    assert_nothing_left(run)


@pytest.mark.skipif(nvidia_gpus() != 1, reason="needs exactly one NVIDIA GPU")
def test_nccl_with_one_gpu_asks_for_one_gpu_per_worker(tmp_path):
    one_line_error(run_cli("dist", "--backend", "nccl", "--nproc", "2", cwd=str(tmp_path)),
                   "nccl needs one GPU per worker and torch sees 1")
