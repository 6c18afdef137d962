"""Lesson API drift: the library calls the course's own notebooks make (doctor/lessons.py) against the
installed libraries, as the imports probe looked them up (lesson-api-drift); and lesson 4's Trainer, which
needs the accelerate that transformers itself declares in its dependency table (transformers-accelerate)."""

from typing import Dict, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from doctor.findings import Finding, error, fix, info, ok, skipped, warning
from doctor.lessons import LESSONS, Change, LessonCall
from doctor.registry import check

from .commands import conflicts_text, install_fix, plan_install

_STATUS = {"error": error, "warning": warning, "info": info}


def _records(facts) -> Tuple[Optional[List[Dict]], Optional[str]]:
    """The probe's call records, or why there are none."""
    outcome = facts.outcome("imports")
    if outcome is None or outcome.status == "skipped":
        return None, "not run with --quick" if facts.quick else "the imports probe did not run"
    if not outcome.ok:
        return None, "the imports probe did not finish (see lesson-imports)"
    records = (outcome.data or {}).get("calls")
    if records is None:
        return None, "these facts have no call lookups (recorded by an older dl-doctor)"
    return records, None


def _record_for(call: LessonCall, records: Sequence[Dict]) -> Optional[Dict]:
    for record in records:
        if (record.get("module"), record.get("target"), record.get("code")) == (call.module, call.target, call.code):
            return record
    return None


def _upper_bound(pin: str) -> Optional[Version]:
    try:
        specifiers = Requirement(pin).specifier
        return min((Version(s.version) for s in specifiers if s.operator in ("<", "<=")), default=None)
    except (InvalidRequirement, InvalidVersion):
        return None


def _strictest(pins: Sequence[str]) -> str:
    """The one pin that keeps every changed name: the lowest upper bound ('transformers<4.46' over '<5')."""
    bounded = [(bound, pin) for pin in pins for bound in [_upper_bound(pin)] if bound is not None]
    return min(bounded)[1] if bounded else pins[0]


def _new_name(edit: str) -> str:
    """'eval_strategy='epoch'' -> 'eval_strategy'; 'gr.Image(height=192)' -> 'gr.Image'."""
    for mark in ("=", "("):
        edit = edit.split(mark)[0]
    return edit.strip()


def _spelling(call: LessonCall, names: Sequence[str]) -> str:
    """How the title shows the failing part of the call: `TrainingArguments(evaluation_strategy=...)`."""
    if names == [""]:
        return call.spelled
    return "%s(%s)" % (call.spelled, ", ".join("%s=..." % name for name in names))


def _drift_finding(facts, call: LessonCall, record: Dict, names: List[str], deprecated: List[str]) -> Finding:
    distribution = call.distribution
    version = record.get("version") or "?"
    changes: List[Tuple[str, Optional[Change]]] = [(name, call.change(name)) for name in names or deprecated]
    edits = [(name, change.edit) for name, change in changes if change is not None and change.edit]
    pins = [change.pin for _, change in changes if change is not None]
    sources = sorted({change.source for _, change in changes if change is not None})
    parts = call.target.split(".")
    missing = record.get("missing")
    what = ".".join([call.module] + parts[:parts.index(missing) + 1 if missing in parts else len(parts)])
    if names == [""]:
        cause = "%s %s has no %s" % (distribution, version, what)
        if edits:
            cause += " (now %s)" % edits[0][1]
    else:
        one = len(names or deprecated) == 1
        renamed = [_new_name(edit) for _, edit in edits]
        verb = "renamed" if len(renamed) == len(names or deprecated) else "removed"
        cause = "%s %s %s %s" % (distribution, version, verb, "it" if one else "them")
        if renamed:
            cause += " " + " and ".join(renamed)
    detail = ["%s" % call.code, "from %s" % call.notebook]
    if names and names != [""]:
        detail.append("%s %s does not accept: %s (read from its %s)" % (
            distribution, version, ", ".join(names), record.get("how") or "signature"))
    if deprecated:
        detail.append("still accepted with a deprecation warning: %s" % ", ".join(deprecated))
    if sources:
        detail.append("source: %s" % "; ".join(sources))
    text = []
    if edits:
        text.append("Edit the notebook: %s." % "; ".join(
            "`%s` -> `%s`" % (("%s=" % name) if name else call.code, edit) for name, edit in edits))
    command = None
    if pins:
        pin = _strictest(pins)
        plan = plan_install(facts, pin)
        command = plan.command
        if command:
            text.append("Or keep the course's code as written, with a %s that still accepts it:" % distribution)
        else:
            text.append("(Pinning %s to keep the course's code is no way out: %s.)"
                        % (pin, conflicts_text(plan.conflicts)))
    else:
        text.append("Check %s's changelog for what replaced it." % distribution)
    status = "info" if not names else call.status
    title_names = names if names else deprecated
    if not names:
        title = "`%s` works but is deprecated: a later %s %s" % (
            _spelling(call, title_names), distribution, "renames it" if edits else "removes it")
    else:
        title = "`%s` fails: %s" % (_spelling(call, title_names), cause)
    return _STATUS[status](title, detail="\n".join(detail), fix=fix(" ".join(text), *([command] if command else [])))


@check("lesson-api-drift", "The lesson's own library calls (TrainingArguments, gr.inputs, DDGS) match the installed "
                           "libraries: no renamed keyword or removed name",
       reads=('imports', 'python', 'packages'), topic="drift")
def lesson_api_drift(facts):
    profile = LESSONS.get(facts.lesson)
    if profile is None or not profile.calls:
        yield skipped("lesson %d makes no library calls that dl-doctor checks" % facts.lesson)
        return
    records, reason = _records(facts)
    if records is None:
        yield skipped("lesson %d's library calls not checked: %s" % (facts.lesson, reason))
        return
    checked, problems = [], []
    for call in profile.calls:
        record = _record_for(call, records)
        # Not installed or not importable: lesson-imports and lesson-optional-imports say so.
        if record is None or not record.get("installed") or record.get("import_error") or record.get("probe_error"):
            continue
        checked.append("%s  (%s %s)" % (call.code, call.distribution, record.get("version") or "?"))
        if record.get("missing"):
            problems.append(_drift_finding(facts, call, record, [""], []))
            continue
        keywords = record.get("keywords") or {}
        rejected = [k for k in call.keywords if keywords.get(k) == "rejected"]
        deprecated = [k for k in call.keywords if keywords.get(k) == "deprecated"]
        if rejected or deprecated:
            problems.append(_drift_finding(facts, call, record, rejected, deprecated))
    if problems:
        yield from problems
        return
    if not checked:
        yield skipped("none of lesson %d's libraries with known calls is installed" % facts.lesson)
        return
    yield ok("lesson %d's %d library call%s match the installed libraries" % (
        facts.lesson, len(checked), "" if len(checked) == 1 else "s"), detail="\n".join(checked))


def _accelerate_requirement(facts) -> Tuple[Optional[Requirement], str]:
    course = facts.data("course")
    if course is None:
        return None, "the course probe did not answer"
    table = (course.get("tables") or {}).get("transformers")
    if not table:
        return None, "transformers' dependency table was not read"
    if table.get("error"):
        return None, "transformers' dependency table is unreadable: %s" % table["error"]
    text = (table.get("entries") or {}).get("accelerate")
    if not text:
        return None, "transformers' dependency table names no accelerate"
    try:
        return Requirement(text), table.get("path") or ""
    except InvalidRequirement:
        return None, "transformers' dependency table has an unparsable accelerate entry: %r" % text


@check("transformers-accelerate", "Lesson 4's Trainer has the accelerate that the installed transformers requires",
       reads=('course', 'packages', 'python'), topic="drift")
def transformers_accelerate(facts):
    profile = LESSONS.get(facts.lesson)
    if profile is None or "transformers" not in profile.packages():
        yield skipped("lesson %d does not use transformers" % facts.lesson)
        return
    transformers = facts.distribution("transformers")
    if transformers is None:
        yield skipped("transformers is not installed (see lesson-imports)")
        return
    requirement, where = _accelerate_requirement(facts)
    if requirement is None:
        yield skipped(where)
        return
    needs = "transformers %s needs %s%s" % (transformers.version, requirement.name, requirement.specifier)
    detail = "%s (from %s); Trainer and TrainingArguments raise ImportError without it" % (needs, where)
    accelerate = facts.distribution("accelerate")
    install = install_fix(facts, "Install it into this interpreter:", str(requirement))
    if accelerate is None:
        yield error("`Trainer(...)` fails: accelerate is not installed (%s)" % needs, detail=detail, fix=install)
        return
    version = accelerate.parsed_version
    if version is not None and not requirement.specifier.contains(version, prereleases=True):
        yield error("`Trainer(...)` fails: accelerate %s is too old (%s)" % (accelerate.version, needs),
                    detail=detail, fix=install)
        return
    yield ok("accelerate %s meets %s" % (accelerate.version, needs), detail=detail)
