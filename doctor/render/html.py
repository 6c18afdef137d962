"""The report as HTML with inline styles and no network resources: a fragment for notebooks
(``Report._repr_mimebundle_``) and a whole self-contained page for ``--format html``."""

from html import escape
from typing import Dict, List

from doctor.cases import Case, CaseSheet, label_of
from doctor.findings import ERROR, INFO, OK, SEVERITY, SKIPPED, WARNING

_SYMBOLS = {OK: "✓", INFO: "i", WARNING: "!", ERROR: "✗", SKIPPED: "–"}
_COLOURS = {OK: "#1a7f37", INFO: "#0969da", WARNING: "#9a6700", ERROR: "#cf222e", SKIPPED: "#6e7781"}


def status_badge(status: str, crashed: bool = False) -> str:
    return '<span style="color:%s;font-weight:bold" title="%s">%s</span>' % (
        _COLOURS[status], "crashed" if crashed else status, "💥" if crashed else _SYMBOLS[status])


def _case(case: Case) -> str:
    parts = ['<div style="margin:2px 0">', '%s <code>%s</code> %s' % (
        status_badge(case.status, case.crashed), escape(case.name), escape(case.title))]
    if case.detail or case.fix:
        parts.append('<details%s style="margin-left:1.5em">' % (" open" if case.status in (ERROR, WARNING) else ""))
        parts.append("<summary>details</summary>")
        if case.detail:
            parts.append('<pre style="white-space:pre-wrap">%s</pre>' % escape(case.detail))
        if case.fix:
            text, *commands = case.fix.split("\n")
            parts.append("<div><b>fix:</b> %s</div>" % escape(text))
            parts += ['<pre style="margin:2px 0">%s</pre>' % escape(command[2:]) for command in commands]
        parts.append("</details>")
    parts.append("</div>")
    return "".join(parts)


def _heading(sheet: CaseSheet) -> str:
    environment = sheet.environment
    facts = ["Python %s" % environment.get("python"), str(environment.get("os")),
             "torch %s" % environment.get("torch")]
    if environment.get("device"):
        facts.append("device %s" % environment["device"])
    if environment.get("lesson"):
        facts.append("lesson %s" % environment["lesson"])
    executable = environment.get("python_executable")
    return ("<div><b>dl-doctor %s</b> · %s · %s</div>" % (escape(sheet.tool_version), escape(label_of(sheet)),
                                                         escape(" · ".join(facts)))
            + ("<div><code>%s</code></div>" % escape(str(executable)) if executable else ""))


def render_html(sheet: CaseSheet, show_skipped: bool = False) -> str:
    """A fragment: cases grouped by topic, problems first; ops that run natively are counted, not listed."""
    groups: Dict[str, List[Case]] = {}
    native = 0
    for case in sheet.cases:
        if case.is_op and case.status == OK:
            native += 1
        elif case.status != SKIPPED or show_skipped:
            groups.setdefault(case.group, []).append(case)
    ordered = sorted(groups.items(), key=lambda item: (-max(SEVERITY[c.status] for c in item[1]), item[0]))
    body = ['<div class="dl-doctor-report" style="font-family:sans-serif;font-size:13px">', _heading(sheet)]
    for group, cases in ordered:
        body.append('<h4 style="margin:8px 0 2px">%s</h4>' % escape(group.replace("_", " ")))
        body += [_case(c) for c in sorted(cases, key=lambda c: (-SEVERITY[c.status], c.name))]
    if native:
        body.append("<div>%s %d ops run natively</div>" % (status_badge(OK), native))
    body.append("<div><i>%s</i></div></div>" % escape(sheet.summary()))
    return "".join(body)


def html_page(title: str, body: str) -> str:
    """A whole page around ``body``: UTF-8, no scripts, no links to anything outside the file."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>%s</title>\n</head>\n'
            '<body style="margin:1.5em;font-family:sans-serif">\n%s\n</body>\n</html>\n' % (escape(title), body))


def render_html_page(sheet: CaseSheet) -> str:
    return html_page("dl-doctor %s: %s" % (sheet.kind, label_of(sheet)), render_html(sheet, show_skipped=True))
