"""The check registry: ``@check`` declares a check (a stable id, a one-line summary, its topic, the probes it
needs and the suites that run it); ``registered_checks`` imports ``doctor.checks`` and returns them.

The checks live in the repository's top-level ``checks/`` folder but install as ``doctor.checks``, so a
learner's own ``checks.py`` in the working directory (first on ``sys.path`` in a notebook) is never imported
in their place.
"""

import importlib
import re
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Tuple

from doctor.facts import Facts
from doctor.findings import Finding

CheckFunction = Callable[[Facts], Iterable[Finding]]

# Each command runs the checks of its suite, whatever their topic.
SUITES = {
    "check": "dl-doctor check and %doctor: the whole diagnosis",
    "bench": "dl-doctor bench: the benchmark fine-tune's verdicts",
    "dist": "dl-doctor dist: multi-process training's verdicts",
    "learner": "dl-doctor learner: will an exported learner load here",
    "widgets": "%doctor widgets: will widgets render in this front end",
}

_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TOPIC_PATTERN = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
_REGISTRY: Dict[str, "CheckSpec"] = {}


@dataclass(frozen=True)
class CheckSpec:
    id: str
    summary: str
    topic: str  # findings carry it as their category; reports group by it
    needs: Tuple[str, ...]
    suites: Tuple[str, ...]
    function: CheckFunction
    reads: Tuple[str, ...] = ()

    @property
    def probes(self) -> Tuple[str, ...]:
        """Every probe whose outcome the check reads: what ``check --only`` runs for it."""
        return tuple(dict.fromkeys(self.needs + self.reads))


def check(id: str, summary: str, *, topic: str, needs: Tuple[str, ...] = (), reads: Tuple[str, ...] = (),
          suites: Tuple[str, ...] = ("check",)) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under ``topic`` (snake_case; reports group findings by it). ``needs`` names the probes
    without whose answer it cannot judge (``--quick`` skips some probes; a check that needs one of them is
    reported as skipped); ``reads`` names the other probes it reads, answered or not (``torch-import`` reports
    a failed torch probe itself). ``check --only`` runs the probes in both. ``suites`` names the commands that
    run it (see ``SUITES``)."""
    if not _ID_PATTERN.match(id):
        raise ValueError("check id %r is not kebab-case" % id)
    if not _TOPIC_PATTERN.match(topic):
        raise ValueError("check %s: topic %r is not snake_case" % (id, topic))
    unknown = [suite for suite in suites if suite not in SUITES]
    if unknown or not suites:
        raise ValueError("check %s: suites %r, not some of %s" % (id, tuple(suites), ", ".join(SUITES)))

    def register(function: CheckFunction) -> CheckFunction:
        existing = _REGISTRY.get(id)
        if existing is not None and existing.function.__qualname__ != function.__qualname__:
            raise ValueError("check id %r is registered twice" % id)
        _REGISTRY[id] = CheckSpec(id, summary, topic, tuple(needs), tuple(suites), function, tuple(reads))
        return function

    return register


def registered_checks(suite: Optional[str] = None) -> List[CheckSpec]:
    """Every check, or those ``suite`` runs, sorted by topic then id."""
    if suite is not None and suite not in SUITES:
        raise ValueError("no suite %r; suites: %s" % (suite, ", ".join(SUITES)))
    importlib.import_module("doctor.checks")
    return sorted((spec for spec in _REGISTRY.values() if suite is None or suite in spec.suites),
                  key=lambda spec: (spec.topic, spec.id))
