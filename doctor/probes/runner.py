"""Runs probe programs in child processes of the target interpreter and turns every outcome into data.

A crash, a hang, a non-zero exit or unparsable output becomes a ``ProbeOutcome`` with a status and a
reason; nothing here raises because the target environment is broken.
"""

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from doctor.outcome import CRASHED, FAILED, GARBAGE, NOT_STARTED, OK, TIMEOUT, ProbeOutcome
from doctor.probes import ProbeSpec

STDERR_TAIL_CHARS = 2000
# Once the child has exited, how long to wait for its pipes to close (a grandchild that left the
# process group can hold them open forever).
DRAIN_AFTER_KILL_S = 2.0

# Windows reports a crashed process as an NTSTATUS exit code rather than a signal.
_WINDOWS_CRASHES = {0xC0000005: "an access violation", 0xC00000FD: "a stack overflow", 0xC0000409: "a buffer overrun"}


def _tail(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def _kill(process: "subprocess.Popen[bytes]") -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _crash_reason(name: str, returncode: int) -> Optional[str]:
    if returncode < 0:
        try:
            signal_name = signal.Signals(-returncode).name
        except ValueError:
            signal_name = "signal %d" % -returncode
        return "probe %s crashed with %s" % (name, signal_name)
    if os.name == "nt" and returncode & 0xFFFFFFFF in _WINDOWS_CRASHES:
        return "probe %s crashed with %s" % (name, _WINDOWS_CRASHES[returncode & 0xFFFFFFFF])
    return None


def _split_answer(raw: bytes) -> Tuple[List[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """Progress records and the final answer from a probe's answer lines (garbage lines are dropped)."""
    progress: List[Dict[str, Any]] = []
    answer = None
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("progress"), dict):
            progress.append(record["progress"])
        elif isinstance(record, dict) and "data" in record:
            answer = record
    return progress, answer


def _pump_lines(stream, sink: List[bytes], on_progress) -> None:
    """Read a child's pipe to its end; hand each progress record to ``on_progress`` as it arrives."""
    for line in iter(stream.readline, b""):
        sink.append(line)
        if on_progress is None:
            continue
        progress, _ = _split_answer(line)
        for record in progress:
            on_progress(record)
    stream.close()


def run_probe(
    spec: ProbeSpec,
    python: str,
    cwd: str,
    env: Mapping[str, str],
    arguments: Optional[Mapping[str, Any]] = None,
    started_processes: Optional[List["subprocess.Popen[bytes]"]] = None,
    on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> ProbeOutcome:
    """Run one probe with ``python -c`` in ``cwd`` (so ``cwd`` is on ``sys.path``, as in a notebook).

    ``started_processes`` collects the child so a caller can kill it when interrupted; ``on_progress``
    gets each progress record the moment the child sends it.
    """
    command = [python, "-c", spec.program, json.dumps(dict(arguments or {}))]
    started = time.monotonic()

    def outcome(status: str, reason: Optional[str], stderr: str = "", data=None, rss=None, code=None, lines=b""):
        progress, _ = _split_answer(lines)
        return ProbeOutcome(spec.name, status, data, reason, stderr, time.monotonic() - started, rss, code,
                            tuple(progress))

    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=(os.name == "posix"),
        )
    except OSError as exc:
        return outcome(NOT_STARTED, "probe %s could not start %s: %s" % (spec.name, python, exc.strerror or exc))
    if started_processes is not None:
        started_processes.append(process)
    stdout_lines: List[bytes] = []
    stderr_chunks: List[bytes] = []
    readers = [
        threading.Thread(target=_pump_lines, args=(process.stdout, stdout_lines, on_progress), daemon=True),
        threading.Thread(target=_pump_lines, args=(process.stderr, stderr_chunks, None), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        process.wait(timeout=spec.timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        _kill(process)
        process.wait()
        timed_out = True
    # A grandchild that left the process group can hold the pipes open: wait a little, not forever.
    for reader in readers:
        reader.join(timeout=DRAIN_AFTER_KILL_S)
    stdout, stderr = b"".join(stdout_lines), b"".join(stderr_chunks)
    if timed_out:
        return outcome(
            TIMEOUT, "probe %s did not finish within %g s" % (spec.name, spec.timeout_s), _tail(stderr),
            lines=stdout,
        )
    stderr_tail = _tail(stderr)
    crash = _crash_reason(spec.name, process.returncode)
    if crash:
        return outcome(CRASHED, crash, stderr_tail, code=process.returncode, lines=stdout)
    if process.returncode != 0:
        reason = "probe %s failed (exit %d): %s" % (spec.name, process.returncode, _last_line(stderr_tail))
        return outcome(FAILED, reason, stderr_tail, code=process.returncode, lines=stdout)
    try:
        _, payload = _split_answer(stdout)
        if payload is None:
            raise ValueError("no answer line")
        data = payload["data"]
        if not isinstance(data, dict):
            raise TypeError("data is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        shown = stdout[:80].decode("utf-8", "replace")
        reason = "probe %s printed output that is not its JSON answer (%s): %r" % (spec.name, exc, shown)
        return outcome(GARBAGE, reason, stderr_tail, code=0)
    return outcome(OK, None, stderr_tail, data=data, rss=payload.get("peak_rss_kb"), code=0, lines=stdout)


@contextmanager
def killed_on_interrupt() -> Iterator[List["subprocess.Popen[bytes]"]]:
    """A list to register children in; all of them are killed if the block is left by an exception
    (Ctrl-C included), so none outlives the doctor."""
    processes: List["subprocess.Popen[bytes]"] = []
    try:
        yield processes
    except BaseException:
        for process in processes:
            _kill(process)
        raise


def run_probes(
    specs: Sequence[ProbeSpec],
    python: str,
    cwd: str,
    env: Mapping[str, str],
    arguments: Mapping[str, Mapping[str, Any]],
    started_processes: Optional[List["subprocess.Popen[bytes]"]] = None,
) -> Dict[str, ProbeOutcome]:
    """Run independent probes concurrently; the slowest one sets the wall time."""
    if not specs:
        return {}
    with killed_on_interrupt() as own:
        processes = own if started_processes is None else started_processes
        with ThreadPoolExecutor(max_workers=len(specs)) as pool:
            futures = {
                spec: pool.submit(run_probe, spec, python, cwd, env, _arguments_for(spec, arguments), processes)
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
        answer = outcome.data.get(name) or {}
        if answer.get("error"):
            split[name] = replace(outcome, name=name, status=FAILED, data=None,
                                  reason="probe %s failed: %s" % (name, answer["error"]),
                                  stderr_tail=answer.get("traceback") or outcome.stderr_tail)
        else:
            split[name] = replace(outcome, name=name, data=answer.get("data"))
    return split
