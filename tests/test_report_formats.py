"""The report formats of issue #6: the JSON contract (validated against the shipped JSON Schema, read back
across schema versions), JUnit XML (validated against tests/data/junit.xsd and read by junitparser), the
GitHub Markdown job summary, the self-contained HTML page, and ``--label``."""

import copy
import json
import os
import re
import sys
from dataclasses import replace
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped

import doctor
from conftest import run_cli
from doctor.collect import Target
from doctor.diagnose import diagnose
from doctor.findings import Finding, error, fix, info, ok, skipped, warning
from doctor.matrix import build_matrix
from doctor.notebook.display import ReportDisplay
from doctor.reader import LoadedReport, ReportError, read_document
from doctor.registry import registered_checks
from doctor.render.html import render_html_page
from doctor.render.json_report import render_json
from doctor.render.junit import render_junit, xml_text
from doctor.render.markdown import render_markdown
from doctor.render.matrix_report import matrix_document
from doctor.render.ops_report import render_ops_text
from doctor.render.text import Style, render_text
from doctor.report import BENCH, REPORT_SCHEMA_VERSION, OpResult, Report, ops_report, short_label
from factories import make_facts, ok_outcome, op_record
from report_schema import report_validator
from test_checks_bench import DONE
from test_cli import assert_one_line_usage_error

JUNIT_XSD = xmlschema.XMLSchema(str(Path(__file__).parent / "data" / "junit.xsd"))
SCHEMA = json.loads((resources.files("doctor") / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = report_validator()
# What XML 1.0 allows in a document.
XML_CHARS = re.compile("^[\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*$")


def schema_errors(document):
    """Every message the validator gives, those of the oneOf branches included."""
    def messages(errors):
        for found in errors:
            yield found.message
            yield from messages(found.context)

    return sorted(messages(VALIDATOR.iter_errors(document)))


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    completed = run_cli("check", "--quick", "--format", "json", cwd=str(tmp_path_factory.mktemp("quick")))
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def ops_run(tmp_path_factory):
    """One real ``dl-doctor ops`` run as JSON, with a CI job summary to append to."""
    folder = tmp_path_factory.mktemp("ops")
    summary = folder / "summary.md"
    completed = run_cli("ops", "--op", "matmul.float16", "--op", "conv2d", "--format", "json", "--label", "ops leg",
                        cwd=str(folder), env=dict(os.environ, GITHUB_STEP_SUMMARY=str(summary)))
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return {"report": json.loads(completed.stdout), "summary": summary.read_text(encoding="utf-8")}


def bench_report():
    """A bench-kind report from a recorded healthy benchmark run (tests/test_checks_bench.py)."""
    facts = make_facts(outcomes={"bench": ok_outcome("bench", copy.deepcopy(DONE))})
    checks = registered_checks("bench")
    report = diagnose(Target(python=sys.executable, cwd=os.getcwd()), 1, facts=facts, checks=checks)
    return Report(findings=report.findings, facts=report.facts, timings=report.timings, kind=BENCH)


# --- JSON: the schema, the reports, the reader --------------------------------------------------------------


def test_schema_ships_in_the_package_and_names_the_current_version():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"] == {"const": REPORT_SCHEMA_VERSION}
    assert Path(doctor.__file__).parent.joinpath("schemas", "report.schema.json").is_file()


def test_real_quick_report_matches_the_schema(quick_report):
    assert schema_errors(quick_report) == []
    assert (quick_report["schema_version"], quick_report["kind"]) == (REPORT_SCHEMA_VERSION, "check")
    assert quick_report["facts"]["quick"] is True


def test_real_full_report_matches_the_schema(real_check):
    report = real_check["report"]
    assert schema_errors(report) == []
    assert (report["schema_version"], report["kind"], report["redacted"]) == (REPORT_SCHEMA_VERSION, "check", True)


@pytest.mark.slow
def test_real_ops_report_matches_the_schema(ops_run):
    report = ops_run["report"]
    assert schema_errors(report) == []
    assert (report["schema_version"], report["kind"], report["label"]) == (REPORT_SCHEMA_VERSION, "ops", "ops leg")
    assert sorted(record["op"] for record in report["ops"]) == ["conv2d", "matmul.float16"]
    assert report["environment"]["device"] == report["device"]


def test_bench_report_matches_the_schema():
    document = json.loads(json.dumps(bench_report().to_dict()))
    assert schema_errors(document) == []
    assert document["kind"] == "bench"
    assert {finding["id"]: finding["status"] for finding in document["findings"]}["bench-run"] == "ok"


@pytest.mark.parametrize("damage, expected", [
    (lambda d: d.pop("kind"), "'kind' is a required property"),
    (lambda d: d.update(schema_version=3), "2 was expected"),
    (lambda d: d["findings"][0].update(status="fatal"), "'fatal' is not one of"),
    (lambda d: d["findings"][0].update(id="Not Kebab"), "does not match"),
    (lambda d: d.update(label=7), "7 is not of type 'string', 'null'"),
    (lambda d: d["tool"].update(name="other-doctor"), "'dl-doctor' was expected"),
], ids=["no-kind", "newer-version", "bad-status", "bad-id", "label-type", "other-tool"])
def test_schema_rejects_a_damaged_report(quick_report, damage, expected):
    document = copy.deepcopy(quick_report)
    damage(document)
    assert not VALIDATOR.is_valid(document)
    assert any(expected in message for message in schema_errors(document)), schema_errors(document)


@pytest.mark.slow
def test_schema_rejects_an_unknown_op_class(ops_run):
    document = copy.deepcopy(ops_run["report"])
    document["ops"][0]["class"] = "maybe"
    assert not VALIDATOR.is_valid(document)


def as_schema_1(document):
    """What dl-doctor wrote before schema 2: no kind, label or redacted; ops reports no environment."""
    old = {key: value for key, value in copy.deepcopy(document).items() if key not in ("kind", "label", "redacted")}
    if document["kind"] == "ops":
        old.pop("environment")
    old["schema_version"] = 1
    return old


def cases(report):
    return [(report.suite_of(entry), entry.id, entry.status, entry.result if isinstance(entry, OpResult) else None,
             entry.crashed) for entry in report.entries()]


def test_reader_upgrades_a_schema_1_check_report(quick_report):
    current = read_document(quick_report, "new.json", full=True)
    loaded = read_document(as_schema_1(quick_report), "old.json", full=True)
    assert isinstance(loaded, LoadedReport)
    assert (loaded.kind, loaded.path, loaded.report.label, loaded.report.redacted) == ("check", "old.json", None, False)
    assert cases(loaded.report) == cases(current.report)
    assert loaded.report.environment == current.report.environment
    assert loaded.report.findings == current.report.findings
    assert (loaded.report.label, loaded.report.redacted, loaded.report.kind) == (None, False, "check")
    assert schema_errors(json.loads(json.dumps(loaded.report.to_dict()))) == []


@pytest.mark.slow
def test_reader_upgrades_a_schema_1_ops_report(ops_run):
    report = ops_run["report"]
    loaded = read_document(as_schema_1(report), "old-ops.json", full=True)
    assert (loaded.kind, loaded.report.facts, loaded.report.label, loaded.report.redacted) == ("ops", None, None,
                                                                                             False)
    assert loaded.report.environment == {"torch": report["torch"], "device": report["device"], "simulated": False}
    assert cases(loaded.report) == cases(read_document(report, "new-ops.json").report)


def test_reader_refuses_a_newer_schema_with_a_clear_message(quick_report):
    document = dict(quick_report, schema_version=REPORT_SCHEMA_VERSION + 1, tool={"name": "dl-doctor",
                                                                                 "version": "9.0.0"})
    with pytest.raises(ReportError) as raised:
        read_document(document, "from-the-future.json")
    assert str(raised.value) == (
        "from-the-future.json: written by a newer dl-doctor (9.0.0, report schema %d); this dl-doctor reads up to "
        "schema %d: upgrade it with pip install -U dl-doctor" % (REPORT_SCHEMA_VERSION + 1, REPORT_SCHEMA_VERSION))


# --- Hand-built findings, so each mapping is asserted by value -----------------------------------------------

NASTY = "bad \x00\x1b\x07 bytes ]]> <&> \"quoted\" 'single'\x0b\x0c\x7f"


def hand_built_report(**facts):
    findings = [
        ok("Python 3.11.7 suits the course").stamped("python-version", "python"),
        info("9 of 9 <course> packages & more", "numpy 2.4.6").stamped("package-versions", "packages"),
        warning("no GPU | CPU only", NASTY, fix("use a GPU notebook", "pip install x")).stamped("torch-build",
                                                                                               "devices"),
        error("NumPy 2 breaks <b>torch</b>", "A module compiled using NumPy 1.x cannot run in NumPy 2.4.6",
              fix("downgrade numpy", "pip install 'numpy<2'")).stamped("numpy-abi", "packages"),
        Finding("error", "check cuda-arch crashed", "Traceback (most recent call last):\nKeyError: 'arch'",
                crashed=True).stamped("cuda-arch", "cuda"),
        skipped("not a Mac").stamped("mps-fallback", "mps"),
    ]
    return Report(findings=findings, facts=make_facts(**facts), timings={})


OPS = {"ops": [op_record("conv2d", (1,), "resnet"), op_record("grid_sample", (1,), "augment", "fallback"),
               op_record("linalg.solve", (1,), "warp", "unsupported", "not implemented for 'cuda'"),
               op_record("bernoulli_.int64", (4,), "dropout", "wrong", "max abs error 3.0"),
               op_record("max_pool2d", (1,), "resnet", "crashed", "the child died with SIGSEGV")]}


@pytest.fixture(scope="module")
def junit_text():
    return render_junit(hand_built_report(ops=OPS))


def outcomes(root):
    """Each testcase's (classname, outcome tag, message, type, text)."""
    found = {}
    for case in root.iter("testcase"):
        children = [child for child in case if child.tag != "system-out"]
        assert len(children) <= 1
        child = children[0] if children else None
        out = case.find("system-out")
        found[case.get("name")] = (case.get("classname"), child.tag if child is not None else "passed",
                                   child.get("message") if child is not None else None,
                                   child.get("type") if child is not None else None,
                                   (child.text if child is not None else out.text if out is not None else None))
    return found


def test_junit_validates_against_the_xsd(junit_text):
    assert junit_text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    JUNIT_XSD.validate(junit_text)


def test_junit_maps_each_check_and_op_to_one_testcase(junit_text):
    root = ElementTree.fromstring(junit_text.encode("utf-8"))
    assert outcomes(root) == {
        "python-version": ("dl-doctor.checks.python", "passed", None, None, None),
        "package-versions": ("dl-doctor.checks.packages", "passed", None, None,
                             "info: 9 of 9 <course> packages & more\n\nnumpy 2.4.6"),
        "torch-build": ("dl-doctor.checks.devices", "passed", None, None,
                        "warning: no GPU | CPU only\n\n%s\n\nfix: use a GPU notebook\n$ pip install x"
                        % xml_text(NASTY)),
        "numpy-abi": ("dl-doctor.checks.packages", "failure", "NumPy 2 breaks <b>torch</b>", "error",
                      "A module compiled using NumPy 1.x cannot run in NumPy 2.4.6\n\n"
                      "fix: downgrade numpy\n$ pip install 'numpy<2'"),
        "cuda-arch": ("dl-doctor.checks.cuda", "error", "check cuda-arch crashed", "crashed",
                      "Traceback (most recent call last):\nKeyError: 'arch'"),
        "mps-fallback": ("dl-doctor.checks.mps", "skipped", "not a Mac", None, None),
        "conv2d": ("dl-doctor.ops-on-cuda.ops", "passed", None, None, None),
        "grid_sample": ("dl-doctor.ops-on-cuda.ops", "passed", None, None,
                        "info: grid_sample on cuda: fallback\n\nmax abs error 1e-07"),
        "linalg.solve": ("dl-doctor.ops-on-cuda.ops", "passed", None, None,
                         "warning: linalg.solve on cuda: unsupported\n\nnot implemented for 'cuda'"),
        "bernoulli_.int64": ("dl-doctor.ops-on-cuda.ops", "failure", "bernoulli_.int64 on cuda: wrong", "wrong",
                             "max abs error 3.0"),
        "max_pool2d": ("dl-doctor.ops-on-cuda.ops", "error", "max_pool2d on cuda: crashed", "crashed",
                       "the child died with SIGSEGV"),
    }


def test_junit_counts_and_environment_properties(junit_text):
    root = ElementTree.fromstring(junit_text.encode("utf-8"))
    assert {key: root.get(key) for key in ("tests", "failures", "errors")} == {"tests": "11", "failures": "2",
                                                                                "errors": "2"}
    suites = {suite.get("name"): {key: suite.get(key) for key in ("tests", "failures", "errors", "skipped")}
              for suite in root.iter("testsuite")}
    label = "Linux py3.11 torch 2.14.1 cuda:0"
    assert suites == {
        "checks [%s]" % label: {"tests": "6", "failures": "1", "errors": "1", "skipped": "1"},
        "ops on cuda [%s]" % label: {"tests": "5", "failures": "1", "errors": "1", "skipped": "0"},
    }
    properties = {prop.get("name"): prop.get("value") for prop in root.find("testsuite").iter("property")}
    assert properties == {
        "label": label, "dl-doctor": doctor.__version__, "kind": "check", "redacted": "false",
        "summary": "2 errors, 1 warning, 1 ok, 1 info, 1 skipped; 5 ops: 1 native, 1 fallback, 1 unsupported, 1 wrong, "
                   "1 crashed",
        "python": "3.11.7", "python_executable": "/opt/course/bin/python", "os": "Linux", "machine": "x86_64",
        "torch": "2.14.1+cu130", "torch_flavour": "cuda", "fastai_device": "cuda:0",
        "gpus": "NVIDIA H100 80GB HBM3", "lesson": "1", "quick": "false",
    }


def test_junit_escapes_characters_xml_cannot_hold(junit_text):
    assert XML_CHARS.match(junit_text)
    assert "\\x00\\x1B\\x07" in junit_text and "\\x0B\\x0C" in junit_text
    assert "]]&gt; &lt;&amp;&gt;" in junit_text
    text = render_junit((Report(
        findings=[error("lone \ud800 surrogate and \ufffe", "\ud83d").stamped("numpy-abi", "packages")],
        facts=make_facts(), timings={})))
    assert XML_CHARS.match(text)
    JUNIT_XSD.validate(text)
    failure = ElementTree.fromstring(text.encode("utf-8")).find(".//failure")
    assert (failure.get("message"), failure.text) == ("lone \\uD800 surrogate and \\uFFFE", "\\uD83D")


def check_with_junitparser(xml):
    by_name = {}
    for suite in xml:
        for case in suite:
            by_name[case.name] = case
    return by_name


def test_junitparser_reads_the_report_back(junit_text, tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(junit_text, encoding="utf-8")
    for xml in (JUnitXml.fromstring(junit_text.encode("utf-8")), JUnitXml.fromfile(str(path))):
        suites = {suite.name.split(" [")[0]: (suite.tests, suite.failures, suite.errors, suite.skipped)
                  for suite in xml}
        assert suites == {"checks": (6, 1, 1, 1), "ops on cuda": (5, 1, 1, 0)}
        by_name = check_with_junitparser(xml)
        results = {name: [type(result).__name__ for result in case.result] for name, case in by_name.items()}
        assert results == {"python-version": [], "package-versions": [], "torch-build": [], "conv2d": [],
                           "grid_sample": [], "linalg.solve": [], "numpy-abi": ["Failure"],
                           "bernoulli_.int64": ["Failure"], "cuda-arch": ["Error"], "max_pool2d": ["Error"],
                           "mps-fallback": ["Skipped"]}
        assert by_name["torch-build"].is_passed and by_name["mps-fallback"].is_skipped
        assert by_name["torch-build"].system_out.startswith("warning: no GPU | CPU only\n\nbad \\x00\\x1B\\x07")
        failure = by_name["numpy-abi"].result[0]
        assert isinstance(failure, Failure) and failure.message == "NumPy 2 breaks <b>torch</b>"
        assert isinstance(by_name["cuda-arch"].result[0], Error)
        assert isinstance(by_name["mps-fallback"].result[0], Skipped)


def test_junit_of_a_real_report_validates_and_has_a_case_per_check_and_op(real_check, tmp_path):
    output = tmp_path / "junit.xml"
    completed = run_cli("check", "--facts", str(real_check["report_path"]), "--format", "junit",
                        "--output", str(output), cwd=str(tmp_path))
    assert completed.returncode in (0, 1), completed.stderr
    JUNIT_XSD.validate(str(output))
    xml = JUnitXml.fromfile(str(output))
    names = sorted(case.name for suite in xml for case in suite)
    report = real_check["report"]
    ops = report["facts"]["probes"]["ops"]
    op_names = [record["op"] for record in ops["data"]["ops"]] if ops["status"] == "ok" else []
    assert names == sorted([finding["id"] for finding in report["findings"]] + op_names)
    errors = [finding for finding in report["findings"] if finding["status"] == "error"]
    assert sum(suite.failures + suite.errors for suite in xml) == len(errors) + sum(
        1 for record in (ops["data"]["ops"] if op_names else []) if record["class"] not in
        ("native", "fallback", "unsupported", "dtype-unsupported"))


@pytest.mark.slow
def test_junit_of_an_ops_report_validates(ops_run):
    text = render_junit(read_document(ops_run["report"], "ops.json").report)
    JUNIT_XSD.validate(text)
    root = ElementTree.fromstring(text.encode("utf-8"))
    device = ops_run["report"]["device"]
    assert [suite.get("name") for suite in root.iter("testsuite")] == ["ops on %s [ops leg]" % device]
    assert sorted(case.get("name") for case in root.iter("testcase")) == ["conv2d", "matmul.float16"]


@pytest.mark.parametrize("document", [
    '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>',
    '<testsuites><testsuite name="s" failures="0" errors="0"/></testsuites>',
    '<testsuites skipped="1"/>',
    '<testsuite name="s" tests="0" failures="0" errors="0"/>',
    '<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c"><passed/></testcase>'
    '</testsuite></testsuites>',
    '<testsuites><testsuite name="s" tests="0" failures="0" errors="0"><properties><property name="n"/>'
    '</properties></testsuite></testsuites>',
], ids=["testcase-without-name", "testsuite-without-tests", "skipped-on-root", "testsuite-root", "unknown-outcome",
        "property-without-value"])
def test_xsd_rejects_what_consumers_cannot_read(document):
    assert not JUNIT_XSD.is_valid(document)


# --- Markdown ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def markdown_text():
    return render_markdown(hand_built_report(ops={"ops": []}))


def unescaped_pipes(line):
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_table_rows_survive_pipes_and_html(markdown_text):
    lines = markdown_text.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == "| | case | result |"
    assert all(unescaped_pipes(line) == 4 for line in table)
    assert "| ⚠️ | `torch-build` | no GPU \\| CPU only |" in lines
    assert "| ❌ | `numpy-abi` | NumPy 2 breaks &lt;b&gt;torch&lt;/b&gt; |" in lines
    assert "<b>" not in markdown_text and "<course>" not in markdown_text
    assert "| ℹ️ | `package-versions` | 9 of 9 &lt;course&gt; packages &amp; more |" in lines


def test_markdown_puts_problems_before_what_passed(markdown_text):
    lines = markdown_text.splitlines()
    assert lines[0] == "### dl-doctor check · Linux py3.11 torch 2.14.1 cuda:0"
    assert lines[2].startswith("**2 errors, 1 warning, 1 ok, 1 info, 1 skipped** · ")

    def row(name):
        return next(index for index, line in enumerate(lines) if line.startswith("| ") and "`%s`" % name in line)

    assert row("cuda-arch") < row("numpy-abi") < row("torch-build") < row("package-versions") \
        < row("python-version") < row("mps-fallback")
    folded = lines.index("<details><summary>3 more: ok, info and skipped</summary>")
    assert row("torch-build") < folded < row("package-versions")
    assert "| 💥 | `cuda-arch` | check cuda-arch crashed |" in lines
    assert "<details open><summary>❌ <code>numpy-abi</code>: NumPy 2 breaks &lt;b&gt;torch&lt;/b&gt;</summary>" \
        in lines
    assert "```sh\npip install 'numpy<2'\n```" in markdown_text


def test_markdown_fences_evidence_that_holds_backticks():
    report = Report(findings=[error("broken", "```\nrm -rf /\n```\n").stamped("numpy-abi", "packages")],
                    facts=make_facts(), timings={})
    assert "````text\n```\nrm -rf /\n```\n````" in render_markdown(report)


def test_markdown_says_nothing_to_fix_when_nothing_fails():
    report = Report(findings=[ok("fine").stamped("python-version", "python")], facts=make_facts(), timings={})
    text = render_markdown(report)
    assert "Nothing to fix." in text and "| ✅ | `python-version` | fine |" in text


# --- HTML ---------------------------------------------------------------------------------------------------


class _Resources(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.styles, self.text, self.metas = [], [], [], []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "meta":
            self.metas.append(dict(attrs))
        if tag == "style":
            self._in_style = True
        style = dict(attrs).get("style")
        if style:
            self.styles.append(style)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)


def assert_self_contained_html(page):
    """A page that loads nothing from anywhere: no scripts, no links, no remote sources, no url() in styles."""
    assert page.startswith("<!DOCTYPE html>")
    parser = _Resources()
    parser.feed(page)
    parser.close()
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags and "base" not in tags
    for tag, attributes in parser.tags:
        assert "src" not in attributes and "srcset" not in attributes, tag
        assert not re.match(r"\s*(https?:)?//", attributes.get("href") or ""), (tag, attributes)
    for style in parser.styles:
        assert "url(" not in style and "@import" not in style, style
    assert {"charset": "utf-8"} in parser.metas
    return parser


def test_html_page_is_self_contained_and_escapes_report_text():
    findings = [error("<script>alert('x')</script>", "<link rel=stylesheet href=https://evil.example/x.css>",
                      fix("see <img src=https://evil.example/p.png>", "curl https://x")).stamped("numpy-abi",
                                                                                                 "packages"),
                warning("style=\"background:url(https://evil.example)\"").stamped("torch-build", "devices"),
                skipped("not a Mac").stamped("mps-fallback", "mps")]
    page = render_html_page(Report(findings=findings, facts=make_facts(ops=OPS), timings={}))
    parser = assert_self_contained_html(page)
    text = "".join(parser.text)
    assert "<script>alert('x')</script>" in text
    assert "<link rel=stylesheet href=https://evil.example/x.css>" in text
    assert "not a Mac" in text
    assert "1 ops run natively" in text
    assert "<title>dl-doctor check: Linux py3.11 torch 2.14.1 cuda:0</title>" in page


def test_html_page_of_a_real_report_is_self_contained(real_check, tmp_path):
    completed = run_cli("check", "--facts", str(real_check["report_path"]), "--format", "html", cwd=str(tmp_path))
    assert completed.returncode in (0, 1), completed.stderr
    parser = assert_self_contained_html(completed.stdout)
    text = "".join(parser.text)
    for finding in real_check["report"]["findings"]:
        assert finding["id"] in text


# --- The CI job summary and labels --------------------------------------------------------------------------


def test_check_appends_its_summary_to_the_github_step_summary(tmp_path):
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n", encoding="utf-8")
    env = dict(os.environ, GITHUB_STEP_SUMMARY=str(summary))
    first = run_cli("check", "--quick", env=env, cwd=str(tmp_path))
    second = run_cli("check", "--quick", "--label", "leg <two> | b", env=env, cwd=str(tmp_path))
    for completed in (first, second):
        assert completed.returncode in (0, 1), completed.stderr
        assert completed.stdout.startswith("dl-doctor %s" % doctor.__version__)
        assert "### dl-doctor" not in completed.stdout
    text = summary.read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert text.startswith("# earlier step\n")
    assert headings[0].startswith("### dl-doctor check · ")
    assert headings[1] == "### dl-doctor check · leg &lt;two&gt; \\| b"
    assert len(headings) == 2
    assert text.count(" · redacted") == 2
    home = os.path.expanduser("~")
    if home not in ("", "/"):
        assert home + os.sep not in text


@pytest.mark.slow
def test_ops_appends_its_summary_too(ops_run):
    text = ops_run["summary"]
    assert text.startswith("### dl-doctor ops · ops leg\n")
    assert "`conv2d`" in text and "`matmul.float16`" in text


@pytest.mark.parametrize("path", ["directory", "/nonexistent-dl-doctor-dir/summary.md"])
def test_unwritable_step_summary_is_one_line_and_exit_2(tmp_path, path):
    path = str(tmp_path) if path == "directory" else path
    completed = run_cli("check", "--quick", env=dict(os.environ, GITHUB_STEP_SUMMARY=path), cwd=str(tmp_path))
    assert_one_line_usage_error(completed, "$GITHUB_STEP_SUMMARY %s: cannot append to it" % path)


def test_label_names_the_report_and_short_label_describes_it(tmp_path, quick_report):
    output = tmp_path / "labelled.json"
    completed = run_cli("check", "--quick", "--format", "json", "--label", "ubuntu cpu", "--output", str(output),
                        cwd=str(tmp_path))
    assert completed.returncode in (0, 1), completed.stderr
    assert completed.stdout.startswith("dl-doctor: report written to %s (" % output)
    assert json.loads(output.read_text(encoding="utf-8"))["label"] == "ubuntu cpu"
    assert quick_report["label"] is None
    environment = quick_report["environment"]
    torch = ("torch " + environment["torch"].split("+")[0]) if environment["torch"] else "no torch"
    expected = "%s py%s %s" % (environment["os"], ".".join(environment["python"].split(".")[:2]), torch)
    assert read_document(quick_report, "q.json").report.label is None
    assert short_label(read_document(quick_report, "q.json").report.environment) == expected


@pytest.mark.parametrize("environment, expected", [
    ({"os": "Darwin", "python": "3.12.4", "torch": "2.14.1", "device": "mps"}, "Darwin py3.12 torch 2.14.1 mps"),
    ({"os": "Linux", "python": "3.11.7", "torch": "2.14.1+cu130", "fastai_device": "cuda:0"},
     "Linux py3.11 torch 2.14.1 cuda:0"),
    ({"os": "Windows", "python": "3.10.11", "torch": None}, "Windows py3.10 no torch"),
    ({}, "? py? no torch"),
])
def test_short_label(environment, expected):
    assert short_label(environment) == expected


# --- One summary: every format counts the same report the same way ----------------------------------------------

CHECKED = "2 errors, 1 warning, 1 ok, 1 info, 1 skipped; 5 ops: 1 native, 1 fallback, 1 unsupported, 1 wrong, 1 crashed"


def junit_summary(text):
    root = ElementTree.fromstring(text.encode("utf-8"))
    return next(prop.get("value") for prop in root.iter("property") if prop.get("name") == "summary")


def test_every_format_says_the_same_summary_of_a_check_report():
    """Findings and op results are counted apart: checks judge, an op's class is what the device did."""
    report = replace(hand_built_report(ops=OPS), timings={"collect_s": 6.0, "checks_s": 1.04})
    words = CHECKED + " in 7.0 s"
    assert report.summary().words() == words
    assert render_text(report, Style(unicode=False, color=False)).splitlines()[-1] == words
    assert render_markdown(report).splitlines()[2].startswith("**%s** · " % words)
    assert junit_summary(render_junit(report)) == words
    assert "<div><i>%s</i></div>" % words in render_html_page(report)
    shown = ReportDisplay(report)._repr_mimebundle_()
    assert shown["text/plain"].splitlines()[-1] == words
    assert "<div><i>%s</i></div>" % words in shown["text/html"]
    document = json.loads(render_json(report))
    assert document["summary"] == {"error": 2, "warning": 1, "info": 1, "ok": 1, "skipped": 1}
    matrix = matrix_document(build_matrix([read_document(document, "leg.json")]))
    assert matrix["columns"][0]["summary"] == words


def test_every_format_says_the_same_summary_of_an_ops_report():
    report = ops_report(dict(OPS, device="cuda", torch="2.14.1+cu130"), seconds=3.0)
    words = "5 ops: 1 native, 1 fallback, 1 unsupported, 1 wrong, 1 crashed in 3.0 s"
    assert report.summary().words() == words
    assert render_ops_text(report).splitlines()[-1] == words + " on cuda (torch 2.14.1+cu130), 0 child restarts"
    assert render_markdown(report).splitlines()[2].startswith("**%s** · " % words)
    assert junit_summary(render_junit(report)) == words
    assert "<div><i>%s</i></div>" % words in render_html_page(report)
    document = json.loads(render_json(report))
    assert document["summary"] == {"native": 1, "fallback": 1, "unsupported": 1, "wrong": 1, "crashed": 1}
    assert schema_errors(document) == []
    assert read_document(document, "ops.json").report.summary().words() == words


def test_a_fix_keeps_its_commands_apart_from_its_words_in_every_format():
    """A fix is text plus commands: each format shows the commands as commands, none re-splits flattened text."""
    finding = error("NumPy 2 breaks torch", "", fix("downgrade numpy\n(then restart)", "pip install 'numpy<2'",
                                                     "python -c 'import torch'")).stamped("numpy-abi", "packages")
    report = Report(findings=[finding], facts=make_facts(), timings={})
    assert "```sh\npip install 'numpy<2'\npython -c 'import torch'\n```" in render_markdown(report)
    page = render_html_page(report)
    assert "<pre style=\"margin:2px 0\">pip install &#x27;numpy&lt;2&#x27;</pre>" in page
    assert "<b>fix:</b> downgrade numpy\n(then restart)</div>" in page
    failure = ElementTree.fromstring(render_junit(report).encode("utf-8")).find(".//failure")
    assert failure.text == "fix: downgrade numpy\n(then restart)\n$ pip install 'numpy<2'\n$ python -c 'import torch'"


# --- %doctor output is saved in the notebook: redacted unless --no-redact (#14 §13) --------------------------------

NOTEBOOK_HOME = "/home/learner-nb"


def notebook_report():
    finding = error("torch does not import", "ImportError in %s/venv/lib/torch/__init__.py" % NOTEBOOK_HOME,
                    fix("reinstall torch", "%s/venv/bin/python -m pip install torch" % NOTEBOOK_HOME))
    return Report(findings=(finding.stamped("torch-import", "torch"),),
                  facts=make_facts(python={"executable": NOTEBOOK_HOME + "/venv/bin/python"}), timings={})


@pytest.mark.parametrize("redacted", [True, False], ids=["redacted", "kept"])
def test_the_notebook_display_is_redacted_through_its_redactor(redacted, monkeypatch):
    from doctor.redact import redactor_for

    monkeypatch.setenv("HOME", NOTEBOOK_HOME)
    shown = ReportDisplay(notebook_report(), redactor_for(redacted))._repr_mimebundle_()
    for mime in ("text/plain", "text/html"):
        assert (NOTEBOOK_HOME + "/venv" in shown[mime]) is not redacted, mime
        assert ("~/venv" in shown[mime]) is redacted, mime


@pytest.mark.parametrize("line, redacted", [("", True), ("--no-redact", False)], ids=["default", "no-redact"])
def test_the_magic_redacts_unless_no_redact(line, redacted, monkeypatch):
    import doctor.collect
    from doctor.notebook import magic

    monkeypatch.setenv("HOME", NOTEBOOK_HOME)
    monkeypatch.setattr(magic, "_kernel", lambda: object())
    monkeypatch.setattr(doctor.collect, "collect_facts", lambda *args, **kwargs: notebook_report().facts)
    shown = magic.doctor_magic(line)._repr_mimebundle_()
    assert (NOTEBOOK_HOME + "/venv/bin/python" in shown["text/plain"]) is not redacted
    assert ("~/venv/bin/python" in shown["text/plain"]) is redacted


# --- Control characters from the environment are shown escaped (#14 §15) -------------------------------------------

HOSTILE = "ImportError: \x1b[2Jcleared\x00 \rhidden \x9b31m"
HOSTILE_SHOWN = "ImportError: \\x1b[2Jcleared\\x00 \\x0dhidden \\x9b31m"


def hostile_report():
    finding = error("torch \x1b[31mfails", HOSTILE + "\nsecond line\tkept",
                    fix("reinstall \x07torch", "pip install torch\x1b[8m"), links=("https://x\x1b]8;;",))
    return Report(findings=(finding.stamped("torch-import", "torch"),),
                  facts=make_facts(python={"executable": "/venv\x1b[2K/bin/python"}), timings={})


@pytest.mark.parametrize("color", [True, False], ids=["terminal", "plain"])
def test_text_escapes_the_environments_control_characters_but_keeps_its_own_colours(color):
    text = render_text(hostile_report(), Style(unicode=color, color=color))
    assert HOSTILE_SHOWN in text and "second line\tkept" in text
    for shown in ("torch \\x1b[31mfails", "reinstall \\x07torch", "pip install torch\\x1b[8m", "https://x\\x1b]8;;",
                  "/venv\\x1b[2K/bin/python"):
        assert shown in text
    left = text.replace("\033[31m✗\033[0m", "") if color else text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", left)
    assert ("\033[31m✗\033[0m" in text) is color


def test_the_notebooks_plain_text_escapes_control_characters():
    shown = ReportDisplay(hostile_report())._repr_mimebundle_()["text/plain"]
    assert HOSTILE_SHOWN in shown and "\x1b" not in shown and "\x00" not in shown


def test_fix_texts_escape_control_characters():
    from doctor.fixes.workflow import Proposal
    from doctor.render.fix_text import render_proposal

    finding = hostile_report().findings[0]
    text = render_proposal(Proposal(plans=(), refused=(("mps-fallback", "read-only: " + HOSTILE),), manual=(finding,)),
                           applying=False)
    assert "read-only: " + HOSTILE_SHOWN in text and "reinstall \\x07torch" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)


def test_the_ops_table_escapes_control_characters_in_an_ops_evidence():
    """An op's evidence is the target's own error text; the table shows it, not what it would do to a terminal."""
    hostile = dict(OPS, ops=[op_record("conv2d", (1,), "resnet", "error", HOSTILE)])
    text = render_ops_text(ops_report(dict(hostile, device="cuda", torch="2.14.1+cu130"), seconds=1.0))
    assert "\\x1b[2Jcleared" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
