"""`dl-doctor ops`: the op catalogue on a device, as a table or JSON."""

import argparse
import time
from typing import TextIO

from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError
from doctor.commands.inputs import target_of


def run_ops(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.collect import probe_environment
    from doctor.ops import run_torch_probe
    from doctor.requests import OpsRequest
    from doctor.results.ops import SEVERE_CLASSES, available_devices, by_class, torch_failure
    from doctor.probes.programs.op_catalog import catalog_names
    from doctor.render.text import printable
    from doctor.commands.output import check_output_paths, publish, render_report, report_step_summary
    from doctor.report import ops_report

    if arguments.catalog == "lesson":
        unknown = [name for name in arguments.op if name not in catalog_names()]
        if unknown:
            raise UsageError("unknown op %s: the lesson catalogue has %s" % (", ".join(map(repr, unknown)),
                                                                         ", ".join(catalog_names())))
    if arguments.op_timeout <= 0:
        raise UsageError("--op-timeout must be positive, not %g" % arguments.op_timeout)
    check_output_paths(arguments.output)
    started = time.perf_counter()
    target = target_of(arguments.python)
    python = target.python
    if arguments.predict:
        from doctor.commands.mps_predict import run_predict

        return run_predict(arguments, python, target.cwd, stdout)
    request = OpsRequest(device=arguments.device, catalog=arguments.catalog, lesson=arguments.lesson,
                         only=tuple(arguments.op), op_timeout_s=arguments.op_timeout)
    outcomes = run_torch_probe(python, target.cwd, probe_environment(), request)
    torch, ops = outcomes["torch"], outcomes["ops"]
    failure = torch_failure(torch)
    if failure is not None:
        stdout.write("dl-doctor ops: torch does not import in %s (%s); dl-doctor check names the cause\n"
                     % (printable(python), printable(failure)))
        return EXIT_FINDINGS
    if not ops.ok:
        stdout.write("dl-doctor ops: the op run failed: %s\n" % printable(ops.reason or ""))
        return EXIT_FINDINGS
    data = ops.data
    if not data.get("available"):
        raise UsageError("--device %s is not available here; available: %s"
                         % (arguments.device, ", ".join(available_devices(torch.data))))
    if data.get("catalog_error"):
        raise UsageError("--catalog all needs torch's OpInfo database, which does not import here (%s); "
                         "it needs the expecttest package: %s -m pip install expecttest"
                         % (data["catalog_error"], python))
    if data.get("device") == "mps":
        from doctor.commands.mps_predict import with_expectations

        data = with_expectations(data, python, target.cwd)
    report = ops_report(data, seconds=time.perf_counter() - started)
    publish(render_report(report, arguments, stdout, verbose=False), arguments, stdout, report.summary().words(),
            "ops report", lambda: report_step_summary(report, arguments))
    return EXIT_FINDINGS if by_class(data, *SEVERE_CLASSES) else EXIT_OK
