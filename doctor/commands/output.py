"""What `check`, `bench`, `ops`, `dist`, `learner`, `matrix` and `diff` write: one report in the format asked for,
redacted unless ``--no-redact``, to standard output or ``--output``, and a summary appended to
``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it.

Text printed on a terminal is for the person at it and keeps real paths, so its fix commands can be pasted;
every other format, text piped or redirected, and any file written with ``--output`` can be shared and is redacted.

An ``--output`` file is checked before any probe runs (a folder, a missing folder, a read-only folder are one line,
exit 2, not a failure after minutes of work) and written atomically: a temporary file in the same folder, flushed
to disk, renamed over the old one, so a full disk or a kill leaves the previous file whole.
"""

import argparse
import os
import stat
from pathlib import Path
from typing import Callable, Optional, TextIO

from doctor.commands import UsageError
from doctor.redact import Redactor, redactor_for

STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def _on_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def redactor_of(arguments: argparse.Namespace, stdout: TextIO) -> Optional[Redactor]:
    """The redactor for shareable output; None for text written to a terminal and under --no-redact."""
    kept = arguments.format == "text" and arguments.output is None and _on_terminal(stdout)
    return redactor_for(arguments.redact and not kept)


def render_report(report, arguments: argparse.Namespace, stdout: TextIO, verbose: bool) -> str:
    """A Report of any kind in ``arguments.format``, labelled and redacted as the options say; text is styled
    for ``stdout`` when it goes there, plain for a file."""
    redactor = redactor_of(arguments, stdout)
    report = report.labelled(arguments.label)
    if arguments.format == "text":
        from doctor.render.text import Style

        style = Style.for_stream(stdout) if arguments.output is None else Style(unicode=True, color=False)
        # Text shows no fact it does not print, so redacting what it prints is enough, and far cheaper than
        # redacting every fact of the report.
        text = _render_text(report, style, verbose)
        return redactor.text(text) if redactor else text
    report = report.shareable(redactor)
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


def check_output_paths(output: Optional[str]) -> None:
    """Refuse an ``--output`` that cannot be written, or a CI job summary that cannot be appended to, in one line,
    before the work that fills them begins."""
    _check_step_summary(os.environ.get(STEP_SUMMARY_VARIABLE))
    if output is None:
        return
    if not output:
        raise UsageError("--output needs a file name")
    if os.path.isdir(output):
        raise UsageError("--output %s: is a folder; name a file in it" % output)
    folder = os.path.dirname(os.path.realpath(output))
    if not os.path.isdir(folder):
        raise UsageError("--output %s: the folder %s does not exist" % (output, folder))
    if os.path.exists(output) and not _regular(output):
        return  # a device or a pipe (/dev/stdout) is written in place
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError("--output %s: the folder %s is not writable" % (output, folder))


def _check_step_summary(path: Optional[str]) -> None:
    if not path:
        return
    folder = os.path.dirname(os.path.realpath(path))
    problem = ("is a folder" if os.path.isdir(path) else
               "the folder %s does not exist" % folder if not os.path.isdir(folder) else
               "it is not writable" if os.path.exists(path) and not os.access(path, os.W_OK) else
               "the folder %s is not writable" % folder if not os.path.exists(path) and not os.access(
                   folder, os.W_OK | os.X_OK) else None)
    if problem:
        raise UsageError("$%s %s: cannot append to it (%s)" % (STEP_SUMMARY_VARIABLE, path, problem))


def _regular(path: str) -> bool:
    return stat.S_ISREG(os.stat(path).st_mode)


def write_output(text: str, output: Optional[str], stdout: TextIO) -> None:
    """``text`` to ``stdout``, or atomically to the file ``output``."""
    if output is None:
        stdout.write(text)
        return
    # backslashreplace: a lone surrogate read from a report (a non-UTF-8 path) is written as its escape.
    data = text.encode("utf-8", errors="backslashreplace")
    try:
        if os.path.exists(output) and not _regular(output):
            with open(output, "wb") as handle:
                handle.write(data)
        else:
            from doctor.fixes import atomic_write

            atomic_write(Path(os.path.realpath(output)), data)
    except OSError as exc:
        raise UsageError("--output %s: cannot write it (%s); %s" % (
            output, exc.strerror or exc, "the previous file is unchanged" if os.path.exists(output)
            else "nothing was written")) from None


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
