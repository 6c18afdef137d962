"""`dl-doctor bench`: the benchmark fine-tune and its verdicts."""

import argparse
import sys
import time
from typing import TextIO

from doctor.bench import BenchRequest
from doctor.collect import Target
from doctor.commands.inputs import UsageError, target_of, write_output
from doctor.lessons import DEFAULT_LESSON


def bench_outcome(target: Target, request, show_progress: bool, progress_stream: TextIO):
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


def run_bench_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
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
    target = target_of(arguments.python)
    outcome = bench_outcome(target, request, arguments.format == "text" and arguments.output is None, sys.stderr)
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
    write_output(text, arguments.output, stdout)
    if arguments.output is not None:
        stdout.write("dl-doctor: benchmark report written to %s (%s)\n" % (arguments.output, summary_line(report)))
    return report.exit_code()
