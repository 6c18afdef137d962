"""The Report: what one run found, as the one value every format, ``matrix`` and ``diff`` read.

A report holds the findings of the checks, the ops probed on a device (typed ``OpResult`` entries, read like
findings), what the environment is, the facts behind it all, and timings. ``summary()`` is the one place its
counts and seconds are worked out, so text, JSON, Markdown, JUnit, HTML, the notebook and the matrix say the
same. Findings and op results are counted apart: checks judge the environment, while an op's class is what the
device did ("3 warnings, 18 ok; 23 ops: 22 native, 1 fallback in 7.1 s").

An ops run (``dl-doctor ops``) is a Report of kind "ops": no findings, no facts, its ops. A report read back for
the matrix carries no facts either (rebuilding them is slow, and a table needs none). ``to_dict`` is the JSON
contract (``schema_version``), described by doctor/schemas/report.schema.json; doctor.reader reads it back.

This module is data only: it runs nothing, collects nothing and renders nothing.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import doctor
from doctor.facts import Facts
from doctor.findings import ERROR, INFO, OK, SEVERITY, SKIPPED, WARNING, Finding, Fix
from doctor.redact import Redactor
from doctor.results.ops import DTYPE_UNSUPPORTED, FALLBACK, NATIVE, OP_CRASHED, OP_STATUSES, UNSUPPORTED

# The JSON contract of every report (check, bench, dist and ops), described by doctor/schemas/report.schema.json.
# 2: "kind", "label" and "redacted" joined; ops reports carry "environment". doctor.reader reads 1 and 2.
REPORT_SCHEMA_VERSION = 2
TOOL_NAME = "dl-doctor"
CHECK = "check"
BENCH = "bench"
DIST = "dist"
OPS = "ops"
KINDS = (CHECK, BENCH, DIST, OPS)
# An ops run's whole time, in its timings (a check's time is its collect_s plus checks_s).
OPS_SECONDS = "seconds"

# An op's class as a status: it works natively (ok) or on the CPU (info); a missing kernel or dtype is a warning
# (the device-ops and mps-fallback checks judge what it means for the lesson); a wrong answer, an error, a crash
# or a hang is an error.
_OP_STATUS = {NATIVE: OK, FALLBACK: INFO, UNSUPPORTED: WARNING, DTYPE_UNSUPPORTED: WARNING}
# The order a summary names finding statuses in, worst first, and the words it uses.
_SUMMARY_ORDER = (ERROR, WARNING, OK, INFO, SKIPPED)


@dataclass(frozen=True)
class OpResult:
    """One op probed on a device, read like a finding (``id``, ``status``, ``title``, ``detail``) so a format can
    list ops beside checks. ``record`` is the child's measurement as it came, the JSON contract of an ops report."""

    name: str
    device: str
    result: str  # the op's class: native, fallback, unsupported, ... (doctor.results.ops)
    evidence: str = ""
    record: Mapping[str, Any] = field(default_factory=dict, compare=False)

    # What a finding has and an op has not: an op is filed under "ops", with no fix and no links of its own.
    category = "ops"
    fix = None
    links = ()

    @property
    def id(self) -> str:
        return self.name

    @property
    def status(self) -> str:
        return _OP_STATUS.get(self.result, ERROR)

    @property
    def crashed(self) -> bool:
        return self.result == OP_CRASHED

    @property
    def title(self) -> str:
        return "%s on %s: %s" % (self.name, self.device, self.result)

    @property
    def detail(self) -> str:
        return self.evidence


Entry = Union[Finding, OpResult]


@dataclass(frozen=True)
class OpsRun:
    """The ops probed on one device: a check's ``ops`` fact, or the run of ``dl-doctor ops`` itself."""

    device: Optional[str]
    torch: Optional[str]
    simulated: bool
    restarts: int
    catalog: Optional[str]
    fallback_variable: Optional[str]
    results: Tuple[OpResult, ...]

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> "OpsRun":
        """From the ops probe's answer (or an ops report, which repeats it)."""
        device = answer.get("device")
        results = tuple(OpResult(name=str(record.get("op")), device=str(device), result=str(record.get("class", "")),
                                 evidence=str(record.get("evidence") or ""), record=record)
                        for record in answer.get("ops") or [])
        return cls(device=device, torch=answer.get("torch"), simulated=bool(answer.get("simulated")),
                   restarts=int(answer.get("restarts") or 0), catalog=answer.get("catalog"),
                   fallback_variable=answer.get("fallback_variable"), results=results)


@dataclass(frozen=True)
class Summary:
    """A report's counts and duration, worked out once (``Report.summary``) and said the same way everywhere."""

    findings: Mapping[str, int]  # every finding status, zeros included: a check report's JSON "summary"
    ops: Mapping[str, int]  # the op classes that occurred, in doctor.results.ops order: an ops report's "summary"
    seconds: Optional[float]

    def words(self) -> str:
        """E.g. "1 error, 3 warnings, 18 ok, 2 skipped; 23 ops: 22 native, 1 fallback in 7.1 s"."""
        parts = []
        findings = ["%d %s%s" % (self.findings[status], status,
                                 "s" if self.findings[status] != 1 and status in (ERROR, WARNING) else "")
                    for status in _SUMMARY_ORDER if self.findings.get(status)]
        if findings:
            parts.append(", ".join(findings))
        if self.ops:
            total = sum(self.ops.values())
            parts.append("%d op%s: %s" % (total, "" if total == 1 else "s",
                                          ", ".join("%d %s" % (count, result) for result, count in self.ops.items())))
        seconds = "" if self.seconds is None else " in %.1f s" % self.seconds
        return "%s%s" % ("; ".join(parts) or "nothing checked", seconds)


@dataclass(frozen=True)
class Report:
    """``environment``, ``ops``, ``lesson`` and ``quick`` are read from ``facts`` when not given."""

    findings: Sequence[Finding]
    facts: Optional[Facts]  # None for an ops run, and for a report read back for the matrix
    timings: Mapping[str, Any]
    tool_version: str = doctor.__version__
    schema_version: int = REPORT_SCHEMA_VERSION
    kind: str = CHECK  # check | bench | dist | ops: which command wrote it
    label: Optional[str] = None  # the matrix column name given with --label
    redacted: bool = False
    ops: Optional[OpsRun] = None  # the ops probed, when they were
    environment: Optional[Mapping[str, Any]] = None
    lesson: Optional[int] = None
    quick: Optional[bool] = None

    def __post_init__(self) -> None:
        if self.facts is None:
            return
        ops = self.facts.outcome("ops")
        derived = {"environment": describe_environment(self.facts), "lesson": self.facts.lesson,
                   "quick": self.facts.quick,
                   "ops": OpsRun.from_answer(ops.data) if ops is not None and ops.ok and ops.data else None}
        for name, value in derived.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)

    def entries(self) -> Tuple[Entry, ...]:
        """The findings, then the op results: what the CI formats list as cases."""
        return tuple(self.findings) + (self.ops.results if self.ops else ())

    def suite_of(self, entry: Entry) -> str:
        """The group a CI format files an entry under: this run's checks, or the ops on their device."""
        if isinstance(entry, OpResult):
            return "ops on %s" % entry.device
        return "checks" if self.kind == CHECK else self.kind

    def summary(self) -> Summary:
        findings = {status: 0 for status in SEVERITY}
        for finding in self.findings:
            findings[finding.status] += 1
        ops = {result: 0 for result in OP_STATUSES}
        for op in self.ops.results if self.ops else ():
            ops[op.result] = ops.get(op.result, 0) + 1
        return Summary(findings=findings, ops={result: count for result, count in ops.items() if count},
                       seconds=self.seconds)

    @property
    def seconds(self) -> Optional[float]:
        """How long the run took: collecting and checking, or an ops run's whole time; None when unknown."""
        if OPS_SECONDS in self.timings:
            return self.timings[OPS_SECONDS]
        parts = [self.timings[name] for name in ("collect_s", "checks_s") if name in self.timings]
        return sum(parts) if parts else None

    def exit_code(self, strict: bool = False) -> int:
        """0 when nothing is wrong, 1 for errors (or warnings under ``strict``)."""
        counts = self.summary().findings
        return 1 if counts[ERROR] or (strict and counts[WARNING]) else 0

    def to_dict(self) -> Dict[str, Any]:
        head = {"schema_version": self.schema_version, "kind": self.kind,
                "tool": {"name": TOOL_NAME, "version": self.tool_version}, "label": self.label,
                "redacted": self.redacted, "environment": dict(self.environment or {})}
        if self.kind == OPS:
            return dict(head, **_ops_document(self.ops, self.timings.get(OPS_SECONDS), self.summary()))
        if self.facts is None:
            raise ValueError("a report read without its facts cannot be written back")
        return dict(head, summary=dict(self.summary().findings),
                    findings=[finding.to_dict() for finding in self.findings], facts=self.facts.to_dict(),
                    timings=dict(self.timings))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Report":
        """Rebuild from ``to_dict`` output (doctor.reader upgrades older versions first); raises KeyError,
        TypeError or ValueError on a malformed mapping."""
        common = dict(tool_version=str(raw["tool"]["version"]), kind=str(raw.get("kind") or CHECK),
                      label=raw.get("label"), redacted=bool(raw.get("redacted", False)),
                      environment=dict(raw["environment"]) if raw.get("environment") is not None else None)
        if common["kind"] == OPS:
            return cls(findings=(), facts=None, timings={OPS_SECONDS: raw.get("seconds")},
                       ops=OpsRun.from_answer(raw), **common)
        return cls(findings=tuple(Finding.from_dict(item) for item in raw["findings"]),
                   facts=Facts.from_dict(raw["facts"]), timings=dict(raw.get("timings") or {}), **common)

    def shareable(self, redactor: Optional[Redactor], details: bool = True) -> "Report":
        """This report as it may leave the machine: redacted, unless ``redactor`` is None (--no-redact).

        A report read without its facts is redacted field by field; without ``details`` only what a table shows
        (titles, label, environment) is kept, which is all the matrix needs."""
        if redactor is None:
            return self
        if self.facts is not None or self.kind == OPS:
            return replace(Report.from_dict(redactor.document(self.to_dict())), redacted=True)
        findings = tuple(replace(finding, title=redactor.text(finding.title),
                                 detail=redactor.text(finding.detail) if details else "",
                                 fix=_redacted_fix(finding, redactor) if details else None,
                                 links=tuple(redactor.text(link) for link in finding.links) if details else ())
                         for finding in self.findings)
        ops = self.ops and replace(self.ops, results=tuple(
            replace(op, evidence=redactor.text(op.evidence) if details else "", record={})
            for op in self.ops.results))
        return replace(self, findings=findings, ops=ops, label=self.label and redactor.text(self.label),
                       environment=redactor.document(dict(self.environment or {})), redacted=True)

    def labelled(self, label: Optional[str]) -> "Report":
        return replace(self, label=label) if label else self


def _redacted_fix(finding: Finding, redactor: Redactor) -> Optional[Fix]:
    if finding.fix is None:
        return None
    return replace(finding.fix, text=redactor.text(finding.fix.text),
                   commands=tuple(redactor.text(command) for command in finding.fix.commands))


def _ops_document(ops: Optional[OpsRun], seconds: Optional[float], summary: Summary) -> Dict[str, Any]:
    """The part of an ops report after its head: the run's settings, its summary and every op's record."""
    ops = ops or OpsRun(None, None, False, 0, None, None, ())
    return {"seconds": seconds, "device": ops.device, "simulated": ops.simulated, "torch": ops.torch,
            "catalog": ops.catalog, "fallback_variable": ops.fallback_variable, "restarts": ops.restarts,
            "summary": dict(summary.ops), "ops": [dict(op.record) for op in ops.results]}


def ops_report(answer: Mapping[str, Any], seconds: Optional[float] = None) -> Report:
    """``dl-doctor ops``'s run as a Report, from the ops probe's answer."""
    environment = {"python": answer.get("python"), "os": answer.get("os"), "machine": answer.get("machine"),
                   "torch": answer.get("torch"), "device": answer.get("device"),
                   "simulated": bool(answer.get("simulated"))}
    return Report(findings=(), facts=None, timings={OPS_SECONDS: seconds}, kind=OPS, ops=OpsRun.from_answer(answer),
                  environment=environment)


def describe_environment(facts: Facts) -> Dict[str, Any]:
    """A short description of the examined environment, for headings and matrix labels."""
    python = facts.data("python") or {}
    markers = python.get("marker_environment") or {}
    build = facts.derived.torch_build
    imports = facts.data("imports") or {}
    return {
        "python": markers.get("python_full_version"),
        "python_executable": python.get("executable") or facts.python,
        "os": markers.get("platform_system"),
        "machine": markers.get("platform_machine"),
        "torch": build.version if build else None,
        "torch_flavour": build.flavour if build else None,
        "fastai_device": imports.get("fastai_default_device"),
        "gpus": [gpu.get("name") for gpu in facts.derived.nvidia_gpus],
    }


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


def label_of(report: Report) -> str:
    return report.label or short_label(report.environment or {})


def worst_first(report: Report) -> List[Entry]:
    """Every entry, errors first, then by suite, topic and name."""
    return sorted(report.entries(), key=lambda entry: (-SEVERITY[entry.status], report.suite_of(entry),
                                                       entry.category, entry.id))
