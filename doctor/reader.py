"""Reading saved JSON reports back (``dl-doctor matrix``, ``dl-doctor diff``, the pytest plugin).

Any file at all is a valid input: a report of this schema version or an older one is upgraded and read;
anything else (unreadable, empty, truncated, not JSON, not a report, a newer schema, too large, nested too
deeply) raises ``ReportError`` naming the file and the problem in one line, never another exception. ``check
--facts`` reads its file with the same limits (``read_text``, ``parse_json``, ``check_schema_version``).
"""

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping

from doctor.findings import Finding
from doctor.report import CHECK, KINDS, OPS, REPORT_SCHEMA_VERSION, OpsRun, Report

OLDEST_SCHEMA_VERSION = 1
# The largest report seen (ops --catalog all on every device) is a few MiB; a file far larger is not one, and is
# refused before it is read into memory.
MAX_REPORT_BYTES = 64 * 1024 * 1024
# Reports nest 9 levels deep; checks and the redactor walk them recursively, so a deeper file is refused whole.
MAX_NESTING = 64


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
    return read_document(parse_json(text, path), path, full)


def parse_json(text: str, path: str) -> Any:
    """The JSON value in ``text``, nested no deeper than a report is."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        ended_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        problem = "truncated JSON" if ended_early else "not JSON"
        raise ReportError("%s: %s (%s)" % (path, problem, exc)) from None
    except RecursionError:
        raise ReportError("%s: JSON nested too deeply to be a report" % path) from None
    if _deeper_than(document, MAX_NESTING):
        raise ReportError("%s: JSON nested too deeply to be a report (more than %d levels)" % (path, MAX_NESTING))
    return document


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep, walked without recursion."""
    level = [document]
    for _ in range(limit + 1):
        level = [child for value in level if isinstance(value, (dict, list))
                 for child in (value.values() if isinstance(value, dict) else value)]
        if not level:
            return False
    return any(isinstance(value, (dict, list)) for value in level)


def check_schema_version(document: Mapping[str, Any], path: str) -> int:
    """A report's schema version when this dl-doctor reads it (an older one upgrades); else ReportError."""
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
    return version


def read_document(document: Any, path: str, full: bool = False) -> LoadedReport:
    if not isinstance(document, dict):
        raise ReportError("%s: not a dl-doctor report (a JSON %s, not an object)" % (path, type(document).__name__))
    version = check_schema_version(document, path)
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
    return parse_report(read_text(path), path, full)


def read_text(path: str) -> str:
    """A report file's text, refused unread when it is larger than any report (a FIFO or /dev/zero included:
    no more than the limit is ever read)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_REPORT_BYTES:
                raise ReportError(_too_large(path, size))
            raw = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        raise ReportError("%s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    if len(raw) > MAX_REPORT_BYTES:
        raise ReportError(_too_large(path, None))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ReportError("%s: not a text file (not UTF-8), not a dl-doctor report" % path) from None


def _too_large(path: str, size) -> str:
    return "%s: %s, larger than any dl-doctor report (at most %d MiB); not read" % (
        path, "%d MiB" % (size // (1024 * 1024)) if size is not None else "more", MAX_REPORT_BYTES // (1024 * 1024))
