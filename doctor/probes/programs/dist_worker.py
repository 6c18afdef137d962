# Probe "dist" worker: one rank of a torch.distributed run, started by doctor/dist.py the way torchrun starts
# its workers (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT in the environment,
# init_method="env://"). It walks the steps in order and sends a progress record as each step starts and ends,
# so the engine knows the last step a rank reached even if it dies or hangs; it measures, and never judges.
#
# DL_DOCTOR_DIST_SIMULATE is for dl-doctor's own tests only: "die:RANK:STEP" makes that rank kill itself with
# SIGKILL as the step starts, "hang:RANK:STEP" makes it wait forever there, "wrong:RANK:STEP" makes it send
# wrong values in that step's collective. Nothing else reads it.
import datetime
import os
import signal
import subprocess
import sys
import time

SIMULATION_VARIABLE = "DL_DOCTOR_DIST_SIMULATE"
STEPS = ("import", "backends", "rendezvous", "barrier", "all_reduce", "broadcast", "all_gather", "bandwidth",
         "fastai")
CHECK_ELEMENTS = 1024
# all_reduce message sizes for the bandwidth table: 1 KiB to 64 MiB, x4 a step.
BANDWIDTH_SIZES = [1024 * 4 ** power for power in range(9)]
# Seconds of timed all_reduce calls aimed at for each size (after one warm-up call), within these call counts.
SECONDS_PER_SIZE = 0.15
MIN_CALLS, MAX_CALLS = 2, 50
PAIR_BYTES = 64 * 1024 * 1024
# The fastai run: per-rank batch, steps per epoch, epochs; a BatchNorm-free regression so data parallelism
# with averaged gradients is exactly one process with the combined batch (up to float32 summation order).
FASTAI_BATCH, FASTAI_STEPS, FASTAI_EPOCHS = 8, 4, 2
FASTAI_FEATURES = 4


def _simulation(rank, step):
    """The simulated failure ("die", "hang", "wrong") for this rank and step, or None."""
    text = os.environ.get(SIMULATION_VARIABLE) or ""
    parts = text.split(":")
    if len(parts) == 3 and parts[1] == str(rank) and parts[2] == step:
        return parts[0]
    return None


def _begin(rank, step):
    _doctor_progress({"rank": rank, "step": step, "event": "start"})
    action = _simulation(rank, step)
    if action == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "hang":
        while True:
            time.sleep(3600)
    return action == "wrong"


def _done(rank, step, result):
    _doctor_progress({"rank": rank, "step": step, "event": "done", "result": result})


def _synchronize(torch, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _backends(torch):
    distributed = torch.distributed
    found = {"available": distributed.is_available()}
    for backend in ("gloo", "nccl", "mpi"):
        function = getattr(distributed, "is_%s_available" % backend, None)
        found[backend] = bool(function()) if found["available"] and function is not None else False
    found["cuda_devices"] = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return found


def _all_reduce(torch, dist, device, rank, world, wrong):
    """Every rank sends rank + 1 everywhere; the sum is world * (world + 1) / 2, exact in float32 and int64."""
    results = {}
    for dtype in (torch.float32, torch.int64):
        values = torch.full((CHECK_ELEMENTS,), rank + 1 + (7 if wrong else 0), dtype=dtype, device=device)
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        expected = world * (world + 1) // 2
        got = values.cpu()
        results[str(dtype).replace("torch.", "")] = {
            "expected": expected, "got_min": got.min().item(), "got_max": got.max().item(),
            "correct": bool((got == expected).all().item())}
    return {"dtypes": results, "correct": all(item["correct"] for item in results.values())}


def _broadcast(torch, dist, device, rank, wrong):
    expected = torch.arange(CHECK_ELEMENTS, dtype=torch.float32) * 1.5
    values = expected.clone().to(device) if rank == 0 else torch.zeros(CHECK_ELEMENTS, device=device)
    dist.broadcast(values, src=0)
    got = values.cpu() + (1.0 if wrong else 0.0)
    return {"correct": bool(torch.equal(got, expected)), "max_error": (got - expected).abs().max().item()}


def _all_gather(torch, dist, device, rank, world, wrong):
    mine = torch.full((16,), float(rank * 10 + (3 if wrong else 0)), device=device)
    gathered = [torch.zeros(16, device=device) for _ in range(world)]
    dist.all_gather(gathered, mine)
    got = [tensor.cpu()[0].item() for tensor in gathered]
    expected = [float(index * 10) for index in range(world)]
    correct = got == expected and all(bool((tensor == tensor[0]).all().item()) for tensor in gathered)
    return {"correct": correct, "got": got, "expected": expected}


def _timed_all_reduce(torch, dist, device, elements, group=None):
    """Seconds per all_reduce of ``elements`` float32 values: one warm-up, then a call count every rank agrees
    on (from the slowest rank's warm-up), timed between barriers; the slowest rank's time counts."""
    values = torch.ones(elements, dtype=torch.float32, device=device)
    started = time.perf_counter()
    dist.all_reduce(values, group=group)
    _synchronize(torch, device)
    warm = torch.tensor([time.perf_counter() - started], dtype=torch.float64, device=device)
    dist.all_reduce(warm, op=dist.ReduceOp.MAX, group=group)
    calls = int(min(MAX_CALLS, max(MIN_CALLS, SECONDS_PER_SIZE / max(warm.item(), 1e-6))))
    dist.barrier(group=group)
    started = time.perf_counter()
    for _ in range(calls):
        dist.all_reduce(values, group=group)
    _synchronize(torch, device)
    spent = torch.tensor([time.perf_counter() - started], dtype=torch.float64, device=device)
    dist.all_reduce(spent, op=dist.ReduceOp.MAX, group=group)
    return spent.item() / calls, calls


def _bus_factor(world):
    # all_reduce moves 2(n-1)/n of the message over each rank's link (nccl-tests doc/PERFORMANCE.md, "busbw").
    return 2.0 * (world - 1) / world


def _bandwidth(torch, dist, device, world):
    rows = []
    for size in BANDWIDTH_SIZES:
        seconds, calls = _timed_all_reduce(torch, dist, device, size // 4)
        algorithm = size / seconds / 1e9
        rows.append({"bytes": size, "calls": calls, "time_us": seconds * 1e6, "algbw_gbps": algorithm,
                     "busbw_gbps": algorithm * _bus_factor(world)})
    return rows


def _pairs(torch, dist, device, rank, world):
    """Bus bandwidth between every pair of ranks (GPUs), one 64 MiB all_reduce group at a time."""
    pairs = []
    for first in range(world):
        for second in range(first + 1, world):
            # new_group is collective: every rank creates every group, in the same order (torch docs).
            group = dist.new_group([first, second])
            if rank in (first, second):
                seconds, _ = _timed_all_reduce(torch, dist, device, PAIR_BYTES // 4, group=group)
                pairs.append({"ranks": [first, second], "busbw_gbps": PAIR_BYTES / seconds / 1e9 * _bus_factor(2)})
            dist.barrier()
    return pairs


def _run_quietly(command):
    try:
        completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "%s: %s" % (type(exc).__name__, exc)
    if completed.returncode != 0:
        return None, completed.stderr.decode("utf-8", "replace").strip()[-300:]
    return completed.stdout.decode("utf-8", "replace"), None


def _topology():
    """nvidia-smi's GPU link matrix (NV#, PIX, PXB, PHB, NODE, SYS) and each GPU's PCIe link, as text and parsed."""
    matrix_text, error = _run_quietly(["nvidia-smi", "topo", "-m"])
    links = {}
    if matrix_text:
        lines = [line.split() for line in matrix_text.splitlines() if line.strip()]
        header = [name for name in lines[0] if name.startswith("GPU")] if lines else []
        for row in lines[1:]:
            if row and row[0].startswith("GPU") and row[0][3:].isdigit():
                for column, kind in zip(header, row[1:1 + len(header)]):
                    if kind != "X":
                        links["%s-%s" % (row[0][3:], column[3:])] = kind
    pcie_text, pcie_error = _run_quietly(["nvidia-smi", "--query-gpu=index,pcie.link.gen.max,pcie.link.width.max",
                                          "--format=csv,noheader,nounits"])
    pcie = {}
    for line in (pcie_text or "").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) == 3 and all(field.isdigit() for field in fields):
            pcie[fields[0]] = {"generation": int(fields[1]), "width": int(fields[2])}
    return {"links": links, "pcie": pcie, "matrix": matrix_text, "error": error or pcie_error}


def _fastai_data(torch, world):
    generator = torch.Generator().manual_seed(0)
    count = world * FASTAI_BATCH * FASTAI_STEPS
    inputs = torch.randn(count, FASTAI_FEATURES, generator=generator)
    weights = torch.tensor([1.0, -2.0, 0.5, 3.0])
    targets = (inputs @ weights + 0.1 * torch.randn(count, generator=generator)).unsqueeze(1)
    return inputs, targets


def _fastai_learner(torch, items, batch, device):
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from fastai.learner import Learner

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(FASTAI_FEATURES, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    # shuffle=False: every rank's shard, and the reference's batches, are known in advance.
    train = DataLoader(items, bs=batch, shuffle=False, drop_last=True)
    valid = DataLoader(items[:2 * batch], bs=batch)
    return Learner(DataLoaders(train, valid, device=device), model, loss_func=torch.nn.functional.mse_loss, lr=3e-2)


def _reference_order(items, world):
    """The single process's data in the data-parallel run's batches: fastai's DistributedDL gives rank r the r-th
    contiguous shard (fastai/distributed.py get_idxs), so global step s is batch s of every shard together."""
    count = len(items)
    shards = [items[r * count // world:(r + 1) * count // world] for r in range(world)]
    return [item for step in range(FASTAI_STEPS) for shard in shards
            for item in shard[step * FASTAI_BATCH:(step + 1) * FASTAI_BATCH]]


def _fit_quietly(learn):
    with learn.no_bar(), learn.no_logging():
        learn.fit(FASTAI_EPOCHS)
    return [float(loss) for loss in learn.recorder.losses]


def _fastai(torch, dist, device, rank, world):
    started = time.time()
    try:
        import accelerate  # noqa: F401  (fastai's distrib_ctx wraps accelerate's Accelerator)
        import fastai.distributed
    except ImportError as exc:
        return {"available": False, "error": _doctor_error(exc)}
    import_seconds = time.time() - started
    shimmed = False
    if device == "cpu" and not torch.cuda.is_available():
        # DistributedDL._broadcast moves the batch order to CUDA ("nccl only works with cuda tensors",
        # fastai/distributed.py), which fails without a GPU: broadcast it as a CPU tensor instead, for gloo.
        def broadcast_on_cpu(self, values, source):
            tensor = torch.LongTensor(values)
            dist.broadcast(tensor, source)
            return tensor.tolist()

        fastai.distributed.DistributedDL._broadcast = broadcast_on_cpu
        shimmed = True
    inputs, targets = _fastai_data(torch, world)
    items = list(zip(inputs, targets))
    learn = _fastai_learner(torch, items, FASTAI_BATCH, device)
    # sync_bn=False: no BatchNorm to convert; cpu=True: without CUDA, accelerate picks no distribution at all
    # unless told to use the CPU (accelerate/state.py _prepare_backend).
    with learn.distrib_ctx(sync_bn=False, cpu=device == "cpu"):
        losses = _fit_quietly(learn)
    fit_seconds = time.time() - started - import_seconds
    result = {"available": True, "cpu_broadcast_shim": shimmed, "import_seconds": import_seconds,
              "fit_seconds": fit_seconds, "losses": losses, "world_size": world, "batch_per_rank": FASTAI_BATCH,
              "steps": FASTAI_STEPS * FASTAI_EPOCHS, "device": device}
    dist.barrier()
    if rank == 0:
        # fastai gathers every loss it records from all ranks while WORLD_SIZE > 1 (fastai/torch_core.py
        # maybe_gather): the reference is a single process, so it runs as one.
        saved = os.environ.get("WORLD_SIZE")
        os.environ["WORLD_SIZE"] = "1"
        try:
            reference = _fastai_learner(torch, _reference_order(items, world), FASTAI_BATCH * world, device)
            result["reference_losses"] = _fit_quietly(reference)
        finally:
            os.environ["WORLD_SIZE"] = saved
    dist.barrier()
    return result


def _device(torch, backend, local_rank):
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
        return "cuda:%d" % local_rank
    return "cpu"


def collect(arguments):
    rank = int(os.environ["RANK"])
    world = int(os.environ["WORLD_SIZE"])
    backend = arguments["backend"]
    step = "import"
    _begin(rank, step)
    started = time.time()
    try:
        import torch
        import torch.distributed as dist
    except BaseException as exc:
        _doctor_progress({"rank": rank, "step": step, "event": "error", "error": _doctor_error(exc)})
        return {"rank": rank, "failed_step": step}
    _done(rank, step, {"seconds": time.time() - started, "torch": torch.__version__})
    try:
        step = "backends"
        _begin(rank, step)
        _done(rank, step, _backends(torch))
        step = "rendezvous"
        _begin(rank, step)
        started = time.time()
        device = _device(torch, backend, int(os.environ["LOCAL_RANK"]))
        dist.init_process_group(backend, init_method="env://",
                                timeout=datetime.timedelta(seconds=float(arguments["timeout_s"])))
        _done(rank, step, {"seconds": time.time() - started, "backend": str(dist.get_backend()),
                           "world_size": dist.get_world_size(), "device": device})
        step = "barrier"
        _begin(rank, step)
        started = time.time()
        dist.barrier()
        _done(rank, step, {"seconds": time.time() - started})
        step = "all_reduce"
        wrong = _begin(rank, step)
        _done(rank, step, _all_reduce(torch, dist, device, rank, world, wrong))
        step = "broadcast"
        wrong = _begin(rank, step)
        _done(rank, step, _broadcast(torch, dist, device, rank, wrong))
        step = "all_gather"
        wrong = _begin(rank, step)
        _done(rank, step, _all_gather(torch, dist, device, rank, world, wrong))
        step = "bandwidth"
        _begin(rank, step)
        table = {"rows": _bandwidth(torch, dist, device, world), "world_size": world, "device": device}
        if backend == "nccl" and world > 2:
            table["pairs"] = _pairs(torch, dist, device, rank, world)
        if backend == "nccl" and rank == 0:
            table["topology"] = _topology()
        _done(rank, step, table if rank == 0 else {"pairs": table.get("pairs", [])})
        if arguments.get("fastai", True):
            step = "fastai"
            _begin(rank, step)
            _done(rank, step, _fastai(torch, dist, device, rank, world))
        dist.destroy_process_group()
    except BaseException as exc:
        _doctor_progress({"rank": rank, "step": step, "event": "error", "error": _doctor_error(exc)})
        return {"rank": rank, "failed_step": step}
    sys.stdout.flush()
    return {"rank": rank, "failed_step": None}
