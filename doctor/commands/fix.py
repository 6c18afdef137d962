"""`dl-doctor fix`: list every fix the findings name, apply the automatic ones, run the merged pip command
(``--install``), or undo what was written."""

import argparse
import sys
from typing import TextIO

from doctor.collect import Target
from doctor.commands import EXIT_FINDINGS, EXIT_OK, UsageError
from doctor.commands.check import fix_from_report
from doctor.commands.inputs import target_of
from doctor.lessons import DEFAULT_LESSON


def run_fix(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.fixes.workflow import AUTOMATIC_FIXES

    if arguments.list:
        for fix_id, definition in AUTOMATIC_FIXES.items():
            stdout.write("%s  %s\n" % (fix_id, definition.summary))
        return EXIT_OK
    unknown = [name for name in arguments.fixes if name not in AUTOMATIC_FIXES]
    if unknown:
        raise UsageError("unknown fix %s: the automatic fixes are %s" % (", ".join(map(repr, unknown)),
                                                                       ", ".join(AUTOMATIC_FIXES)))
    if arguments.yes and arguments.dry_run:
        raise UsageError("--yes and --dry-run contradict each other")
    if arguments.undo and (arguments.yes or arguments.fixes or arguments.install):
        raise UsageError("--undo restores everything dl-doctor fix wrote; it takes no fix names, --yes or --install")
    if arguments.install and arguments.fixes:
        raise UsageError("--install runs the pip commands the findings name; it takes no fix names")
    target = target_of(arguments.python)
    if arguments.undo:
        return undo(target, stdout)
    from doctor.collect import collect_facts
    from doctor.render.progress import ProgressBar
    from doctor.diagnose import diagnose

    # A full collection imports torch and fastai (seconds): say so on a terminal rather than sit silent.
    bar = ProgressBar(sys.stderr, True)
    bar.update({"phase": "collecting facts from %s" % target.python})
    try:
        # Named fixes need only the interpreter's facts to plan; otherwise the findings decide what to fix.
        facts = collect_facts(target, arguments.lesson, only=["python"]) if arguments.fixes else None
        report = diagnose(target, lesson=arguments.lesson, facts=facts)
    finally:
        bar.close()
    return fix_from_report(report, target, arguments.fixes, arguments.yes, stdout, install=arguments.install)


def undo(target: Target, stdout: TextIO) -> int:
    from doctor.collect import collect_facts
    from doctor.fixes import FixRefused, Journal

    python = collect_facts(target, DEFAULT_LESSON, quick=True, only=["python"]).data("python")
    if python is None:
        raise UsageError("the interpreter %s did not answer" % target.python)
    try:
        done = Journal(python["prefix"]).undo()
    except (FixRefused, OSError) as exc:
        stdout.write("dl-doctor fix --undo: refused: %s\n" % exc)
        return EXIT_FINDINGS
    stdout.write("\n".join(done) + "\n" if done else "Nothing to undo in %s.\n" % python["prefix"])
    return EXIT_OK
