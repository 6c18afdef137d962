"""`dl-doctor dist`: start N torch.distributed workers on loopback the way torchrun does, keep a deadline for
every step they report, and clean up after them.

The workers (doctor/probes/programs/dist_worker.py) measure; this module only plans the run, watches it and
records what happened to every rank as the ``dist`` fact; the ``dist-*`` checks (checks/dist.py) judge.
Every worker runs in a process session of its own, so a hang or a death ends with the whole group of every
worker killed, and the run's fact says whether any process or the port outlived it.
"""

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional

from doctor.collect import Target, probe_arguments, probe_environment
from doctor.facts import Facts, assemble_facts
from doctor.outcome import NOT_STARTED, OK, ProbeOutcome, skipped_outcome
from doctor.probes import builtin_probes, dist_worker_probe, torch_probe
from doctor.probes.runner import killed_on_interrupt, run_probes
from doctor.requests import DistRequest
from doctor.results.dist import STEPS

# Importing torch, and fastai with accelerate, can take minutes on a cold disk: these steps get at least this.
SLOW_STEPS_S = {"import": 180.0, "fastai": 180.0}
# After a worker has sent its answer, how long its interpreter may take to exit.
EXIT_GRACE_S = 30.0
# How long the killed workers' process groups may take to disappear before they count as left behind.
REAP_LIMIT_S = 5.0
POLL_S = 0.05
PEER_GRACE_S = 1.0
STDERR_TAIL_CHARS = 2000
MASTER_ADDR = "127.0.0.1"
# The loopback interface, for gloo (torch's GLOO_SOCKET_IFNAME; torch/csrc/distributed/c10d/ProcessGroupGloo.cpp).
LOOPBACK_INTERFACE = {"linux": "lo", "darwin": "lo0"}


class DistInputError(ValueError):
    """An option the run cannot work with on this machine: one line saying what is available."""


@dataclass(frozen=True)
class DistPlan:
    backend: str
    nproc: int
    port: int
    timeout_s: float
    fastai: bool


def _available(distributed: Mapping[str, Any], gpus: int) -> str:
    found = []
    if distributed.get("gloo"):
        found.append("gloo")
    if distributed.get("nccl") and gpus:
        found.append("nccl with up to %d worker%s (one per GPU)" % (gpus, "" if gpus == 1 else "s"))
    return "available: %s" % (", ".join(found) if found else "no backend")


def most_cpu_workers(cpu_count: Optional[int]) -> int:
    """More CPU workers than twice the cores only take turns on them (each imports torch and fastai)."""
    return max(4, 2 * (cpu_count or 1))


def plan_run(request: DistRequest, torch: Mapping[str, Any], cpu_count: Optional[int]) -> DistPlan:
    """The backend and worker count for this machine, from the torch facts; bad options raise DistInputError."""
    distributed = torch.get("distributed") or {}
    cuda = torch.get("cuda") or {}
    gpus = int(cuda.get("device_count") or 0) if cuda.get("available") else 0
    available = _available(distributed, gpus)
    if request.timeout_s < 1:
        raise DistInputError("--timeout %g is too short: a step needs at least 1 s" % request.timeout_s)
    backend = request.backend
    if backend == "auto":
        backend = "nccl" if distributed.get("nccl") and gpus >= 2 else "gloo"
    if backend == "nccl" and not distributed.get("nccl"):
        raise DistInputError("--backend nccl: this torch is built without NCCL; %s" % available)
    if backend == "nccl" and gpus == 0:
        raise DistInputError("--backend nccl needs NVIDIA GPUs and torch sees none here; %s" % available)
    if backend == "gloo" and not distributed.get("gloo"):
        raise DistInputError("--backend gloo: this torch is built without gloo; %s" % available)
    nproc = request.nproc if request.nproc is not None else (gpus if backend == "nccl" and gpus >= 2 else 2)
    if nproc < 2:
        raise DistInputError("--nproc %d: a distributed run needs at least 2 workers; %s" % (nproc, available))
    if backend == "nccl" and nproc > gpus:
        raise DistInputError("--nproc %d: nccl needs one GPU per worker and torch sees %d; %s"
                             % (nproc, gpus, available))
    if backend == "gloo" and nproc > most_cpu_workers(cpu_count):
        raise DistInputError("--nproc %d is more workers than %s cores can run side by side: use 2 to %d"
                             % (nproc, cpu_count or "?", most_cpu_workers(cpu_count)))
    port = request.port if request.port is not None else free_port()
    return DistPlan(backend, nproc, port, request.timeout_s, request.fastai)


def free_port() -> int:
    """A port nothing listens on now: the one the kernel gives to a socket bound to port 0 (as torchrun's
    standalone mode picks one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((MASTER_ADDR, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on the port again (SO_REUSEADDR, as torch's TCPStore binds it, so sockets
    in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((MASTER_ADDR, port))
            probe.listen(1)
        except OSError:
            return False
    return True


def step_timeout(step: str, timeout_s: float) -> float:
    return max(timeout_s, SLOW_STEPS_S.get(step, 0.0))


def worker_environment(base: Mapping[str, str], plan: DistPlan, rank: int) -> Dict[str, str]:
    """What torchrun gives each worker (torch/distributed/run.py), on loopback."""
    environment = dict(base)
    environment.update({"RANK": str(rank), "WORLD_SIZE": str(plan.nproc), "LOCAL_RANK": str(rank),
                        "LOCAL_WORLD_SIZE": str(plan.nproc), "MASTER_ADDR": MASTER_ADDR,
                        "MASTER_PORT": str(plan.port)})
    # torchrun sets OMP_NUM_THREADS=1 for several workers unless the user chose (torch/distributed/run.py).
    environment.setdefault("OMP_NUM_THREADS", "1")
    interface = LOOPBACK_INTERFACE.get("linux" if sys.platform.startswith("linux") else sys.platform)
    if plan.backend == "gloo" and interface and "GLOO_SOCKET_IFNAME" not in base:
        environment["GLOO_SOCKET_IFNAME"] = interface
    return environment


class _Worker:
    """One rank's process, the steps it reported, and how it ended."""

    def __init__(self, rank: int, process: "subprocess.Popen[bytes]") -> None:
        self.rank = rank
        self.process = process
        self.step: Optional[str] = None
        self.since = time.monotonic()
        self.completed: List[str] = []
        self.results: Dict[str, Any] = {}
        self.error: Optional[Dict[str, Any]] = None
        self.answered = False
        self.stdout_closed = False
        self.ending: Optional[str] = None
        self.stderr: List[bytes] = []

    def current_step(self) -> str:
        """The step it is in, or the one it is about to start."""
        if self.step is not None:
            return self.step
        following = [step for step in STEPS if step not in self.completed]
        return following[0] if following else "exit"

    def record(self) -> Dict[str, Any]:
        code = self.process.returncode
        last = self.step or (self.completed[-1] if self.completed else None)
        return {"rank": self.rank, "pid": self.process.pid, "ending": self.ending, "returncode": code,
                "signal": _signal_name(code), "last_step": last, "completed": list(self.completed),
                "in_step": None if self.ending == "finished" else self.current_step(), "error": self.error,
                "stderr_tail": b"".join(self.stderr).decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]}


def _signal_name(code: Optional[int]) -> Optional[str]:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return "signal %d" % -code


def _read_answers(worker: _Worker, events: "queue.Queue[Any]") -> None:
    for line in iter(worker.process.stdout.readline, b""):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            events.put((worker, record))
    worker.process.stdout.close()
    events.put((worker, None))


def _read_stderr(worker: _Worker) -> None:
    for chunk in iter(worker.process.stderr.readline, b""):
        worker.stderr.append(chunk)
        # Only the tail is kept: a chatty library must not fill the doctor's memory.
        if len(worker.stderr) > 200:
            del worker.stderr[:100]
    worker.process.stderr.close()


def _kill_group(worker: _Worker) -> None:
    try:
        if os.name == "posix":
            os.killpg(worker.process.pid, signal.SIGKILL)
        else:
            worker.process.kill()
    except OSError:
        pass


def _group_alive(pid: int) -> bool:
    if os.name != "posix":
        return False
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _left_behind(workers: List[_Worker]) -> List[int]:
    """The workers whose process group still has a process once every group was killed."""
    deadline = time.monotonic() + REAP_LIMIT_S
    alive = [worker.process.pid for worker in workers if _group_alive(worker.process.pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(POLL_S)
        alive = [pid for pid in alive if _group_alive(pid)]
    return alive


def _handle(worker: _Worker, record: Optional[Dict[str, Any]]) -> Optional[str]:
    """Apply one answer line; returns how the worker ended when this line ends it."""
    if record is None:
        worker.stdout_closed = True
        worker.since = time.monotonic()
        return None
    if "data" in record:
        worker.answered = True
        return None
    progress = record.get("progress")
    if not isinstance(progress, dict):
        return None
    event, step = progress.get("event"), progress.get("step")
    worker.since = time.monotonic()
    if event == "start":
        worker.step = step
    elif event == "done":
        worker.step = None
        worker.completed.append(step)
        worker.results[step] = progress.get("result")
    elif event == "error":
        worker.error = progress.get("error")
        return "error"
    return None


def _watch(workers: List[_Worker], events: "queue.Queue[Any]", plan: DistPlan) -> None:
    """Until every worker has ended, or one fails: a failure (an error, a death, a step past its deadline)
    leaves the other workers marked to be killed."""
    running = list(workers)
    while running:
        try:
            worker, record = events.get(timeout=POLL_S)
            ending = _handle(worker, record)
            if ending is not None:
                worker.ending = ending
                return
        except queue.Empty:
            pass
        now = time.monotonic()
        for worker in list(running):
            code = worker.process.poll()
            if code is not None and worker.stdout_closed:
                running.remove(worker)
                if code != 0 or not worker.answered:
                    worker.ending = "died"
                    return
                worker.ending = "finished"
            elif worker.stdout_closed and now - worker.since > EXIT_GRACE_S:
                worker.step = "exit"
                worker.ending = "timeout"
                return
            elif now - worker.since > step_timeout(worker.current_step(), plan.timeout_s):
                worker.step = worker.current_step()
                for other in running:
                    if other.ending is None and other.process.poll() is None:
                        other.step = other.current_step()
                        other.ending = "timeout"
                return


def _let_dying_peers_end(workers: List[_Worker]) -> None:
    """After a rank reports an error, give the others a moment to end by themselves: a peer's death is often
    what the error is about, and its socket closes a moment before its exit status can be read."""
    if not any(worker.ending == "error" for worker in workers):
        return
    deadline = time.monotonic() + PEER_GRACE_S
    for worker in workers:
        try:
            worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def _drain(events: "queue.Queue[Any]") -> None:
    """Apply the answer lines still queued, so an error a worker sent just before the failure is kept."""
    while True:
        try:
            worker, record = events.get_nowait()
        except queue.Empty:
            return
        ending = _handle(worker, record)
        if ending is not None and worker.ending is None:
            worker.ending = ending


def run_dist(python: str, cwd: str, env: Mapping[str, str], plan: DistPlan,
             started_processes: Optional[List[Any]] = None) -> ProbeOutcome:
    """Run the workers to the end or to the first failure, kill every group, and record it all as ``dist``."""
    spec = dist_worker_probe()
    arguments = json.dumps({"backend": plan.backend, "timeout_s": plan.timeout_s + 30.0, "fastai": plan.fastai})
    started = time.monotonic()
    port_free_before = port_is_free(plan.port)
    events: "queue.Queue[Any]" = queue.Queue()
    workers: List[_Worker] = []
    readers: List[threading.Thread] = []
    try:
        for rank in range(plan.nproc):
            try:
                process = subprocess.Popen([python, "-c", spec.program, arguments], cwd=cwd,
                                           env=worker_environment(env, plan, rank), stdin=subprocess.DEVNULL,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           start_new_session=(os.name == "posix"))
            except OSError as exc:
                return ProbeOutcome("dist", NOT_STARTED, None, "probe dist could not start %s: %s"
                                    % (python, exc.strerror or exc), "", time.monotonic() - started, None, None)
            if started_processes is not None:
                started_processes.append(process)
            worker = _Worker(rank, process)
            workers.append(worker)
            for target, extra in ((_read_answers, (events,)), (_read_stderr, ())):
                reader = threading.Thread(target=target, args=(worker,) + extra, daemon=True)
                reader.start()
                readers.append(reader)
        _watch(workers, events, plan)
        _let_dying_peers_end(workers)
    finally:
        # Every group is killed, finished or not: a worker's own children (compile workers, NCCL proxies)
        # must not outlive the run.
        for worker in workers:
            if worker.process.poll() is None and worker.ending is None:
                worker.ending = "killed"
            _kill_group(worker)
        for worker in workers:
            worker.process.wait()
        for reader in readers:
            reader.join(timeout=2.0)
    _drain(events)
    for worker in workers:
        if worker.ending is None:
            worker.ending = "finished" if worker.answered and worker.process.returncode == 0 else "died"
    data = {"backend": plan.backend, "nproc": plan.nproc, "master_addr": MASTER_ADDR, "port": plan.port,
            "gloo_socket_ifname": worker_environment(env, plan, 0).get("GLOO_SOCKET_IFNAME"),
            "timeout_s": plan.timeout_s,
            "step_timeouts_s": {step: step_timeout(step, plan.timeout_s) for step in STEPS},
            "steps": [step for step in STEPS if plan.fastai or step != "fastai"],
            "ranks": [worker.record() for worker in workers],
            "results": {step: {str(worker.rank): worker.results[step] for worker in workers if step in worker.results}
                        for step in STEPS},
            "wall_s": time.monotonic() - started,
            "cleanup": {"left_behind_pids": _left_behind(workers), "port_free_before": port_free_before,
                        "port_free": port_is_free(plan.port)}}
    return ProbeOutcome("dist", OK, data, None, "", data["wall_s"], None, None)


# The torch probe stops after describing torch's build when asked (doctor/probes/programs/ops.py).
_DESCRIBE_TORCH = {"describe_only": True}


def _torch_outcome(outcome: ProbeOutcome) -> ProbeOutcome:
    """The torch probe's description of torch (a progress record) as the ``torch`` outcome itself."""
    described = [record["facts"] for record in outcome.progress if record.get("kind") == "torch"]
    if not described:
        return outcome
    return replace(outcome, status=OK, data=described[0], reason=None)


def collect_dist_facts(target: Target, lesson: int, request: DistRequest) -> Facts:
    """The interpreter, its packages, the GPUs and torch's build (concurrently), then the workers; a request this
    machine cannot run raises DistInputError before any worker starts."""
    environment = probe_environment()
    specs = [spec for spec in builtin_probes() if spec.name in ("metadata", "hardware")] + [torch_probe(120.0)]
    arguments = dict(probe_arguments(lesson), torch=_DESCRIBE_TORCH)
    with killed_on_interrupt() as processes:
        outcomes = run_probes(specs, target.python, target.cwd, environment, arguments, processes)
        outcomes["torch"] = _torch_outcome(outcomes["torch"])
        torch = outcomes["torch"].data or {}
        if not torch.get("importable"):
            outcomes["dist"] = skipped_outcome("dist", "torch does not import (see torch-import)")
        else:
            cpu_count = (outcomes["python"].data or {}).get("cpu_count") if outcomes["python"].ok else None
            plan = plan_run(request, torch, cpu_count)
            outcomes["dist"] = run_dist(target.python, target.cwd, environment, plan, processes)
    return assemble_facts(target.python, target.cwd, False, lesson, outcomes)
