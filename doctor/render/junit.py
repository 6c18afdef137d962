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

from doctor.cases import Case, CaseSheet, label_of
from doctor.findings import ERROR, INFO, SKIPPED, WARNING

# XML 1.0 "Char": everything else (most C0 controls, lone surrogates, U+FFFE/U+FFFF) is illegal.
_ILLEGAL_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    def escape(match: "re.Match[str]") -> str:
        code = ord(match.group())
        return "\\x%02X" % code if code <= 0xFF else "\\u%04X" % code

    return _ILLEGAL_XML.sub(escape, "" if value is None else str(value))


def _properties(sheet: CaseSheet) -> List[Dict[str, str]]:
    properties = [("label", label_of(sheet)), ("dl-doctor", sheet.tool_version), ("kind", sheet.kind),
                  ("redacted", str(sheet.redacted).lower())]
    for name, value in sorted(sheet.environment.items()):
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = str(value).lower()
        if value not in (None, ""):
            properties.append((name, value))
    return [{"name": xml_text(name), "value": xml_text(value)} for name, value in properties]


def _testcase(parent: ElementTree.Element, case: Case, suite_class: str) -> str:
    """Adds the testcase; returns its JUnit outcome (passed, failure, error, skipped)."""
    element = ElementTree.SubElement(parent, "testcase", {
        "classname": xml_text("%s.%s" % (suite_class, case.group)), "name": xml_text(case.name), "time": "0"})
    body = "\n\n".join(part for part in (case.detail, case.fix and "fix: " + case.fix) if part)
    if case.crashed:
        outcome = "error"
        ElementTree.SubElement(element, "error", {"message": xml_text(case.title), "type": "crashed"}).text = \
            xml_text(body)
    elif case.status == ERROR:
        outcome = "failure"
        ElementTree.SubElement(element, "failure", {"message": xml_text(case.title), "type": case.result or ERROR}
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


def render_junit(sheet: CaseSheet) -> str:
    label = label_of(sheet)
    root = ElementTree.Element("testsuites", {"name": xml_text("dl-doctor %s (%s)" % (sheet.kind, label))})
    suites: Dict[str, List[Case]] = {}
    for case in sheet.cases:
        suites.setdefault(case.suite, []).append(case)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for position, (suite_name, cases) in enumerate(suites.items()):
        suite = ElementTree.SubElement(root, "testsuite", {"name": xml_text("%s [%s]" % (suite_name, label))})
        properties = ElementTree.SubElement(suite, "properties")
        for attributes in _properties(sheet):
            ElementTree.SubElement(properties, "property", attributes)
        suite_class = "dl-doctor." + re.sub(r"\W+", "-", suite_name).strip("-")
        outcomes = [_testcase(suite, case, suite_class) for case in cases]
        counts = _suite_counts(outcomes)
        suite.attrib.update({name: str(count) for name, count in counts.items()})
        # The run's time belongs to its first suite: ops are probed within it.
        suite.attrib["time"] = "%.3f" % (sheet.seconds or 0.0) if position == 0 else "0"
        for name in totals:
            totals[name] += counts[name]
    root.attrib.update({name: str(count) for name, count in totals.items()})
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _suite_counts(outcomes: List[str]) -> Mapping[str, int]:
    return {"tests": len(outcomes), "failures": outcomes.count("failure"), "errors": outcomes.count("error"),
            "skipped": outcomes.count("skipped")}
