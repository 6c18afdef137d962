"""A Report as Jupyter shows it: HTML where the front end renders it, plain text everywhere else.

Both come from the same Report, so they say the same counts and seconds; the report itself stays plain data. What a
notebook shows is saved in the ``.ipynb`` and travels with it, so both are redacted unless ``%doctor --no-redact``.
"""

from typing import TYPE_CHECKING, Dict, Optional

from doctor.report import Report

if TYPE_CHECKING:  # only named in annotations
    from doctor.redact import Redactor


class ReportDisplay:
    """What ``%doctor`` returns: the report (``.report``, unredacted) and how a notebook draws it, through
    ``redactor`` (None: real paths and names)."""

    def __init__(self, report: Report, redactor: Optional["Redactor"] = None) -> None:
        self.report = report
        self.redactor = redactor

    def _repr_mimebundle_(self, include=None, exclude=None) -> Dict[str, str]:
        from doctor.fixes.pip_merge import merge_finding_fixes, targets_windows
        from doctor.render.html import render_html
        from doctor.render.text import Style, render_text

        shown = self.report.shareable(self.redactor)
        installs = merge_finding_fixes(shown.findings, targets_windows(shown.facts))
        return {"text/plain": render_text(shown, Style(unicode=True, color=False), installs=installs),
                "text/html": render_html(shown)}
