"""`dl-doctor matrix` (merge a CI matrix's JSON reports into one table) and `dl-doctor diff` (two of them)."""

import argparse
import sys
from typing import List, TextIO

from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError
from doctor.commands.output import check_output_paths, write_output
from doctor.redact import redactor_for


def _read_all(paths: List[str], skip_bad: bool):
    from doctor.reader import ReportError, read_report

    loaded, bad = [], []
    for path in paths:
        try:
            loaded.append(read_report(path))
        except ReportError as exc:
            if not skip_bad:
                raise UsageError("%s (--skip-bad leaves such files out)" % exc) from None
            bad.append(str(exc))
    for problem in bad:
        sys.stderr.write("dl-doctor matrix: skipped %s\n" % problem)
    if not loaded:
        raise UsageError("no readable reports among the %d file(s) given" % len(paths))
    return loaded


def run_matrix(arguments: argparse.Namespace, stdout: TextIO) -> int:
    """Exit 0 when no leg has an error, 1 when one does (the table says which)."""
    from dataclasses import replace

    from doctor.findings import ERROR
    from doctor.matrix import build_matrix
    from doctor.render.matrix_report import render_matrix_html, render_matrix_json, render_matrix_markdown

    check_output_paths(arguments.output)
    redactor = redactor_for(arguments.redact)
    # A report redacted where it was written is redacted by its own machine's names; only the rest need it here,
    # and only in what the table shows.
    reports = [loaded if loaded.report.redacted else replace(loaded, report=loaded.report.shareable(redactor, False))
               for loaded in _read_all(arguments.reports, arguments.skip_bad)]
    matrix = build_matrix(reports)
    render = {"markdown": render_matrix_markdown, "html": render_matrix_html, "json": render_matrix_json}
    write_output(render[arguments.format](matrix), arguments.output, stdout)
    failing = matrix.failing((ERROR,))
    if arguments.output is not None:
        stdout.write("dl-doctor: matrix of %d environments written to %s (%d with errors)\n"
                     % (len(matrix.columns), arguments.output, sum(1 for names in failing.values() if names)))
    return EXIT_FINDINGS if any(failing.values()) else EXIT_OK


def run_diff(arguments: argparse.Namespace, stdout: TextIO) -> int:
    """Exit 0 when the two environments match, 1 when they differ (as diff(1) does)."""
    from dataclasses import replace

    from doctor.diff import diff_reports
    from doctor.reader import ReportError, read_report
    from doctor.render.diff_report import render_diff_json, render_diff_markdown, render_diff_text
    from doctor.report import label_of

    check_output_paths(arguments.output)
    try:
        a, b = read_report(arguments.a, full=True), read_report(arguments.b, full=True)
        differences = diff_reports(a, b)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    redactor = redactor_for(arguments.redact)
    label_a, label_b = label_of(a.report), label_of(b.report)
    if redactor is not None:
        # Compared again once redacted: two home folders that both became ~ are no difference to share.
        redacted = [replace(d, name=redactor.text(d.name), a=d.a and redactor.text(d.a), b=d.b and redactor.text(d.b))
                    for d in differences]
        differences = [d for d in redacted if d.a != d.b]
        label_a, label_b = redactor.text(label_a), redactor.text(label_b)
    render = {"text": render_diff_text, "markdown": render_diff_markdown, "json": render_diff_json}
    write_output(render[arguments.format](differences, label_a, label_b), arguments.output, stdout)
    return EXIT_FINDINGS if differences else EXIT_OK
