"""The ``--install`` step of ``dl-doctor fix``: the merged pip command tried as a dry run, then (with ``--yes``)
run for real in the target environment, then the findings it fixes re-checked in a fresh child.

Every way it can fail ends in one line and exit 1; after a real install that failed or was interrupted the
re-check still runs, so whatever pip left behind is shown rather than guessed.
"""

import sys
from typing import List, Sequence, TextIO

from doctor.collect import Target
from doctor.commands import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK
from doctor.findings import ERROR
from doctor.fixes import FixRefused
from doctor.fixes.pip_merge import MergedCommand
from doctor.report import Report

PREFIX = "dl-doctor fix --install"


def install_merged(report: Report, target: Target, installs: Sequence[MergedCommand], apply: bool,
                   stdout: TextIO) -> int:
    from doctor.fixes.pip_install import check_installable, dry_run, install_for_real
    from doctor.render.text import Style

    python = (report.facts.data("python") or {}).get("executable") or report.facts.python
    runnable = []
    for merged in installs:
        why_not = _why_not_run(merged, python)
        if why_not:
            stdout.write("not run (%s): $ %s\n" % (why_not, merged.command))
        else:
            runnable.append(merged)
    if not runnable:
        stdout.write("Nothing for pip to install.\n")
        return EXIT_OK
    try:
        check_installable(report.facts)
    except FixRefused as exc:
        stdout.write("%s: refused: %s\n" % (PREFIX, exc))
        return EXIT_FINDINGS
    stdout.write("pip needs the network: it downloads from the package index.\n")
    for merged in runnable:
        stdout.write("dry run (changes nothing): $ %s --dry-run\n" % merged.command)
        stdout.flush()
        tried = dry_run(target, merged.install)
        if not tried.ok:
            stdout.write("%s: pip cannot install this (offline, or no such version on the index?): %s\n"
                         % (PREFIX, tried.error))
            return EXIT_FINDINGS
        stdout.write("  pip would install: %s\n" % (", ".join(tried.would_install) or "nothing, all satisfied"))
    if not apply:
        stdout.write("Dry run: nothing was installed. Install with --install --yes.\n")
        return EXIT_OK
    ids = list(dict.fromkeys(finding_id for merged in runnable for finding_id in merged.finding_ids))
    failure, code = None, EXIT_FINDINGS
    for merged in runnable:
        stdout.write("installing: $ %s\n" % merged.command)
        stdout.flush()
        try:
            done = install_for_real(target, merged.install)
        except KeyboardInterrupt:
            failure, code = "interrupted while pip was installing", EXIT_INTERRUPTED
            break
        if not done.ok:
            failure = "pip failed: %s" % done.error
            break
    after = _recheck(target, report.facts.lesson, ids)
    from doctor.render.fix_text import render_before_after

    stdout.write(render_before_after([f for f in report.findings if f.id in ids], after, Style.for_stream(stdout)))
    if failure:
        stdout.write("%s: %s (the re-check above shows the environment as pip left it)\n" % (PREFIX, failure))
        return code
    return EXIT_FINDINGS if any(finding.status == ERROR for finding in after) else EXIT_OK


def _why_not_run(merged: MergedCommand, python: str) -> str:
    """Why dl-doctor leaves a command to the learner, or '' when it may run it."""
    if merged.install is None:
        return "not a plain pip install"
    if merged.install.python != python:
        return "it is for another environment"
    if merged.contradicts:
        return "it contradicts the command above: choose one yourself"
    return ""


def _recheck(target: Target, lesson: int, check_ids: Sequence[str]) -> List:
    from doctor.fixes.workflow import recheck_after_install
    from doctor.render.progress import ProgressBar

    bar = ProgressBar(sys.stderr, True)
    bar.update({"phase": "re-checking %s" % ", ".join(check_ids)})
    try:
        return recheck_after_install(target, lesson, check_ids)
    finally:
        bar.close()
