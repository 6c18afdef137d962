"""What `check`, `bench` and `ops` write: one report in the format asked for, redacted unless
``--no-redact``, to standard output or ``--output``, and a summary appended to ``$GITHUB_STEP_SUMMARY``
when GitHub Actions sets it.

Text printed on a terminal is for the person at it and keeps real paths, so its fix commands can be pasted;
every other format, and any file written with ``--output``, is meant to be shared and is redacted.
"""

import argparse
import os
from typing import Any, Callable, Dict, Mapping, Optional, TextIO

from doctor.commands import UsageError
from doctor.commands.inputs import write_output
from doctor.redact import Redactor, redactor_for

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def redactor_of(arguments: argparse.Namespace) -> Optional[Redactor]:
    """The redactor for shareable output; None for text on a terminal and under --no-redact."""
    shared = arguments.format != "text" or arguments.output is not None
    return redactor_for(arguments.redact and shared)


def render_report(report, arguments: argparse.Namespace, style, verbose: bool) -> str:
    """A check or bench Report in ``arguments.format``."""
    from doctor.cases import sheet_of_report

    report = report.labelled(arguments.label).shareable(redactor_of(arguments))
    if arguments.format == "text":
        from doctor.render.text import render_text

        return render_text(report, style, verbose=verbose)
    if arguments.format == "json":
        from doctor.render.json_report import render_json

        return render_json(report)
    return render_sheet(sheet_of_report(report), arguments.format)


def report_step_summary(report, arguments: argparse.Namespace) -> str:
    """A Report as Markdown for the CI job summary, which is always shared."""
    from doctor.cases import sheet_of_report

    return render_sheet(sheet_of_report(report.labelled(arguments.label).shareable(redactor_for(arguments.redact))),
                        "markdown")


def ops_step_summary(document: Mapping[str, Any], arguments: argparse.Namespace) -> str:
    from doctor.cases import sheet_of_ops

    shared = shareable_document(dict(document, label=arguments.label), redactor_for(arguments.redact))
    return render_sheet(sheet_of_ops(shared), "markdown")


def render_ops_report(document: Mapping[str, Any], arguments: argparse.Namespace) -> str:
    """An ops report (``doctor.render.ops_report.ops_document``) in ``arguments.format``."""
    from doctor.cases import sheet_of_ops
    from doctor.render.ops_report import render_ops_json, render_ops_text

    document = shareable_document(dict(document, label=arguments.label), redactor_of(arguments))
    if arguments.format == "text":
        return render_ops_text(document)
    if arguments.format == "json":
        return render_ops_json(document)
    return render_sheet(sheet_of_ops(document), arguments.format)


def shareable_document(document: Mapping[str, Any], redactor: Optional[Redactor]) -> Dict[str, Any]:
    if redactor is None:
        return dict(document)
    return dict(redactor.document(document), redacted=True)


def render_sheet(sheet, format: str) -> str:
    """A CaseSheet as Markdown, JUnit XML or an HTML page."""
    if format == "markdown":
        from doctor.render.markdown import render_markdown

        return render_markdown(sheet)
    if format == "junit":
        from doctor.render.junit import render_junit

        return render_junit(sheet)
    from doctor.render.html import render_html_page

    return render_html_page(sheet)


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
