"""A Report as Jupyter shows it: HTML where the front end renders it, plain text everywhere else.

Both come from the same Report, so they say the same counts and seconds; the report itself stays plain data.
"""

from typing import Dict

from doctor.report import Report


class ReportDisplay:
    """What ``%doctor`` returns: the report (``.report``) and how a notebook draws it."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def _repr_mimebundle_(self, include=None, exclude=None) -> Dict[str, str]:
        from doctor.fixes.pip_merge import merge_finding_fixes, targets_windows
        from doctor.render.html import render_html
        from doctor.render.text import Style, render_text

        installs = merge_finding_fixes(self.report.findings, targets_windows(self.report.facts))
        return {"text/plain": render_text(self.report, Style(unicode=True, color=False), installs=installs),
                "text/html": render_html(self.report)}
