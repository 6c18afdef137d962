"""`dl-doctor bench`: the benchmark fine-tune and its verdicts."""

import argparse
import sys
import time
from dataclasses import replace
from typing import Optional, Sequence, TextIO

from doctor.requests import BenchRequest
from doctor.collect import Target
from doctor.commands import UsageError
from doctor.commands.inputs import target_of
from doctor.facts import Facts
from doctor.lessons import DEFAULT_LESSON
from doctor.report import BENCH


def collect_with_bench(target: Target, lesson: int, request: BenchRequest, show_progress: bool,
                       quick: bool = False, only: Optional[Sequence[str]] = None) -> Facts:
    """The facts (all of them, or ``only`` these probes) and the benchmark, with a progress bar on a
    terminal; `dl-doctor bench` and `dl-doctor check --bench` share this."""
    from doctor.collect import collect_facts
    from doctor.render.progress import ProgressBar

    bar = ProgressBar(sys.stderr, show_progress)
    try:
        return collect_facts(target, lesson, quick=quick, only=only, bench=request, on_progress=bar.update)
    finally:
        bar.close()


def run_bench_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.bench import BenchInputError, check_request
    from doctor.registry import registered_checks
    from doctor.commands.output import check_output_paths, publish, render_report, report_step_summary
    from doctor.diagnose import diagnose

    request = BenchRequest(device=arguments.device, size=arguments.size, epochs=arguments.epochs,
                           batch=arguments.batch, data=arguments.data, budget_s=arguments.budget)
    try:
        check_request(request)
    except BenchInputError as exc:
        raise UsageError(str(exc)) from None
    check_output_paths(arguments.output)
    started = time.perf_counter()
    target = target_of(arguments.python)
    # The interpreter's and packages' facts are cheap and name the environment in the report's heading.
    facts = collect_with_bench(target, DEFAULT_LESSON, request, arguments.format == "text" and arguments.output is None,
                               only=["python", "packages"])
    outcome = facts.outcome("bench")
    data = outcome.data or {}
    if outcome.ok and data.get("available") is False:
        raise UsageError("--device %s is not available here; available: %s"
                         % (arguments.device, ", ".join(data.get("available_devices") or ["cpu"])))
    if outcome.ok and data.get("stage") == "data" and not (data.get("data") or {}).get("synthetic", True):
        found = data["data"]
        raise UsageError("--data %s: only %d readable images in %d class(es) (%d unreadable)" % (
            arguments.data, found["images"], len(found["classes"]), len(found["bad_files"])))
    report = replace(diagnose(target, DEFAULT_LESSON, facts=facts, started=started,
                              checks=registered_checks("bench")), kind=BENCH)
    text = render_report(report, arguments, stdout, verbose=True)
    publish(text, arguments, stdout, report.summary().words(), "benchmark report",
            lambda: report_step_summary(report, arguments))
    return report.exit_code()
