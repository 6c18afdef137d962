"""Reading saved JSON reports back (``dl-doctor matrix``, ``dl-doctor diff``, the pytest plugin).

Any file at all is a valid input: a report of this schema version or an older one is upgraded and read;
anything else (unreadable, empty, truncated, not JSON, not a report, a newer schema) raises ``ReportError``
naming the file and the problem in one line, never another exception.
"""

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from doctor.cases import OPS_KIND, CaseSheet, sheet_of_findings, sheet_of_ops
from doctor.findings import Finding
from doctor.report import BENCH, CHECK, DIST, REPORT_SCHEMA_VERSION, Report

OLDEST_SCHEMA_VERSION = 1
KINDS = (CHECK, BENCH, DIST, OPS_KIND)


class ReportError(Exception):
    """A file that is not a report this dl-doctor can read; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedReport:
    """A report as the matrix needs it: its sheet, read without rebuilding the facts. ``report`` is the whole
    Report with its facts, for check and bench reports read with ``full=True`` (diff needs them)."""

    path: str
    kind: str
    sheet: CaseSheet
    report: Optional[Report] = None


def _upgrade_from_1(document: Dict[str, Any]) -> Dict[str, Any]:
    """Version 1 had no "kind", "label" or "redacted"; its ops reports no "environment"."""
    upgraded = dict(document, label=None, redacted=False)
    if "findings" in document:
        upgraded["kind"] = CHECK
    else:
        upgraded["kind"] = OPS_KIND
        upgraded["environment"] = {"torch": document.get("torch"), "device": document.get("device"),
                                   "simulated": bool(document.get("simulated"))}
    upgraded["schema_version"] = 2
    return upgraded


_UPGRADES: Dict[int, Callable[[Dict[str, Any]], Dict[str, Any]]] = {1: _upgrade_from_1}


def parse_report(text: str, path: str, full: bool = False) -> LoadedReport:
    if not text.strip():
        raise ReportError("%s: empty file, not a dl-doctor report" % path)
    try:
        document = json.loads(text)
    except ValueError as exc:
        ended_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        problem = "truncated JSON" if ended_early else "not JSON"
        raise ReportError("%s: %s (%s)" % (path, problem, exc)) from None
    except RecursionError:
        raise ReportError("%s: JSON nested too deeply to be a report" % path) from None
    return read_document(document, path, full)


def read_document(document: Any, path: str, full: bool = False) -> LoadedReport:
    if not isinstance(document, dict):
        raise ReportError("%s: not a dl-doctor report (a JSON %s, not an object)" % (path, type(document).__name__))
    tool = document.get("tool")
    version = document.get("schema_version")
    if not isinstance(tool, dict) or tool.get("name") != "dl-doctor" or "schema_version" not in document:
        raise ReportError("%s: not a dl-doctor report (no dl-doctor \"tool\" and \"schema_version\")" % path)
    if not isinstance(version, int) or isinstance(version, bool) or version < OLDEST_SCHEMA_VERSION:
        raise ReportError("%s: unknown report schema version %r" % (path, version))
    if version > REPORT_SCHEMA_VERSION:
        raise ReportError("%s: written by a newer dl-doctor (%s, report schema %d); this dl-doctor reads up to "
                          "schema %d: upgrade it with pip install -U dl-doctor"
                          % (path, tool.get("version"), version, REPORT_SCHEMA_VERSION))
    while version < REPORT_SCHEMA_VERSION:
        document = _UPGRADES[version](document)
        version = document["schema_version"]
    kind = document.get("kind")
    if kind not in KINDS:
        raise ReportError("%s: unknown report kind %r (expected one of %s)" % (path, kind, ", ".join(KINDS)))
    try:
        _require_common(document)
        sheet = sheet_of_ops(document) if kind == OPS_KIND else _findings_sheet(document)
        report = Report.from_dict(document) if full and kind != OPS_KIND else None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ReportError("%s: a damaged %s report (%s: %s)" % (path, kind, type(exc).__name__, exc)) from None
    return LoadedReport(path, kind, sheet, report)


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise ValueError(problem)


def _require_ops_records(ops: Any) -> None:
    _require(isinstance(ops, list) and all(
        isinstance(record, dict) and isinstance(record.get("op"), str) and isinstance(record.get("class", ""), str)
        for record in ops), '"ops" must be a list of op records')


def _require_common(document: Mapping[str, Any]) -> None:
    _require(isinstance(document.get("environment"), dict), '"environment" must be an object')
    _require(document.get("label") is None or isinstance(document["label"], str), '"label" must be a string')
    if document["kind"] == OPS_KIND:
        _require_ops_records(document.get("ops"))
    else:
        _require(isinstance(document.get("findings"), list), '"findings" must be a list')
        _require(isinstance(document.get("facts"), dict), '"facts" must be an object')
        _require(isinstance(document["facts"].get("probes"), dict), '"facts.probes" must be an object')


def _findings_sheet(document: Mapping[str, Any]) -> CaseSheet:
    """A check or bench report's sheet, from its findings and ops fact alone (rebuilding all facts is slow)."""
    findings = [Finding.from_dict(item) for item in document["findings"]]
    facts = document["facts"]
    ops = facts["probes"].get("ops")
    ops_data = None
    if isinstance(ops, dict) and ops.get("status") == "ok" and isinstance(ops.get("data"), dict):
        ops_data = ops["data"]
        _require_ops_records(ops_data.get("ops", []))
    timings = document.get("timings") or {}
    seconds = sum(value for value in (timings.get("collect_s"), timings.get("checks_s"))
                  if isinstance(value, (int, float)))
    environment = dict(document["environment"], lesson=facts.get("lesson"), quick=facts.get("quick"))
    return sheet_of_findings(document["kind"], str(document["tool"].get("version")), document.get("label"),
                             environment, findings, ops_data, seconds, bool(document.get("redacted")))


def read_report(path: str, full: bool = False) -> LoadedReport:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ReportError("%s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError("%s: not a text file (not UTF-8), not a dl-doctor report" % path) from None
    return parse_report(text, path, full)
