"""`dl-doctor dist`: multi-process training on this machine (torch.distributed with gloo or NCCL, then fastai's
distrib_ctx), its verdicts, and the all_reduce bandwidth table.

The port: ``--port``, or a free one picked by the kernel. A ``MASTER_PORT`` in the environment is not used: a
value left from another job would only make the check collide with it.
"""

import argparse
import time
from dataclasses import replace
from typing import TextIO

from doctor.commands import UsageError
from doctor.commands.inputs import target_of
from doctor.dist import DistInputError
from doctor.lessons import DEFAULT_LESSON
from doctor.report import DIST
from doctor.requests import DistRequest


def run_dist_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.dist import collect_dist_facts
    from doctor.registry import registered_checks
    from doctor.render.dist_table import render_bandwidth_table
    from doctor.commands.output import check_output_paths, publish, render_report, report_step_summary
    from doctor.diagnose import diagnose

    request = DistRequest(backend=arguments.backend, nproc=arguments.nproc, port=arguments.port,
                          timeout_s=arguments.timeout, fastai=not arguments.no_fastai)
    check_output_paths(arguments.output)
    target = target_of(arguments.python)
    started = time.perf_counter()
    try:
        facts = collect_dist_facts(target, DEFAULT_LESSON, request)
    except DistInputError as exc:
        raise UsageError(str(exc)) from None
    report = replace(diagnose(target, DEFAULT_LESSON, facts=facts, started=started, checks=registered_checks("dist")),
                     kind=DIST)
    text = render_report(report, arguments, stdout, verbose=arguments.verbose)
    table = render_bandwidth_table(facts) if arguments.format == "text" else ""
    publish(text + ("\n" + table if table else ""), arguments, stdout, report.summary().words(), "dist report",
            lambda: report_step_summary(report, arguments))
    return report.exit_code()
