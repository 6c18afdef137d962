"""Lesson API drift: the library calls the course's own notebooks make (doctor/lessons.py) against the
installed libraries, as the imports probe looked them up (lesson-api-drift); and lesson 4's Trainer, which
needs the accelerate that transformers itself declares in its dependency table (transformers-accelerate)."""

from typing import Dict, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from doctor.findings import Finding, error, fix, info, ok, skipped, warning
from doctor.lessons import LESSONS, LessonCall
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


def _known_changes(call: LessonCall, names: Sequence[str]) -> Tuple[List[Tuple[str, str]], List[str], List[str]]:
    """(edits, pins, sources) the course's table of changes knows for these names: an edit for each name
    something replaced, a pin for each name the table has, and where the table read it."""
    changes = [(name, call.change(name)) for name in names]
    known = [(name, change) for name, change in changes if change is not None]
    edits = [(name, change.edit) for name, change in known if change.edit]
    pins = [change.pin for _, change in known]
    sources = sorted({change.source for _, change in known})
    return edits, pins, sources


def _missing_name(call: LessonCall, record: Dict) -> str:
    """The dotted name up to the part the lookup did not find: `gradio.inputs` for gr.inputs.Image."""
    parts = call.target.split(".")
    missing = record.get("missing")
    return ".".join([call.module] + parts[:parts.index(missing) + 1 if missing in parts else len(parts)])


def _missing_title(call: LessonCall, record: Dict, version: str, edits: Sequence[Tuple[str, str]]) -> str:
    cause = "%s %s has no %s" % (call.distribution, version, _missing_name(call, record))
    if edits:
        cause += " (now %s)" % edits[0][1]
    return "`%s` fails: %s" % (_spelling(call, [""]), cause)


def _rejected_title(call: LessonCall, version: str, rejected: List[str], edits: Sequence[Tuple[str, str]]) -> str:
    """Keywords that have a replacement were renamed; when some have none, the library removed them."""
    renamed = [_new_name(edit) for _, edit in edits]
    verb = "renamed" if len(renamed) == len(rejected) else "removed"
    cause = "%s %s %s %s" % (call.distribution, version, verb, "it" if len(rejected) == 1 else "them")
    if renamed:
        cause += " " + " and ".join(renamed)
    return "`%s` fails: %s" % (_spelling(call, rejected), cause)


def _deprecated_title(call: LessonCall, deprecated: List[str], edits: Sequence[Tuple[str, str]]) -> str:
    return "`%s` works but is deprecated: a later %s %s" % (
        _spelling(call, deprecated), call.distribution, "renames it" if edits else "removes it")


def _drift_detail(call: LessonCall, record: Dict, version: str, names: List[str], deprecated: List[str],
                  sources: Sequence[str]) -> str:
    detail = ["%s" % call.code, "from %s" % call.notebook]
    if names and names != [""]:
        detail.append("%s %s does not accept: %s (read from its %s)" % (
            call.distribution, version, ", ".join(names), record.get("how") or "signature"))
    if deprecated:
        detail.append("still accepted with a deprecation warning: %s" % ", ".join(deprecated))
    if sources:
        detail.append("source: %s" % "; ".join(sources))
    return "\n".join(detail)


def _pin_advice(facts, distribution: str, pins: Sequence[str]) -> Tuple[str, Optional[str]]:
    """(words, command) for keeping the course's code as written: the strictest pin, or why no pin can do it
    (the pin would break another installed distribution); without a known pin, where to look instead."""
    if not pins:
        return "Check %s's changelog for what replaced it." % distribution, None
    pin = _strictest(pins)
    plan = plan_install(facts, pin)
    if plan.command:
        return "Or keep the course's code as written, with a %s that still accepts it:" % distribution, plan.command
    return "(Pinning %s to keep the course's code is no way out: %s.)" % (pin, conflicts_text(plan.conflicts)), None


def _drift_fix(facts, call: LessonCall, edits: Sequence[Tuple[str, str]], pins: Sequence[str]):
    """Edit the notebook to the new spelling, or pin the library to the one the course was written for."""
    text = []
    if edits:
        text.append("Edit the notebook: %s." % "; ".join(
            "`%s` -> `%s`" % (("%s=" % name) if name else call.code, edit) for name, edit in edits))
    advice, command = _pin_advice(facts, call.distribution, pins)
    text.append(advice)
    return fix(" ".join(text), *([command] if command else []))


def _drift_finding(facts, call: LessonCall, record: Dict, names: List[str], deprecated: List[str]) -> Finding:
    """One finding for a call that drifted: ``names`` is [""] when the name itself is missing, else the keywords
    the library rejects; with no rejected keyword, the ``deprecated`` ones make it an info that a later release
    breaks the call."""
    version = record.get("version") or "?"
    edits, pins, sources = _known_changes(call, names or deprecated)
    if not names:
        status, title = "info", _deprecated_title(call, deprecated, edits)
    elif names == [""]:
        status, title = call.status, _missing_title(call, record, version, edits)
    else:
        status, title = call.status, _rejected_title(call, version, names, edits)
    return _STATUS[status](title, detail=_drift_detail(call, record, version, names, deprecated, sources),
                           fix=_drift_fix(facts, call, edits, pins))


def _not_checkable(record: Optional[Dict]) -> bool:
    """Not installed or not importable: lesson-imports and lesson-optional-imports say so."""
    return record is None or not record.get("installed") or bool(record.get("import_error")
                                                                  or record.get("probe_error"))


def _call_drift(facts, call: LessonCall, record: Dict) -> Optional[Finding]:
    """The finding for a call whose name is missing or whose keywords are rejected or deprecated; None when the
    installed library takes the call as the lesson writes it."""
    if record.get("missing"):
        return _drift_finding(facts, call, record, [""], [])
    keywords = record.get("keywords") or {}
    rejected = [k for k in call.keywords if keywords.get(k) == "rejected"]
    deprecated = [k for k in call.keywords if keywords.get(k) == "deprecated"]
    if rejected or deprecated:
        return _drift_finding(facts, call, record, rejected, deprecated)
    return None


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
        if _not_checkable(record):
            continue
        checked.append("%s  (%s %s)" % (call.code, call.distribution, record.get("version") or "?"))
        problem = _call_drift(facts, call, record)
        if problem is not None:
            problems.append(problem)
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
