"""Multi-process and multi-GPU training (torch.distributed, as torchrun, accelerate and fastai's distrib_ctx use
it): which backends this torch has (from the torch probe, in every `dl-doctor check`), and the verdicts of a
`dl-doctor dist` run — rendezvous, barrier, all_reduce, broadcast, all_gather on known values, all_reduce
bandwidth against the links between the GPUs, and a fastai fit under distrib_ctx against one process."""

from doctor.results.dist import run_failure, size_label
from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

NOT_RUN = "the multi-process run did not run (dl-doctor dist)"
STEP_NAMES = {"import": "import torch", "backends": "backend availability", "rendezvous": "rendezvous",
              "barrier": "barrier", "all_reduce": "all_reduce", "broadcast": "broadcast", "all_gather": "all_gather",
              "bandwidth": "the bandwidth table", "fastai": "the fastai run", "exit": "exiting"}
# fastai's loss on rank 0 after data-parallel training against one process trained on the same batches: only the
# order of float32 sums differs (measured here: 1e-7 relative), while a rank training on its shard alone or
# gradients summed instead of averaged shows as 1e-2 or more.
FASTAI_LOSS_TOLERANCE = 1e-4
# A GPU pair's all_reduce bus bandwidth below this share of what its link carries is "far below" it.
FAR_BELOW = 0.25
# One NVLink (generations 2 to 4) carries 25 GB/s each way (NVIDIA V100, A100 and H100 datasheets).
NVLINK_GBPS_PER_LINK = 25.0
# PCIe payload GB/s per lane each way, by generation (PCI-SIG: 8, 16, 32 GT/s with 128b/130b encoding).
PCIE_GBPS_PER_LANE = {3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
PCIE_PATHS = ("PIX", "PXB", "PHB", "NODE", "SYS")


def _torch_distributed(facts):
    torch = facts.data("torch") or {}
    return torch.get("distributed") if torch.get("importable") else None


def _gpu_count(facts):
    torch = facts.data("torch") or {}
    cuda = torch.get("cuda") or {}
    return max(len(facts.derived.nvidia_gpus), int(cuda.get("device_count") or 0) if cuda.get("available") else 0)


@check("dist-backends", "torch.distributed is built in, with the gloo and NCCL backends the machine needs",
       needs=("torch",), reads=('hardware', 'packages', 'python'), topic="dist", suites=("check", "dist"))
def dist_backends(facts):
    if not (facts.data("torch") or {}).get("importable"):
        yield skipped("torch does not import (see torch-import)")
        return
    distributed = _torch_distributed(facts)
    if distributed is None:
        yield skipped("these torch facts do not include torch.distributed (saved by an older dl-doctor)")
        return
    gpus = _gpu_count(facts)
    built = [name for name in ("gloo", "nccl", "mpi") if distributed.get(name)]
    if not distributed.get("available"):
        finding = warning if gpus >= 2 else info
        yield finding("torch.distributed is not built into this torch: no multi-process training",
                      detail=distributed.get("error") or "",
                      fix=fix("Install torch from pytorch.org's wheels, which include torch.distributed."))
        return
    cuda_build = (facts.derived.torch_build and facts.derived.torch_build.flavour) == "cuda"
    if gpus >= 2 and cuda_build and not distributed.get("nccl"):
        yield warning("%d GPUs but this torch has no NCCL: multi-GPU training falls back to gloo, far slower"
                      % gpus, detail="backends built in: %s" % (", ".join(built) or "none"),
                      fix=fix("Install a CUDA build of torch from pytorch.org (the Linux CUDA wheels include NCCL)."))
        return
    yield ok("torch.distributed backends built in: %s" % (", ".join(built) or "none"))


@check("dist-multi-gpu", "On a machine with 2 or more GPUs, dl-doctor dist checks multi-GPU training",
       reads=('torch', 'hardware', 'packages', 'python', 'dist'), topic="dist", suites=("check", "dist"))
def dist_multi_gpu(facts):
    if facts.outcome("dist") is not None:
        yield skipped("dl-doctor dist ran")
        return
    gpus = _gpu_count(facts)
    if gpus < 2:
        yield skipped("%d GPU%s: nothing to train across" % (gpus, "" if gpus == 1 else "s"))
        return
    yield info("%d GPUs: check multi-GPU training (NCCL, rendezvous, bandwidth, fastai) before you rely on it" % gpus,
               fix=fix("Run the multi-process check:", "dl-doctor dist"))


def _data(facts):
    return facts.data("dist") or {}


def _results(facts, step):
    return (_data(facts).get("results") or {}).get(step) or {}


def _first_line(failure):
    message = (failure or {}).get("message") or ""
    return message.strip().splitlines()[0] if message.strip() else (failure or {}).get("type", "an error")


def _describe_failure(data, failure):
    step = STEP_NAMES.get(failure["step"], failure["step"])
    ranks = ", ".join(str(rank) for rank in failure["ranks"])
    plural = "s" if len(failure["ranks"]) > 1 else ""
    record = failure["records"][0]
    if failure["ending"] == "died":
        how = "with %s" % record["signal"] if record.get("signal") else "(exit %s)" % record.get("returncode")
        return "rank%s %s died %s during %s" % (plural, ranks, how, step)
    if failure["ending"] == "timeout":
        seconds = (data.get("step_timeouts_s") or {}).get(failure["step"], data.get("timeout_s"))
        return "rank%s %s did not finish %s within %g s" % (plural, ranks, step, seconds)
    if failure["ending"] == "error":
        return "rank%s %s failed in %s: %s" % (plural, ranks, step, _first_line(record.get("error")))
    return "rank%s %s stopped in %s" % (plural, ranks, step)


def _evidence(data):
    lines = []
    for rank in data.get("ranks", []):
        lines.append("rank %d (pid %d): %s; last step reached: %s; completed: %s" % (
            rank["rank"], rank["pid"], rank["ending"], rank.get("last_step") or "none",
            ", ".join(rank.get("completed") or []) or "none"))
        if rank.get("error"):
            lines.append("  " + (rank["error"].get("traceback") or _first_line(rank["error"])).strip()
                         .splitlines()[-1])
        elif rank["ending"] != "finished" and rank.get("stderr_tail", "").strip():
            lines.append("  stderr: " + rank["stderr_tail"].strip().splitlines()[-1])
    return "\n".join(lines)


def _address_in_use(failure):
    error_record = failure["records"][0].get("error") or {}
    text = "%s %s" % (error_record.get("message") or "", error_record.get("traceback") or "")
    # torch's TCPStore: "The server socket has failed to listen on any local network address. port: P, useIpv6:
    # false, code: -98, name: EADDRINUSE, message: address already in use" (torch 2.14.1, verified here).
    return failure["step"] == "rendezvous" and ("address already in use" in text.lower() or "EADDRINUSE" in text)


@check("dist-run", "The workers started on loopback, ran every step, and the run stopped at no step",
       reads=('dist',), topic="dist", suites=("check", "dist"))
def dist_run(facts):
    outcome = facts.outcome("dist")
    if outcome is None or outcome.status == "skipped":
        yield skipped(outcome.reason if outcome is not None and outcome.reason else NOT_RUN)
        return
    if not outcome.ok:
        yield error("the workers did not start: %s" % outcome.reason)
        return
    data = outcome.data
    where = "%d %s workers on %s:%d" % (data["nproc"], data["backend"], data["master_addr"], data["port"])
    failure = run_failure(data)
    if failure is None:
        yield ok("%s ran all %d steps in %.1f s" % (where, len(data["steps"]), data["wall_s"]),
                 detail=_evidence(data))
        return
    if _address_in_use(failure):
        yield error("rendezvous failed: port %d on %s is already in use (rank 0 could not listen on it)"
                    % (data["port"], data["master_addr"]), detail=_evidence(data),
                    fix=fix("Stop what holds the port, or pick another one (leave --port out to get a free one):",
                            "dl-doctor dist --port %d" % (data["port"] + 1 if data["port"] < 65535 else 29500)))
        return
    title = "%s: %s" % (where, _describe_failure(data, failure))
    if failure["step"] == "rendezvous":
        yield error(title, detail=_evidence(data), fix=fix(
            "The workers could not meet at MASTER_ADDR:MASTER_PORT. On loopback that is a firewall rule on "
            "127.0.0.1 or an interface setting: check GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME (unset them, or "
            "name the loopback interface) and that nothing filters local TCP connections."))
        return
    yield error(title, detail=_evidence(data), fix=fix(
        "The finding of the step names the cause; every worker was stopped and cleaned up (see dist-cleanup)."))


@check("dist-cleanup", "No worker process and no bound port outlives the run", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_cleanup(facts):
    data = _data(facts)
    cleanup = data.get("cleanup") or {}
    left = cleanup.get("left_behind_pids") or []
    if left:
        yield error("worker processes outlived the run (process groups %s)" % ", ".join(str(pid) for pid in left),
                    fix=fix("Kill them by process group:", *("kill -9 -- -%d" % pid for pid in left)))
        return
    if not cleanup.get("port_free") and cleanup.get("port_free_before", True):
        yield warning("port %d can still not be bound after the run" % data["port"],
                      fix=fix("Something still holds it: see `ss -ltnp` (Linux) or `lsof -i :%d`." % data["port"]))
        return
    if not cleanup.get("port_free"):
        yield ok("all %d workers' process groups are gone; port %d was already in use before the run (see dist-run)"
                 % (data["nproc"], data["port"]))
        return
    yield ok("all %d workers' process groups are gone and port %d can be bound again" % (data["nproc"], data["port"]))


def _step_state(facts, step):
    """(results by rank, None) when every rank finished the step, else (None, the finding to give)."""
    data = _data(facts)
    if step not in data.get("steps", []):
        return None, skipped("not run (--no-fastai)" if step == "fastai" else "not part of this run")
    failure = run_failure(data)
    results = _results(facts, step)
    if len(results) == data.get("nproc"):
        return results, None
    if failure is not None and failure["step"] == step:
        return None, error(_describe_failure(data, failure),
                           detail=_evidence(data), fix=fix("See dist-run for every rank's last step."))
    stopped = STEP_NAMES.get(failure["step"], failure["step"]) if failure else "?"
    return None, skipped("not reached: the run stopped at %s (see dist-run)" % stopped)


@check("dist-rendezvous", "Every worker joins the process group (init_process_group, env://)", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_rendezvous(facts):
    results, finding = _step_state(facts, "rendezvous")
    if finding is not None:
        yield finding
        return
    slowest = max(result["seconds"] for result in results.values())
    backend = results["0"]["backend"]
    yield ok("%d workers met at %s:%d over %s in %.2f s" % (len(results), _data(facts)["master_addr"],
                                                            _data(facts)["port"], backend, slowest))


@check("dist-barrier", "A barrier across every worker returns", needs=("dist",), topic="dist", suites=("check", "dist"))
def dist_barrier(facts):
    results, finding = _step_state(facts, "barrier")
    if finding is not None:
        yield finding
        return
    yield ok("barrier returned on all %d ranks in %.3f s" % (len(results), max(r["seconds"] for r in results.values())))


def _correctness(facts, step, what):
    results, finding = _step_state(facts, step)
    if finding is not None:
        yield finding
        return
    wrong = sorted(int(rank) for rank, result in results.items() if not result["correct"])
    if wrong:
        details = "\n".join("rank %s: %s" % (rank, results[str(rank)]) for rank in wrong)
        yield error("%s gave wrong values on rank%s %s" % (step, "s" if len(wrong) > 1 else "",
                                                           ", ".join(map(str, wrong))), detail=details,
                    fix=fix("Collectives that compute wrong values point at the backend or the driver: update "
                            "torch (and the NVIDIA driver for NCCL), and report it with this output."))
        return
    yield ok("%s on %d ranks: %s" % (step, len(results), what))


@check("dist-all-reduce", "all_reduce sums known values exactly on every rank", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_all_reduce(facts):
    yield from _correctness(facts, "all_reduce", "the sum of rank+1 is exact in float32 and int64")


@check("dist-broadcast", "broadcast delivers rank 0's values to every rank", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_broadcast(facts):
    yield from _correctness(facts, "broadcast", "every rank received rank 0's 1024 values")


@check("dist-all-gather", "all_gather collects every rank's values in rank order", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_all_gather(facts):
    yield from _correctness(facts, "all_gather", "every rank holds every rank's values in order")


def expected_link_gbps(link, pcie):
    """What one GPU pair's link carries each way (GB/s), from nvidia-smi's matrix entry and the PCIe links, or None."""
    if link.startswith("NV") and link[2:].isdigit():
        return NVLINK_GBPS_PER_LINK * int(link[2:])
    if link in PCIE_PATHS and pcie:
        return min(PCIE_GBPS_PER_LANE.get(item["generation"], 0.0) * item["width"] for item in pcie) or None
    return None


def _pair_figures(facts, table):
    """[(ranks, measured busbw, link kind, expected GB/s)] for the GPU pairs that were measured."""
    topology = table.get("topology") or {}
    links, pcie = topology.get("links") or {}, topology.get("pcie") or {}
    measured = {}
    for result in _results(facts, "bandwidth").values():
        for pair in result.get("pairs") or []:
            measured.setdefault(tuple(pair["ranks"]), pair["busbw_gbps"])
    if not measured and table.get("world_size") == 2 and table.get("rows"):
        measured[(0, 1)] = table["rows"][-1]["busbw_gbps"]
    figures = []
    for (first, second), busbw in sorted(measured.items()):
        link = links.get("%d-%d" % (first, second)) or "?"
        pair_pcie = [pcie[str(index)] for index in (first, second) if str(index) in pcie]
        figures.append(((first, second), busbw, link, expected_link_gbps(link, pair_pcie)))
    return figures


@check("dist-bandwidth", "all_reduce bus bandwidth (1 KiB to 64 MiB), against what the GPUs' links carry",
       needs=("dist",), topic="dist", suites=("check", "dist"))
def dist_bandwidth(facts):
    results, finding = _step_state(facts, "bandwidth")
    if finding is not None:
        yield finding
        return
    table = results["0"]
    rows = table["rows"]
    largest, smallest = rows[-1], rows[0]
    title = "all_reduce over %s on %d ranks (%s): %.2f GB/s bus bandwidth at %s, %.0f µs at %s" % (
        _data(facts)["backend"], table["world_size"], table["device"].split(":")[0], largest["busbw_gbps"],
        size_label(largest["bytes"]), smallest["time_us"], size_label(smallest["bytes"]))
    lines = ["%8s %10.1f µs %8.3f GB/s algbw %8.3f GB/s busbw" % (size_label(row["bytes"]), row["time_us"],
                                                                  row["algbw_gbps"], row["busbw_gbps"])
             for row in rows]
    slow = []
    for ranks, busbw, link, expected in _pair_figures(facts, table):
        if expected:
            lines.append("GPUs %d-%d over %s: %.1f GB/s bus bandwidth, the link carries about %.0f GB/s"
                         % (ranks[0], ranks[1], link, busbw, expected))
            if busbw < FAR_BELOW * expected:
                slow.append("%d-%d (%s: %.1f of ~%.0f GB/s)" % (ranks[0], ranks[1], link, busbw, expected))
    if slow:
        yield warning("GPU pair%s far below the link: %s" % ("s" if len(slow) > 1 else "", "; ".join(slow)),
                      detail="\n".join(lines + [(table.get("topology") or {}).get("matrix") or ""]),
                      fix=fix("Check `nvidia-smi topo -m` and `nvidia-smi nvlink --status`; a PCIe link trained "
                              "below its width or generation, or a peer-to-peer path disabled (NCCL_P2P_DISABLE, "
                              "IOMMU/ACS), slows every step of multi-GPU training."))
        return
    yield info(title, detail="\n".join(lines))


@check("dist-fastai", "A fastai fit under distrib_ctx trains data-parallel and matches one process", needs=("dist",),
       topic="dist", suites=("check", "dist"))
def dist_fastai(facts):
    """Rank 0's last training loss against a single process fed the same batches; FASTAI_LOSS_TOLERANCE says
    why 1e-4 relative is the bar."""
    results, finding = _step_state(facts, "fastai")
    if finding is not None:
        yield finding
        return
    result = results["0"]
    if not result.get("available"):
        failure = result.get("error") or {}
        missing = "accelerate" if "accelerate" in (failure.get("message") or "") else "fastai"
        yield warning("fastai's distrib_ctx cannot run here: %s does not import (%s)" % (missing, _first_line(failure)),
                      fix=fix("fastai's distributed training wraps Hugging Face accelerate:",
                              "pip install %s" % missing))
        return
    mine, theirs = result["losses"][-1], result["reference_losses"][-1]
    difference = abs(mine - theirs) / max(abs(theirs), 1e-12)
    figures = "loss %.6g on rank 0 vs %.6g in one process (relative difference %.1e, tolerance %.0e)" % (
        mine, theirs, difference, FASTAI_LOSS_TOLERANCE)
    detail = "%d steps of %d per rank on %d ranks (%s); fit %.1f s after fastai's import (%.1f s)\n%s" % (
        result["steps"], result["batch_per_rank"], result["world_size"], result["device"], result["fit_seconds"],
        result["import_seconds"], "rank 0 losses: " + ", ".join("%.4g" % loss for loss in result["losses"]))
    if difference > FASTAI_LOSS_TOLERANCE:
        yield error("fastai's data-parallel fit differs from one process: %s" % figures, detail=detail,
                    fix=fix("The ranks do not average gradients over the same model: check dist-all-reduce, and "
                            "that every rank runs the same code and data."))
        return
    if result["losses"][-1] >= result["losses"][0]:
        yield error("fastai's data-parallel fit did not learn: %s" % figures, detail=detail)
        return
    if result.get("cpu_broadcast_shim"):
        # DistributedDL._broadcast: "t = LongTensor(t).cuda() # nccl only works with cuda tensors" (fastai 2.8.12).
        cuda_only = ("fastai's DistributedDL._broadcast moves the batch order to CUDA (fastai/distributed.py), which "
                     "fails without a GPU: 'Found no NVIDIA driver on your system'.")
        workaround = ("In the training script, before training (Python, not a shell command):\n"
                      "    def broadcast_on_cpu(self, t, rank):\n"
                      "        x = torch.LongTensor(t); torch.distributed.broadcast(x, rank); return x.tolist()\n"
                      "    fastai.distributed.DistributedDL._broadcast = broadcast_on_cpu\n"
                      "    with learn.distrib_ctx(sync_bn=False, cpu=True): learn.fit(1)")
        yield warning("fastai trains data-parallel and matches one process only with a CPU broadcast in place of "
                      "fastai's CUDA-only one: " + figures, detail="\n".join((detail, cuda_only, workaround)),
                      fix=fix("On a CPU-only machine, pass cpu=True to distrib_ctx (without it accelerate does not "
                              "distribute at all) and broadcast the batch order on the CPU: the code is above."))
        return
    yield ok("fastai trains data-parallel on %d ranks and matches one process: %s" % (result["world_size"], figures),
             detail=detail)
