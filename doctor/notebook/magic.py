"""The ``%doctor`` line magic: the checks for the kernel's own interpreter and working directory, shown as
HTML and text (doctor.notebook.display), with fixes the kernel can apply to itself.

A notebook saves what a cell shows and is shared (a course forum, a GitHub issue), so the magic's output is redacted
as a shared report is, unless ``%doctor --no-redact``."""

import argparse
import os
import shlex
import sys
import time
from typing import List, Optional

from doctor.lessons import DEFAULT_LESSON, LESSONS

USAGE = ("usage: %doctor [widgets] [--lesson N] [--quick] [--ops] [--bench] [--fix] [--timeout SECONDS] "
         "[--learner PATH] [--no-redact]")
OUTSIDE = ("dl-doctor: %doctor runs inside IPython or Jupyter (load it with %load_ext doctor); "
           "in a terminal, run: dl-doctor check")


class MagicUsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise MagicUsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%doctor", add_help=False)
    parser.add_argument("action", nargs="?", choices=("widgets",))
    parser.add_argument("--lesson", type=int, default=DEFAULT_LESSON)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ops", action="store_true")
    parser.add_argument("--bench", action="store_true")
    parser.add_argument("--fix", action="store_true")
    parser.add_argument("--timeout", type=float, default=8.0)
    parser.add_argument("--learner", metavar="PATH")
    parser.add_argument("--no-redact", dest="redact", action="store_false")
    return parser


def parse(line: str) -> argparse.Namespace:
    try:
        arguments = _parser().parse_args(shlex.split(line))
    except ValueError as exc:
        raise MagicUsageError(str(exc)) from None
    if arguments.lesson not in LESSONS:
        raise MagicUsageError("lesson %d does not exist: choose %d-%d" % (arguments.lesson, min(LESSONS),
                                                                         max(LESSONS)))
    if arguments.quick and (arguments.ops or arguments.bench or arguments.learner):
        raise MagicUsageError("--quick does not import torch: it cannot be combined with --ops, --bench or --learner")
    return arguments


def _kernel() -> Optional[object]:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def doctor_magic(line: str = ""):
    """``%doctor``: returns the report wrapped for display (``.report`` is the Report itself), which Jupyter
    shows as HTML (or text)."""
    if _kernel() is None:
        print(OUTSIDE)
        return None
    try:
        arguments = parse(line)
    except MagicUsageError as exc:
        print("%%doctor: %s\n%s" % (exc, USAGE))
        return None
    from doctor.requests import BenchRequest
    from doctor.collect import Target, collect_facts
    from doctor.diagnose import diagnose
    from doctor.notebook.display import ReportDisplay
    from doctor.redact import redactor_for

    try:
        target = Target(python=sys.executable, cwd=os.getcwd())
    except FileNotFoundError:
        print("%doctor: the kernel's working folder no longer exists: %cd into an existing folder")
        return None
    if arguments.action == "widgets":
        return _widgets(target, arguments.timeout)
    learner = None
    if arguments.learner:
        from doctor.commands import UsageError
        from doctor.commands.learner import read_learner_input

        try:
            learner = read_learner_input(arguments.learner)
        except UsageError as exc:
            print("%%doctor: %s" % exc)
            return None
    started = time.perf_counter()
    facts = collect_facts(target, arguments.lesson, quick=arguments.quick,
                          bench=BenchRequest() if arguments.bench else None)
    if learner is not None:
        from doctor.commands.learner import collect_with_learner

        facts = collect_with_learner(target, arguments.lesson, False, learner, facts)
    report = diagnose(target, arguments.lesson, facts=facts, started=started)
    redactor = redactor_for(arguments.redact)
    if arguments.ops:
        _show_ops(report.shareable(redactor))
    if arguments.fix:
        from IPython.display import display

        display(ReportDisplay(report, redactor))
        _fix_in_kernel(report, redactor)
        return None
    return ReportDisplay(report, redactor)


def _widgets(target, timeout_s: float):
    from doctor.collect import collect_facts
    from doctor.engine import run_checks
    from doctor.notebook.widget_probe import show_widget_probe
    from doctor.registry import registered_checks

    facts = collect_facts(target, DEFAULT_LESSON, quick=True)
    specs = registered_checks("widgets")
    findings, _ = run_checks(specs, facts)
    show_widget_probe(timeout_s, findings)
    return None


def _show_ops(report) -> None:
    from IPython.display import HTML, display
    from tabulate import tabulate

    results = report.ops.results if report.ops else ()
    rows = [(op.name, op.result, op.evidence) for op in results]
    display(HTML("<div><b>ops on %s</b></div>%s" % (report.ops.device if report.ops else None, tabulate(
        rows, headers=("op", "class", "evidence"), tablefmt="html"))))


def _fix_in_kernel(report, redactor) -> None:
    """Apply what is safe in this kernel now, and persist every automatic fix for new processes; say what was done
    through ``redactor`` (None: as it is)."""
    from IPython.display import HTML, display

    from doctor.fixes import FixRefused, apply_plan
    from doctor.fixes.workflow import AUTOMATIC_FIXES, propose
    from doctor.render.fix_text import render_proposal

    proposal = propose(report)
    lines: List[str] = [render_proposal(proposal, applying=True)]
    for plan in proposal.plans:
        now = AUTOMATIC_FIXES[plan.fix_id].apply_in_process
        if now is not None:
            lines.append(now())
        try:
            written = apply_plan(plan)
            lines += ["%s: %s %s" % (plan.fix_id, "wrote" if w.changed else "already in place:", w.path)
                      for w in written]
        except (FixRefused, OSError) as exc:
            lines.append("%s: not applied: %s" % (plan.fix_id, exc))
    from html import escape
    said = "\n".join(lines)
    display(HTML("<pre>%s</pre>" % escape(redactor.text(said) if redactor else said)))


def register(ipython) -> None:
    if ipython is None:
        print(OUTSIDE)
        return
    ipython.register_magic_function(doctor_magic, magic_kind="line", magic_name="doctor")
