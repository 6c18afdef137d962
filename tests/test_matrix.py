"""``dl-doctor matrix`` and ``dl-doctor diff`` over real reports of this machine and edited copies of them
(another OS, a broken finding, an op that falls back, a different package), their exit codes, redaction,
and every kind of bad input file; then the reader and the matrix fuzzed with hypothesis."""

import copy
import io
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from doctor.cli import main
from doctor.diff import diff_reports
from doctor.matrix import build_matrix
from doctor.reader import LoadedReport, ReportError, parse_report, read_document
from doctor.render.matrix_report import render_matrix_html, render_matrix_json, render_matrix_markdown
from test_cli import assert_one_line_usage_error
from test_report_formats import as_schema_1, assert_self_contained_html

OKISH_OPS = ("native", "fallback", "unsupported", "dtype-unsupported")
OP_STATUS = {"native": "ok", "fallback": "info", "unsupported": "warning", "dtype-unsupported": "warning"}
MARKS = {"ok": "✅", "info": "ℹ️", "warning": "⚠️", "error": "❌", "skipped": "➖"}
# What the edited "mac" leg changes.
FLIPPED_FINDING = "numpy-abi"
OP_CHANGES = {"conv2d": "fallback", "grid_sample": "wrong", "linalg.solve": "unsupported"}
HOME = os.path.expanduser("~")


def expected_label(environment):
    """The matrix column of an unlabelled report: OS, Python major.minor, torch without its local part, device."""
    torch = environment.get("torch")
    parts = [environment.get("os") or "?", "py" + ".".join(str(environment.get("python") or "?").split(".")[:2]),
             "torch " + torch.split("+")[0] if torch else "no torch"]
    device = environment.get("device") or environment.get("fastai_device")
    return " ".join(parts + ([device] if device else []))


def op_records(document):
    if document["kind"] == "ops":
        return document["ops"]
    ops = document["facts"]["probes"].get("ops") or {}
    return ops["data"]["ops"] if ops.get("status") == "ok" else []


def expected_errors(document):
    """The names a leg fails: error findings, then ops of a severe class, each in name order."""
    checks = sorted(f["id"] for f in document.get("findings", []) if f["status"] == "error")
    return checks + sorted(r["op"] for r in op_records(document) if r["class"] not in OKISH_OPS)


def finding_status(document, check_id):
    return next(f["status"] for f in document["findings"] if f["id"] == check_id)


def write(folder, name, document):
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def legs(real_check, tmp_path_factory):
    """Report files: the real full check, a real quick check, a real ops run, and edited copies of the full one."""
    folder = tmp_path_factory.mktemp("legs")
    quick = run_cli("check", "--quick", "--format", "json", cwd=str(folder))
    ops = run_cli("ops", "--op", "matmul.float16", "--op", "conv2d", "--format", "json", cwd=str(folder))
    assert quick.returncode in (0, 1) and ops.returncode in (0, 1), quick.stderr + ops.stdout + ops.stderr
    full = copy.deepcopy(real_check["report"])
    documents = {"full": full, "quick": json.loads(quick.stdout), "ops": json.loads(ops.stdout)}

    mac = copy.deepcopy(full)
    mac["label"] = "mac-mps"
    mac["environment"]["os"] = "Darwin"
    for finding in mac["findings"]:
        if finding["id"] == FLIPPED_FINDING:
            finding.update(status="error", title="NumPy 2 breaks this torch")
    distributions = mac["facts"]["probes"]["packages"]["data"]["distributions"]
    package = next((d for d in distributions if d["name"] == "numpy"), distributions[0])
    package_before, package["version"] = package["version"], "1.26.4"
    for record in op_records(mac):
        if record["op"] in OP_CHANGES:
            record["class"] = OP_CHANGES[record["op"]]
    torch = mac["facts"]["probes"]["torch"]
    if torch.get("status") == "ok" and torch["data"].get("importable"):
        torch["data"]["mps"] = dict(torch["data"].get("mps") or {}, available=True)
    documents["mac"] = mac

    clean = copy.deepcopy(full)
    for finding in clean["findings"]:
        if finding["status"] in ("error", "warning"):
            finding.update(status="ok", crashed=False)
    for record in op_records(clean):
        record["class"] = "native"
    documents["clean"] = clean

    paths = {name: write(folder, name + ".json", document) for name, document in documents.items()}
    return {"folder": folder, "paths": paths, "documents": documents, "package": (package["name"], package_before)}


def needs_ops(legs):
    names = {record["op"] for record in op_records(legs["documents"]["full"])}
    if not set(OP_CHANGES) <= names:
        pytest.skip("the full check did not probe %s here" % ", ".join(sorted(OP_CHANGES)))


# --- matrix --------------------------------------------------------------------------------------------------


def matrix_json(*arguments):
    completed = run_cli("matrix", *arguments, "--format", "json")
    assert completed.returncode in (0, 1), completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def cell_status(document, name):
    row = next(row for row in document["rows"] if row["name"] == name)
    return [cell and cell["status"] for cell in row["cells"]]


def test_matrix_columns_rows_and_cells(legs):
    needs_ops(legs)
    paths, documents = legs["paths"], legs["documents"]
    code, document = matrix_json(paths["full"], paths["mac"], paths["quick"], paths["ops"])
    labels, seen = [], {}
    for name in ("full", "mac", "quick", "ops"):
        label = documents[name]["label"] or expected_label(documents[name]["environment"])
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else "%s #%d" % (label, seen[label]))
    assert labels[1] == "mac-mps"
    assert [column["label"] for column in document["columns"]] == labels
    assert [column["source"] for column in document["columns"]] == [paths[n] for n in ("full", "mac", "quick", "ops")]
    full, quick = documents["full"], documents["quick"]
    assert cell_status(document, FLIPPED_FINDING) == [finding_status(full, FLIPPED_FINDING), "error",
                                                      finding_status(quick, FLIPPED_FINDING), None]
    conv2d = next(row for row in document["rows"] if row["name"] == "conv2d")
    ops_class = next(r["class"] for r in documents["ops"]["ops"] if r["op"] == "conv2d")
    full_class = next(r["class"] for r in op_records(full) if r["op"] == "conv2d")
    assert conv2d["section"] == "ops"
    assert [cell and cell["result"] for cell in conv2d["cells"]] == [full_class, "fallback", None, ops_class]
    assert cell_status(document, "grid_sample")[1] == "error"
    assert cell_status(document, "linalg.solve")[1] == "warning"
    checks = {f["id"] for f in full["findings"]} | {f["id"] for f in quick["findings"]}
    ops = {r["op"] for r in op_records(full)} | {r["op"] for r in documents["ops"]["ops"]}
    assert sorted((row["section"], row["name"]) for row in document["rows"]) == sorted(
        [("checks", name) for name in checks] + [("ops", name) for name in ops])
    expected = [expected_errors(documents[name]) for name in ("full", "mac", "quick", "ops")]
    assert document["errors"] == dict(zip([column["label"] for column in document["columns"]], expected))
    assert "numpy-abi" in expected[1] and "grid_sample" in expected[1]
    assert code == 1


def test_matrix_markdown_table_and_what_fails_where(legs):
    needs_ops(legs)
    paths, full = legs["paths"], legs["documents"]["full"]
    completed = run_cli("matrix", paths["full"], paths["mac"])
    assert completed.returncode == 1, completed.stderr
    lines = completed.stdout.splitlines()
    label = expected_label(full["environment"])
    assert lines[0] == "## dl-doctor matrix: 2 environments"
    assert "| | %s | mac-mps |" % label in lines
    assert "| `numpy-abi` | %s | ❌ |" % MARKS[finding_status(full, FLIPPED_FINDING)] in lines
    grid_sample = "| `grid_sample` | %s | ❌ |" % MARKS[OP_STATUS.get(next(
        r["class"] for r in op_records(full) if r["op"] == "grid_sample"), "error")]
    assert "| **ops** | | |" in lines
    assert lines.index("| **ops** | | |") < lines.index(grid_sample)
    where = next(line for line in lines if line.startswith("- **mac-mps**: "))
    assert where.startswith("- **mac-mps**: errors: %s" % ", ".join(expected_errors(legs["documents"]["mac"])))
    assert lines.index("### What fails where") < lines.index(where)


def test_matrix_html_is_a_self_contained_page(legs):
    completed = run_cli("matrix", legs["paths"]["full"], legs["paths"]["mac"], "--format", "html")
    assert completed.returncode == 1, completed.stderr
    parser = assert_self_contained_html(completed.stdout)
    text = "".join(parser.text)
    assert "dl-doctor matrix: 2 environments" in text and "mac-mps" in text and "What fails where" in text


def test_matrix_exits_0_when_no_leg_has_an_error(legs):
    completed = run_cli("matrix", legs["paths"]["clean"], legs["paths"]["clean"])
    assert completed.returncode == 0, completed.stdout + completed.stderr
    label = expected_label(legs["documents"]["clean"]["environment"])
    assert "- **%s**: nothing fails" % label in completed.stdout.splitlines()
    assert "- **%s #2**: nothing fails" % label in completed.stdout.splitlines()


def test_matrix_gives_duplicate_labels_a_number(legs):
    paths = legs["paths"]
    _, document = matrix_json(paths["mac"], paths["mac"], paths["mac"])
    assert [column["label"] for column in document["columns"]] == ["mac-mps", "mac-mps #2", "mac-mps #3"]


def test_matrix_columns_stay_distinct_when_a_label_looks_numbered(legs):
    named = []
    for index, label in enumerate(("cpu", "cpu", "cpu #2")):
        named.append(write(legs["folder"], "label-%d.json" % index, dict(legs["documents"]["full"], label=label)))
    _, document = matrix_json(*named)
    labels = [column["label"] for column in document["columns"]]
    assert len(set(labels)) == 3, labels


def test_matrix_output_file_and_summary_line(legs, tmp_path):
    output = tmp_path / "matrix.md"
    completed = run_cli("matrix", legs["paths"]["full"], legs["paths"]["mac"], "--output", str(output))
    failing = sum(1 for name in ("full", "mac") if expected_errors(legs["documents"][name]))
    assert completed.returncode == 1
    assert completed.stdout == "dl-doctor: matrix of 2 environments written to %s (%d with errors)\n" % (output,
                                                                                                         failing)
    assert output.read_text(encoding="utf-8").startswith("## dl-doctor matrix: 2 environments\n")


def test_matrix_reads_a_schema_1_report(legs):
    old = write(legs["folder"], "schema-1.json", as_schema_1(legs["documents"]["mac"]))
    code, document = matrix_json(old)
    assert code == 1
    assert document["errors"] == {expected_label(legs["documents"]["mac"]["environment"]):
                                  expected_errors(legs["documents"]["mac"])}


@pytest.mark.skipif(HOME in ("", "/"), reason="no home folder to redact")
def test_matrix_redacts_an_unredacted_report_unless_told_not_to(legs):
    document = copy.deepcopy(legs["documents"]["mac"])
    document["redacted"] = False
    document["label"] = "leg in %s/ci" % HOME
    document["environment"]["python_executable"] = HOME + "/venv/bin/python"
    for finding in document["findings"]:
        if finding["id"] == FLIPPED_FINDING:
            finding["title"] = "NumPy 2 breaks %s/venv" % HOME
    path = write(legs["folder"], "unredacted.json", document)
    _, shared = matrix_json(path)
    _, kept = matrix_json(path, "--no-redact")
    assert [column["label"] for column in shared["columns"]] == ["leg in ~/ci"]
    assert shared["columns"][0]["environment"]["python_executable"] == "~/venv/bin/python"
    assert next(row for row in shared["rows"] if row["name"] == FLIPPED_FINDING)["cells"][0]["title"] == \
        "NumPy 2 breaks ~/venv"
    assert kept["columns"][0]["environment"]["python_executable"] == HOME + "/venv/bin/python"
    assert kept["columns"][0]["label"] == "leg in %s/ci" % HOME


# --- diff ----------------------------------------------------------------------------------------------------


def test_diff_of_a_report_with_itself_is_empty(legs):
    completed = run_cli("diff", legs["paths"]["full"], legs["paths"]["full"])
    label = expected_label(legs["documents"]["full"]["environment"])
    assert (completed.returncode, completed.stdout) == (0, "no differences between %s and %s\n" % (label, label))


def mac_differences(legs):
    full, mac = legs["documents"]["full"], legs["documents"]["mac"]
    name, before = legs["package"]
    expected = {("environment", "os", full["environment"]["os"], "Darwin"), ("packages", name, before, "1.26.4"),
                ("findings", FLIPPED_FINDING, finding_status(full, FLIPPED_FINDING), "error")}
    device = full["facts"]["probes"]["ops"]["data"]["device"]
    for record in op_records(full):
        if record["op"] in OP_CHANGES and record["class"] != OP_CHANGES[record["op"]]:
            expected.add(("ops", record["op"], "%s (%s)" % (record["class"], device),
                          "%s (%s)" % (OP_CHANGES[record["op"]], device)))
    torch = mac["facts"]["probes"]["torch"]
    if torch.get("status") == "ok" and torch["data"].get("importable"):
        before = (full["facts"]["probes"]["torch"]["data"].get("mps") or {}).get("available")
        if before is not True:
            expected.add(("devices", "mps available", None if before is None else str(before).lower(), "true"))
    return expected


def test_diff_lists_versions_devices_findings_and_ops_that_differ(legs):
    needs_ops(legs)
    completed = run_cli("diff", legs["paths"]["full"], legs["paths"]["mac"], "--format", "json")
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert (document["a"], document["b"]) == (expected_label(legs["documents"]["full"]["environment"]), "mac-mps")
    assert {(d["section"], d["name"], d["a"], d["b"]) for d in document["differences"]} == mac_differences(legs)
    sections = [d["section"] for d in document["differences"]]
    order = ["environment", "packages", "devices", "findings", "ops"]
    assert sections == sorted(sections, key=order.index)


def test_diff_as_text_and_markdown(legs):
    needs_ops(legs)
    name, before = legs["package"]
    text = run_cli("diff", legs["paths"]["full"], legs["paths"]["mac"])
    markdown = run_cli("diff", legs["paths"]["full"], legs["paths"]["mac"], "--format", "markdown")
    assert text.returncode == markdown.returncode == 1
    rows = [line.split() for line in text.stdout.splitlines()]
    assert [name, before, "1.26.4"] in rows
    assert ["os", legs["documents"]["full"]["environment"]["os"], "Darwin"] in rows
    assert text.stdout.splitlines()[-1] == "%d differences" % len(mac_differences(legs))
    assert text.stdout.splitlines()[1] == "B: mac-mps"
    assert "| `%s` | %s | 1.26.4 |" % (name, before) in markdown.stdout.splitlines()
    assert "| `grid_sample` |" in markdown.stdout


@pytest.mark.skipif(HOME in ("", "/"), reason="no home folder to redact")
def test_diff_redacts_unless_told_not_to(legs):
    document = copy.deepcopy(legs["documents"]["full"])
    document["environment"]["python_executable"] = HOME + "/other/bin/python"
    path = write(legs["folder"], "other-python.json", document)
    shared = json.loads(run_cli("diff", legs["paths"]["full"], path, "--format", "json").stdout)
    kept = json.loads(run_cli("diff", legs["paths"]["full"], path, "--format", "json", "--no-redact").stdout)
    assert [(d["name"], d["b"]) for d in shared["differences"]] == [("python_executable", "~/other/bin/python")]
    assert [(d["name"], d["b"]) for d in kept["differences"]] == [("python_executable", HOME + "/other/bin/python")]


def test_diff_of_a_check_and_an_ops_report_compares_only_what_both_have(legs):
    completed = run_cli("diff", legs["paths"]["full"], legs["paths"]["ops"], "--format", "json")
    document = json.loads(completed.stdout)
    assert [d for d in document["differences"] if d["section"] == "environment"] == []


@pytest.mark.parametrize("torch_data", [{"importable": True, "cuda": [1], "mps": "yes", "xpu": 3},
                                        {"importable": True, "cuda": {"available": True, "devices": 5}}])
def test_diff_of_a_report_with_odd_torch_facts_compares_what_it_can(legs, torch_data):
    document = copy.deepcopy(legs["documents"]["full"])
    document["facts"]["probes"]["torch"] = dict(document["facts"]["probes"]["torch"], status="ok", data=torch_data)
    loaded = read_document(document, "odd.json", full=True)
    names = {d.name for d in diff_reports(loaded, loaded)}
    assert names == set()


# --- bad input -----------------------------------------------------------------------------------------------


def bad_files(folder, good_text):
    """Every kind of file that is not a report, by name, with the words its one-line error must hold."""
    report = json.loads(good_text)
    cut = good_text.index("\n", len(good_text) // 2)
    contents = {
        "corrupt": (good_text[:100] + "@@@" + good_text[103:], ["not JSON"]),
        "truncated": (good_text[:cut], ["truncated JSON"]),
        "empty": ("", ["empty file, not a dl-doctor report"]),
        "blank": ("  \n\t\n", ["empty file, not a dl-doctor report"]),
        "not-json": ("hello, world\n", ["not JSON"]),
        "json-list": ("[1, 2, 3]\n", ["not a dl-doctor report (a JSON list, not an object)"]),
        "other-json": ('{"name": "left-pad", "version": "1.3.0"}\n', ["not a dl-doctor report"]),
        "findings-not-a-list": (json.dumps(dict(report, findings="x")),
                                ['a damaged check report (ValueError: "findings" must be a list)']),
        "finding-damaged": (json.dumps(dict(report, findings=[{"status": "fatal", "title": "x"}])),
                            ["a damaged check report"]),
        "newer-schema": (json.dumps(dict(report, schema_version=99)),
                         ["written by a newer dl-doctor", "report schema 99", "pip install -U dl-doctor"]),
    }
    paths = {}
    for name, (text, words) in contents.items():
        paths[name] = (write_text(folder / (name + ".json"), text), words)
    binary = folder / "binary.json"
    binary.write_bytes(bytes(range(256)) * 4)
    paths["binary"] = (str(binary), ["not a text file"])
    paths["missing"] = (str(folder / "missing.json"), ["cannot read it (No such file or directory)"])
    (folder / "directory.json").mkdir()
    paths["directory"] = (str(folder / "directory.json"), ["cannot read it (Is a directory)"])
    return paths


def write_text(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_KINDS = ["corrupt", "truncated", "empty", "blank", "not-json", "json-list", "other-json", "findings-not-a-list",
             "finding-damaged", "newer-schema", "binary", "missing", "directory"]


@pytest.fixture(scope="module")
def bad(legs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return bad_files(folder, json.dumps(legs["documents"]["quick"], indent=2))


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_matrix_refuses_a_bad_file_in_one_line(legs, bad, kind):
    path, words = bad[kind]
    completed = run_cli("matrix", legs["paths"]["quick"], path)
    assert_one_line_usage_error(completed, "dl-doctor: error: %s: " % path, *words)
    assert completed.stderr.rstrip().endswith("(--skip-bad leaves such files out)")
    assert completed.stdout == ""


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_diff_refuses_a_bad_file_in_one_line(legs, bad, kind, capsys):
    path, words = bad[kind]
    for arguments in (["diff", legs["paths"]["quick"], path], ["diff", path, legs["paths"]["quick"]]):
        stdout = io.StringIO()
        assert main(arguments, stdout=stdout) == 2
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("dl-doctor: error: %s: " % path), captured.err
        assert all(word in lines[0] for word in words), lines[0]
        assert stdout.getvalue() == "" and captured.out == ""


def test_diff_refuses_damaged_facts_in_one_line(legs, tmp_path):
    document = copy.deepcopy(legs["documents"]["quick"])
    document["facts"]["probes"]["packages"]["data"] = "x"
    path = write(tmp_path, "damaged-facts.json", document)
    completed = run_cli("diff", legs["paths"]["quick"], path)
    assert_one_line_usage_error(completed, "%s: " % path, "damaged")


def test_matrix_skip_bad_renders_the_good_and_names_the_skipped(legs, bad):
    bad_paths = [bad[kind][0] for kind in ("truncated", "binary", "missing")]
    completed = run_cli("matrix", legs["paths"]["mac"], *bad_paths, legs["paths"]["clean"], "--skip-bad",
                        "--format", "json")
    assert completed.returncode == 1, completed.stderr
    document = json.loads(completed.stdout)
    assert [column["source"] for column in document["columns"]] == [legs["paths"]["mac"], legs["paths"]["clean"]]
    lines = completed.stderr.splitlines()
    assert [line.split(": ")[0:2] for line in lines] == [["dl-doctor matrix", "skipped " + path] for path in bad_paths]
    assert "truncated JSON" in lines[0] and "not a text file" in lines[1] and "cannot read it" in lines[2]
    assert "Traceback" not in completed.stderr


def test_matrix_skip_bad_with_nothing_readable_is_exit_2(bad):
    paths = [bad[kind][0] for kind in ("empty", "json-list")]
    completed = run_cli("matrix", *paths, "--skip-bad")
    assert completed.returncode == 2
    lines = completed.stderr.splitlines()
    assert lines[:2] == ["dl-doctor matrix: skipped %s: empty file, not a dl-doctor report" % paths[0],
                         "dl-doctor matrix: skipped %s: not a dl-doctor report (a JSON list, not an object)" % paths[1]]
    assert lines[2:] == ["dl-doctor: error: no readable reports among the 2 file(s) given"]


def test_a_report_cut_inside_a_string_is_called_truncated(legs):
    text = json.dumps(legs["documents"]["quick"])
    with pytest.raises(ReportError, match="cut.json: truncated JSON"):
        parse_report(text[:text.index('"dl-doctor"') + 4], "cut.json")


def test_matrix_output_survives_a_non_utf8_path_in_a_report(legs, tmp_path):
    document = copy.deepcopy(legs["documents"]["quick"])
    document["label"] = "caf\udce9 leg"  # json.dumps writes it as the escape \udce9, as it writes os.fsdecode paths
    path = write(tmp_path, "surrogate.json", document)
    completed = run_cli("matrix", path, "--output", str(tmp_path / "matrix.md"))
    assert "Traceback" not in completed.stderr
    assert completed.returncode in (0, 1, 2)
    assert len(completed.stderr.splitlines()) <= 1


# --- hypothesis: whatever the file holds, the reader answers a report or a ReportError ----------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON = st.recursive(JSON_SCALARS, lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=20)


def mostly(valid):
    """Nine times in ten a well-typed value, else any JSON: random objects that get past the reader's first
    gates often enough to reach its deeper checks and the renderers."""
    return st.integers(min_value=0, max_value=9).flatmap(lambda n: JSON if n == 0 else valid)


OP_RECORD = st.fixed_dictionaries(
    {"op": mostly(st.text(max_size=8))},
    optional={"class": mostly(st.sampled_from(["native", "fallback", "unsupported", "wrong", "crashed", "?"])),
              "evidence": JSON})
FINDING = st.fixed_dictionaries(
    {"status": mostly(st.sampled_from(["ok", "info", "warning", "error", "skipped"])), "title": JSON},
    optional={"id": mostly(st.text(max_size=8)), "category": JSON, "detail": JSON, "crashed": JSON,
              "links": mostly(st.lists(st.text(max_size=4), max_size=2)), "fix": mostly(st.none())})
REPORTISH = st.fixed_dictionaries(
    {"tool": mostly(st.just({"name": "dl-doctor", "version": "0.1.0"})),
     "schema_version": mostly(st.sampled_from([1, 2, 3])),
     "kind": mostly(st.sampled_from(["check", "bench", "ops"])),
     "environment": mostly(st.dictionaries(st.text(max_size=8), JSON, max_size=4)),
     "label": mostly(st.none() | st.text(max_size=8)),
     "findings": mostly(st.lists(FINDING, max_size=3)),
     "facts": mostly(st.fixed_dictionaries({"probes": mostly(st.fixed_dictionaries({}, optional={"ops": mostly(
         st.fixed_dictionaries({"status": mostly(st.just("ok")),
                                "data": mostly(st.fixed_dictionaries({"ops": mostly(st.lists(OP_RECORD, max_size=3))},
                                                                     optional={"device": JSON}))}))}))},
         optional={"lesson": JSON, "quick": JSON})),
     "ops": mostly(st.lists(OP_RECORD, max_size=3))},
    optional={"timings": JSON, "redacted": JSON, "seconds": JSON, "device": JSON},
)


def read_or_refuse(document, full=False):
    """The reader's answer: a LoadedReport, or None when it refused with ReportError; anything else fails."""
    try:
        loaded = read_document(document, "fuzz.json", full=full)
    except ReportError as exc:
        assert str(exc).startswith("fuzz.json: ")
        assert "\n" not in str(exc).strip()
        return None
    assert isinstance(loaded, LoadedReport)
    return loaded


def render_everything(document, loaded):
    """What matrix does with an accepted report, and what diff does with it read in full."""
    matrix = build_matrix([loaded, loaded])
    assert len(matrix.columns) == 2
    render_matrix_markdown(matrix)
    render_matrix_html(matrix)
    json.loads(render_matrix_json(matrix))
    full = read_or_refuse(document, full=True)
    if full is not None:
        try:
            diff_reports(full, full)
        except ReportError:
            pass


@settings(max_examples=200, deadline=None)
@given(document=JSON | REPORTISH)
def test_reader_answers_any_json_with_a_report_or_a_report_error(document):
    """Random JSON, and random objects shaped like reports."""
    loaded = read_or_refuse(document)
    try:
        text = json.dumps(document)
    except ValueError:
        return
    try:
        parsed = parse_report(text, "fuzz.json")
    except ReportError as exc:
        assert str(exc).startswith("fuzz.json: ")
        parsed = None
    assert (parsed is None) == (loaded is None)
    if loaded is not None:
        render_everything(document, loaded)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60) | st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")))
def test_reader_answers_any_text_with_a_report_or_a_report_error(text):
    try:
        assert isinstance(parse_report(text, "fuzz.json"), LoadedReport)
    except ReportError as exc:
        assert str(exc).startswith("fuzz.json: ")


def paths_in(value, path=()):
    """Every place in a report the reader looks at: the top level, environment, findings, timings, the facts'
    shape and the whole ops fact (not the contents of the other probes, which only diff rebuilds)."""
    yield path
    if len(path) == 4 and path[:2] == ("facts", "probes") and path[3] == "data" and path[2] != "ops":
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_in(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value[:6]):
            yield from paths_in(child, path + (index,))


def replaced(value, path, new, delete=False):
    """A copy of ``value`` with the node at ``path`` replaced by ``new`` (or deleted), copying only the path."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copied = dict(value) if isinstance(value, dict) else list(value)
    if delete and not rest:
        del copied[head]
    else:
        copied[head] = replaced(value[head], rest, new, delete)
    return copied


@pytest.fixture(scope="module")
def valid_documents(legs):
    documents = [legs["documents"][name] for name in ("full", "ops", "mac")]
    return [(document, list(paths_in(document))) for document in documents]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_reader_and_matrix_survive_a_damaged_real_report(valid_documents, data):
    document, paths = data.draw(st.sampled_from(valid_documents))
    path = data.draw(st.sampled_from(paths))
    delete = bool(path) and data.draw(st.booleans())
    damaged = replaced(document, path, data.draw(JSON), delete)
    loaded = read_or_refuse(damaged)
    if loaded is not None:
        render_everything(damaged, loaded)
