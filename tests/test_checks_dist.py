"""checks/dist.py: the backend facts every `dl-doctor check` reports, and every verdict on a `dl-doctor dist` run,
from a recorded healthy 2-rank gloo run (the shape doctor/dist.py records) and variants of it."""

import copy

import pytest

from checkrun import commands, one, words
from doctor.results.dist import run_failure
from doctor.outcome import skipped_outcome
from doctor.answers.common import ProbeError
from doctor.answers.dist import FastaiUnavailable
from factories import deep_merge, make_facts, ok_outcome, record, saved_ok_outcome

STEPS = ["import", "backends", "rendezvous", "barrier", "all_reduce", "broadcast", "all_gather", "bandwidth", "fastai"]
TWO_GPUS = {"hardware": {"nvidia": {"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3"},
                                             {"index": 1, "name": "NVIDIA H100 80GB HBM3"}]}},
            "torch": {"cuda": {"device_count": 2}}}
NO_GPU = {"hardware": {"nvidia": {"gpus": []}}, "torch": {"cuda": {"available": False, "device_count": 0}}}


def rank_record(rank, ending="finished", in_step=None, completed=STEPS, error=None, signal=None, returncode=0):
    return {"rank": rank, "pid": 1000 + rank, "ending": ending, "returncode": returncode, "signal": signal,
            "last_step": in_step or completed[-1], "completed": list(completed), "in_step": in_step,
            "error": error, "stderr_tail": ""}


def both(result):
    return {"0": copy.deepcopy(result), "1": copy.deepcopy(result)}


ROWS = [{"bytes": 1024 * 4 ** power, "calls": 10, "time_us": 50.0 * (power + 1), "algbw_gbps": 0.5 * power,
         "busbw_gbps": 0.5 * power} for power in range(9)]
FASTAI = {"available": True, "cpu_broadcast_shim": False, "import_seconds": 3.1, "fit_seconds": 1.3,
          "losses": [14.68, 12.65, 10.2967], "world_size": 2, "batch_per_rank": 8, "steps": 8, "device": "cuda:0",
          "reference_losses": [14.68, 12.65, 10.29670001]}
HEALTHY = {
    "backend": "gloo", "nproc": 2, "master_addr": "127.0.0.1", "port": 40141, "gloo_socket_ifname": "lo",
    "timeout_s": 60.0, "step_timeouts_s": {step: 180.0 if step in ("import", "fastai") else 60.0 for step in STEPS},
    "steps": STEPS, "ranks": [rank_record(0), rank_record(1)],
    "results": {"import": both({"seconds": 1.9, "torch": "2.14.1"}),
                "backends": both({"available": True, "gloo": True, "nccl": True, "mpi": False, "cuda_devices": 0}),
                "rendezvous": both({"seconds": 0.09, "backend": "gloo", "world_size": 2, "device": "cpu"}),
                "barrier": both({"seconds": 0.0005}),
                "all_reduce": both({"dtypes": {}, "correct": True}),
                "broadcast": both({"correct": True, "max_error": 0.0}),
                "all_gather": both({"correct": True, "got": [0.0, 10.0], "expected": [0.0, 10.0]}),
                "bandwidth": {"0": {"rows": ROWS, "world_size": 2, "device": "cpu"}, "1": {"pairs": []}},
                "fastai": {"0": FASTAI, "1": {key: FASTAI[key] for key in FASTAI if key != "reference_losses"}}},
    "wall_s": 10.3, "cleanup": {"left_behind_pids": [], "port_free_before": True, "port_free": True},
}
DONE_BEFORE_ALL_REDUCE = STEPS[:4]
KILLED = {"ranks": [rank_record(0, "error", "all_reduce", DONE_BEFORE_ALL_REDUCE,
                                error={"type": "RuntimeError", "message": "Connection reset by peer"}),
                    rank_record(1, "died", "all_reduce", DONE_BEFORE_ALL_REDUCE, signal="SIGKILL", returncode=-9)]}
HUNG = {"timeout_s": 2.0, "step_timeouts_s": {"broadcast": 2.0},
        "ranks": [rank_record(0, "timeout", "broadcast", STEPS[:5]), rank_record(1, "timeout", "broadcast", STEPS[:5])]}
PORT_TAKEN = {"cleanup": {"port_free_before": False, "port_free": False}, "ranks": [
    rank_record(0, "error", "rendezvous", STEPS[:2], error={
        "type": "DistNetworkError", "message": "The server socket has failed to listen on any local network address. "
        "port: 40141, useIpv6: false, code: -98, name: EADDRINUSE, message: address already in use"}),
    rank_record(1, "killed", "import", [])]}


def run(*changes, results=None):
    """HEALTHY with ``changes`` deep-merged; ``results`` replaces the per-step results outright."""
    data = copy.deepcopy(HEALTHY)
    for change in changes:
        data = deep_merge(data, change)
    if results is not None:
        data["results"] = results
    return data


def verdict(check_id, data, **keywords):
    return one(check_id, make_facts(outcomes={"dist": ok_outcome("dist", data)}, **keywords))


def results_until(step):
    """The healthy results of the steps before ``step`` (what a run stopped there has)."""
    return {name: value for name, value in HEALTHY["results"].items() if STEPS.index(name) < STEPS.index(step)}


# --- dist-backends and dist-multi-gpu: in every `dl-doctor check` ---------------------------------------------------

@pytest.mark.parametrize("keywords, status, title", [
    ({}, "ok", "torch.distributed backends built in: gloo, nccl"),
    ({"torch": {"distributed": {"nccl": False}}}, "ok", "torch.distributed backends built in: gloo"),
    (dict(TWO_GPUS, torch={"cuda": {"device_count": 2}, "distributed": {"nccl": False}}), "warning",
     "2 GPUs but this torch has no NCCL: multi-GPU training falls back to gloo, far slower"),
    ({"torch": {"distributed": {"available": False, "gloo": False, "nccl": False}}}, "info",
     "torch.distributed is not built into this torch: no multi-process training"),
    (dict(TWO_GPUS, torch={"cuda": {"device_count": 2}, "distributed": {"available": False}}), "warning",
     "torch.distributed is not built into this torch: no multi-process training"),
    ({"outcomes": {"torch": ok_outcome("torch", {"importable": False, "error": {}})}}, "skipped",
     "torch does not import (see torch-import)"),
    ({"quick": True}, "skipped", "needs the torch probe (not run with --quick)"),
])
def test_dist_backends(keywords, status, title):
    finding = one("dist-backends", make_facts(**keywords))
    assert (finding.status, finding.title) == (status, title)


def test_dist_backends_on_torch_facts_saved_before_it_existed():
    facts = make_facts()
    data = copy.deepcopy(facts.data("torch"))
    del data["distributed"]
    finding = one("dist-backends", make_facts(outcomes={"torch": saved_ok_outcome("torch", data)}))
    assert finding.status == "skipped" and "older dl-doctor" in finding.title


@pytest.mark.parametrize("keywords, status, title", [
    ({}, "skipped", "1 GPU: nothing to train across"),
    (NO_GPU, "skipped", "0 GPUs: nothing to train across"),
    (TWO_GPUS, "info", "2 GPUs: check multi-GPU training (NCCL, rendezvous, bandwidth, fastai) before you rely on it"),
])
def test_dist_multi_gpu_advice(keywords, status, title):
    finding = one("dist-multi-gpu", make_facts(**keywords))
    assert (finding.status, finding.title) == (status, title)
    assert commands(finding) == (("dl-doctor dist",) if status == "info" else ())


def test_dist_multi_gpu_advice_is_silent_once_dist_ran():
    finding = one("dist-multi-gpu", make_facts(outcomes={"dist": ok_outcome("dist", run())}, **TWO_GPUS))
    assert (finding.status, finding.title) == ("skipped", "dl-doctor dist ran")


# --- a healthy run -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_id, status, title", [
    ("dist-run", "ok", "2 gloo workers on 127.0.0.1:40141 ran all 9 steps in 10.3 s"),
    ("dist-rendezvous", "ok", "2 workers met at 127.0.0.1:40141 over gloo in 0.09 s"),
    ("dist-barrier", "ok", "barrier returned on all 2 ranks in 0.001 s"),
    ("dist-all-reduce", "ok", "all_reduce on 2 ranks: the sum of rank+1 is exact in float32 and int64"),
    ("dist-broadcast", "ok", "broadcast on 2 ranks: every rank received rank 0's 1024 values"),
    ("dist-all-gather", "ok", "all_gather on 2 ranks: every rank holds every rank's values in order"),
    ("dist-bandwidth", "info", "all_reduce over gloo on 2 ranks (cpu): 4.00 GB/s bus bandwidth at 64 MiB, "
                               "50 µs at 1 KiB"),
    ("dist-cleanup", "ok", "all 2 workers' process groups are gone and port 40141 can be bound again"),
])
def test_healthy_run(check_id, status, title):
    finding = verdict(check_id, run())
    assert (finding.status, finding.title) == (status, title)


def test_not_run_everything_is_skipped_and_says_how_to_run_it():
    facts = make_facts()
    assert one("dist-run", facts).title == "the multi-process run did not run (dl-doctor dist)"
    for check_id in ("dist-rendezvous", "dist-all-reduce", "dist-bandwidth", "dist-fastai", "dist-cleanup"):
        assert one(check_id, facts).title == "needs the dist probe (not run)"


def test_a_run_skipped_because_torch_does_not_import_says_so():
    reason = "torch does not import (see torch-import)"
    finding = one("dist-run", make_facts(outcomes={"dist": skipped_outcome("dist", reason)}))
    assert (finding.status, finding.title) == ("skipped", reason)


# --- failures: the step that failed, the rank, the last step reached -----------------------------------------------

def test_killed_worker_is_blamed_not_the_rank_its_death_broke():
    data = run(KILLED, results=results_until("all_reduce"))
    assert run_failure(data)["ranks"] == [1]
    finding = verdict("dist-all-reduce", data)
    assert (finding.status, finding.title) == ("error", "rank 1 died with SIGKILL during all_reduce")
    assert "rank 1 (pid 1001): died; last step reached: all_reduce; completed: import, backends, rendezvous, " \
           "barrier" in finding.detail
    run_finding = verdict("dist-run", data)
    assert run_finding.title == "2 gloo workers on 127.0.0.1:40141: rank 1 died with SIGKILL during all_reduce"
    assert verdict("dist-barrier", data).status == "ok"
    skipped_later = verdict("dist-broadcast", data)
    assert (skipped_later.status, skipped_later.title) == ("skipped",
                                                           "not reached: the run stopped at all_reduce (see dist-run)")


def test_hung_workers_name_the_step_and_the_timeout():
    finding = verdict("dist-broadcast", run(HUNG, results=results_until("broadcast")))
    assert (finding.status, finding.title) == ("error", "ranks 0, 1 did not finish broadcast within 2 s")


def test_occupied_port_is_a_rendezvous_failure_naming_the_port():
    data = run(PORT_TAKEN, results=results_until("rendezvous"))
    finding = verdict("dist-run", data)
    assert finding.status == "error"
    assert finding.title == ("rendezvous failed: port 40141 on 127.0.0.1 is already in use (rank 0 could not listen "
                             "on it)")
    assert commands(finding) == ("dl-doctor dist --port 40142",)
    assert "EADDRINUSE" in verdict("dist-rendezvous", data).title
    cleanup = verdict("dist-cleanup", data)
    assert cleanup.status == "ok" and "already in use before the run" in cleanup.title


def test_a_rendezvous_that_times_out_points_at_firewall_and_interfaces():
    data = run({"ranks": [rank_record(0, "timeout", "rendezvous", STEPS[:2]),
                          rank_record(1, "timeout", "rendezvous", STEPS[:2])]}, results=results_until("rendezvous"))
    finding = verdict("dist-run", data)
    assert finding.title == "2 gloo workers on 127.0.0.1:40141: ranks 0, 1 did not finish rendezvous within 60 s"
    assert "GLOO_SOCKET_IFNAME" in words(finding) and "firewall" in words(finding)


@pytest.mark.parametrize("check_id, step", [("dist-all-reduce", "all_reduce"), ("dist-broadcast", "broadcast"),
                                            ("dist-all-gather", "all_gather")])
def test_wrong_values_are_an_error_naming_the_rank(check_id, step):
    results = copy.deepcopy(HEALTHY["results"])
    results[step]["1"]["correct"] = False
    finding = verdict(check_id, run(results=results))
    assert (finding.status, finding.title) == ("error", "%s gave wrong values on rank 1" % step)


def test_processes_left_behind_are_an_error_with_the_kill_command():
    finding = verdict("dist-cleanup", run({"cleanup": {"left_behind_pids": [1001]}}))
    assert finding.status == "error" and commands(finding) == ("kill -9 -- -1001",)


def test_a_port_still_bound_after_a_clean_run_is_a_warning():
    finding = verdict("dist-cleanup", run({"cleanup": {"port_free": False}}))
    assert (finding.status, finding.title) == ("warning", "port 40141 can still not be bound after the run")


# --- bandwidth against the GPUs' links -----------------------------------------------------------------------------

def nccl_bandwidth(busbw, link, pcie=None):
    rows = [dict(row, busbw_gbps=busbw) for row in ROWS]
    table = {"rows": rows, "world_size": 2, "device": "cuda:0",
             "topology": {"links": {"0-1": link, "1-0": link}, "pcie": pcie or {}, "matrix": "GPU0 X %s" % link}}
    results = copy.deepcopy(HEALTHY["results"])
    results["bandwidth"] = {"0": table, "1": {"pairs": []}}
    return run({"backend": "nccl"}, results=results)


@pytest.mark.parametrize("busbw, link, pcie, status", [
    (300.0, "NV18", None, "info"),
    (60.0, "NV18", None, "warning"),
    (20.0, "PHB", {"0": {"generation": 4, "width": 16}, "1": {"generation": 4, "width": 16}}, "info"),
    (3.0, "PHB", {"0": {"generation": 4, "width": 16}, "1": {"generation": 4, "width": 16}}, "warning"),
    (3.0, "PHB", None, "info"),  # no PCIe link figures: nothing to compare with
])
def test_gpu_pair_against_its_link(busbw, link, pcie, status):
    finding = verdict("dist-bandwidth", nccl_bandwidth(busbw, link, pcie))
    assert finding.status == status
    if status == "warning":
        assert finding.title.startswith("GPU pair far below the link: 0-1 (%s: %.1f of ~" % (link, busbw))


# --- fastai under distrib_ctx --------------------------------------------------------------------------------------

def with_fastai(**changes):
    results = copy.deepcopy(HEALTHY["results"])
    results["fastai"]["0"].update(changes)
    return run(results=results)


def test_fastai_matching_one_process_is_ok():
    finding = verdict("dist-fastai", with_fastai())
    assert finding.status == "ok"
    assert finding.title.startswith("fastai trains data-parallel on 2 ranks and matches one process: loss 10.2967 on "
                                    "rank 0 vs 10.2967 in one process")
    assert "tolerance 1e-04" in finding.title


def test_fastai_with_the_cpu_broadcast_is_a_warning_with_the_workaround():
    finding = verdict("dist-fastai", with_fastai(cpu_broadcast_shim=True, device="cpu"))
    assert finding.status == "warning" and "CPU broadcast" in finding.title
    assert "cpu=True" in words(finding) and "fastai/distributed.py" in finding.detail
    # The workaround is Python for the training script, so it is evidence, not a shell command to paste.
    assert "DistributedDL._broadcast = broadcast_on_cpu" in finding.detail and commands(finding) == ()


def test_fastai_differing_from_one_process_is_an_error():
    finding = verdict("dist-fastai", with_fastai(reference_losses=[14.68, 12.65, 9.9]))
    assert finding.status == "error" and finding.title.startswith("fastai's data-parallel fit differs")


def test_fastai_without_accelerate_names_the_pip_command():
    missing = record(FastaiUnavailable, available=False,
                     error=record(ProbeError, type="ModuleNotFoundError", message="No module named 'accelerate'"))
    results = copy.deepcopy(HEALTHY["results"])
    results["fastai"]["0"] = missing
    finding = verdict("dist-fastai", run(results=results))
    assert finding.status == "warning" and "accelerate does not import" in finding.title
    assert commands(finding) == ("pip install accelerate",)


def test_fastai_left_out_is_skipped():
    data = run()
    data["steps"] = STEPS[:-1]
    finding = verdict("dist-fastai", data)
    assert (finding.status, finding.title) == ("skipped", "not run (--no-fastai)")
