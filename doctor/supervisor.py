"""The one place dl-doctor starts and watches child processes: probes, ops restarts, the benchmark and dist
workers are policies (a ``Watcher``) over it.

Each child runs in a process group of its own (a new session on POSIX, ``CREATE_NEW_PROCESS_GROUP`` on
Windows) and answers in JSON lines, as the probe prelude writes them (``{"progress": {...}}`` records while it
works, one ``{"data": ...}`` answer at the end), on a channel nothing else writes to: on POSIX a pipe of its own
whose descriptor the child finds in ``DL_DOCTOR_ANSWER_FD`` (its stdout and stderr share the output pipe), so
bytes a library writes to fd 1 can never corrupt an answer; on Windows, where only handles are inherited, its
stdout. The supervisor keeps a bounded tail of each child's output and a capped answer channel, keeps the
deadlines a watcher sets and moves, kills the whole group when the child exits (so grandchildren do not outlive
it), when a deadline passes or the watcher stops the run, and on any exception (Ctrl-C, and SIGTERM or SIGHUP
as the command line raises them), and reports every child's end as a ``ChildOutcome``: a broken target is data
here, never an exception.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

# The variable that tells a child (the probe prelude) which descriptor its answer pipe is.
ANSWER_FD_VARIABLE = "DL_DOCTOR_ANSWER_FD"

# Once a child has exited and its group is killed, how long to wait for its pipes to close: a grandchild that
# left the process group can hold them open forever.
DRAIN_AFTER_EXIT_S = 2.0
# The longest the watching thread sleeps between looks (a blocked queue wait cannot take Ctrl-C on Windows).
LONGEST_WAIT_S = 1.0
# Windows reports a crashed process as an NTSTATUS exit code rather than a signal.
_WINDOWS_CRASHES = {0xC0000005: "an access violation", 0xC00000FD: "a stack overflow", 0xC0000409: "a buffer overrun"}
_READ_CHUNK = 64 * 1024
# How many bytes of the answer channel an outcome keeps as they came, to show what a garbled channel held.
_CHANNEL_START_BYTES = 80


@dataclass(frozen=True)
class Limits:
    """What the doctor keeps of one child's output, whatever the child writes."""

    stderr_tail_bytes: int = 16 * 1024
    answer_bytes: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Command:
    """A child to start: ``timeout_s`` is its first deadline (None: none until a watcher sets one)."""

    name: str
    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    timeout_s: Optional[float] = None


@dataclass(frozen=True)
class Stop:
    """A watcher's decision to end the run: children still running get ``grace_s`` to end by themselves,
    then every group is killed."""

    grace_s: float = 0.0


@dataclass(frozen=True)
class ChildOutcome:
    """How one child ended. ``start_error`` says why it never ran; ``timed_out``, that its deadline passed;
    ``killed``, that it was still running when the run stopped; ``crash``, the signal (``SIGSEGV``) or Windows
    crash that ended it; ``stderr``, the tail of what it wrote besides its answers (on POSIX its stdout and
    stderr share one pipe, in the order written)."""

    name: str
    pid: Optional[int]
    start_error: Optional[str]
    returncode: Optional[int]
    crash: Optional[str]
    timed_out: bool
    killed: bool
    progress: Tuple[Dict[str, Any], ...]
    answer: Optional[Dict[str, Any]]
    answer_overflow: bool
    channel_start: bytes
    stderr: str
    stderr_dropped_bytes: int
    duration_s: float
    peak_rss_kb: Optional[int]


class Child:
    """A child while it runs, as a watcher sees it: its records so far, and a ``deadline`` it may move."""

    def __init__(self, index: int, command: Command, process: "subprocess.Popen[bytes]", answers: Any,
                 output: Any, limits: Limits) -> None:
        self.index = index
        self.name = command.name
        self.process = process
        self.answers = answers
        self.output = output
        self.pid = process.pid
        self.started = time.monotonic()
        self.deadline = None if command.timeout_s is None else self.started + command.timeout_s
        self.exited_at: Optional[float] = None
        self.returncode: Optional[int] = None
        self.peak_rss_kb: Optional[int] = None
        self.timed_out = False
        self.killed = False
        self.progress: List[Dict[str, Any]] = []
        self.answer: Optional[Dict[str, Any]] = None
        self.answer_overflow = False
        self.channel_start = b""
        self.stderr = _Tail(limits.stderr_tail_bytes)
        self.open_pipes = 2
        self.ended = False
        self.reaped = threading.Event()

    @property
    def running(self) -> bool:
        return self.exited_at is None

    def outcome(self) -> ChildOutcome:
        return ChildOutcome(self.name, self.pid, None, self.returncode, crash_name(self.returncode), self.timed_out,
                            self.killed, tuple(self.progress), self.answer, self.answer_overflow,
                            self.channel_start, self.stderr.text(), self.stderr.dropped,
                            (self.exited_at or time.monotonic()) - self.started, self.peak_rss_kb)


class Watcher:
    """A policy over a run. The default watches every child to its end or its deadline; subclasses react to
    progress records, answers, exits and deadlines, move ``child.deadline`` and return ``Stop`` to end the run.
    Hooks run in the thread that called ``supervise``, so an exception they raise ends the run too."""

    def progress(self, child: Child, record: Dict[str, Any]) -> Optional[Stop]:
        return None

    def answered(self, child: Child) -> Optional[Stop]:
        return None

    def exited(self, child: Child) -> Optional[Stop]:
        """The child exited and its answer channel is read to the end (or given up on)."""
        return None

    def deadline_passed(self, child: Child, running: Sequence[Child]) -> Optional[Stop]:
        return Stop()


# Every child of this process still running, whichever registry started it, for end_every_child: a signal
# handler takes no lock (set.add, set.discard and tuple(set) are atomic).
_RUNNING: Set[Child] = set()


class Children:
    """The live children of one run of the doctor, wherever they were started: closing it kills every group
    still running and refuses new starts, so an interrupt in the thread that waits on a pool also ends the
    children the pool's threads started (and an ops restart cannot start one after the interrupt)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: List[Child] = []
        self._closed = False

    def start(self, index: int, command: Command, limits: Limits) -> Child:
        """Start ``command`` and register it; OSError (or RuntimeError when closed) if it cannot start."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the run was interrupted")
            child = _start(index, command, limits)
            self._live.append(child)
            _RUNNING.add(child)
            return child

    def forget(self, child: Child) -> None:
        _RUNNING.discard(child)
        with self._lock:
            if child in self._live:
                self._live.remove(child)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            live = list(self._live)
        for child in live:
            kill_group(child)


def _start(index: int, command: Command, limits: Limits) -> Child:
    if os.name != "posix":
        process = subprocess.Popen(
            list(command.argv), cwd=command.cwd, env=dict(command.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            creationflags=getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))
        return Child(index, command, process, process.stdout, process.stderr, limits)
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(
            list(command.argv), cwd=command.cwd, env=dict(command.env, **{ANSWER_FD_VARIABLE: str(write_end)}),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(write_end,),
            start_new_session=True)
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    return Child(index, command, process, os.fdopen(read_end, "rb"), process.stdout, limits)


def end_every_child() -> None:
    """Kill every child of this process still running, with its group: the command line's handler of SIGTERM
    and SIGHUP calls it before it raises, so no child outlives the doctor whatever the cleanup after it does."""
    for child in tuple(_RUNNING):
        child.killed = True
        kill_group(child)


@contextmanager
def killed_on_interrupt(children: Optional[Children] = None) -> Iterator[Children]:
    """A registry to start children in (``children``, or a new one): when the block is left by an exception
    (Ctrl-C included), every child still running is killed with its group and no new one starts. Enter it
    inside a thread pool's block, so the children die before the pool waits for its threads."""
    registry = children or Children()
    try:
        yield registry
    except BaseException:
        registry.close()
        raise


def crash_name(returncode: Optional[int]) -> Optional[str]:
    """The signal (``SIGSEGV``) or Windows crash (``an access violation``) a return code means, else None."""
    if returncode is None:
        return None
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return "signal %d" % -returncode
    if os.name == "nt":
        return _WINDOWS_CRASHES.get(returncode & 0xFFFFFFFF)
    return None


def last_line(text: str) -> str:
    """The last line a child wrote that is not blank: what a failure's one-line reason quotes."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


def kill_group(child: Child) -> None:
    """Kill the child's whole process group (POSIX), or the child itself (Windows). A group outlives its
    leader while any member lives, and its id is not reused until then, so this is safe after the exit too."""
    try:
        if os.name == "posix":
            os.killpg(child.pid, signal.SIGKILL)
        elif child.running:
            child.process.kill()
    except OSError:
        pass


def group_alive(pid: int) -> bool:
    if os.name != "posix":
        return False
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def groups_left_behind(outcomes: Sequence[ChildOutcome], within_s: float) -> List[int]:
    """The children whose process group still has a process ``within_s`` after the run killed them all."""
    deadline = time.monotonic() + within_s
    alive = [outcome.pid for outcome in outcomes if outcome.pid is not None and group_alive(outcome.pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if group_alive(pid)]
    return alive


class _Tail:
    """The last ``limit`` bytes written to a pipe, and how many bytes before them were dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.kept += chunk
        excess = len(self.kept) - self.limit
        if excess > 0:
            del self.kept[:excess]
            self.dropped += excess

    def text(self) -> str:
        return bytes(self.kept).decode("utf-8", "replace")


def _read_answers(child: Child, events: "queue.Queue[Any]", limit: int) -> None:
    """Parse the answer channel line by line; past ``limit`` bytes, say so once and discard the rest."""
    stream = child.answers
    total = 0
    while True:
        line = stream.readline(limit - total + 1)
        if not line:
            break
        if len(child.channel_start) < _CHANNEL_START_BYTES:
            child.channel_start += line[:_CHANNEL_START_BYTES - len(child.channel_start)]
        total += len(line)
        if total > limit:
            events.put(("overflow", child, None))
            while stream.read1(_READ_CHUNK):
                pass
            break
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            events.put(("record", child, record))
    stream.close()
    events.put(("closed", child, None))


def _read_output(child: Child, events: "queue.Queue[Any]") -> None:
    stream = child.output
    for chunk in iter(lambda: stream.read1(_READ_CHUNK), b""):
        child.stderr.add(chunk)
    stream.close()
    events.put(("closed", child, None))


def _wait_for_exit(child: Child, events: "queue.Queue[Any]") -> None:
    if hasattr(os, "wait4"):
        # wait4 also gives the child's peak memory, which a crashed child cannot report itself.
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except ChildProcessError:
            # Reaped elsewhere (SIGCHLD ignored by a host application): the status is lost, as Popen.wait says.
            child.process.returncode = 0
        else:
            child.process.returncode = os.waitstatus_to_exitcode(status)
            # ru_maxrss is in bytes on macOS and in kilobytes on Linux (getrusage(2) man pages).
            child.peak_rss_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    else:
        child.process.wait()
    child.reaped.set()
    events.put(("exited", child, child.process.returncode))


class _Run:
    """One ``supervise`` call: its children, the events their threads send, and where the run stands."""

    def __init__(self, watcher: Watcher, children: Children, limits: Limits) -> None:
        self.watcher = watcher
        self.children_registry = children
        self.limits = limits
        self.events: "queue.Queue[Any]" = queue.Queue()
        self.children: List[Child] = []
        self.stopping = False
        self.kill_at: Optional[float] = None

    def start(self, index: int, command: Command) -> None:
        child = self.children_registry.start(index, command, self.limits)
        self.children.append(child)
        for target, arguments in ((_read_answers, (child, self.events, self.limits.answer_bytes)),
                                  (_read_output, (child, self.events)), (_wait_for_exit, (child, self.events))):
            threading.Thread(target=target, args=arguments, daemon=True).start()

    def stop(self, decision: Optional[Stop]) -> None:
        if decision is None or self.stopping:
            return
        self.stopping = True
        self.kill_at = time.monotonic() + decision.grace_s

    def watch(self) -> None:
        while True:
            now = time.monotonic()
            if self.kill_at is not None and now >= self.kill_at:
                self.kill_at = None
                for child in self.children:
                    if child.running:
                        child.killed = True
                        kill_group(child)
            self._keep_deadlines(now)
            self._end_drained(now)
            if all(child.ended for child in self.children):
                return
            try:
                kind, child, value = self.events.get(timeout=self._wait_s(now))
            except queue.Empty:
                continue
            self._handle(kind, child, value)

    def _keep_deadlines(self, now: float) -> None:
        if self.stopping:
            return
        for child in self.children:
            if child.running and child.deadline is not None and now >= child.deadline:
                child.timed_out = True
                passed = child.deadline
                self.stop(self.watcher.deadline_passed(child, [c for c in self.children if c.running]))
                if child.deadline == passed:
                    child.deadline = None
                return

    def _end_drained(self, now: float) -> None:
        for child in self.children:
            if not child.ended and child.exited_at is not None and (
                    child.open_pipes == 0 or now - child.exited_at >= DRAIN_AFTER_EXIT_S):
                child.ended = True
                self.stop(self.watcher.exited(child))

    def _wait_s(self, now: float) -> float:
        moments = [now + LONGEST_WAIT_S]
        if self.kill_at is not None:
            moments.append(self.kill_at)
        if not self.stopping:
            moments += [child.deadline for child in self.children if child.running and child.deadline is not None]
        moments += [child.exited_at + DRAIN_AFTER_EXIT_S for child in self.children
                    if child.exited_at is not None and not child.ended]
        return max(0.0, min(moments) - now)

    def _handle(self, kind: str, child: Child, value: Any) -> None:
        if child.ended:
            return
        if kind == "record":
            progress = value.get("progress")
            if isinstance(progress, dict):
                child.progress.append(progress)
                self.stop(self.watcher.progress(child, progress))
            elif "data" in value:
                child.answer = value
                self.stop(self.watcher.answered(child))
        elif kind == "overflow":
            child.answer_overflow = True
            kill_group(child)
        elif kind == "closed":
            child.open_pipes -= 1
        elif kind == "exited":
            child.exited_at = time.monotonic()
            child.returncode = value
            # The child is gone: whatever it left in its group goes with it.
            kill_group(child)

    def finish(self) -> None:
        """Every exit path ends here: no group of this run survives it, and no child killed here is still
        writing when the caller cleans up after it (the benchmark deletes its folder)."""
        for child in self.children:
            if child.running:
                child.killed = True
            kill_group(child)
            self.children_registry.forget(child)
        for child in self.children:
            child.reaped.wait(DRAIN_AFTER_EXIT_S)


def supervise(commands: Sequence[Command], watcher: Optional[Watcher] = None, children: Optional[Children] = None,
              limits: Limits = Limits()) -> List[ChildOutcome]:
    """Start the commands (in order; the first that cannot start ends the run), watch them together under
    ``watcher`` until every one has ended, and return their outcomes in the same order."""
    run = _Run(watcher or Watcher(), children or Children(), limits)
    start_error: Optional[str] = None
    try:
        for index, command in enumerate(commands):
            try:
                run.start(index, command)
            except (OSError, ValueError, RuntimeError) as exc:
                start_error = getattr(exc, "strerror", None) or str(exc)
                run.stop(Stop())
                break
        run.watch()
    finally:
        run.finish()
    outcomes = [child.outcome() for child in run.children]
    for command in commands[len(outcomes):]:
        outcomes.append(_not_started(command.name, start_error or "an earlier child could not start"))
        start_error = None
    return outcomes


def _not_started(name: str, reason: str) -> ChildOutcome:
    return ChildOutcome(name, None, reason, None, None, False, False, (), None, False, b"", "", 0, 0.0, None)


def run_child(command: Command, watcher: Optional[Watcher] = None, children: Optional[Children] = None,
              limits: Limits = Limits()) -> ChildOutcome:
    """One child, to its end or its deadline."""
    return supervise([command], watcher, children, limits)[0]
