"""From a report to fixes: which automatic fixes the findings name, their plans (or why an environment
refuses them), the fixes that stay the learner's to run, their pip commands merged into one, and the
re-check after applying."""

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from doctor.collect import Target, collect_facts
from doctor.engine import run_checks
from doctor.findings import ERROR, INFO, WARNING, Finding
from doctor.fixes import FixDefinition, FixRefused, Plan
from doctor.fixes.kernelspec import KERNELSPEC
from doctor.fixes.mps_fallback import MPS_FALLBACK
from doctor.fixes.pip_merge import MergedCommand, merge_finding_fixes, targets_windows
from doctor.registry import registered_checks
from doctor.report import Report

AUTOMATIC_FIXES: Dict[str, FixDefinition] = {fix.id: fix for fix in (MPS_FALLBACK, KERNELSPEC)}


@dataclass(frozen=True)
class Proposal:
    plans: Tuple[Plan, ...]
    refused: Tuple[Tuple[str, str], ...]  # (fix id, reason)
    manual: Tuple[Finding, ...]  # problems whose fix is a command for the learner to run
    advice: Tuple[Finding, ...] = ()  # problems whose fix is words only (restart, update the driver)
    # The manual fixes' pip commands merged into as few as pip can resolve together.
    installs: Tuple[MergedCommand, ...] = ()


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
    problems = [f for f in report.findings if f.status in (ERROR, WARNING) and f.fix and not f.fix.automatic]
    manual = tuple(f for f in problems if f.fix.commands)
    advice = tuple(f for f in problems if not f.fix.commands)
    installs = tuple(merge_finding_fixes(manual, targets_windows(report.facts)))
    return Proposal(tuple(plans), tuple(refused), manual, advice, installs)


def recheck(target: Target, lesson: int, plan: Plan) -> List[Finding]:
    """Run the plan's checks again on facts collected afresh, in new child processes."""
    specs = [spec for spec in registered_checks() if spec.id in plan.rechecks]
    needed = sorted({probe for spec in specs for probe in spec.needs})
    facts = collect_facts(target, lesson, only=needed)
    findings, _ = run_checks(specs, facts)
    return findings


def recheck_after_install(target: Target, lesson: int, check_ids: Sequence[str]) -> List[Finding]:
    """Run these checks again on every probe's facts, collected afresh: an install can change anything a
    probe sees (imports, torch's build), and checks that read optional probes declare no needs."""
    specs = [spec for spec in registered_checks() if spec.id in check_ids]
    findings, _ = run_checks(specs, collect_facts(target, lesson))
    return findings
