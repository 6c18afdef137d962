"""The lesson's imports (``from fastai.vision.all import *`` for lesson 1), run the way a notebook runs
them; a failure is reported with its root cause, not just its traceback."""

from checks.import_errors import explain_import_error, not_installed, probe_failure
from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.lessons import LESSONS
from doctor.registry import check


def _imports(facts):
    outcome = facts.outcome("imports")
    if outcome is None or outcome.status == "skipped":
        return None, None
    return outcome, (outcome.data or {}).get("statements") if outcome.ok else None


def _title(facts):
    profile = LESSONS.get(facts.lesson)
    return "lesson %d (%s)" % (facts.lesson, profile.title) if profile else "lesson %d" % facts.lesson


@check("lesson-imports", "The lesson's required imports work (from fastai.vision.all import * for lesson 1)")
def lesson_imports(facts):
    outcome, statements = _imports(facts)
    if outcome is None:
        yield skipped("%s imports not run with --quick" % _title(facts))
        return
    if statements is None:
        title, detail = probe_failure(outcome)
        yield error("importing the %s stack does not finish: %s" % (_title(facts), title), detail=detail,
                    fix=fix("Run the import in a terminal with python -X faulthandler to see where it stops."))
        return
    required = [s for s in statements if s["required"]]
    failed = [s for s in required if not s["ok"]]
    if not failed:
        seconds = sum(s["seconds"] for s in required)
        yield ok("%s imports work (%.1f s)" % (_title(facts), seconds),
                 detail="\n".join(s["statement"] for s in required))
        return
    first = failed[0]
    explanation = explain_import_error(facts, first["error"])
    others = "".join("\nalso fails: %s" % s["statement"] for s in failed[1:])
    yield error(
        "`%s` fails: %s" % (first["statement"], explanation.cause),
        detail="%s%s" % (first["error"].get("traceback", "").strip(), others),
        fix=explanation.fix,
    )


@check("lesson-optional-imports", "The lesson's optional imports (image search, deployment, extras)")
def lesson_optional_imports(facts):
    outcome, statements = _imports(facts)
    if statements is None:
        yield skipped("%s imports did not run" % _title(facts))
        return
    optional = [s for s in statements if not s["required"]]
    failed = [s for s in optional if not s["ok"]]
    if not failed:
        yield ok("all %d optional imports work" % len(optional) if optional else "no optional imports")
        return
    explanations = [(s, explain_import_error(facts, s["error"])) for s in failed]
    commands = [command for _, e in explanations if e.fix for command in e.fix.commands]
    detail = "\n".join("%s: %s" % (s["statement"], e.cause) for s, e in explanations)
    broken = [s for s in failed if not not_installed(s["statement"], s["error"])]
    # An absent optional package is a choice; one that is installed but fails to import is a problem.
    one = len(broken or failed) == 1
    if broken:
        build, shown, verb = warning, broken, "fails" if one else "fail"
    else:
        build, shown, verb = info, failed, "is not installed" if one else "are not installed"
    yield build(
        "%d optional import%s %s: %s" % (len(shown), "" if one else "s", verb,
                                         ", ".join("`%s`" % s["statement"] for s in shown)),
        detail=detail,
        fix=fix("Parts of the lesson need these; install them if you follow those parts:", *commands)
        if commands else None,
    )
