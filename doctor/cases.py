"""A report as test cases: one named case per check and per probed op, each with one status.

This is the shape the CI formats share: JUnit XML, the Markdown job summary, the HTML page and the matrix
all render a ``CaseSheet``, so a check or an op reads the same in each of them. Check cases keep their
finding's status. An op's class becomes a status: ``native`` ok, ``fallback`` info (it works, on the CPU),
``unsupported`` and ``dtype-unsupported`` warning (the op is missing on this device; the ``device-ops`` and
``mps-fallback`` checks judge what that means for the lesson), the rest error, ``crashed`` also marked crashed.
"""

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from doctor.findings import ERROR, INFO, OK, SEVERITY, STATUSES, WARNING, Finding
from doctor.results.ops import DTYPE_UNSUPPORTED, FALLBACK, NATIVE, OP_CRASHED, UNSUPPORTED
from doctor.redact import Redactor
from doctor.report import Report

_OP_STATUS = {NATIVE: OK, FALLBACK: INFO, UNSUPPORTED: WARNING, DTYPE_UNSUPPORTED: WARNING}
OPS_KIND = "ops"


@dataclass(frozen=True)
class Case:
    suite: str  # "checks", "bench", or "ops on DEVICE"
    group: str  # the check's category, or "ops"
    name: str  # the check id or the op name: a row of the matrix
    status: str  # one of doctor.findings.STATUSES
    title: str
    detail: str = ""
    fix: str = ""
    crashed: bool = False
    result: str = ""  # an op's class (native, fallback, ...); empty for checks
    is_op: bool = False


@dataclass(frozen=True)
class CaseSheet:
    kind: str  # check | bench | ops
    tool_version: str
    label: Optional[str]
    environment: Mapping[str, Any]
    cases: Tuple[Case, ...]
    seconds: Optional[float]
    redacted: bool

    def counts(self) -> Dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for case in self.cases:
            counts[case.status] += 1
        return counts

    def worst_first(self) -> List[Case]:
        return sorted(self.cases, key=lambda case: (-SEVERITY[case.status], case.suite, case.group, case.name))

    def shareable(self, redactor: Optional[Redactor], details: bool = True) -> "CaseSheet":
        """The sheet with its text redacted (None: as it is, for --no-redact); without ``details`` only what
        a table shows (titles, label, environment) is redacted, and details and fixes are dropped."""
        if redactor is None:
            return self
        cases = tuple(replace(case, title=redactor.text(case.title),
                              detail=redactor.text(case.detail) if details else "",
                              fix=redactor.text(case.fix) if details else "") for case in self.cases)
        return replace(self, label=redactor.text(self.label) if self.label else self.label,
                       environment=redactor.document(dict(self.environment)), cases=cases, redacted=True)

    def summary(self) -> str:
        counts = self.counts()
        parts = ["%d %s" % (counts[status], status) for status in (ERROR, WARNING, OK, INFO, "skipped")
                 if counts[status]]
        seconds = " in %.1f s" % self.seconds if self.seconds is not None else ""
        return "%s%s" % (", ".join(parts) or "nothing checked", seconds)


def _fix_text(finding) -> str:
    if not finding.fix:
        return ""
    return "\n".join([finding.fix.text] + ["$ " + command for command in finding.fix.commands])


def op_cases(data: Mapping[str, Any]) -> List[Case]:
    """One case per op in an ops run (``dl-doctor ops`` data, or the ``ops`` fact of a check)."""
    suite = "ops on %s" % data.get("device")
    cases = []
    for record in data.get("ops") or []:
        result = record.get("class", "")
        cases.append(Case(
            suite=suite, group="ops", name=str(record.get("op")), status=_OP_STATUS.get(result, ERROR),
            title="%s on %s: %s" % (record.get("op"), data.get("device"), result),
            detail=str(record.get("evidence") or ""), crashed=result == OP_CRASHED, result=result, is_op=True,
        ))
    return cases


def sheet_of_findings(kind: str, tool_version: str, label: Optional[str], environment: Mapping[str, Any],
                      findings: Sequence[Finding], ops: Optional[Mapping[str, Any]], seconds: Optional[float],
                      redacted: bool) -> CaseSheet:
    """The sheet of a check or bench run: its findings, and the ops it probed (``ops``, the ops fact)."""
    cases = [Case(suite="checks" if kind == "check" else kind, group=finding.category, name=finding.id,
                  status=finding.status, title=finding.title, detail=finding.detail, fix=_fix_text(finding),
                  crashed=finding.crashed)
             for finding in findings]
    if ops:
        cases += op_cases(ops)
    return CaseSheet(kind=kind, tool_version=tool_version, label=label, environment=environment, cases=tuple(cases),
                     seconds=seconds, redacted=redacted)


def sheet_of_report(report: Report) -> CaseSheet:
    ops = report.facts.outcome("ops")
    environment = dict(report.environment(), lesson=report.facts.lesson, quick=report.facts.quick)
    seconds = report.timings.get("collect_s", 0.0) + report.timings.get("checks_s", 0.0)
    return sheet_of_findings(report.kind, report.tool_version, report.label, environment, report.findings,
                             ops.data if ops is not None and ops.ok else None, seconds, report.redacted)


def sheet_of_ops(document: Mapping[str, Any]) -> CaseSheet:
    """The sheet of an ops report (``doctor.render.ops_report.ops_document``)."""
    return CaseSheet(kind=OPS_KIND, tool_version=str((document.get("tool") or {}).get("version")),
                     label=document.get("label"), environment=dict(document.get("environment") or {}),
                     cases=tuple(op_cases(document)), seconds=document.get("seconds"),
                     redacted=bool(document.get("redacted")))


def short_label(environment: Mapping[str, Any]) -> str:
    """A matrix column name from what the environment is: OS, Python, torch and device."""
    python = str(environment.get("python") or "?")
    parts = [str(environment.get("os") or "?"), "py" + ".".join(python.split(".")[:2])]
    torch = environment.get("torch")
    parts.append("torch " + str(torch).split("+")[0] if torch else "no torch")
    device = environment.get("device") or environment.get("fastai_device")
    if device:
        parts.append(str(device))
    return " ".join(parts)


def label_of(sheet: CaseSheet) -> str:
    return sheet.label or short_label(sheet.environment)
