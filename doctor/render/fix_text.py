"""Text for ``dl-doctor fix``: the plan before anything is written, what was written, and the re-check."""

from typing import List, Sequence, Tuple

from doctor.findings import ERROR, Finding
from doctor.fixes import AppliedWrite, Plan
from doctor.fixes.workflow import Proposal
from doctor.render.text import Style, symbol


def render_proposal(proposal: Proposal, applying: bool) -> str:
    lines: List[str] = []
    for plan in proposal.plans:
        lines.append("%s: %s" % (plan.fix_id, plan.summary))
        for write in plan.writes:
            lines.append("  %s %s" % ("write" if applying else "would write", write.path))
            lines.append("    (%s)" % write.why)
            lines += ["    | " + line for line in write.content.decode("utf-8").splitlines()]
        lines += ["  note: " + note for note in plan.notes]
    for fix_id, reason in proposal.refused:
        lines.append("%s: refused: %s" % (fix_id, reason))
    if proposal.manual:
        lines += ["", "Not automatic (dl-doctor never installs packages); run these yourself:"]
        for finding in proposal.manual:
            lines.append("  %s: %s" % (finding.id, finding.fix.text))
            lines += ["    $ " + command for command in finding.fix.commands]
    if not proposal.plans and not proposal.refused and not proposal.manual:
        lines.append("Nothing to fix.")
    elif proposal.plans and not applying:
        lines += ["", "Dry run: nothing was written. Apply with --yes."]
    return "\n".join(lines) + "\n"


def render_applied(results: Sequence[Tuple[Plan, Sequence[AppliedWrite], Sequence[Finding]]], style: Style) -> str:
    lines: List[str] = []
    for plan, writes, findings in results:
        for write in writes:
            lines.append("%s: %s %s" % (plan.fix_id, "wrote" if write.changed else "already in place:", write.path))
        lines.append("re-checked in a new process:")
        for finding in findings:
            lines.append("  %s %s: %s" % (symbol(style, finding.status), finding.id, finding.title))
        fixed = not any(f.status == ERROR for f in findings)
        lines.append("%s: %s" % (plan.fix_id, "fixed" if fixed else "still failing"))
    return "\n".join(lines) + "\n"
