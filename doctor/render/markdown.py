"""GitHub-flavoured Markdown: the report as a CI job summary (``$GITHUB_STEP_SUMMARY``) or a comment.

Problems come first, each with its evidence and fix in a folded block; what passed is folded away. Text
from the environment is escaped: GitHub renders inline HTML, so ``<user>`` would otherwise vanish.
"""

import html
import re
from typing import List

from doctor.findings import ERROR, INFO, OK, SKIPPED, WARNING
from doctor.report import Entry, Report, label_of, worst_first

STATUS_MARKS = {OK: "✅", INFO: "ℹ️", WARNING: "⚠️", ERROR: "❌", SKIPPED: "➖"}
CRASHED_MARK = "💥"
DETAIL_LINES = 40


def mark(entry) -> str:
    """The mark of anything with a ``status`` and ``crashed``: a finding, an op result, a matrix cell."""
    return CRASHED_MARK if entry.crashed else STATUS_MARKS[entry.status]


def cell(text: object) -> str:
    """Text that stays inside one table cell and renders as itself."""
    flat = " ".join(str(text).split())
    return html.escape(flat, quote=False).replace("|", "\\|")


def fenced(text: str, language: str = "text") -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return "%s%s\n%s\n%s" % (fence, language, text.rstrip("\n"), fence)


def _heading(report: Report) -> List[str]:
    environment = report.environment or {}
    facts = ["Python %s" % environment.get("python", "?"),
             "%s %s" % (environment.get("os") or "?", environment.get("machine") or ""),
             "torch %s" % environment["torch"] if environment.get("torch") else "no torch"]
    if environment.get("device"):
        facts.append("device %s" % environment["device"])
    if report.lesson:
        facts.append("lesson %s" % report.lesson)
    return ["### dl-doctor %s · %s" % (report.kind, cell(label_of(report))), "",
            "**%s** · %s · dl-doctor %s%s" % (report.summary().words(), cell(" · ".join(f.strip() for f in facts)),
                                              cell(report.tool_version), " · redacted" if report.redacted else "")]


def _table(entries: List[Entry]) -> List[str]:
    lines = ["| | case | result |", "|---|---|---|"]
    lines += ["| %s | `%s` | %s |" % (mark(entry), cell(entry.id), cell(entry.title)) for entry in entries]
    return lines


def _evidence(entry: Entry) -> List[str]:
    lines = ["<details%s><summary>%s <code>%s</code>: %s</summary>" % (
        " open" if entry.status == ERROR else "", mark(entry), cell(entry.id), cell(entry.title)), ""]
    if entry.detail:
        detail = entry.detail.rstrip().splitlines()
        if len(detail) > DETAIL_LINES:
            detail = ["... (%d earlier lines left out)" % (len(detail) - DETAIL_LINES)] + detail[-DETAIL_LINES:]
        lines += [fenced("\n".join(detail)), ""]
    if entry.fix:
        lines.append("**fix:** %s" % cell(entry.fix.text))
        if entry.fix.commands:
            lines += ["", fenced("\n".join(entry.fix.commands), "sh")]
        lines.append("")
    lines += ["</details>", ""]
    return lines


def render_markdown(report: Report) -> str:
    entries = worst_first(report)
    problems = [entry for entry in entries if entry.status in (ERROR, WARNING)]
    rest = [entry for entry in entries if entry.status not in (ERROR, WARNING)]
    lines = _heading(report) + [""]
    if problems:
        lines += _table(problems) + [""]
        lines += [line for entry in problems for line in _evidence(entry)]
    else:
        lines += ["Nothing to fix.", ""]
    if rest:
        lines += ["<details><summary>%d more: ok, info and skipped</summary>" % len(rest), ""]
        lines += _table(rest) + ["", "</details>", ""]
    return "\n".join(lines)
