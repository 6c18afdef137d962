"""Renderers for ``dl-doctor ops``: a table per op for people, JSON with every record for machines."""

import json
from typing import Any, Dict, Mapping, Optional

import doctor
from doctor.results.ops import OP_STATUSES
from doctor.report import REPORT_SCHEMA_VERSION, TOOL_NAME

EVIDENCE_WIDTH = 70


def class_counts(data: Mapping[str, Any]) -> Dict[str, int]:
    counts = {status: 0 for status in OP_STATUSES}
    for record in data.get("ops", []):
        counts[record["class"]] += 1
    return {status: count for status, count in counts.items() if count}


def summary_line(data: Mapping[str, Any]) -> str:
    counts = ", ".join("%d %s" % (count, status) for status, count in class_counts(data).items())
    return "%d ops on %s (torch %s): %s; %d child restart(s)" % (
        len(data.get("ops", [])), data.get("device"), data.get("torch"), counts or "none", data.get("restarts", 0))


def render_ops_text(data: Mapping[str, Any]) -> str:
    from tabulate import tabulate

    rows = []
    for record in data.get("ops", []):
        evidence = record.get("evidence", "").replace("\n", " ")
        if len(evidence) > EVIDENCE_WIDTH:
            evidence = evidence[: EVIDENCE_WIDTH - 3] + "..."
        seconds = record.get("seconds")
        rows.append((record["op"], record["class"], "" if seconds is None else "%.4f" % seconds,
                     ",".join(str(n) for n in record.get("lessons", [])), evidence))
    table = tabulate(rows, headers=("op", "class", "seconds", "lessons", "evidence"))
    simulated = " (simulated)" if data.get("simulated") else ""
    return "%s%s\n\n%s\n\n%s\n" % ("device %s%s" % (data.get("device"), simulated), "", table, summary_line(data))


def ops_document(data: Mapping[str, Any], label: Optional[str] = None, seconds: Optional[float] = None
                 ) -> Dict[str, Any]:
    """The ops run as a report: the JSON contract of ``dl-doctor ops --format json`` (kind "ops")."""
    environment = {"python": data.get("python"), "os": data.get("os"), "machine": data.get("machine"),
                   "torch": data.get("torch"), "device": data.get("device"), "simulated": bool(data.get("simulated"))}
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": "ops",
        "tool": {"name": TOOL_NAME, "version": doctor.__version__},
        "label": label,
        "redacted": False,
        "environment": environment,
        "seconds": seconds,
        "device": data.get("device"),
        "simulated": bool(data.get("simulated")),
        "torch": data.get("torch"),
        "catalog": data.get("catalog"),
        "fallback_variable": data.get("fallback_variable"),
        "restarts": data.get("restarts", 0),
        "summary": class_counts(data),
        "ops": list(data.get("ops", [])),
    }


def render_ops_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
