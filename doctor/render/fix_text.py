"""Text for ``dl-doctor fix``: the plan before anything is written, every fix left to the learner with
the pip commands merged, what was written or installed, and the re-check. What the environment provided (paths,
titles, refusal reasons) is shown with its control characters escaped, as the report is."""

from typing import TYPE_CHECKING, List, Sequence, Tuple

from doctor.findings import ERROR, WARNING, Finding
from doctor.render.text import Style, printable, render_installs, symbol

if TYPE_CHECKING:  # named in annotations only: a renderer reads the plans, it never loads the fixing machinery
    from doctor.fixes import AppliedWrite, Plan
    from doctor.fixes.workflow import Proposal


def render_proposal(proposal: "Proposal", applying: bool, installing: bool = False) -> str:
    lines: List[str] = []
    for plan in proposal.plans:
        lines.append("%s: %s" % (plan.fix_id, printable(plan.summary)))
        for write in plan.writes:
            lines.append("  %s %s" % ("write" if applying else "would write", printable(write.path)))
            lines.append("    (%s)" % write.why)
            lines += ["    | " + line for line in printable(write.content.decode("utf-8", "replace")).splitlines()]
        lines += ["  note: " + printable(note) for note in plan.notes]
    for fix_id, reason in proposal.refused:
        lines.append("%s: refused: %s" % (printable(fix_id), printable(reason)))
    if proposal.manual or proposal.advice:
        lines += ["", "Not automatic; run these yourself:"]
        for finding in proposal.manual + proposal.advice:
            lines.append("  %s: %s" % (finding.id, printable(finding.title)))
            lines.append("    " + printable(finding.fix.text))
            lines += ["    $ " + printable(command) for command in finding.fix.commands]
    if proposal.installs:
        lines += [""] + render_installs(proposal.installs)
        if not installing:
            lines.append("`dl-doctor fix --install` tries it with pip first (a dry run); --install --yes runs it.")
    if not (proposal.plans or proposal.refused or proposal.manual or proposal.advice):
        lines.append("Nothing to fix.")
    elif proposal.plans and not applying:
        lines += ["", "Dry run: nothing was written. Apply with --yes."]
    return "\n".join(lines).lstrip("\n") + "\n"


def render_applied(results: Sequence[Tuple["Plan", Sequence["AppliedWrite"], Sequence[Finding]]],
                   style: Style) -> str:
    lines: List[str] = []
    for plan, writes, findings in results:
        for write in writes:
            lines.append("%s: %s %s" % (plan.fix_id, "wrote" if write.changed else "already in place:",
                                        printable(write.path)))
        lines.append("re-checked in a new process:")
        for finding in findings:
            lines.append("  %s %s: %s" % (symbol(style, finding.status), finding.id, printable(finding.title)))
        fixed = not any(f.status == ERROR for f in findings)
        lines.append("%s: %s" % (plan.fix_id, "fixed" if fixed else "still failing"))
    return "\n".join(lines) + "\n"


def render_before_after(before: Sequence[Finding], after: Sequence[Finding], style: Style) -> str:
    """Each re-checked finding as it was and as it is now, then which are fixed."""
    earlier = {finding.id: finding for finding in before}
    lines = ["re-checked in a new process:"]
    for finding in after:
        was = earlier.get(finding.id)
        lines.append("  " + finding.id)
        if was is not None:
            lines.append("    before %s %s" % (symbol(style, was.status), printable(was.title)))
        lines.append("    now    %s %s" % (symbol(style, finding.status), printable(finding.title)))
    fixed = [f.id for f in after if f.status not in (ERROR, WARNING)]
    failing = [f.id for f in after if f.status in (ERROR, WARNING)]
    lines.append("fixed: %s" % (", ".join(fixed) or "none") + ("; still failing: %s" % ", ".join(failing)
                                                               if failing else ""))
    return "\n".join(lines) + "\n"
