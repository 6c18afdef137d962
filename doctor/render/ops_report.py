"""``dl-doctor ops`` for people: a table of the ops run, one row per op, under the device it ran on (on MPS with
what torch's own tests expect of each op, and the disagreements worth a bug report); and ``--predict``'s table of
those expectations alone."""

from typing import Any, Mapping

from doctor.report import Report
from doctor.render.text import printable
from doctor.results.mps_expectations import FAILS, MAY_FAIL

EVIDENCE_WIDTH = 70


def render_ops_text(report: Report) -> str:
    """An ops report (kind "ops") as a table, then its summary."""
    from tabulate import tabulate

    run = report.ops
    rows = []
    results = run.results if run else ()
    # Present on MPS runs whose torch ships its expectation lists (doctor.results.mps_expectations.annotated).
    expected = any(op.record.get("torch_expects") for op in results)
    disagreements = []
    for op in results:
        evidence = printable(op.evidence.replace("\n", " "))
        if len(evidence) > EVIDENCE_WIDTH:
            evidence = evidence[: EVIDENCE_WIDTH - 3] + "..."
        seconds = op.record.get("seconds")
        row = (op.name, op.result, "" if seconds is None else "%.4f" % seconds,
               ",".join(str(n) for n in op.record.get("lessons", [])))
        torch_expects = op.record.get("torch_expects") or {}
        if torch_expects.get("disagreement"):
            disagreements.append(torch_expects)
        rows.append(row + ((_expected_words(torch_expects) + ("  <-" if torch_expects.get("disagreement") else ""),)
                           if expected else ()) + (evidence,))
    headers = ("op", "class", "seconds", "lessons") + (("torch expects",) if expected else ()) + ("evidence",)
    table = tabulate(rows, headers=headers)
    if disagreements:
        table += "\n\n%d op%s disagree%s with torch's own MPS expectations:\n%s" % (
            len(disagreements), "" if len(disagreements) == 1 else "s", "s" if len(disagreements) == 1 else "",
            "\n".join("  %s\n    report: %s" % (d["disagreement"], d["link"]) for d in disagreements))
    device = run.device if run else None
    simulated = " (simulated)" if run and run.simulated else ""
    restarts = run.restarts if run else 0
    return "device %s%s\n\n%s\n\n%s on %s (torch %s), %d child restart%s\n" % (
        device, simulated, table, report.summary().words(), device, run.torch if run else None, restarts,
        "" if restarts == 1 else "s")


def _expected_words(torch_expects: Mapping[str, Any]) -> str:
    verdict = torch_expects.get("verdict") or torch_expects.get("torch_expects") or ""
    when = torch_expects.get("when") or ""
    if verdict in (FAILS, MAY_FAIL) and when and when != "always":
        return "fails on %s" % when
    return verdict


def render_prediction_text(document: Mapping[str, Any]) -> str:
    """``dl-doctor ops --device mps --predict``'s document as a table: what torch's own MPS tests expect of each
    lesson op, and which lessons the expected failures touch."""
    from tabulate import tabulate

    if document.get("status") != "read":
        return "dl-doctor ops --predict: cannot predict MPS support: %s\n" % document.get("reason")
    rows = []
    failing_lessons = set()
    for op in document.get("ops") or []:
        verdict = op.get("torch_expects")
        if verdict in (FAILS, MAY_FAIL):
            failing_lessons.update(op.get("lessons") or [])
        lists = ", ".join("%s:%d" % (m["list"], m["line"]) for m in op.get("lists") or [])
        rows.append((op["op"], ",".join(str(n) for n in op.get("lessons") or []), _expected_words(op),
                     "%s (%s)" % (op["opinfo"], op["dtype"]) if op.get("opinfo") else "", lists))
    table = tabulate(rows, headers=("op", "lessons", "torch expects", "OpInfo (dtype)", "list:line"))
    expected = [op for op in document.get("ops") or [] if op.get("torch_expects") in (FAILS, MAY_FAIL)]
    macos = document.get("macos_version")
    heading = "torch %s's own MPS expectations%s, from %s" % (
        document.get("torch"), " for macOS %s" % macos if macos else " (every macOS version)", document.get("source"))
    unread = "".join("\nnot read: %s" % problem for problem in document.get("unread") or [])
    if expected:
        verdict = "%d of %d lesson ops are expected to fail on MPS (lessons %s): run dl-doctor ops on a Mac" % (
            len(expected), len(rows), ", ".join(str(n) for n in sorted(failing_lessons)))
    else:
        verdict = "none of %d lesson ops is expected to fail on MPS" % len(rows)
    return ("%s\n\n%s\n\n%s; \"no OpInfo\": torch's tests say nothing about that call%s\n"
            % (heading, table, verdict, unread))
