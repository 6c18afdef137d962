"""JUnit XML, the report format every CI system reads: one testcase per check and per probed op.

error -> ``<failure>``; a crashed check (or an op that killed its child) -> ``<error>``; skipped ->
``<skipped>``; ok, info and warning pass, with a warning's or info's text in ``<system-out>``. The
environment (Python, OS, torch, GPUs, label) travels as ``<properties>``. Characters XML 1.0 cannot hold
are written as ``\\xNN`` / ``\\uNNNN`` escapes, as pytest's junitxml does, so no consumer chokes on a
control character in a captured traceback.
"""

import re
from typing import Any, Dict, List, Mapping
from xml.etree import ElementTree

from doctor.findings import ERROR, INFO, SKIPPED, WARNING
from doctor.report import Entry, OpResult, Report, label_of

# XML 1.0 "Char": everything else (most C0 controls, lone surrogates, U+FFFE/U+FFFF) is illegal.
_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    def escape(match: "re.Match[str]") -> str:
        code = ord(match.group())
        return "\\x%02X" % code if code <= 0xFF else "\\u%04X" % code

    return _ILLEGAL_XML.sub(escape, "" if value is None else str(value))


def _properties(report: Report) -> List[Dict[str, str]]:
    properties = [("label", label_of(report)), ("dl-doctor", report.tool_version), ("kind", report.kind),
                  ("redacted", str(report.redacted).lower()), ("summary", report.summary().words())]
    environment = dict(report.environment or {}, lesson=report.lesson, quick=report.quick)
    for name, value in sorted(environment.items()):
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = str(value).lower()
        if value not in (None, ""):
            properties.append((name, value))
    return [{"name": xml_text(name), "value": xml_text(value)} for name, value in properties]


def _body(entry: Entry) -> str:
    """The evidence, then the fix in words and its commands as a person would type them."""
    fix = entry.fix and "\n".join(["fix: " + entry.fix.text] + ["$ " + command for command in entry.fix.commands])
    return "\n\n".join(part for part in (entry.detail, fix) if part)


def _testcase(parent: ElementTree.Element, case: Entry, suite_class: str) -> str:
    """Adds the testcase; returns its JUnit outcome (passed, failure, error, skipped)."""
    element = ElementTree.SubElement(parent, "testcase", {
        "classname": xml_text("%s.%s" % (suite_class, case.category)), "name": xml_text(case.id), "time": "0"})
    body = _body(case)
    failure_type = case.result if isinstance(case, OpResult) else ERROR
    if case.crashed:
        outcome = "error"
        ElementTree.SubElement(element, "error", {"message": xml_text(case.title), "type": "crashed"}).text = \
            xml_text(body)
    elif case.status == ERROR:
        outcome = "failure"
        ElementTree.SubElement(element, "failure", {"message": xml_text(case.title), "type": failure_type}
                               ).text = xml_text(body)
    elif case.status == SKIPPED:
        outcome = "skipped"
        ElementTree.SubElement(element, "skipped", {"message": xml_text(case.title)})
    else:
        outcome = "passed"
        if case.status in (WARNING, INFO):
            ElementTree.SubElement(element, "system-out").text = xml_text(
                "%s: %s%s" % (case.status, case.title, "\n\n" + body if body else ""))
    return outcome


def render_junit(report: Report) -> str:
    label = label_of(report)
    root = ElementTree.Element("testsuites", {"name": xml_text("dl-doctor %s (%s)" % (report.kind, label))})
    suites: Dict[str, List[Entry]] = {}
    for entry in report.entries():
        suites.setdefault(report.suite_of(entry), []).append(entry)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for position, (suite_name, cases) in enumerate(suites.items()):
        suite = ElementTree.SubElement(root, "testsuite", {"name": xml_text("%s [%s]" % (suite_name, label))})
        properties = ElementTree.SubElement(suite, "properties")
        for attributes in _properties(report):
            ElementTree.SubElement(properties, "property", attributes)
        suite_class = "dl-doctor." + re.sub(r"\W+", "-", suite_name).strip("-")
        outcomes = [_testcase(suite, case, suite_class) for case in cases]
        counts = _suite_counts(outcomes)
        suite.attrib.update({name: str(count) for name, count in counts.items()})
        # The run's time belongs to its first suite: ops are probed within it.
        suite.attrib["time"] = "%.3f" % (report.seconds or 0.0) if position == 0 else "0"
        for name in totals:
            totals[name] += counts[name]
    root.attrib.update({name: str(count) for name, count in totals.items()})
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _suite_counts(outcomes: List[str]) -> Mapping[str, int]:
    return {"tests": len(outcomes), "failures": outcomes.count("failure"), "errors": outcomes.count("error"),
            "skipped": outcomes.count("skipped")}
