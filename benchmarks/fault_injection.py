"""Seeded fault injection over the probe programs of `dl-doctor check --quick` (#14), or of the full `dl-doctor
check` with --full (the imports child and the torch child, whose op restarts are a policy of their own, too).

Each trial runs the real command line in a fresh process whose probes are the built-in programs with a fault
prelude put in front of them and a fault wrapped around their collect (the shipped programs are not touched):
kills at random moments, a crash while collecting, garbage without newlines on fds 1 and 2, hangs before and
inside collect, half an answer, an exit without one, a stderr flood, a grandchild left in the probe's group,
an answer that is not an object. Some trials also send SIGTERM to the doctor itself at a random moment.

Each trial asserts that the doctor exits within its budget with 0 or 1 (143 after SIGTERM), that the report is
complete (every probe of the run has an outcome, and an ok one carries its data), that no process it or its
probes started survives, and that the report file is either absent (after SIGTERM) or whole JSON.

Run: python benchmarks/fault_injection.py [--trials 200] [--seed 14] [--full]
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

from doctor.probes import builtin_probes

# The probes' children (a bundle is one), and every probe outcome a --quick report must hold; a full check adds
# the imports child and the torch child (which answers for "torch" and "ops").
CHILDREN = tuple(spec.name for spec in builtin_probes() if spec.quick)
QUICK_PROBES = tuple(name for spec in builtin_probes() if spec.quick for name in spec.members or (spec.name,))
FULL_CHILDREN = tuple(spec.name for spec in builtin_probes()) + ("torch",)
FULL_PROBES = tuple(name for spec in builtin_probes() for name in spec.members or (spec.name,)) + ("torch", "ops")

# A hang lasts until the probe's deadline, shortened so that a trial stays short: 5 s for the metadata probes,
# 12 s in a full check, where the imports child needs about 4 s on an idle 2-core machine.
PROBE_TIMEOUT_S = 5.0
FULL_PROBE_TIMEOUT_S = 12.0
# What a run may take: the deadline, a drain after it, and a loaded machine's start-ups; a full check imports
# torch and fastai twice over (the torch child, the imports child) and may wait on both.
BUDGET_S = PROBE_TIMEOUT_S + 25.0
FULL_BUDGET_S = 2 * FULL_PROBE_TIMEOUT_S + 50.0
OUTCOME_STATUSES = ("ok", "failed", "crashed", "timeout", "garbage", "not-started")
FAULTS = ("none", "kill", "crash-in-collect", "garbage", "hang-at-start", "hang-in-collect", "half-answer",
          "exit-without-answer", "stderr-flood", "grandchild", "answer-not-an-object")
SIGTERM_SHARE = 0.15

# Runs before the probe's own prelude. _FAULT is written above it: {"record": folder, "faults": [...], ...}.
FAULT_PRELUDE = r'''
import os as _fault_os, signal as _fault_signal, subprocess as _fault_subprocess, sys as _fault_sys
import threading as _fault_threading


def _fault_note(pid):
    open(_fault_os.path.join(_FAULT["record"], str(pid)), "w").close()


def _fault_garbage():
    _fault_os.write(1, bytes(_FAULT["garbage"]))
    _fault_os.write(2, bytes(reversed(_FAULT["garbage"])))


_fault_note(_fault_os.getpid())
if "kill" in _FAULT["faults"]:
    _fault_threading.Timer(_FAULT["kill_after_s"], _fault_os.kill,
                           (_fault_os.getpid(), _fault_signal.SIGKILL)).start()
if "garbage" in _FAULT["faults"]:
    _fault_garbage()
if "grandchild" in _FAULT["faults"]:
    _fault_grandchild = _fault_subprocess.Popen(
        [_fault_sys.executable, "-c", "import threading; threading.Event().wait()"])
    _fault_note(_fault_grandchild.pid)
if "hang-at-start" in _FAULT["faults"]:
    _fault_threading.Event().wait()


def _fault_collect(collect):
    def faulty(arguments):
        faults = _FAULT["faults"]
        if "garbage" in faults:
            _fault_garbage()
        if "crash-in-collect" in faults:
            _fault_os.kill(_fault_os.getpid(), _fault_signal.SIGSEGV)
        data = collect(arguments)
        if "stderr-flood" in faults:
            for _ in range(64):
                _fault_os.write(2, b"f" * (1024 * 1024))
        if "hang-in-collect" in faults:
            _fault_threading.Event().wait()
        if "half-answer" in faults:
            _fault_os.write(_DOCTOR_ANSWER_FD[0], b'{"data": {"half')
            _fault_os._exit(0)
        if "exit-without-answer" in faults:
            _fault_os._exit(3)
        if "answer-not-an-object" in faults:
            return ["not", "an", "object"]
        return data
    return faulty
'''

# The doctor's process: the built-in probes, each behind its fault, then the real command line.
DRIVER = r'''
import json, sys
from dataclasses import replace

import doctor.collect
import doctor.ops
from doctor.probes import builtin_probes, torch_probe

headers, probe_timeout_s = json.loads(sys.argv[1]), float(sys.argv[2])
last_line = "_doctor_run(collect)\n"


def faulty(spec):
    if spec.name not in headers:
        return spec
    body, tail = spec.program.rsplit(last_line, 1)
    program = headers[spec.name] + body + "collect = _fault_collect(collect)\n" + last_line + tail
    return replace(spec, program=program, timeout_s=min(spec.timeout_s, probe_timeout_s))


doctor.collect.builtin_probes = lambda: tuple(faulty(spec) for spec in builtin_probes())
doctor.ops.torch_probe = lambda timeout_s=300.0: faulty(torch_probe(timeout_s))
from doctor.cli import main
sys.exit(main(sys.argv[3:]))
'''


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def plan_trial(rng: random.Random, record: str, full: bool = False) -> Dict[str, Any]:
    """The faults of one trial: for each probe child, none, one or two faults; sometimes a SIGTERM."""
    headers, chosen = {}, {}
    for probe in FULL_CHILDREN if full else CHILDREN:
        faults = rng.sample(FAULTS, rng.choice((1, 1, 2)))
        garbage = [rng.choice((0, 10, 123, 125, 27, 255, rng.randrange(256))) for _ in range(rng.randrange(1, 200))]
        fault = {"record": record, "faults": faults, "kill_after_s": rng.uniform(0.0, 0.6), "garbage": garbage}
        headers[probe] = "_FAULT = %r\n%s" % (fault, FAULT_PRELUDE)
        chosen[probe] = faults
    sigterm_after_s = rng.uniform(0.05, 2.0) if rng.random() < SIGTERM_SHARE else None
    return {"headers": headers, "faults": chosen, "sigterm_after_s": sigterm_after_s, "full": full}


def run_trial(plan: Dict[str, Any], folder: str) -> List[str]:
    """Run one trial in ``folder``; the list of broken promises (empty when the doctor kept them all)."""
    report = os.path.join(folder, "report.json")
    budget = FULL_BUDGET_S if plan["full"] else BUDGET_S
    timeout_s = FULL_PROBE_TIMEOUT_S if plan["full"] else PROBE_TIMEOUT_S
    command = [sys.executable, "-c", DRIVER, json.dumps(plan["headers"]), str(timeout_s), "check"]
    command += [] if plan["full"] else ["--quick"]
    command += ["--format", "json", "--output", report]
    started = time.monotonic()
    doctor = subprocess.Popen(command, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    problems = []
    try:
        if plan["sigterm_after_s"] is not None:
            try:
                doctor.wait(plan["sigterm_after_s"])
            except subprocess.TimeoutExpired:
                doctor.send_signal(signal.SIGTERM)
        _, stderr = doctor.communicate(timeout=budget)
    except subprocess.TimeoutExpired:
        problems.append("did not exit within its %g s budget" % budget)
        doctor.kill()
        _, stderr = doctor.communicate()
    elapsed = time.monotonic() - started
    text = stderr.decode("utf-8", "replace")
    expected = (0, 1, 143) if plan["sigterm_after_s"] is not None else (0, 1)
    if plan["sigterm_after_s"] is not None and not os.listdir(os.path.join(folder, "record")):
        # SIGTERM before the command line set its handler: Python's default ends it, and no child was started.
        expected += (-signal.SIGTERM,)
    if doctor.returncode not in expected:
        problems.append("exit %s (wanted %s): %s" % (doctor.returncode, expected, text.strip()[-300:]))
    if "Traceback" in text:
        problems.append("a traceback on stderr: %s" % text.strip()[-300:])
    problems += _report_problems(report, doctor.returncode, FULL_PROBES if plan["full"] else QUICK_PROBES)
    problems += _survivors(os.path.join(folder, "record"))
    if elapsed > budget:
        problems.append("took %.1f s, over its %g s budget" % (elapsed, budget))
    return problems


def _report_problems(report: str, returncode: int, expected: Tuple[str, ...]) -> List[str]:
    if not os.path.exists(report):
        return [] if returncode in (143, -signal.SIGTERM) else ["no report was written"]
    try:
        with open(report, encoding="utf-8") as handle:
            probes = json.load(handle)["facts"]["probes"]
    except (ValueError, KeyError) as exc:
        return ["the report is not whole JSON: %s" % exc]
    problems = []
    for name in expected:
        outcome = probes.get(name)
        if outcome is None:
            problems.append("probe %s has no outcome" % name)
        elif outcome["status"] not in OUTCOME_STATUSES:
            problems.append("probe %s: status %r" % (name, outcome["status"]))
        elif outcome["status"] == "ok" and not isinstance(outcome.get("data"), dict):
            problems.append("probe %s is ok without data" % name)
        elif outcome["status"] != "ok" and not outcome.get("reason"):
            problems.append("probe %s is %s without a reason" % (name, outcome["status"]))
    return problems


def _survivors(record: str) -> List[str]:
    pids = [int(name) for name in os.listdir(record)]
    # The groups are killed before the doctor exits; the kernel may take a moment to tear them down.
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return ["processes survived the doctor: %s" % left] if left else []


def run_trials(trials: int, seed: int, root: str, full: bool = False) -> Dict[str, Any]:
    """Run ``trials`` seeded trials under ``root``; a summary with every broken promise, by trial."""
    rng = random.Random(seed)
    failures, walls, codes, faults_seen = {}, [], {}, {}
    for trial in range(trials):
        folder = os.path.join(root, "trial-%03d" % trial)
        os.makedirs(os.path.join(folder, "record"))
        plan = plan_trial(rng, os.path.join(folder, "record"), full)
        started = time.monotonic()
        problems = run_trial(plan, folder)
        walls.append(time.monotonic() - started)
        if problems:
            failures[trial] = {"faults": plan["faults"], "sigterm_after_s": plan["sigterm_after_s"],
                               "problems": problems}
        for faults in plan["faults"].values():
            for fault in faults:
                faults_seen[fault] = faults_seen.get(fault, 0) + 1
        codes["sigterm" if plan["sigterm_after_s"] is not None else "plain"] = \
            codes.get("sigterm" if plan["sigterm_after_s"] is not None else "plain", 0) + 1
    walls.sort()
    return {"trials": trials, "seed": seed, "full": full, "failed": len(failures), "failures": failures,
            "median_wall_s": walls[len(walls) // 2], "longest_wall_s": walls[-1], "runs": codes,
            "faults_injected": faults_seen}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--full", action="store_true", help="a full check: the imports and torch children too")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dl-doctor-faults-") as root:
        summary = run_trials(options.trials, options.seed, root, options.full)
    print(json.dumps(summary, indent=1))
    print("%d/%d trials kept every promise (seed %d); median %.2f s, longest %.2f s per run"
          % (summary["trials"] - summary["failed"], summary["trials"], summary["seed"], summary["median_wall_s"],
             summary["longest_wall_s"]))
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
