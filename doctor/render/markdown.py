"""GitHub-flavoured Markdown: the report as a CI job summary (``$GITHUB_STEP_SUMMARY``) or a comment.

Problems come first, each with its evidence and fix in a folded block; what passed is folded away. Text
from the environment is escaped: GitHub renders inline HTML, so ``<user>`` would otherwise vanish.
"""

import html
import re
from typing import List

from doctor.cases import Case, CaseSheet, label_of
from doctor.findings import ERROR, INFO, OK, SKIPPED, WARNING

STATUS_MARKS = {OK: "✅", INFO: "ℹ️", WARNING: "⚠️", ERROR: "❌", SKIPPED: "➖"}
CRASHED_MARK = "💥"
DETAIL_LINES = 40


def mark(case: Case) -> str:
    return CRASHED_MARK if case.crashed else STATUS_MARKS[case.status]


def cell(text: object) -> str:
    """Text that stays inside one table cell and renders as itself."""
    flat = " ".join(str(text).split())
    return html.escape(flat, quote=False).replace("|", "\\|")


def fenced(text: str, language: str = "text") -> str:
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return "%s%s\n%s\n%s" % (fence, language, text.rstrip("\n"), fence)


def _heading(sheet: CaseSheet) -> List[str]:
    environment = sheet.environment
    facts = ["Python %s" % environment.get("python", "?"),
             "%s %s" % (environment.get("os") or "?", environment.get("machine") or ""),
             "torch %s" % environment["torch"] if environment.get("torch") else "no torch"]
    if environment.get("device"):
        facts.append("device %s" % environment["device"])
    if environment.get("lesson"):
        facts.append("lesson %s" % environment["lesson"])
    return ["### dl-doctor %s · %s" % (sheet.kind, cell(label_of(sheet))), "",
            "**%s** · %s · dl-doctor %s%s" % (sheet.summary(), cell(" · ".join(f.strip() for f in facts)),
                                              cell(sheet.tool_version), " · redacted" if sheet.redacted else "")]


def _table(cases: List[Case]) -> List[str]:
    lines = ["| | case | result |", "|---|---|---|"]
    lines += ["| %s | `%s` | %s |" % (mark(case), cell(case.name), cell(case.title)) for case in cases]
    return lines


def _evidence(case: Case) -> List[str]:
    lines = ["<details%s><summary>%s <code>%s</code>: %s</summary>" % (
        " open" if case.status == ERROR else "", mark(case), cell(case.name), cell(case.title)), ""]
    if case.detail:
        detail = case.detail.rstrip().splitlines()
        if len(detail) > DETAIL_LINES:
            detail = ["... (%d earlier lines left out)" % (len(detail) - DETAIL_LINES)] + detail[-DETAIL_LINES:]
        lines += [fenced("\n".join(detail)), ""]
    if case.fix:
        text, *commands = case.fix.split("\n")
        lines.append("**fix:** %s" % cell(text))
        if commands:
            lines += ["", fenced("\n".join(command[2:] if command.startswith("$ ") else command
                                           for command in commands), "sh")]
        lines.append("")
    lines += ["</details>", ""]
    return lines


def render_markdown(sheet: CaseSheet) -> str:
    cases = sheet.worst_first()
    problems = [case for case in cases if case.status in (ERROR, WARNING)]
    rest = [case for case in cases if case.status not in (ERROR, WARNING)]
    lines = _heading(sheet) + [""]
    if problems:
        lines += _table(problems) + [""]
        lines += [line for case in problems for line in _evidence(case)]
    else:
        lines += ["Nothing to fix.", ""]
    if rest:
        lines += ["<details><summary>%d more: ok, info and skipped</summary>" % len(rest), ""]
        lines += _table(rest) + ["", "</details>", ""]
    return "\n".join(lines)
