"""`dl-doctor check` (and the fix flow that `check --fix` and `dl-doctor fix` share)."""

import argparse
import time
from typing import Sequence, TextIO

from doctor.requests import BenchRequest
from doctor.collect import Target
from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError
from doctor.commands.inputs import load_facts_file, target_of


def run_check(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.commands.output import check_output_path, publish, render_report, report_step_summary
    from doctor.registry import registered_checks
    from doctor.diagnose import diagnose

    if arguments.facts and arguments.python:
        raise UsageError("--facts and --python cannot be combined: saved facts already name their interpreter")
    if arguments.budget is not None and not arguments.bench:
        raise UsageError("--budget is the benchmark's time budget: it goes with --bench")
    if arguments.bench and (arguments.facts or arguments.quick):
        raise UsageError("--bench runs the benchmark: it cannot be combined with --facts or --quick")
    if arguments.deep and (arguments.facts or arguments.bench):
        raise UsageError("--deep hashes the installed files while collecting: it cannot be combined with --facts or "
                         "--bench")
    if arguments.learner and (arguments.facts or arguments.quick):
        raise UsageError("--learner looks the export's names up by importing the libraries it names: it cannot be "
                         "combined with --facts or --quick")
    check_output_path(arguments.output)
    checks, only = registered_checks("check"), None
    if arguments.only is not None:
        from doctor.selection import UnknownCheck, checks_named, probes_read

        try:
            checks = checks_named(arguments.only, checks)
        except UnknownCheck as exc:
            raise UsageError(str(exc)) from None
        only = probes_read(checks)
    learner = None
    if arguments.learner:
        from doctor.commands.learner import read_learner_input

        learner = read_learner_input(arguments.learner)
    facts = load_facts_file(arguments.facts) if arguments.facts else None
    target = target_of(arguments.python)
    started = time.perf_counter()
    if arguments.bench:
        from doctor.commands.bench import collect_with_bench

        from doctor.bench import BenchInputError, check_request

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
    report = diagnose(target, lesson=facts.lesson if facts else arguments.lesson, quick=arguments.quick, facts=facts,
                      checks=checks, started=started)
    text = render_report(report, arguments, stdout, verbose=arguments.verbose)
    publish(text, arguments, stdout, report.summary().words(), "report", lambda: report_step_summary(report, arguments))
    if arguments.fix:
        if arguments.facts:
            raise UsageError("--fix needs a live environment, not saved --facts")
        stdout.write("\n")
        fixed = fix_from_report(report, target, (), arguments.yes, stdout)
        return fixed if arguments.yes else max(fixed, report.exit_code(strict=arguments.strict))
    return report.exit_code(strict=arguments.strict)


def fix_from_report(report, target: Target, requested: Sequence[str], apply: bool, stdout: TextIO,
                    install: bool = False) -> int:
    """List every fix, apply the automatic ones with ``apply``; with ``install`` also run the merged pip
    command (a dry run, or for real with ``apply``)."""
    from doctor.fixes import FixRefused, apply_plan
    from doctor.fixes.workflow import propose, recheck
    from doctor.render.fix_text import render_applied, render_proposal
    from doctor.render.text import Style

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
            stdout.write("%s: not applied: %s\n" % (plan.fix_id, exc))
            return EXIT_FINDINGS
        results.append((plan, writes, recheck(target, report.facts.lesson, plan)))
    stdout.write(render_applied(results, Style.for_stream(stdout)))
    still_failing = any(f.status == "error" for _, _, findings in results for f in findings)
    return max(installed, EXIT_FINDINGS if proposal.refused or still_failing else EXIT_OK)
