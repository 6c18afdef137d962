"""Reading saved JSON reports back (``dl-doctor matrix``, ``dl-doctor diff``, the pytest plugin).

Any file at all is a valid input: a report of this schema version or an older one is upgraded and read;
anything else (unreadable, empty, truncated, not JSON, not a report, a newer schema) raises ``ReportError``
naming the file and the problem in one line, never another exception.
"""

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping

from doctor.findings import Finding
from doctor.report import CHECK, KINDS, OPS, REPORT_SCHEMA_VERSION, OpsRun, Report

OLDEST_SCHEMA_VERSION = 1


class ReportError(Exception):
    """A file that is not a report this dl-doctor can read; the message names the file and the problem."""


@dataclass(frozen=True)
class LoadedReport:
    """A report and the file it came from. Its facts are rebuilt only when read with ``full=True`` (diff needs
    them; the matrix does not, and rebuilding them is slow)."""

    path: str
    report: Report

    @property
    def kind(self) -> str:
        return self.report.kind


def _upgrade_from_1(document: Dict[str, Any]) -> Dict[str, Any]:
    """Version 1 had no "kind", "label" or "redacted"; its ops reports no "environment"."""
    upgraded = dict(document, label=None, redacted=False)
    if "findings" in document:
        upgraded["kind"] = CHECK
    else:
        upgraded["kind"] = OPS
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
        report = Report.from_dict(document) if full or kind == OPS else _without_facts(document)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ReportError("%s: a damaged %s report (%s: %s)" % (path, kind, type(exc).__name__, exc)) from None
    return LoadedReport(path, report)


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
    if document["kind"] == OPS:
        _require_ops_records(document.get("ops"))
        seconds = document.get("seconds")
        _require(seconds is None or isinstance(seconds, (int, float)) and not isinstance(seconds, bool),
                 '"seconds" must be a number')
    else:
        _require(isinstance(document.get("findings"), list), '"findings" must be a list')
        _require(isinstance(document.get("facts"), dict), '"facts" must be an object')
        _require(isinstance(document["facts"].get("probes"), dict), '"facts.probes" must be an object')


def _without_facts(document: Mapping[str, Any]) -> Report:
    """A check, bench or dist report from its findings and ops fact alone (rebuilding all facts is slow)."""
    facts = document["facts"]
    ops = facts["probes"].get("ops")
    run = None
    if isinstance(ops, dict) and ops.get("status") == "ok" and isinstance(ops.get("data"), dict):
        _require_ops_records(ops["data"].get("ops", []))
        run = OpsRun.from_answer(ops["data"])
    timings = {name: value for name, value in (document.get("timings") or {}).items()
               if name in ("collect_s", "checks_s") and isinstance(value, (int, float))}
    return Report(findings=tuple(Finding.from_dict(item) for item in document["findings"]), facts=None,
                  timings=timings, tool_version=str(document["tool"].get("version")), kind=document["kind"],
                  label=document.get("label"), redacted=bool(document.get("redacted")), ops=run,
                  environment=dict(document["environment"]), lesson=facts.get("lesson"), quick=facts.get("quick"))


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
