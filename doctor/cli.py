"""The ``dl-doctor`` command line: the parser, and dispatch to ``doctor.commands``.

The parser is built from light modules only (option choices and defaults come from ``doctor.requests`` and
``doctor.lessons``); a command's module, and the process code behind it, is imported when that command runs,
so ``dl-doctor --version`` and ``--help`` answer at once.

Exit codes: 0 no errors (warnings allowed), 1 errors found (or warnings under ``--strict``), 2 bad
usage or unreadable input, always as one line naming the input and what was wrong; 130 Ctrl-C, 143 SIGTERM,
129 SIGHUP, each after every child process the run started is killed.
"""

import argparse
import importlib
import signal
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional, Sequence, TextIO

import doctor
from doctor.commands import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Terminated, UsageError
from doctor.lessons import DEFAULT_LESSON, LESSONS
from doctor.requests import BACKENDS, CATALOGS, DEVICES, OP_TIMEOUT_S, STEP_TIMEOUT_S, BenchRequest

FORMATS = ("text", "json", "markdown", "junit", "html")
# Each command's runner, "module:function", imported only when the command runs.
RUNNERS = {
    "check": "doctor.commands.check:run_check",
    "fix": "doctor.commands.fix:run_fix",
    "ops": "doctor.commands.ops:run_ops",
    "bench": "doctor.commands.bench:run_bench_command",
    "dist": "doctor.commands.dist:run_dist_command",
    "learner": "doctor.commands.learner:run_learner",
    "matrix": "doctor.commands.matrix:run_matrix",
    "diff": "doctor.commands.matrix:run_diff",
    "list": "doctor.commands.listing:run_list",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError("%s (see %s --help)" % (message, self.prog))


def _lesson(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = None
    if number not in LESSONS:
        raise argparse.ArgumentTypeError(
            "lesson %r does not exist: choose %d-%d" % (text, min(LESSONS), max(LESSONS)))
    return number


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("port %r is not a number from 1 to 65535" % text)
    return port


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """The options of every command that writes a report (``doctor.commands.output`` writes it)."""
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default text)")
    parser.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument("--label", metavar="NAME", help="this environment's column name in dl-doctor matrix")
    parser.add_argument("--no-redact", dest="redact", action="store_false",
                        help="keep home folder, user, host, GPU UUIDs and secrets in shared output")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dl-doctor", description="Finds what stops a deep-learning lesson, and names the fix.")
    parser.add_argument("--version", action="version", version="dl-doctor %s" % doctor.__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser("check", help="examine an environment and report what would break a lesson")
    check.add_argument("--lesson", type=_lesson, default=DEFAULT_LESSON, metavar="N",
                       help="the course lesson (1-8) whose imports to check (default %d)" % DEFAULT_LESSON)
    check.add_argument("--only", metavar="ID[,ID]",
                       help="run only these checks (see dl-doctor list) and the probes they read")
    check.add_argument("--quick", action="store_true", help="metadata only: do not import torch or fastai")
    check.add_argument("--deep", action="store_true",
                       help="verify every installed distribution's files by hash (default: the course stack's "
                       "Python sources by hash, the rest by size)")
    check.add_argument("--python", metavar="PATH", help="examine another interpreter (default: this one)")
    check.add_argument("--facts", metavar="FILE", help="re-run the checks on facts saved in a JSON report")
    check.add_argument("--learner", metavar="PATH", help="also check that this exported learner loads here "
                                                         "(see dl-doctor learner)")
    add_output_options(check)
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("-v", "--verbose", action="store_true", help="show evidence for every finding, and timings")
    check.add_argument("--bench", action="store_true", help="also run the benchmark fine-tune (dl-doctor bench)")
    check.add_argument("--budget", type=float, metavar="SECONDS",
                       help="with --bench: the benchmark's time budget (default %g s)" % BenchRequest.budget_s)
    check.add_argument("--fix", action="store_true", help="after the report, plan the fixes it names (dry run)")
    check.add_argument("--yes", action="store_true", help="with --fix: apply the automatic fixes")
    fixing = commands.add_parser("fix", help="list every fix the findings name; apply (--yes), install (--install) "
                                             "or undo them")
    fixing.add_argument("fixes", nargs="*", metavar="FIX", help="only these automatic fixes (see --list)")
    fixing.add_argument("--yes", action="store_true",
                        help="apply the automatic fixes, and with --install run pip for real (default: a dry run)")
    fixing.add_argument("--install", action="store_true",
                        help="also run the merged pip command in the environment: a pip dry run, for real with --yes "
                             "(needs the network)")
    fixing.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    fixing.add_argument("--undo", action="store_true", help="restore every file dl-doctor fix changed")
    fixing.add_argument("--list", action="store_true", help="list the automatic fixes")
    fixing.add_argument("--python", metavar="PATH", help="the environment to fix (default: this interpreter's)")
    fixing.add_argument("--lesson", type=_lesson, default=DEFAULT_LESSON, metavar="N",
                        help="the lesson whose checks decide what to fix (default %d)" % DEFAULT_LESSON)
    ops = commands.add_parser("ops", help="run the lesson's ops on a device and compare them with the CPU")
    ops.add_argument("--device", choices=DEVICES, default="auto", help="the device (default: the lessons' own)")
    ops.add_argument("--catalog", choices=CATALOGS, default="lesson",
                     help="lesson: the ops the course uses; all: torch's OpInfo database (needs expecttest)")
    ops.add_argument("--lesson", type=_lesson, metavar="N", help="only the ops this lesson uses")
    ops.add_argument("--op", action="append", default=[], metavar="NAME", help="only this op (repeatable)")
    ops.add_argument("--op-timeout", type=float, default=OP_TIMEOUT_S, metavar="SECONDS",
                     help="how long one op may run before it counts as hung (default %g)" % OP_TIMEOUT_S)
    ops.add_argument("--python", metavar="PATH", help="the interpreter whose torch to use (default: this one)")
    ops.add_argument("--predict", action="store_true",
                     help="with --device mps: run nothing; say which lesson ops the installed torch's own MPS tests "
                          "expect to fail, by macOS version (any machine)")
    add_output_options(ops)
    bench = commands.add_parser("bench", help="fine-tune resnet18 the lesson-1 way and measure it end to end")
    bench.add_argument("--device", choices=DEVICES, default="auto", help="the device (default: the lessons' own)")
    bench.add_argument("--size", type=int, default=BenchRequest.size, metavar="PX",
                       help="image size (default %(default)s)")
    bench.add_argument("--epochs", type=int, default=BenchRequest.epochs, metavar="N",
                       help="fine_tune epochs after the frozen one (default %(default)s)")
    bench.add_argument("--batch", type=int, default=BenchRequest.batch, metavar="N",
                       help="batch size (default %(default)s)")
    bench.add_argument("--data", metavar="PATH", help="your own images, one sub-folder per class (default: synthetic)")
    bench.add_argument("--budget", type=float, default=BenchRequest.budget_s, metavar="SECONDS",
                       help="time for the work after the imports (default %(default)g)")
    bench.add_argument("--python", metavar="PATH", help="the interpreter to benchmark (default: this one)")
    add_output_options(bench)
    dist = commands.add_parser("dist", help="check multi-process and multi-GPU training (torch.distributed, fastai)")
    dist.add_argument("--backend", choices=BACKENDS, default="auto",
                      help="auto: nccl with 2 or more GPUs, else gloo (default auto)")
    dist.add_argument("--nproc", type=int, metavar="N",
                      help="worker processes (default: one per GPU with nccl, else 2)")
    dist.add_argument("--port", type=_port, metavar="PORT",
                      help="the rendezvous port on 127.0.0.1 (default: a free one)")
    dist.add_argument("--timeout", type=float, default=STEP_TIMEOUT_S, metavar="SECONDS",
                      help="how long one step may take before its workers count as hung (default %(default)g; "
                           "importing torch and fastai get at least 180)")
    dist.add_argument("--no-fastai", action="store_true", help="skip the fastai distrib_ctx run")
    dist.add_argument("--python", metavar="PATH", help="the interpreter whose torch to use (default: this one)")
    add_output_options(dist)
    dist.add_argument("-v", "--verbose", action="store_true", help="show evidence for every finding, and timings")
    learner = commands.add_parser("learner", help="will this exported learner (export.pkl) load here? Read without "
                                                  "unpickling it")
    learner.add_argument("path", metavar="PATH", help="the exported learner (learn.export(), torch.save)")
    learner.add_argument("--requirements", metavar="FILE",
                         help="judge against a deployment's requirements.txt pins (a Hugging Face Space's) instead of "
                              "the installed versions where the pins decide")
    learner.add_argument("--python", metavar="PATH", help="the interpreter that will load it (default: this one)")
    add_output_options(learner)
    learner.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    learner.add_argument("-v", "--verbose", action="store_true", help="show evidence for every finding, and timings")
    matrix = commands.add_parser("matrix", help="merge JSON reports from a CI matrix into one table")
    matrix.add_argument("reports", nargs="+", metavar="REPORT.json", help="reports written with --format json")
    matrix.add_argument("--format", choices=("markdown", "html", "json"), default="markdown",
                        help="output format (default markdown, for a CI job summary)")
    matrix.add_argument("--output", metavar="FILE", help="write the table to FILE")
    matrix.add_argument("--skip-bad", action="store_true", help="leave out unreadable reports (and say which)")
    matrix.add_argument("--no-redact", dest="redact", action="store_false", help="do not redact the table")
    diff = commands.add_parser("diff", help="what differs between two environments' JSON reports")
    diff.add_argument("a", metavar="A.json")
    diff.add_argument("b", metavar="B.json")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--output", metavar="FILE", help="write the differences to FILE")
    diff.add_argument("--no-redact", dest="redact", action="store_false", help="do not redact the differences")
    listing = commands.add_parser("list", help="list every check id with its summary")
    listing.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                         help="markdown: the README's table of checks")
    return parser


def runner_of(command: str) -> Callable[[argparse.Namespace, TextIO], int]:
    """The function that runs ``command``, importing its module now."""
    module, function = RUNNERS[command].split(":")
    return getattr(importlib.import_module(module), function)


@contextmanager
def terminations_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP (a cancelled CI job, a closed terminal, ``timeout``) kill every
    child group at once and raise ``Terminated``. Only the command line installs this, and only in the main
    thread (elsewhere Python refuses): a notebook kernel keeps its own handlers."""
    raised: List[int] = []

    def terminate(signum: int, frame: Any) -> None:
        # No child can be running unless the supervisor was imported; importing it here would be too late.
        supervisor = sys.modules.get("doctor.supervisor")
        if supervisor is not None:
            supervisor.end_every_child()
        if not raised:
            raised.append(signum)
            raise Terminated(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            try:
                previous[getattr(signal, name)] = signal.signal(getattr(signal, name), terminate)
            except ValueError:
                break
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None) -> int:
    stdout = stdout or sys.stdout
    parser = build_parser()
    try:
        with terminations_interrupt():
            arguments = parser.parse_args(list(argv) if argv is not None else None)
            if arguments.command is None:
                parser.print_help(stdout)
                return EXIT_USAGE
            return runner_of(arguments.command)(arguments, stdout)
    except UsageError as exc:
        sys.stderr.write("dl-doctor: error: %s\n" % exc)
        return EXIT_USAGE
    except Terminated as exc:
        sys.stderr.write("dl-doctor: terminated by %s\n" % signal.Signals(exc.signum).name)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("dl-doctor: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
