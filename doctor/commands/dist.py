"""`dl-doctor dist`: multi-process training on this machine (torch.distributed with gloo or NCCL, then fastai's
distrib_ctx), its verdicts, and the all_reduce bandwidth table.

The port: ``--port``, or a free one picked by the kernel. A ``MASTER_PORT`` in the environment is not used: a
value left from another job would only make the check collide with it.
"""

import argparse
import time
from dataclasses import replace
from typing import TextIO

from doctor.commands.inputs import UsageError, target_of
from doctor.commands.output import add_output_options
from doctor.dist import DistInputError
from doctor.lessons import DEFAULT_LESSON
from doctor.report import DIST
from doctor.requests import BACKENDS, STEP_TIMEOUT_S, DistRequest


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("port %r is not a number from 1 to 65535" % text)
    return port


def add_dist_parser(commands) -> argparse.ArgumentParser:
    """Add the ``dist`` command to ``dl-doctor``'s sub-command parsers."""
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
    return dist


def run_dist_command(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.dist import collect_dist_facts
    from doctor.registry import registered_checks
    from doctor.render.dist_table import render_bandwidth_table
    from doctor.commands.output import publish, render_report, report_step_summary
    from doctor.render.text import Style, summary_line
    from doctor.report import diagnose

    request = DistRequest(backend=arguments.backend, nproc=arguments.nproc, port=arguments.port,
                          timeout_s=arguments.timeout, fastai=not arguments.no_fastai)
    target = target_of(arguments.python)
    started = time.perf_counter()
    try:
        facts = collect_dist_facts(target, DEFAULT_LESSON, request)
    except DistInputError as exc:
        raise UsageError(str(exc)) from None
    # torch-import says why nothing ran when torch itself does not import.
    checks = [spec for spec in registered_checks() if spec.category == "dist" or spec.id == "torch-import"]
    report = replace(diagnose(target, DEFAULT_LESSON, facts=facts, started=started, checks=checks), kind=DIST)
    style = Style.for_stream(stdout) if arguments.output is None else Style(unicode=True, color=False)
    text = render_report(report, arguments, style, verbose=arguments.verbose)
    table = render_bandwidth_table(facts) if arguments.format == "text" else ""
    publish(text + ("\n" + table if table else ""), arguments, stdout, summary_line(report), "dist report",
            lambda: report_step_summary(report, arguments))
    return report.exit_code()
