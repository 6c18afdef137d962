"""What `check`, `bench` and `ops` write: one report in the format asked for, redacted unless
``--no-redact``, to standard output or ``--output``, and a summary appended to ``$GITHUB_STEP_SUMMARY``
when GitHub Actions sets it.

Text printed on a terminal is for the person at it and keeps real paths, so its fix commands can be pasted;
every other format, and any file written with ``--output``, is meant to be shared and is redacted.
"""

import argparse
import os
from typing import Callable, Optional, TextIO

from doctor.commands import UsageError
from doctor.commands.inputs import write_output
from doctor.redact import Redactor, redactor_for

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def redactor_of(arguments: argparse.Namespace) -> Optional[Redactor]:
    """The redactor for shareable output; None for text on a terminal and under --no-redact."""
    shared = arguments.format != "text" or arguments.output is not None
    return redactor_for(arguments.redact and shared)


def render_report(report, arguments: argparse.Namespace, style, verbose: bool) -> str:
    """A Report of any kind in ``arguments.format``, labelled and redacted as the options say."""
    report = report.labelled(arguments.label).shareable(redactor_of(arguments))
    if arguments.format == "text":
        return _render_text(report, style, verbose)
    if arguments.format == "json":
        from doctor.render.json_report import render_json

        return render_json(report)
    if arguments.format == "markdown":
        from doctor.render.markdown import render_markdown

        return render_markdown(report)
    if arguments.format == "junit":
        from doctor.render.junit import render_junit

        return render_junit(report)
    from doctor.render.html import render_html_page

    return render_html_page(report)


def _render_text(report, style, verbose: bool) -> str:
    from doctor.report import OPS

    if report.kind == OPS:
        from doctor.render.ops_report import render_ops_text

        return render_ops_text(report)
    from doctor.fixes.pip_merge import merge_finding_fixes, targets_windows
    from doctor.render.text import render_text

    installs = merge_finding_fixes(report.findings, targets_windows(report.facts))
    return render_text(report, style, verbose=verbose, installs=installs)


def report_step_summary(report, arguments: argparse.Namespace) -> str:
    """A Report as Markdown for the CI job summary, which is always shared."""
    from doctor.render.markdown import render_markdown

    return render_markdown(report.labelled(arguments.label).shareable(redactor_for(arguments.redact)))


def publish(text: str, arguments: argparse.Namespace, stdout: TextIO, summary: str, what: str,
            step_summary: Callable[[], str]) -> None:
    """Write the rendered report, say where it went, and append to the CI job summary when there is one."""
    write_output(text, arguments.output, stdout)
    if arguments.output is not None:
        stdout.write("dl-doctor: %s written to %s (%s)\n" % (what, arguments.output, summary))
    path = os.environ.get(STEP_SUMMARY_VARIABLE)
    if path:
        try:
            with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
                handle.write(step_summary() + "\n")
        except OSError as exc:
            raise UsageError("$%s %s: cannot append to it (%s)" % (STEP_SUMMARY_VARIABLE, path,
                                                                   exc.strerror or exc)) from None
