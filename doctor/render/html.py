"""The report as HTML with inline styles and no network resources: a fragment for notebooks
(doctor.notebook.display) and a whole self-contained page for ``--format html``."""

from html import escape
from typing import Dict, List

from doctor.findings import ERROR, INFO, OK, SEVERITY, SKIPPED, WARNING, Fix, topic_label
from doctor.report import Entry, OpResult, Report, label_of

_SYMBOLS = {OK: "✓", INFO: "i", WARNING: "!", ERROR: "✗", SKIPPED: "–"}
_COLOURS = {OK: "#1a7f37", INFO: "#0969da", WARNING: "#9a6700", ERROR: "#cf222e", SKIPPED: "#6e7781"}


def status_badge(status: str, crashed: bool = False) -> str:
    return '<span style="color:%s;font-weight:bold" title="%s">%s</span>' % (
        _COLOURS[status], "crashed" if crashed else status, "💥" if crashed else _SYMBOLS[status])


def _fix(fix: Fix) -> List[str]:
    return (["<div><b>fix:</b> %s</div>" % escape(fix.text)]
            + ['<pre style="margin:2px 0">%s</pre>' % escape(command) for command in fix.commands])


def _entry(entry: Entry) -> str:
    parts = ['<div style="margin:2px 0">', '%s <code>%s</code> %s' % (
        status_badge(entry.status, entry.crashed), escape(entry.id), escape(entry.title))]
    if entry.detail or entry.fix:
        parts.append('<details%s style="margin-left:1.5em">' % (" open" if entry.status in (ERROR, WARNING) else ""))
        parts.append("<summary>details</summary>")
        if entry.detail:
            parts.append('<pre style="white-space:pre-wrap">%s</pre>' % escape(entry.detail))
        if entry.fix:
            parts += _fix(entry.fix)
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def _heading(report: Report) -> str:
    environment = report.environment or {}
    facts = ["Python %s" % environment.get("python"), str(environment.get("os")),
             "torch %s" % environment.get("torch")]
    if environment.get("device"):
        facts.append("device %s" % environment["device"])
    if report.lesson:
        facts.append("lesson %s" % report.lesson)
    executable = environment.get("python_executable")
    return ("<div><b>dl-doctor %s</b> · %s · %s</div>" % (escape(report.tool_version), escape(label_of(report)),
                                                         escape(" · ".join(facts)))
            + ("<div><code>%s</code></div>" % escape(str(executable)) if executable else ""))


def render_html(report: Report, show_skipped: bool = False) -> str:
    """A fragment: findings and ops grouped by topic, problems first; ops that run natively are counted, not
    listed; the summary last."""
    groups: Dict[str, List[Entry]] = {}
    native = 0
    for entry in report.entries():
        if isinstance(entry, OpResult) and entry.status == OK:
            native += 1
        elif entry.status != SKIPPED or show_skipped:
            groups.setdefault(entry.category, []).append(entry)
    ordered = sorted(groups.items(), key=lambda item: (-max(SEVERITY[e.status] for e in item[1]), item[0]))
    body = ['<div class="dl-doctor-report" style="font-family:sans-serif;font-size:13px">', _heading(report)]
    for group, entries in ordered:
        body.append('<h4 style="margin:8px 0 2px">%s</h4>' % escape(topic_label(group)))
        body += [_entry(e) for e in sorted(entries, key=lambda e: (-SEVERITY[e.status], e.id))]
    if native:
        body.append("<div>%s %d ops run natively</div>" % (status_badge(OK), native))
    body.append("<div><i>%s</i></div></div>" % escape(report.summary().words()))
    return "".join(body)


def html_page(title: str, body: str) -> str:
    """A whole page around ``body``: UTF-8, no scripts, no links to anything outside the file."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>%s</title>\n</head>\n'
            '<body style="margin:1.5em;font-family:sans-serif">\n%s\n</body>\n</html>\n' % (escape(title), body))


def render_html_page(report: Report) -> str:
    return html_page("dl-doctor %s: %s" % (report.kind, label_of(report)), render_html(report, show_skipped=True))
