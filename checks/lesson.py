"""The lesson's imports (``from fastai.vision.all import *`` for lesson 1), run the way a notebook runs
them; a failure is reported with its root cause, not just its traceback."""

from packaging.utils import canonicalize_name

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.lessons import DISTRIBUTION_FOR_MODULE, LESSONS, statement_package
from doctor.registry import check

from .commands import install_fix
from .import_errors import (
    explain_import_error, install_words, not_installed, probe_failure,
)
from .shadowing import installed_provider, shadow_fix, shadowing


def _imports(facts):
    outcome = facts.outcome("imports")
    if outcome is None or outcome.status == "skipped":
        return None, None
    return outcome, (outcome.data or {}).get("statements") if outcome.ok else None


def _title(facts):
    profile = LESSONS.get(facts.lesson)
    return "lesson %d (%s)" % (facts.lesson, profile.title) if profile else "lesson %d" % facts.lesson


def distribution_for(module):
    return DISTRIBUTION_FOR_MODULE.get(module, module)


def _origins(facts):
    return (facts.data("python") or {}).get("module_origins") or {}


def missing_packages(facts, statements):
    """The distributions whose top-level module the interpreter cannot find at all, in statement order.

    Read from the python probe's find_spec in a quick check and a full one alike, so both say the same."""
    origins = _origins(facts)
    missing = [statement_package(s) for s in statements if _absent(facts, origins.get(statement_package(s)),
                                                                     statement_package(s))]
    return list(dict.fromkeys(distribution_for(module) for module in missing))


def _absent(facts, origin, module):
    """Not found, or found only as a plain folder (a data folder named datasets/) with nothing installed."""
    if origin is None:
        return False
    if not origin.get("found"):
        return True
    return not origin.get("origin") and not installed_provider(facts, module) \
        and facts.distribution(distribution_for(module)) is None


def lesson_shadows(facts):
    """Local files that hide a package the lesson imports, or one the lesson's stack needs."""
    profile = LESSONS.get(facts.lesson)
    wanted = set(profile.packages()) if profile else set()
    stack = facts.derived.lesson_stack
    return [(module, path) for module, path in sorted(shadowing(facts).items())
            if module in wanted or canonicalize_name(distribution_for(module)) in stack]


def _first_statement(profile, modules):
    return next(s for s in profile.required + profile.optional if statement_package(s) in modules)


def _metadata_judgement(facts):
    """What the lesson's imports will do, from find_spec alone: a missing or a shadowed package."""
    profile = LESSONS.get(facts.lesson)
    if profile is None or facts.data("python") is None:
        return None
    missing = missing_packages(facts, profile.required)
    if missing:
        modules = [m for m in profile.packages() if distribution_for(m) in missing]
        names = " and ".join(missing) if len(missing) <= 2 else ", ".join(missing[:-1]) + " and " + missing[-1]
        return error(
            "`%s` fails: %s %s not installed in %s" % (_first_statement(profile, modules), names,
                                                       "is" if len(missing) == 1 else "are", facts.python),
            detail="%s needs: %s" % (_title(facts), ", ".join(profile.required)),
            fix=install_fix(facts, "Install %s into this interpreter (in a notebook: %%pip install %s):"
                            % ("it" if len(missing) == 1 else "them", " ".join(install_words(missing))),
                            *install_words(missing)),
        )
    shadows = lesson_shadows(facts)
    if shadows:
        module, path = shadows[0]
        statement = _first_statement(profile, [module]) if module in profile.packages() else profile.required[0]
        return error(
            "`%s` fails: %s shadows the installed %s" % (statement, path, module),
            detail="\n".join("%s -> %s" % pair for pair in shadows),
            fix=shadow_fix(facts, dict(shadows[:1]), commands=False),
        )
    return None


@check("lesson-imports", "The lesson's required imports work (from fastai.vision.all import * for lesson 1)",
       reads=('imports', 'python', 'packages'), topic="lesson")
def lesson_imports(facts):
    judged = _metadata_judgement(facts)
    if judged is not None:
        yield judged
        return
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


def _optional_missing(facts, statements):
    """An absent optional package is a choice: info, with one command that installs them all."""
    one = len(statements) == 1
    missing = list(dict.fromkeys(distribution_for(statement_package(s)) for s in statements))
    return info(
        "%d optional import%s %s not installed: %s" % (len(statements), "" if one else "s", "is" if one else "are",
                                                     ", ".join("`%s`" % s for s in statements)),
        detail="\n".join("%s: %s is not installed in %s" % (s, distribution_for(statement_package(s)), facts.python)
                         for s in statements),
        fix=install_fix(facts, "Parts of the lesson need these; install them if you follow those parts:",
                        *install_words(missing)),
    )


def _optional_from_metadata(facts):
    """Without the imports probe's statements (a quick check, or the probe did not finish), find_spec still
    tells which optional packages are missing; whether an installed one imports is not known."""
    profile = LESSONS.get(facts.lesson)
    missing = missing_packages(facts, profile.optional) if profile and facts.data("python") else []
    if not missing:
        return skipped("%s imports did not run" % _title(facts))
    return _optional_missing(facts, [s for s in profile.optional if distribution_for(statement_package(s)) in missing])


def _optional_broken(facts, failed, broken):
    """An optional package that is installed but fails to import is a problem: a warning naming the broken ones,
    with every failure's cause and the commands that mend them."""
    explanations = [(s, explain_import_error(facts, s["error"])) for s in failed]
    commands = [command for _, e in explanations if e.fix for command in e.fix.commands]
    one = len(broken) == 1
    return warning(
        "%d optional import%s %s: %s" % (len(broken), "" if one else "s", "fails" if one else "fail",
                                         ", ".join("`%s`" % s["statement"] for s in broken)),
        detail="\n".join("%s: %s" % (s["statement"], e.cause) for s, e in explanations),
        fix=fix("Parts of the lesson need these; install them if you follow those parts:", *commands)
        if commands else None,
    )


def _optional_imported(facts, statements):
    """The probe's optional statements: all work (ok), only absent packages fail (info), or some installed one
    fails (warning)."""
    optional = [s for s in statements if not s["required"]]
    failed = [s for s in optional if not s["ok"]]
    if not failed:
        return ok("all %d optional imports work" % len(optional) if optional else "no optional imports")
    broken = [s for s in failed if not not_installed(s["statement"], s["error"])]
    if not broken:
        return _optional_missing(facts, [s["statement"] for s in failed])
    return _optional_broken(facts, failed, broken)


@check("lesson-optional-imports", "The lesson's optional imports (image search, deployment, extras)",
       reads=('imports', 'python', 'packages'), topic="lesson")
def lesson_optional_imports(facts):
    _, statements = _imports(facts)
    if statements is None:
        yield _optional_from_metadata(facts)
    else:
        yield _optional_imported(facts, statements)
