"""``dl-doctor ops`` for people: a table of the ops run, one row per op, under the device it ran on."""

from doctor.report import Report

EVIDENCE_WIDTH = 70


def render_ops_text(report: Report) -> str:
    """An ops report (kind "ops") as a table, then its summary."""
    from tabulate import tabulate

    run = report.ops
    rows = []
    for op in run.results if run else ():
        evidence = op.evidence.replace("\n", " ")
        if len(evidence) > EVIDENCE_WIDTH:
            evidence = evidence[: EVIDENCE_WIDTH - 3] + "..."
        seconds = op.record.get("seconds")
        rows.append((op.name, op.result, "" if seconds is None else "%.4f" % seconds,
                     ",".join(str(n) for n in op.record.get("lessons", [])), evidence))
    table = tabulate(rows, headers=("op", "class", "seconds", "lessons", "evidence"))
    device = run.device if run else None
    simulated = " (simulated)" if run and run.simulated else ""
    restarts = run.restarts if run else 0
    return "device %s%s\n\n%s\n\n%s on %s (torch %s), %d child restart%s\n" % (
        device, simulated, table, report.summary().words(), device, run.torch if run else None, restarts,
        "" if restarts == 1 else "s")
