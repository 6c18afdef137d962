"""Diagnosing an environment: collect its facts (unless given), run the checks, and time both into a Report.

This is the orchestration every command and ``%doctor`` share; the Report it returns is plain data.
"""

import platform
import time
from typing import List, Optional

from doctor.collect import Target, collect_facts
from doctor.engine import run_checks
from doctor.facts import Facts
from doctor.findings import SEVERITY
from doctor.registry import CheckSpec, registered_checks
from doctor.report import Report


def diagnose(
    target: Target,
    lesson: int,
    quick: bool = False,
    facts: Optional[Facts] = None,
    checks: Optional[List[CheckSpec]] = None,
    started: Optional[float] = None,
) -> Report:
    """Collect (unless ``facts`` are given), run every check, and return the Report.

    ``started`` (a ``time.perf_counter()`` value) is when the caller began collecting ``facts``, so the report's
    time counts that collection; without it, given facts (a saved file) took no time to collect.
    """
    started = time.perf_counter() if started is None else started
    if facts is None:
        facts = collect_facts(target, lesson, quick)
    collected = time.perf_counter()
    findings, check_timings = run_checks(checks if checks is not None else registered_checks("check"), facts)
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
