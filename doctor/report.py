"""The Report: findings, the facts they came from, timings and the tool's identity, as one value
that renderers read and that survives JSON (``schema_version`` is the machine contract)."""

import platform
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional, Sequence

import doctor
from doctor.collect import Target, collect_facts
from doctor.engine import run_checks
from doctor.facts import Facts
from doctor.findings import ERROR, SEVERITY, WARNING, Finding
from doctor.redact import Redactor
from doctor.registry import CheckSpec, registered_checks

# The JSON contract of every report (check, bench and ops), described by doctor/schemas/report.schema.json.
# 2: "kind", "label" and "redacted" joined; ops reports carry "environment". doctor.reader reads 1 and 2.
REPORT_SCHEMA_VERSION = 2
TOOL_NAME = "dl-doctor"
CHECK = "check"
BENCH = "bench"
DIST = "dist"


@dataclass(frozen=True)
class Report:
    findings: Sequence[Finding]
    facts: Facts
    timings: Mapping[str, Any]
    tool_version: str = doctor.__version__
    schema_version: int = REPORT_SCHEMA_VERSION
    kind: str = CHECK  # check | bench | dist: which command wrote it
    label: Optional[str] = None  # the matrix column name given with --label
    redacted: bool = False

    def counts(self) -> Dict[str, int]:
        counts = {status: 0 for status in SEVERITY}
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    def exit_code(self, strict: bool = False) -> int:
        """0 when nothing is wrong, 1 for errors (or warnings under ``strict``)."""
        counts = self.counts()
        return 1 if counts[ERROR] or (strict and counts[WARNING]) else 0

    def environment(self) -> Dict[str, Any]:
        return describe_environment(self.facts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> Dict[str, str]:
        """How Jupyter shows a Report: HTML where the front end renders it, plain text everywhere else."""
        from doctor.cases import sheet_of_report
        from doctor.render.html import render_html
        from doctor.render.text import Style, render_text

        return {"text/plain": render_text(self, Style(unicode=True, color=False)),
                "text/html": render_html(sheet_of_report(self))}

    def to_dict(self) -> Dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "kind": self.kind,
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "label": self.label,
            "redacted": self.redacted,
            "environment": self.environment(),
            "summary": self.counts(),
            "findings": [finding.to_dict() for finding in self.findings],
            "facts": self.facts.to_dict(),
            "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Report":
        """Rebuild from ``to_dict`` output (doctor.reader upgrades older versions first); raises KeyError,
        TypeError or ValueError on a malformed mapping."""
        return cls(
            findings=tuple(Finding.from_dict(item) for item in raw["findings"]),
            facts=Facts.from_dict(raw["facts"]),
            timings=dict(raw.get("timings") or {}),
            tool_version=str(raw["tool"]["version"]),
            schema_version=REPORT_SCHEMA_VERSION,
            kind=str(raw.get("kind") or CHECK),
            label=raw.get("label"),
            redacted=bool(raw.get("redacted", False)),
        )

    def shareable(self, redactor: Optional[Redactor]) -> "Report":
        """This report as it may leave the machine: redacted, unless ``redactor`` is None (--no-redact)."""
        if redactor is None:
            return self
        return replace(Report.from_dict(redactor.document(self.to_dict())), redacted=True)

    def labelled(self, label: Optional[str]) -> "Report":
        return replace(self, label=label) if label else self


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


def diagnose(
    target: Target,
    lesson: int,
    quick: bool = False,
    facts: Optional[Facts] = None,
    checks: Optional[List[CheckSpec]] = None,
    started: Optional[float] = None,
) -> Report:
    """Collect (unless ``facts`` are given), run every check, and return the Report.

    ``started`` (a ``time.perf_counter()`` value) is when collecting began, for facts collected by the caller.
    """
    started = time.perf_counter() if started is None else started
    if facts is None:
        facts = collect_facts(target, lesson, quick)
    collected = time.perf_counter()
    findings, check_timings = run_checks(checks if checks is not None else registered_checks(), facts)
    ordered = sorted(findings, key=lambda f: (-SEVERITY[f.status], f.category, f.id))
    timings = {
        "collect_s": collected - started,
        "checks_s": time.perf_counter() - collected,
        "probes_s": {name: outcome.duration_s for name, outcome in facts.probes.items()},
        "probe_peak_rss_kb": {name: outcome.peak_rss_kb for name, outcome in facts.probes.items()},
        "checks": check_timings,
        "doctor_peak_rss_kb": _own_peak_rss_kb(),
    }
    return Report(findings=ordered, facts=facts, timings=timings)


def _own_peak_rss_kb() -> Optional[int]:
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024 if platform.system() == "Darwin" else peak)
