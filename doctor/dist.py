"""`dl-doctor dist`: start N torch.distributed workers on loopback the way torchrun does, keep a deadline for
every step they report, and clean up after them.

The workers (doctor/probes/programs/dist_worker.py) measure; this module only plans the run, watches it and
records what happened to every rank as the ``dist`` fact; the ``dist-*`` checks (checks/dist.py) judge.
Every worker runs in a process session of its own, so a hang or a death ends with the whole group of every
worker killed, and the run's fact says whether any process or the port outlived it.
"""

import json
import socket
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence

from doctor.collect import Target, probe_arguments, probe_environment
from doctor.facts import Facts, assemble_facts
from doctor.outcome import NOT_STARTED, OK, ProbeOutcome, skipped_outcome
from doctor.probes import builtin_probes, dist_worker_probe, torch_probe
from doctor.probes.runner import run_probes
from doctor.requests import DistRequest
from doctor.results.dist import STEPS
from doctor.supervisor import Child, ChildOutcome, Command, Stop, Watcher, groups_left_behind, supervise

# Importing torch, and fastai with accelerate, can take minutes on a cold disk: these steps get at least this.
SLOW_STEPS_S = {"import": 180.0, "fastai": 180.0}
# After a worker has sent its answer, how long its interpreter may take to exit.
EXIT_GRACE_S = 30.0
# How long the killed workers' process groups may take to disappear before they count as left behind.
REAP_LIMIT_S = 5.0
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


class _Rank:
    """What one rank reported: the step it is in, the steps it completed and their results, and how it ended."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.step: Optional[str] = None
        self.completed: List[str] = []
        self.results: Dict[str, Any] = {}
        self.error: Optional[Dict[str, Any]] = None
        # An error that arrived after the run was stopped: it names the rank's ending only if nothing else does.
        self.late_error = False
        self.ending: Optional[str] = None

    def current_step(self) -> str:
        """The step it is in, or the one it is about to start."""
        if self.step is not None:
            return self.step
        following = [step for step in STEPS if step not in self.completed]
        return following[0] if following else "exit"

    def settle(self, outcome: ChildOutcome) -> None:
        """How a rank ended that the watch did not decide: killed when the run stopped, or by its own exit."""
        if self.ending is not None:
            return
        if outcome.killed:
            self.ending = "killed"
        elif self.late_error:
            self.ending = "error"
        else:
            self.ending = "finished" if outcome.answer is not None and outcome.returncode == 0 else "died"

    def record(self, outcome: ChildOutcome) -> Dict[str, Any]:
        last = self.step or (self.completed[-1] if self.completed else None)
        return {"rank": self.rank, "pid": outcome.pid, "ending": self.ending, "returncode": outcome.returncode,
                "signal": outcome.crash, "last_step": last, "completed": list(self.completed),
                "in_step": None if self.ending == "finished" else self.current_step(), "error": self.error,
                "stderr_tail": outcome.stderr[-STDERR_TAIL_CHARS:]}


class _StepDeadlines(Watcher):
    """Every rank gets a deadline for the step it is in, moved with each record it sends; the first failure
    (an error, a death, a step past its deadline) stops the run. A rank's error gives the others a moment to
    end by themselves: a peer's death is often what the error is about, and its socket closes a moment
    before its exit status can be read."""

    def __init__(self, plan: DistPlan) -> None:
        self.plan = plan
        self.ranks = [_Rank(rank) for rank in range(plan.nproc)]
        self.stopped = False

    def _stop(self, grace_s: float = 0.0) -> Stop:
        self.stopped = True
        return Stop(grace_s)

    def progress(self, child: Child, record: Dict[str, Any]) -> Optional[Stop]:
        rank = self.ranks[child.index]
        event, step = record.get("event"), record.get("step")
        if event == "start":
            rank.step = step
        elif event == "done":
            rank.step = None
            rank.completed.append(step)
            rank.results[step] = record.get("result")
        elif event == "error":
            rank.error = record.get("error")
            if self.stopped:
                rank.late_error = True
                return None
            rank.ending = "error"
            return self._stop(PEER_GRACE_S)
        child.deadline = time.monotonic() + step_timeout(rank.current_step(), self.plan.timeout_s)
        return None

    def answered(self, child: Child) -> Optional[Stop]:
        child.deadline = time.monotonic() + EXIT_GRACE_S
        return None

    def exited(self, child: Child) -> Optional[Stop]:
        if self.stopped:
            return None
        rank = self.ranks[child.index]
        if child.returncode != 0 or child.answer is None:
            rank.ending = "died"
            return self._stop()
        rank.ending = "finished"
        return None

    def deadline_passed(self, child: Child, running: Sequence[Child]) -> Optional[Stop]:
        rank = self.ranks[child.index]
        if child.answer is not None:
            rank.step, rank.ending = "exit", "timeout"
            return self._stop()
        # One rank stuck in a collective holds the others in it: every rank still running timed out there.
        for other in running:
            peer = self.ranks[other.index]
            if peer.ending is None:
                peer.step, peer.ending = peer.current_step(), "timeout"
        return self._stop()


def run_dist(python: str, cwd: str, env: Mapping[str, str], plan: DistPlan) -> ProbeOutcome:
    """Run the workers to the end or to the first failure, kill every group, and record it all as ``dist``."""
    spec = dist_worker_probe()
    arguments = json.dumps({"backend": plan.backend, "timeout_s": plan.timeout_s + 30.0, "fastai": plan.fastai})
    started = time.monotonic()
    port_free_before = port_is_free(plan.port)
    commands = [Command("dist", [python, "-c", spec.program, arguments], cwd, worker_environment(env, plan, rank),
                        step_timeout(STEPS[0], plan.timeout_s)) for rank in range(plan.nproc)]
    watcher = _StepDeadlines(plan)
    outcomes = supervise(commands, watcher)
    not_started = [outcome.start_error for outcome in outcomes if outcome.start_error is not None]
    if not_started:
        return ProbeOutcome("dist", NOT_STARTED, None, "probe dist could not start %s: %s" % (python, not_started[0]),
                            "", time.monotonic() - started, None, None)
    for rank, outcome in zip(watcher.ranks, outcomes):
        rank.settle(outcome)
    data = dict(_plan_record(env, plan), ranks=[rank.record(outcome) for rank, outcome in zip(watcher.ranks, outcomes)],
                results={step: {str(rank.rank): rank.results[step] for rank in watcher.ranks if step in rank.results}
                         for step in STEPS},
                wall_s=time.monotonic() - started,
                cleanup={"left_behind_pids": groups_left_behind(outcomes, REAP_LIMIT_S),
                         "port_free_before": port_free_before, "port_free": port_is_free(plan.port)})
    return ProbeOutcome("dist", OK, data, None, "", data["wall_s"], None, None)


def _plan_record(env: Mapping[str, str], plan: DistPlan) -> Dict[str, Any]:
    """What the run was asked to do, as the ``dist`` fact records it."""
    return {"backend": plan.backend, "nproc": plan.nproc, "master_addr": MASTER_ADDR, "port": plan.port,
            "gloo_socket_ifname": worker_environment(env, plan, 0).get("GLOO_SOCKET_IFNAME"),
            "timeout_s": plan.timeout_s,
            "step_timeouts_s": {step: step_timeout(step, plan.timeout_s) for step in STEPS},
            "steps": [step for step in STEPS if plan.fastai or step != "fastai"]}


# The torch probe stops after describing torch's build when asked (doctor/probes/programs/ops.py).
_DESCRIBE_TORCH = {"describe_only": True}


def _torch_outcome(outcome: ProbeOutcome) -> ProbeOutcome:
    """The torch probe's description of torch (a progress record) as the ``torch`` outcome itself."""
    described = [record["facts"] for record in outcome.progress
                 if record.get("kind") == "torch" and isinstance(record.get("facts"), dict)]
    if not described:
        return outcome
    return replace(outcome, status=OK, data=described[0], reason=None)


def collect_dist_facts(target: Target, lesson: int, request: DistRequest) -> Facts:
    """The interpreter, its packages, the GPUs and torch's build (concurrently), then the workers; a request this
    machine cannot run raises DistInputError before any worker starts."""
    environment = probe_environment()
    specs = [spec for spec in builtin_probes() if spec.name in ("metadata", "hardware")] + [torch_probe(120.0)]
    arguments = dict(probe_arguments(lesson), torch=_DESCRIBE_TORCH)
    outcomes = run_probes(specs, target.python, target.cwd, environment, arguments)
    outcomes["torch"] = _torch_outcome(outcomes["torch"])
    torch = outcomes["torch"].data or {}
    if not torch.get("importable"):
        outcomes["dist"] = skipped_outcome("dist", "torch does not import (see torch-import)")
    else:
        cpu_count = (outcomes["python"].data or {}).get("cpu_count") if outcomes["python"].ok else None
        plan = plan_run(request, torch, cpu_count)
        outcomes["dist"] = run_dist(target.python, target.cwd, environment, plan)
    return assemble_facts(target.python, target.cwd, False, lesson, outcomes)
