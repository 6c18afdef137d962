"""From a report to fixes: which automatic fixes the findings name, their plans (or why an environment
refuses them), the commands that stay manual, and the re-check after applying."""

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from doctor.collect import Target, collect_facts
from doctor.engine import run_checks
from doctor.findings import ERROR, INFO, WARNING, Finding
from doctor.fixes import FixDefinition, FixRefused, Plan
from doctor.fixes.mps_fallback import MPS_FALLBACK
from doctor.registry import registered_checks
from doctor.report import Report

AUTOMATIC_FIXES: Dict[str, FixDefinition] = {fix.id: fix for fix in (MPS_FALLBACK,)}


@dataclass(frozen=True)
class Proposal:
    plans: Tuple[Plan, ...]
    refused: Tuple[Tuple[str, str], ...]  # (fix id, reason)
    manual: Tuple[Finding, ...]  # problems whose fix is a command for the learner to run


def propose(report: Report, requested: Sequence[str] = ()) -> Proposal:
    """Plan the requested fixes, or else every automatic fix a finding names."""
    named = [f.fix.automatic for f in report.findings
             if f.fix and f.fix.automatic and f.status in (ERROR, WARNING, INFO)]
    ids = list(dict.fromkeys(requested or named))
    plans, refused = [], []
    for fix_id in ids:
        if fix_id not in AUTOMATIC_FIXES:
            refused.append((fix_id, "no automatic fix has this name (%s)" % ", ".join(AUTOMATIC_FIXES)))
            continue
        try:
            plans.append(AUTOMATIC_FIXES[fix_id].plan(report.facts))
        except FixRefused as exc:
            refused.append((fix_id, str(exc)))
    manual = tuple(f for f in report.findings
                   if f.status in (ERROR, WARNING) and f.fix and f.fix.commands and not f.fix.automatic)
    return Proposal(tuple(plans), tuple(refused), manual)


def recheck(target: Target, lesson: int, plan: Plan) -> List[Finding]:
    """Run the plan's checks again on facts collected afresh, in new child processes."""
    specs = [spec for spec in registered_checks() if spec.id in plan.rechecks]
    needed = sorted({probe for spec in specs for probe in spec.needs})
    facts = collect_facts(target, lesson, only=needed)
    findings, _ = run_checks(specs, facts)
    return findings
