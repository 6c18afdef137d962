"""The supervisor with real children (``python -c`` scripts): an answer, a crash, a hang, a grandchild left
behind by a normal exit, floods on stderr and on the answer channel, an interrupt while waiting, and a registry
closed from another thread. Every test asserts how the run ended, never how long it took."""

import os
import sys
import textwrap
import threading
import time

import pytest

from conftest import process_alive, wait_for
from doctor.supervisor import Children, Command, Limits, Watcher, group_alive, run_child

posix_only = pytest.mark.skipif(os.name != "posix", reason="process groups and signals as on Linux and macOS")

# Where a child answers: the supervisor's answer pipe (POSIX), else its stdout.
CHANNEL = """
import os, sys
channel = os.fdopen(int(os.environ["DL_DOCTOR_ANSWER_FD"]), "w") if "DL_DOCTOR_ANSWER_FD" in os.environ else sys.stdout
"""

# Prints the pid of a grandchild that waits forever, started in the child's own process group.
GRANDCHILD = """
import subprocess, sys
grandchild = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"])
"""


def command(body, timeout_s=60.0, name="child"):
    program = CHANNEL + textwrap.dedent(body)
    return Command(name, [sys.executable, "-c", program], os.getcwd(), dict(os.environ), timeout_s)


def gone(pid):
    return not process_alive(pid) and not group_alive(pid)


def test_an_answer_and_progress_come_back_with_the_exit_code():
    seen = []

    class Recorder(Watcher):
        def progress(self, child, record):
            seen.append(record)

    outcome = run_child(command("""
        import json, sys
        print(json.dumps({"progress": {"step": 1}}), file=channel, flush=True)
        sys.stderr.write("a warning\\n")
        print(json.dumps({"data": {"answer": 42}}), file=channel)
    """), Recorder())
    assert (outcome.returncode, outcome.crash, outcome.timed_out, outcome.killed) == (0, None, False, False)
    assert outcome.answer == {"data": {"answer": 42}}
    assert outcome.progress == ({"step": 1},) and seen == [{"step": 1}]
    assert outcome.stderr == "a warning\n" and outcome.stderr_dropped_bytes == 0
    if os.name == "posix":
        assert outcome.peak_rss_kb > 0


@posix_only
def test_a_crash_is_named_by_its_signal():
    outcome = run_child(command("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"))
    assert (outcome.returncode, outcome.crash, outcome.answer) == (-11, "SIGSEGV", None)


@pytest.mark.slow
@posix_only
def test_a_hang_passes_its_deadline_and_its_whole_group_is_killed():
    class DeadlineOnceStarted(Watcher):
        """The deadline passes once the grandchild is reported, however long a loaded machine took to start it."""

        def progress(self, child, record):
            child.deadline = time.monotonic()

    outcome = run_child(command(GRANDCHILD + """
print('{"progress": {"grandchild": %d}}' % grandchild.pid, file=channel, flush=True)
import threading; threading.Event().wait()
"""), DeadlineOnceStarted())
    assert outcome.timed_out and outcome.killed and outcome.crash == "SIGKILL"
    grandchild = outcome.progress[0]["grandchild"]
    wait_for(lambda: gone(grandchild) and gone(outcome.pid))


@posix_only
def test_a_grandchild_left_by_a_normal_exit_does_not_outlive_the_run():
    # The grandchild also holds the answer pipe open: the run must end at the child's exit all the same.
    outcome = run_child(command(GRANDCHILD + """
print('{"data": {"grandchild": %d}}' % grandchild.pid, file=channel, flush=True)
"""))
    assert (outcome.returncode, outcome.timed_out, outcome.killed) == (0, False, False)
    grandchild = outcome.answer["data"]["grandchild"]
    wait_for(lambda: gone(grandchild))


@posix_only
def test_a_grandchild_holding_the_answer_pipe_does_not_hold_the_run():
    # A library's helper process that inherited the answer pipe itself (pass_fds), and outlives the child.
    outcome = run_child(command("""
        import subprocess
        fd = channel.fileno()
        grandchild = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"],
                                      pass_fds=(fd,))
        print('{"data": {"grandchild": %d}}' % grandchild.pid, file=channel, flush=True)
    """), children=Children())
    assert (outcome.returncode, outcome.timed_out, outcome.killed) == (0, False, False)
    wait_for(lambda: gone(outcome.answer["data"]["grandchild"]))


@posix_only
def test_a_stderr_flood_keeps_the_tail_and_counts_what_was_dropped():
    import resource

    flood = 256 * 1024 * 1024
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = run_child(command("""
        import os
        chunk = b"x" * (1024 * 1024)
        for _ in range(256):
            os.write(2, chunk)
        os.write(2, b"the end\\n")
    """))
    assert outcome.returncode == 0
    assert outcome.stderr.endswith("xxthe end\n") and len(outcome.stderr) == Limits().stderr_tail_bytes
    assert outcome.stderr_dropped_bytes == flood + len("the end\n") - Limits().stderr_tail_bytes
    # ru_maxrss is in kilobytes on Linux, bytes on macOS: either way far below the flood's size.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < flood // 1024 // 4


def test_an_answer_channel_past_its_cap_stops_the_child():
    outcome = run_child(command("""
        import json, threading
        line = json.dumps({"progress": {"filler": "y" * 1000}}) + "\\n"
        for _ in range(10000):
            print(line, end="", file=channel, flush=True)
        threading.Event().wait()
    """), limits=Limits(answer_bytes=1024 * 1024))
    assert outcome.answer_overflow and outcome.answer is None and not outcome.timed_out
    assert outcome.returncode != 0
    assert 0 < len(outcome.progress) <= 1024


@posix_only
def test_an_interrupt_while_waiting_kills_the_group():
    class Interrupting(Watcher):
        def progress(self, child, record):
            self.grandchild = record["grandchild"]
            self.pid = child.pid
            raise KeyboardInterrupt

    watcher = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        run_child(command(GRANDCHILD + """
print('{"progress": {"grandchild": %d}}' % grandchild.pid, file=channel, flush=True)
import threading; threading.Event().wait()
"""), watcher)
    wait_for(lambda: gone(watcher.grandchild) and gone(watcher.pid))


def test_closing_the_registry_ends_children_of_other_threads_and_refuses_new_ones():
    children = Children()
    outcomes = []

    class Started(Watcher):
        def progress(self, child, record):
            started.set()

    started = threading.Event()
    waiting = threading.Thread(target=lambda: outcomes.append(run_child(command("""
        print('{"progress": {}}', file=channel, flush=True)
        import threading; threading.Event().wait()
    """), Started(), children)))
    waiting.start()
    assert started.wait(60)
    children.close()
    waiting.join(60)
    assert outcomes[0].returncode != 0 and not outcomes[0].timed_out
    refused = run_child(command("print('never runs')"), children=children)
    assert refused.start_error == "the run was interrupted" and refused.pid is None


def test_a_missing_program_is_an_outcome():
    outcome = run_child(Command("absent", [os.path.join(os.getcwd(), "no-such-program")], os.getcwd(), {}))
    assert outcome.start_error and "No such file" in outcome.start_error
    assert outcome.returncode is None and outcome.answer is None
