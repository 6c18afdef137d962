"""`dl-doctor check` (and the fix flow that `check --fix` and `dl-doctor fix` share)."""

import argparse
import time
from typing import Sequence, TextIO

from doctor.requests import BenchRequest
from doctor.collect import Target
from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError
from doctor.commands.inputs import load_facts_file, target_of


# Options that cannot go together, and why, in the words the usage error gives.
_REFUSED = (
    (lambda a: a.facts and a.python, "--facts and --python cannot be combined: saved facts already name their "
                                     "interpreter"),
    (lambda a: a.budget is not None and not a.bench, "--budget is the benchmark's time budget: it goes with --bench"),
    (lambda a: a.bench and (a.facts or a.quick), "--bench runs the benchmark: it cannot be combined with --facts or "
                                                 "--quick"),
    (lambda a: a.deep and (a.facts or a.bench), "--deep hashes the installed files while collecting: it cannot be "
                                                "combined with --facts or --bench"),
    (lambda a: a.learner and (a.facts or a.quick), "--learner looks the export's names up by importing the libraries "
                                                   "it names: it cannot be combined with --facts or --quick"),
    (lambda a: a.fix and a.facts, "--fix needs a live environment, not saved --facts"),
)


def run_check(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.commands.output import check_output_paths, publish, render_report, report_step_summary
    from doctor.diagnose import diagnose

    for refused, why in _REFUSED:
        if refused(arguments):
            raise UsageError(why)
    check_output_paths(arguments.output)
    checks, only = _selected_checks(arguments)
    learner = None
    if arguments.learner:
        from doctor.commands.learner import read_learner_input

        learner = read_learner_input(arguments.learner)
    target = target_of(arguments.python)
    started = time.perf_counter()
    facts = _collect(arguments, target, only, learner)
    report = diagnose(target, lesson=facts.lesson if facts else arguments.lesson, quick=arguments.quick, facts=facts,
                      checks=checks, started=started)
    text = render_report(report, arguments, stdout, verbose=arguments.verbose)
    publish(text, arguments, stdout, report.summary().words(), "report", lambda: report_step_summary(report, arguments))
    if arguments.fix:
        stdout.write("\n")
        fixed = fix_from_report(report, target, (), arguments.yes, stdout)
        return fixed if arguments.yes else max(fixed, report.exit_code(strict=arguments.strict))
    return report.exit_code(strict=arguments.strict)


def _selected_checks(arguments: argparse.Namespace):
    """The checks to run (every check, or those --only names) and the probes they read (None: every probe)."""
    from doctor.registry import registered_checks

    checks = registered_checks("check")
    if arguments.only is None:
        return checks, None
    from doctor.selection import UnknownCheck, checks_named, probes_read

    try:
        checks = checks_named(arguments.only, checks)
    except UnknownCheck as exc:
        raise UsageError(str(exc)) from None
    return checks, probes_read(checks)


def _collect(arguments: argparse.Namespace, target: Target, only, learner):
    """The facts this run's options ask for: saved ones, the benchmark's, only some probes', --deep's, the
    learner's; None leaves a plain collection to ``diagnose``."""
    facts = load_facts_file(arguments.facts) if arguments.facts else None
    if arguments.bench:
        from doctor.bench import BenchInputError, check_request
        from doctor.commands.bench import collect_with_bench

        request = BenchRequest() if arguments.budget is None else BenchRequest(budget_s=arguments.budget)
        try:
            check_request(request)
        except BenchInputError as exc:
            raise UsageError(str(exc)) from None
        facts = collect_with_bench(target, arguments.lesson, request, arguments.format == "text", only=only)
    if facts is None and (only is not None or arguments.deep):
        from doctor.collect import collect_facts

        facts = collect_facts(target, arguments.lesson, arguments.quick, only=only, deep=arguments.deep)
    if learner is not None:
        from doctor.commands.learner import collect_with_learner

        facts = collect_with_learner(target, arguments.lesson, arguments.quick, learner, facts)
    return facts


def fix_from_report(report, target: Target, requested: Sequence[str], apply: bool, stdout: TextIO,
                    install: bool = False) -> int:
    """List every fix, apply the automatic ones with ``apply``; with ``install`` also run the merged pip
    command (a dry run, or for real with ``apply``)."""
    from doctor.fixes import FixRefused, apply_plan
    from doctor.fixes.workflow import propose, recheck
    from doctor.render.fix_text import render_applied, render_proposal
    from doctor.render.text import Style, printable

    proposal = propose(report, requested)
    stdout.write(render_proposal(proposal, applying=apply, installing=install))
    installed = EXIT_OK
    if install:
        from doctor.commands.install import install_merged

        stdout.write("\n")
        installed = install_merged(report, target, proposal.installs, apply, stdout)
    if not apply or not proposal.plans:
        return max(installed, EXIT_FINDINGS if proposal.refused else EXIT_OK)
    results = []
    for plan in proposal.plans:
        try:
            writes = apply_plan(plan)
        except (FixRefused, OSError) as exc:
            stdout.write("%s: not applied: %s\n" % (plan.fix_id, printable(str(exc))))
            return EXIT_FINDINGS
        results.append((plan, writes, recheck(target, report.facts.lesson, plan)))
    stdout.write(render_applied(results, Style.for_stream(stdout)))
    still_failing = any(f.status == "error" for _, _, findings in results for f in findings)
    return max(installed, EXIT_FINDINGS if proposal.refused or still_failing else EXIT_OK)
