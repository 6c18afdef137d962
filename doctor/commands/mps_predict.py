"""`dl-doctor ops --device mps --predict`: which lesson ops the installed torch itself expects to fail on MPS, by
macOS version, read from its own test lists on any machine (no Mac needed), as a table or JSON; and the same
expectations beside a real run on MPS, where a measurement that contradicts them is marked for a bug report.

The reading runs in the target interpreter (the ``mps-expectations`` probe); this process never imports torch.
"""

import argparse
import time
from typing import Any, Dict, List, Mapping, Optional, TextIO

import doctor
from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError

PREDICT_FORMATS = ("text", "json")


def catalogue_ops(lesson: Optional[int], only) -> List[tuple]:
    """(name, lessons, needs its gradient) of the lesson catalogue's ops that ``--lesson``/``--op`` select."""
    from doctor.probes.programs.op_catalog import ops_for_lesson

    return [(op.name, op.lessons, op.backward) for op in ops_for_lesson(lesson) if not only or op.name in only]


def read_expectations(python: str, cwd: str):
    """The mps-expectations probe's outcome for ``python``."""
    from doctor.collect import probe_environment
    from doctor.probes import mps_expectations_probe
    from doctor.probes.runner import run_probe

    return run_probe(mps_expectations_probe(), python, cwd, probe_environment())


def prediction(outcome, ops, seconds: float) -> Dict[str, Any]:
    """The ``--predict`` document: the answer's provenance and one expectation per op, or why there are none."""
    from doctor.results.mps_expectations import expectations

    answer: Mapping[str, Any] = outcome.data if outcome.ok else {}
    readable = outcome.ok and answer.get("status") == "read"
    reason = None if readable else (answer.get("reason") if outcome.ok else outcome.reason)
    return {
        "kind": "mps-predict", "tool": {"name": "dl-doctor", "version": doctor.__version__},
        "status": "read" if readable else "cannot predict", "reason": reason,
        "torch": answer.get("torch_version"), "source": answer.get("source"),
        "macos_version": answer.get("macos_version"), "unread": list(answer.get("unread") or []),
        "lists": sorted({listed["name"] for listed in answer.get("lists") or []}),
        "parse_s": answer.get("parse_s"), "seconds": seconds,
        "ops": [e.to_dict() for e in expectations(answer, ops, answer.get("macos_version"))] if readable else [],
    }


def run_predict(arguments: argparse.Namespace, python: str, cwd: str, stdout: TextIO) -> int:
    from doctor.commands.output import publish, redactor_of
    from doctor.render.ops_report import render_prediction_text

    if arguments.device != "mps":
        raise UsageError("--predict reads torch's expectations for MPS: use it with --device mps")
    if arguments.catalog != "lesson":
        raise UsageError("--predict knows the lesson catalogue's ops only, not --catalog %s" % arguments.catalog)
    if arguments.format not in PREDICT_FORMATS:
        raise UsageError("--predict writes %s, not --format %s" % (" or ".join(PREDICT_FORMATS), arguments.format))
    started = time.perf_counter()
    document = prediction(read_expectations(python, cwd), catalogue_ops(arguments.lesson, arguments.op),
                          time.perf_counter() - started)
    document["label"] = arguments.label
    redactor = redactor_of(arguments, stdout)
    if redactor is not None:
        document = redactor.document(document)
    if arguments.format == "json":
        import json

        text = json.dumps(document, indent=2) + "\n"
    else:
        text = render_prediction_text(document)
    summary = ("cannot predict: %s" % document["reason"] if document["status"] != "read"
               else "%d lesson ops predicted" % len(document["ops"]))
    publish(text, arguments, stdout, summary, "MPS prediction", lambda: "dl-doctor ops --predict: " + summary)
    return EXIT_OK if document["status"] == "read" else EXIT_FINDINGS


def with_expectations(data: Mapping[str, Any], python: str, cwd: str) -> Mapping[str, Any]:
    """An op run on MPS with torch's own expectation beside each lesson op (``torch_expects``), disagreements
    marked; the run as it was when torch's lists cannot be read (the run itself stays the report)."""
    from doctor.results.mps_expectations import annotated

    outcome = read_expectations(python, cwd)
    if not outcome.ok or outcome.data.get("status") != "read" or data.get("catalog") != "lesson":
        return data
    return dict(data, ops=annotated(data.get("ops") or [], outcome.data, catalogue_ops(None, ())))
