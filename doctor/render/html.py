"""The report as one self-contained HTML fragment (inline styles, no network resources), for notebooks
and for files people open in a browser."""

from html import escape
from typing import Dict, List

from doctor.findings import ERROR, INFO, OK, SEVERITY, SKIPPED, WARNING, Finding
from doctor.render.text import summary_line
from doctor.report import Report

_SYMBOLS = {OK: "✓", INFO: "i", WARNING: "!", ERROR: "✗", SKIPPED: "–"}
_COLOURS = {OK: "#1a7f37", INFO: "#0969da", WARNING: "#9a6700", ERROR: "#cf222e", SKIPPED: "#6e7781"}


def _finding(finding: Finding) -> str:
    parts = ['<div style="margin:2px 0">',
             '<span style="color:%s;font-weight:bold">%s</span> <code>%s</code> %s' % (
                 _COLOURS[finding.status], _SYMBOLS[finding.status], escape(finding.id), escape(finding.title))]
    open_it = finding.status in (ERROR, WARNING)
    if finding.detail or finding.fix:
        parts.append('<details%s style="margin-left:1.5em">' % (" open" if open_it else ""))
        parts.append("<summary>details</summary>")
        if finding.detail:
            parts.append('<pre style="white-space:pre-wrap">%s</pre>' % escape(finding.detail))
        if finding.fix:
            parts.append("<div><b>fix:</b> %s</div>" % escape(finding.fix.text))
            for command in finding.fix.commands:
                parts.append('<pre style="margin:2px 0">%s</pre>' % escape(command))
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def render_html(report: Report, show_skipped: bool = False) -> str:
    environment = report.environment()
    groups: Dict[str, List[Finding]] = {}
    for finding in report.findings:
        if finding.status != SKIPPED or show_skipped:
            groups.setdefault(finding.category, []).append(finding)
    ordered = sorted(groups.items(), key=lambda item: (-max(SEVERITY[f.status] for f in item[1]), item[0]))
    body = ['<div class="dl-doctor-report" style="font-family:sans-serif;font-size:13px">',
            "<div><b>dl-doctor %s</b> · Python %s · %s · torch %s · lesson %d</div>" % (
                escape(report.tool_version), escape(str(environment.get("python"))),
                escape(str(environment.get("os"))), escape(str(environment.get("torch"))), report.facts.lesson),
            "<div><code>%s</code></div>" % escape(str(environment.get("python_executable")))]
    for category, findings in ordered:
        body.append('<h4 style="margin:8px 0 2px">%s</h4>' % escape(category.replace("_", " ")))
        body += [_finding(f) for f in sorted(findings, key=lambda f: (-SEVERITY[f.status], f.id))]
    body.append("<div><i>%s</i></div></div>" % escape(summary_line(report)))
    return "".join(body)
