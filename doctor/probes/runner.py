"""Runs probe programs in child processes of the target interpreter and turns every outcome into data.

A crash, a hang, a non-zero exit or unparsable output becomes a ``ProbeOutcome`` with a status and a
reason; nothing here raises because the target environment is broken.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from doctor.outcome import CRASHED, FAILED, GARBAGE, NOT_STARTED, OK, TIMEOUT, ProbeOutcome
from doctor.probes import ProbeSpec
from doctor.supervisor import (ChildOutcome, Children, Command, Limits, Stop, Watcher, killed_on_interrupt, last_line,
                               run_child)

STDERR_TAIL_CHARS = 2000


class _Progress(Watcher):
    """A probe's progress records, handed on the moment they arrive (its deadline is the command's timeout)."""

    def __init__(self, on_progress: Optional[Callable[[Dict[str, Any]], None]]) -> None:
        self.on_progress = on_progress

    def progress(self, child, record: Dict[str, Any]) -> Optional[Stop]:
        if self.on_progress is not None:
            self.on_progress(record)
        return None


def run_probe(
    spec: ProbeSpec,
    python: str,
    cwd: str,
    env: Mapping[str, str],
    arguments: Optional[Mapping[str, Any]] = None,
    children: Optional[Children] = None,
    on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> ProbeOutcome:
    """Run one probe with ``python -c`` in ``cwd`` (so ``cwd`` is on ``sys.path``, as in a notebook).

    ``children`` is the registry an interrupted caller closes; ``on_progress`` gets each progress record the
    moment the child sends it.
    """
    command = Command(spec.name, [python, "-c", spec.program, json.dumps(dict(arguments or {}))], cwd, env,
                      spec.timeout_s)
    return probe_outcome(spec, python, run_child(command, _Progress(on_progress), children))


def probe_outcome(spec: ProbeSpec, python: str, child: ChildOutcome) -> ProbeOutcome:
    """What a probe's child did, as the probe's status, answer and reason."""
    name, stderr = spec.name, child.stderr[-STDERR_TAIL_CHARS:]

    def outcome(status: str, reason: Optional[str], data=None, progress=child.progress, code=child.returncode):
        return ProbeOutcome(name, status, data, reason, stderr, child.duration_s, child.peak_rss_kb, code, progress)

    if child.start_error is not None:
        return outcome(NOT_STARTED, "probe %s could not start %s: %s" % (name, python, child.start_error))
    if child.timed_out:
        return outcome(TIMEOUT, "probe %s did not finish within %g s" % (name, spec.timeout_s), code=None)
    if child.answer_overflow:
        return outcome(GARBAGE, "probe %s sent more than %d MiB of answers and was stopped"
                       % (name, Limits().answer_bytes // 2 ** 20))
    if child.crash:
        return outcome(CRASHED, "probe %s crashed with %s" % (name, child.crash))
    if child.returncode != 0:
        return outcome(FAILED, "probe %s failed (exit %d): %s" % (name, child.returncode, last_line(stderr)))
    data = (child.answer or {}).get("data")
    if not isinstance(data, dict):
        problem = "no answer line" if child.answer is None else "data is not an object"
        # Nothing garbled the answer channel itself: what the child printed elsewhere is the evidence.
        shown = child.channel_start.decode("utf-8", "replace") or stderr.strip()[-80:]
        reason = "probe %s printed output that is not its JSON answer (%s): %r" % (name, problem, shown)
        return outcome(GARBAGE, reason, progress=())
    return outcome(OK, None, data)


def run_probes(
    specs: Sequence[ProbeSpec],
    python: str,
    cwd: str,
    env: Mapping[str, str],
    arguments: Mapping[str, Mapping[str, Any]],
    children: Optional[Children] = None,
) -> Dict[str, ProbeOutcome]:
    """Run independent probes concurrently; the slowest one sets the wall time."""
    if not specs:
        return {}
    with ThreadPoolExecutor(max_workers=len(specs)) as pool, killed_on_interrupt(children) as registry:
        futures = {
            spec: pool.submit(run_probe, spec, python, cwd, env, _arguments_for(spec, arguments), registry)
            for spec in specs
        }
        outcomes: Dict[str, ProbeOutcome] = {}
        for spec, future in futures.items():
            outcomes.update(split_bundle(spec, future.result()) if spec.members else {spec.name: future.result()})
        return outcomes


def _arguments_for(spec: ProbeSpec, arguments: Mapping[str, Mapping[str, Any]]) -> Optional[Mapping[str, Any]]:
    if spec.members:
        return {name: arguments.get(name) or {} for name in spec.members}
    return arguments.get(spec.name)


def split_bundle(spec: ProbeSpec, outcome: ProbeOutcome) -> Dict[str, ProbeOutcome]:
    """One outcome per member of a bundle: its answer, its own error, or the child's failure."""
    split = {}
    for name in spec.members:
        if not outcome.ok:
            reason = (outcome.reason or "").replace("probe %s " % spec.name, "probe %s " % name, 1)
            split[name] = replace(outcome, name=name, reason=reason)
            continue
        answer = outcome.data.get(name)
        answer = answer if isinstance(answer, dict) else {}
        if answer.get("error"):
            split[name] = replace(outcome, name=name, status=FAILED, data=None,
                                  reason="probe %s failed: %s" % (name, answer["error"]),
                                  stderr_tail=answer.get("traceback") or outcome.stderr_tail)
        elif not isinstance(answer.get("data"), dict):
            # An ok outcome always carries its data: the checks read it without looking again.
            split[name] = replace(outcome, name=name, status=GARBAGE, data=None,
                                  reason="probe %s sent no answer of its own in its bundle's" % name)
        else:
            split[name] = replace(outcome, name=name, data=answer["data"])
    return split
