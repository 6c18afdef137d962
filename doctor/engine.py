"""Running checks over facts: each check is a pure function; one that raises becomes a crashed
``error`` finding and the rest of the report still renders."""

import time
import traceback
from dataclasses import replace
from typing import Dict, List, Sequence, Tuple

from doctor.facts import Facts
from doctor.findings import Finding, error, skipped
from doctor.registry import CheckSpec


def _unanswered_probes(spec: CheckSpec, facts: Facts) -> List[str]:
    """The probes this check needs that did not answer (skipped by --quick, or failed: the
    ``probes-answered`` check reports why)."""
    return [name for name in spec.needs if facts.data(name) is None]


def run_check(spec: CheckSpec, facts: Facts) -> List[Finding]:
    missing = _unanswered_probes(spec, facts)
    if missing:
        reasons = sorted({getattr(facts.outcome(name), "reason", None) or "not run" for name in missing})
        found = [skipped("needs the %s probe (%s)" % (", ".join(missing), "; ".join(reasons)))]
        return [finding.stamped(spec.id, spec.topic) for finding in found]
    try:
        found = list(spec.function(facts))
        if not found:
            raise ValueError("the check returned no finding")
    except Exception as exc:
        crash = error("check %s crashed: %s: %s" % (spec.id, type(exc).__name__, exc), detail=traceback.format_exc())
        return [replace(crash.stamped(spec.id, spec.topic), crashed=True)]
    return [finding.stamped(spec.id, spec.topic) for finding in found]


def run_checks(specs: Sequence[CheckSpec], facts: Facts) -> Tuple[List[Finding], Dict[str, float]]:
    findings: List[Finding] = []
    timings: Dict[str, float] = {}
    for spec in specs:
        started = time.perf_counter()
        findings.extend(run_check(spec, facts))
        timings[spec.id] = time.perf_counter() - started
    return findings, timings
