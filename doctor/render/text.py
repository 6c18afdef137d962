"""The terminal report: findings grouped by topic, problems first, each with its evidence and fix.

Colour and symbols live here alone: ✓ i ! ✗ - on a terminal, ASCII when the output is not a terminal
or NO_COLOR is set (https://no-color.org). Text that comes from the examined environment (an error message, a
path, a package's name) can hold control characters — an ANSI escape that clears the screen, a NUL, a carriage
return that hides a line — so it is shown escaped (``printable``); only this renderer's own colours stay codes.
"""

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Sequence, TextIO

from doctor.findings import ERROR, INFO, OK, SEVERITY, SKIPPED, WARNING, Finding, topic_label
from doctor.report import Report

if TYPE_CHECKING:  # only named in annotations: the merged commands are worked out before rendering
    from doctor.fixes.pip_merge import MergedCommand

DETAIL_LINES = 12
# C0 controls but tab and newline, DEL, and C1 controls (ECMA-48: ESC and CSI start terminal commands).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with every control character but tab and newline written as its ``\\xNN`` escape."""
    return _CONTROL.sub(lambda found: "\\x%02x" % ord(found.group()), text)


@dataclass(frozen=True)
class Style:
    unicode: bool
    color: bool

    @classmethod
    def for_stream(cls, stream: TextIO) -> "Style":
        terminal = hasattr(stream, "isatty") and stream.isatty()
        plain = not terminal or "NO_COLOR" in os.environ
        return cls(unicode=not plain, color=not plain)


_SYMBOLS = {OK: ("✓", "[ok]"), INFO: ("i", "[i]"), WARNING: ("!", "[!]"), ERROR: ("✗", "[x]"), SKIPPED: ("-", "[-]")}
_COLORS = {OK: "32", INFO: "36", WARNING: "33", ERROR: "31", SKIPPED: "2"}


def _paint(style: Style, status: str, text: str) -> str:
    return "\033[%sm%s\033[0m" % (_COLORS[status], text) if style.color else text


def symbol(style: Style, status: str) -> str:
    unicode_symbol, ascii_symbol = _SYMBOLS[status]
    return _paint(style, status, unicode_symbol if style.unicode else ascii_symbol)


def _shorten(detail: str, verbose: bool) -> List[str]:
    lines = detail.rstrip().splitlines()
    if verbose or len(lines) <= DETAIL_LINES:
        return lines
    return ["... (%d more lines with -v)" % (len(lines) - DETAIL_LINES)] + lines[-DETAIL_LINES:]


def _finding_lines(finding: Finding, style: Style, verbose: bool) -> List[str]:
    lines = ["  %s %s: %s" % (symbol(style, finding.status), finding.id, printable(finding.title))]
    shows_evidence = finding.status in (ERROR, WARNING) or verbose
    if shows_evidence and finding.detail:
        lines += ["      " + line for line in _shorten(printable(finding.detail), verbose)]
    if shows_evidence and finding.fix:
        lines.append("      fix: " + printable(finding.fix.text))
        lines += ["        $ " + printable(command) for command in finding.fix.commands]
    if shows_evidence:
        lines += ["      see " + printable(link) for link in finding.links]
    return lines


def render_installs(installs: Sequence["MergedCommand"]) -> List[str]:
    """The merged pip command(s), which findings each fixes, and why any stayed apart."""
    if not installs:
        return []
    if len(installs) == 1:
        lines = ["One pip command for %s:" % ", ".join(installs[0].finding_ids)]
    else:
        lines = ["pip commands, merged where pip can resolve them together:"]
    for merged in installs:
        if len(installs) > 1:
            lines.append("  for %s:" % ", ".join(merged.finding_ids))
        lines.append("  $ " + printable(merged.command))
        lines += ["    " + printable(note) for note in merged.notes]
    return lines


def _merged_install_lines(installs: Sequence["MergedCommand"]) -> List[str]:
    """The problems' pip commands as one, when more than one finding gives one: paste a line, not several."""
    if not any(len(merged.finding_ids) > 1 for merged in installs):
        return []
    return [""] + render_installs(installs)


def _heading(report: Report) -> List[str]:
    env = report.environment or {}
    facts = [
        "Python %s" % env["python"] if env.get("python") else "Python ?",
        "%s %s" % (env.get("os") or "?", env.get("machine") or ""),
        "torch %s (%s)" % (env["torch"], env["torch_flavour"]) if env.get("torch") else "no torch",
        "lesson %s" % report.lesson,
    ]
    if report.quick:
        facts.append("quick")
    heading = ("dl-doctor %s · %s" % (report.tool_version, " · ".join(f.strip() for f in facts)),
               str(env.get("python_executable")))
    return [printable(line) for line in heading]


def _timing_lines(report: Report) -> List[str]:
    from tabulate import tabulate

    rows = [
        (name, "%.2f" % seconds, report.facts.outcome(name).status, report.timings["probe_peak_rss_kb"].get(name))
        for name, seconds in report.timings.get("probes_s", {}).items()
        if report.facts.outcome(name).status != "skipped"
    ]
    table = tabulate(rows, headers=("probe", "seconds", "status", "peak RSS kB"))
    return ["", "timings"] + ["  " + line for line in table.splitlines()]


def render_text(report: Report, style: Style, verbose: bool = False,
                installs: Sequence["MergedCommand"] = ()) -> str:
    """The report for a person; ``installs`` are the findings' pip commands merged (doctor.fixes.pip_merge)."""
    if not style.unicode:
        heading = [line.replace("·", "|") for line in _heading(report)]
    else:
        heading = _heading(report)
    groups: Dict[str, List[Finding]] = {}
    for finding in report.findings:
        if finding.status == SKIPPED and not verbose:
            continue
        groups.setdefault(finding.category, []).append(finding)
    ordered = sorted(groups.items(), key=lambda item: (-max(SEVERITY[f.status] for f in item[1]), item[0]))
    lines = heading
    for category, findings in ordered:
        lines += ["", topic_label(category)]
        for finding in sorted(findings, key=lambda f: (-SEVERITY[f.status], f.id)):
            lines += _finding_lines(finding, style, verbose)
    if verbose:
        lines += _timing_lines(report)
    lines += _merged_install_lines(installs)
    lines += ["", report.summary().words()]
    return "\n".join(lines) + "\n"
