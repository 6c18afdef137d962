"""The ``dl-doctor`` command: a thin layer over collect -> check -> render.

Exit codes: 0 no errors (warnings allowed), 1 errors found (or warnings under ``--strict``), 2 bad
usage or unreadable input, always as one line naming the input and what was wrong.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from typing import List, Optional, Sequence, TextIO

import doctor
from doctor.collect import Target
from doctor.facts import Facts
from doctor.lessons import DEFAULT_LESSON, LESSONS
from doctor.bench import BenchRequest
from doctor.ops import CATALOGS, DEVICES, OP_TIMEOUT_S

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
INTERPRETER_CHECK_TIMEOUT_S = 20


class UsageError(Exception):
    """Bad input: reported as one line and exit code 2."""


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dl-doctor", description="Finds what stops a deep-learning lesson, and names the fix.")
    parser.add_argument("--version", action="version", version="dl-doctor %s" % doctor.__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    check = commands.add_parser("check", help="examine an environment and report what would break a lesson")
    check.add_argument("--lesson", type=_lesson, default=DEFAULT_LESSON, metavar="N",
                       help="the course lesson (1-8) whose imports to check (default %d)" % DEFAULT_LESSON)
    check.add_argument("--quick", action="store_true", help="metadata only: do not import torch or fastai")
    check.add_argument("--python", metavar="PATH", help="examine another interpreter (default: this one)")
    check.add_argument("--facts", metavar="FILE", help="re-run the checks on facts saved in a JSON report")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    check.add_argument("--output", metavar="FILE", help="write the report to FILE instead of standard output")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("-v", "--verbose", action="store_true", help="show evidence for every finding, and timings")
    check.add_argument("--bench", action="store_true", help="also run the benchmark fine-tune (dl-doctor bench)")
    check.add_argument("--fix", action="store_true", help="after the report, plan the fixes it names (dry run)")
    check.add_argument("--yes", action="store_true", help="with --fix: apply the automatic fixes")
    fixing = commands.add_parser("fix", help="plan, apply (--yes) or undo the fixes that the findings name")
    fixing.add_argument("fixes", nargs="*", metavar="FIX", help="only these automatic fixes (see --list)")
    fixing.add_argument("--yes", action="store_true", help="apply the automatic fixes (default: a dry run)")
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
    ops.add_argument("--format", choices=("text", "json"), default="text")
    ops.add_argument("--output", metavar="FILE", help="write the table or JSON to FILE")
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
    bench.add_argument("--format", choices=("text", "json"), default="text")
    bench.add_argument("--output", metavar="FILE", help="write the report to FILE")
    listing = commands.add_parser("list", help="list every check id with its summary")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _interpreter(path: str) -> str:
    """Resolve ``--python`` and make sure it is a Python interpreter that starts."""
    found = path if os.sep in path or (os.altsep and os.altsep in path) else shutil.which(path)
    if not found or not os.path.exists(found):
        raise UsageError("--python %s: no such file" % path)
    if os.path.isdir(found):
        raise UsageError("--python %s: is a directory, not an interpreter" % path)
    try:
        answer = subprocess.run(
            [found, "-c", "import sys; sys.stdout.write('%d' % sys.version_info[0])"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=INTERPRETER_CHECK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise UsageError("--python %s: did not answer within %d s" % (path, INTERPRETER_CHECK_TIMEOUT_S)) from None
    except OSError as exc:
        raise UsageError("--python %s: cannot run it (%s)" % (path, exc.strerror or exc)) from None
    if answer.returncode != 0 or not answer.stdout.strip().isdigit():
        raise UsageError("--python %s: not a Python interpreter" % path)
    return os.path.abspath(found)


def _load_facts(path: str) -> Facts:
    try:
        with open(path, "r", encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as exc:
        raise UsageError("--facts %s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError("--facts %s: not JSON (%s)" % (path, exc)) from None
    if isinstance(raw, dict) and isinstance(raw.get("facts"), dict):
        raw = raw["facts"]
    try:
        return Facts.from_dict(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            "--facts %s: not a dl-doctor report or facts file (%s: %s)" % (path, type(exc).__name__, exc)
        ) from None


def _write(text: str, output: Optional[str], stdout: TextIO) -> None:
    if output is None:
        stdout.write(text)
        return
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError("--output %s: cannot write it (%s)" % (output, exc.strerror or exc)) from None


def _run_check(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.render.text import Style, render_text, summary_line
    from doctor.report import diagnose

    if arguments.facts and arguments.python:
        raise UsageError("--facts and --python cannot be combined: saved facts already name their interpreter")
    if arguments.bench and (arguments.facts or arguments.quick):
        raise UsageError("--bench runs the benchmark: it cannot be combined with --facts or --quick")
    facts = _load_facts(arguments.facts) if arguments.facts else None
    target = Target(python=_interpreter(arguments.python) if arguments.python else sys.executable, cwd=os.getcwd())
    started = time.perf_counter()
    if arguments.bench:
        from doctor.collect import collect_facts
        from doctor.render.progress import ProgressBar

        bar = ProgressBar(sys.stderr, arguments.format == "text")
        try:
            facts = collect_facts(target, arguments.lesson, bench=BenchRequest(), on_progress=bar.update)
        finally:
            bar.close()
    report = diagnose(target, lesson=facts.lesson if facts else arguments.lesson, quick=arguments.quick, facts=facts,
                      started=started)
    if arguments.format == "json":
        from doctor.render.json_report import render_json

        text = render_json(report)
    else:
        style = Style.for_stream(stdout) if arguments.output is None else Style(unicode=True, color=False)
        text = render_text(report, style, verbose=arguments.verbose)
    _write(text, arguments.output, stdout)
    if arguments.output is not None:
        stdout.write("dl-doctor: report written to %s (%s)\n" % (arguments.output, summary_line(report)))
    if arguments.fix:
        if arguments.facts:
            raise UsageError("--fix needs a live environment, not saved --facts")
        stdout.write("\n")
        fixed = _fix_from_report(report, target, (), arguments.yes, stdout)
        return fixed if arguments.yes else max(fixed, report.exit_code(strict=arguments.strict))
    return report.exit_code(strict=arguments.strict)


def _fix_from_report(report, target: Target, requested: Sequence[str], apply: bool, stdout: TextIO) -> int:
    from doctor.fixes import FixRefused, apply_plan
    from doctor.fixes.workflow import propose, recheck
    from doctor.render.fix_text import render_applied, render_proposal
    from doctor.render.text import Style

    proposal = propose(report, requested)
    stdout.write(render_proposal(proposal, applying=apply))
    if not apply:
        return EXIT_FINDINGS if proposal.refused else EXIT_OK
    results = []
    for plan in proposal.plans:
        try:
            writes = apply_plan(plan)
        except (FixRefused, OSError) as exc:
            stdout.write("%s: not applied: %s\n" % (plan.fix_id, exc))
            return EXIT_FINDINGS
        results.append((plan, writes, recheck(target, report.facts.lesson, plan)))
    stdout.write(render_applied(results, Style.for_stream(stdout)))
    still_failing = any(f.status == "error" for _, _, findings in results for f in findings)
    return EXIT_FINDINGS if proposal.refused or still_failing else EXIT_OK


def _run_fix(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.fixes.workflow import AUTOMATIC_FIXES

    if arguments.list:
        for fix_id, definition in AUTOMATIC_FIXES.items():
            stdout.write("%s  %s\n" % (fix_id, definition.summary))
        return EXIT_OK
    unknown = [name for name in arguments.fixes if name not in AUTOMATIC_FIXES]
    if unknown:
        raise UsageError("unknown fix %s: the automatic fixes are %s" % (", ".join(map(repr, unknown)),
                                                                       ", ".join(AUTOMATIC_FIXES)))
    if arguments.yes and arguments.dry_run:
        raise UsageError("--yes and --dry-run contradict each other")
    if arguments.undo and (arguments.yes or arguments.fixes):
        raise UsageError("--undo restores everything dl-doctor fix wrote; it takes no fix names and no --yes")
    target = Target(python=_interpreter(arguments.python) if arguments.python else sys.executable, cwd=os.getcwd())
    if arguments.undo:
        return _undo(target, stdout)
    from doctor.collect import collect_facts
    from doctor.report import diagnose

    # Named fixes need only the interpreter's facts to plan; otherwise the findings decide what to fix.
    facts = collect_facts(target, arguments.lesson, only=["python"]) if arguments.fixes else None
    report = diagnose(target, lesson=arguments.lesson, facts=facts)
    return _fix_from_report(report, target, arguments.fixes, arguments.yes, stdout)


def _undo(target: Target, stdout: TextIO) -> int:
    from doctor.collect import collect_facts
    from doctor.fixes import FixRefused, Journal

    python = collect_facts(target, DEFAULT_LESSON, quick=True, only=["python"]).data("python")
    if python is None:
        raise UsageError("the interpreter %s did not answer" % target.python)
    try:
        done = Journal(python["prefix"]).undo()
    except FixRefused as exc:
        stdout.write("dl-doctor fix --undo: refused: %s\n" % exc)
        return EXIT_FINDINGS
    stdout.write("\n".join(done) + "\n" if done else "Nothing to undo in %s.\n" % python["prefix"])
    return EXIT_OK


def _available_devices(torch_facts) -> List[str]:
    available = ["cpu"]
    if (torch_facts.get("cuda") or {}).get("available"):
        available.append("cuda")
    if (torch_facts.get("mps") or {}).get("available"):
        available.append("mps")
    if (torch_facts.get("xpu") or {}).get("available"):
        available.append("xpu")
    return available


def _run_ops(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.collect import probe_environment
    from doctor.ops import SEVERE_CLASSES, OpsRequest, by_class, run_torch_probe
    from doctor.probes.programs.op_catalog import catalog_names
    from doctor.probes.runner import killed_on_interrupt
    from doctor.render.ops_report import render_ops_json, render_ops_text, summary_line

    if arguments.catalog == "lesson":
        unknown = [name for name in arguments.op if name not in catalog_names()]
        if unknown:
            raise UsageError("unknown op %s: the lesson catalogue has %s" % (", ".join(map(repr, unknown)),
                                                                         ", ".join(catalog_names())))
    if arguments.op_timeout <= 0:
        raise UsageError("--op-timeout must be positive, not %g" % arguments.op_timeout)
    python = _interpreter(arguments.python) if arguments.python else sys.executable
    request = OpsRequest(device=arguments.device, catalog=arguments.catalog, lesson=arguments.lesson,
                         only=tuple(arguments.op), op_timeout_s=arguments.op_timeout)
    with killed_on_interrupt() as processes:
        outcomes = run_torch_probe(python, os.getcwd(), probe_environment(), request, processes)
    torch, ops = outcomes["torch"], outcomes["ops"]
    if not torch.ok or not torch.data.get("importable"):
        reason = torch.reason or ((torch.data or {}).get("error") or {}).get("message", "")
        stdout.write("dl-doctor ops: torch does not import in %s (%s); dl-doctor check names the cause\n"
                     % (python, reason.strip().splitlines()[0] if reason.strip() else "no reason given"))
        return EXIT_FINDINGS
    if not ops.ok:
        stdout.write("dl-doctor ops: the op run failed: %s\n" % ops.reason)
        return EXIT_FINDINGS
    data = ops.data
    if not data.get("available"):
        raise UsageError("--device %s is not available here; available: %s"
                         % (arguments.device, ", ".join(_available_devices(torch.data))))
    if data.get("catalog_error"):
        raise UsageError("--catalog all needs torch's OpInfo database, which does not import here (%s); "
                         "it needs the expecttest package: %s -m pip install expecttest"
                         % (data["catalog_error"], python))
    text = render_ops_json(data) if arguments.format == "json" else render_ops_text(data)
    _write(text, arguments.output, stdout)
    if arguments.output is not None:
        stdout.write("dl-doctor: ops written to %s (%s)\n" % (arguments.output, summary_line(data)))
    return EXIT_FINDINGS if by_class(data, *SEVERE_CLASSES) else EXIT_OK


def _bench_outcome(target: Target, request, show_progress: bool, progress_stream: TextIO):
    from doctor.bench import run_bench
    from doctor.collect import probe_environment
    from doctor.probes.runner import killed_on_interrupt
    from doctor.render.progress import ProgressBar

    bar = ProgressBar(progress_stream, show_progress)
    try:
        with killed_on_interrupt() as processes:
            return run_bench(target.python, target.cwd, probe_environment(), request, bar.update, processes)
    finally:
        bar.close()


def _run_bench(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.bench import BenchInputError, check_request
    from doctor.collect import collect_facts
    from doctor.facts import assemble_facts
    from doctor.registry import registered_checks
    from doctor.render.json_report import render_json
    from doctor.render.text import Style, render_text, summary_line
    from doctor.report import diagnose

    request = BenchRequest(device=arguments.device, size=arguments.size, epochs=arguments.epochs,
                           batch=arguments.batch, data=arguments.data, budget_s=arguments.budget)
    try:
        check_request(request)
    except BenchInputError as exc:
        raise UsageError(str(exc)) from None
    started = time.perf_counter()
    target = Target(python=_interpreter(arguments.python) if arguments.python else sys.executable, cwd=os.getcwd())
    outcome = _bench_outcome(target, request, arguments.format == "text" and arguments.output is None, sys.stderr)
    data = outcome.data or {}
    if outcome.ok and data.get("available") is False:
        raise UsageError("--device %s is not available here; available: %s"
                         % (arguments.device, ", ".join(data.get("available_devices") or ["cpu"])))
    if outcome.ok and data.get("stage") == "data" and not (data.get("data") or {}).get("synthetic", True):
        found = data["data"]
        raise UsageError("--data %s: only %d readable images in %d class(es) (%d unreadable)" % (
            arguments.data, found["images"], len(found["classes"]), len(found["bad_files"])))
    # The interpreter's and packages' facts are cheap and name the environment in the report's heading.
    described = collect_facts(target, DEFAULT_LESSON, quick=True, only=["python", "packages"])
    facts = assemble_facts(target.python, target.cwd, False, DEFAULT_LESSON, dict(described.probes, bench=outcome))
    report = diagnose(target, DEFAULT_LESSON, facts=facts, started=started,
                      checks=[spec for spec in registered_checks() if spec.category == "bench"])
    if arguments.format == "json":
        text = render_json(report)
    else:
        style = Style.for_stream(stdout) if arguments.output is None else Style(unicode=True, color=False)
        text = render_text(report, style, verbose=True)
    _write(text, arguments.output, stdout)
    if arguments.output is not None:
        stdout.write("dl-doctor: benchmark report written to %s (%s)\n" % (arguments.output, summary_line(report)))
    return report.exit_code()


def _run_list(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.registry import registered_checks

    checks = registered_checks()
    if arguments.format == "json":
        stdout.write(json.dumps([{"id": c.id, "category": c.category, "summary": c.summary, "needs": list(c.needs)}
                                 for c in checks], indent=2) + "\n")
        return EXIT_OK
    from tabulate import tabulate

    stdout.write(tabulate([(c.id, c.category, c.summary) for c in checks], headers=("id", "topic", "checks that")))
    stdout.write("\n")
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None, stdout: Optional[TextIO] = None) -> int:
    stdout = stdout or sys.stdout
    parser = build_parser()
    try:
        arguments = parser.parse_args(list(argv) if argv is not None else None)
        if arguments.command is None:
            parser.print_help(stdout)
            return EXIT_USAGE
        runner = {"check": _run_check, "ops": _run_ops, "fix": _run_fix, "bench": _run_bench,
                  "list": _run_list}[arguments.command]
        return runner(arguments, stdout)
    except UsageError as exc:
        sys.stderr.write("dl-doctor: error: %s\n" % exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("dl-doctor: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
