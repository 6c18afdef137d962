"""torch's own MPS expectations, read as data: the mps-expectations probe against the real common_mps.py of the
installed torch (entries checked by reading the file) and against fabricated ones (a syntax error, an unknown
structure, no file, no torch, conditions it cannot evaluate), the prediction per lesson op by macOS version, the
marking of a Mac run that disagrees with it, and ``dl-doctor ops --device mps --predict`` in a real child."""

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

from conftest import run_cli
from doctor.answers.json_schema import record_schema, type_schema
from doctor.answers.mps_expectations import MpsExpectationsAnswer
from doctor.answers.shapes import record_names
from doctor.collect import probe_environment
from doctor.probes import mps_expectations_probe
from doctor.probes.programs.op_catalog import CATALOG, catalog_names
from doctor.probes.runner import run_probe
from doctor.results.mps_expectations import (BUG_REPORT_LINK, FAILS, MAY_FAIL, MPS_COVERAGE_LINK, NO_OPINFO,
                                             OPINFO_OF, PASSES, UNTESTED, annotated, disagreement, expectations)

INSTALLED_LISTS = Path(metadata.distribution("torch").locate_file("torch/testing/_internal/common_mps.py"))
LESSON_OPS = [(op.name, op.lessons, op.backward) for op in CATALOG]
# The answer's declaration as a JSON Schema (it is no fact of a check, so not in the shipped facts schema).
ANSWER_SCHEMA = jsonschema.Draft202012Validator(dict(type_schema(MpsExpectationsAnswer), **{"$defs": {
    name: record_schema(record) for name, record in record_names(MpsExpectationsAnswer).items()}}))


def read(env=None, python=sys.executable, cwd="."):
    outcome = run_probe(mps_expectations_probe(), python, str(cwd), dict(probe_environment(), **(env or {})))
    assert outcome.ok, outcome.reason
    assert [error.message for error in ANSWER_SCHEMA.iter_errors(outcome.data)] == []
    return outcome.data


@pytest.fixture(scope="module")
def installed():
    return read()


def line_of(text):
    """The line of the installed file that holds ``text`` (the file is the witness, not a copy of it)."""
    lines = INSTALLED_LISTS.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def listed(answer, name, function="mps_ops_modifier"):
    return next(item for item in answer["lists"] if item["name"] == name and item["function"] == function)


def test_the_installed_torch_lists_are_read_with_their_dtypes_and_macos_conditions(installed):
    assert installed["status"] == "read" and installed["reason"] is None and installed["unread"] == []
    assert installed["torch_version"] == metadata.version("torch")
    assert Path(installed["source"]) == INSTALLED_LISTS
    unimplemented = listed(installed, "UNIMPLEMENTED_XFAILLIST")
    assert (unimplemented["condition"], unimplemented["gradient"], unimplemented["expectation"]) == (
        "always", False, "fail")
    assert unimplemented["entries"]["linalg.eig"] == {"dtypes": None, "line": line_of('"linalg.eig": None')}
    assert unimplemented["entries"]["nn.functional.conv_transpose2d"]["dtypes"] == ["int64", "bfloat16"]
    assert unimplemented["entries"]["nn.functional.max_pool2d"]["dtypes"] == ["bool"]
    before_15 = listed(installed, "MACOS_BEFORE_15_0_XFAILLIST")
    assert (before_15["condition"], before_15["macos"], before_15["entries"]["matrix_exp"]["dtypes"]) == (
        "macos", [["<", "15.0"]], None)
    before_14_4 = listed(installed, "MACOS_BEFORE_14_4_XFAILLIST")
    assert before_14_4["macos"] == [["<", "14.4"]] and before_14_4["entries"]["fft.hfft2"]["dtypes"] == ["complex64"]
    assert listed(installed, "ON_MPS_XFAILLIST")["entries"]["sort"]["dtypes"] == [
        "int8", "uint8", "bool", "float16", "bfloat16"]
    assert listed(installed, "SKIPLIST")["entries"]["nn.functional.grid_sample"]["dtypes"] == ["float16", "bfloat16"]
    assert listed(installed, "SKIPLIST")["expectation"] == "skip"


def test_the_gradient_lists_are_told_apart_from_the_forward_ones(installed):
    grad = listed(installed, "XFAILLIST_GRAD", "mps_ops_grad_modifier")
    assert grad["gradient"] is True and grad["entries"]["linalg.lstsq"]["dtypes"] == ["float32"]
    # The same name in two functions: each keeps its own entries.
    assert listed(installed, "ON_MPS_XFAILLIST", "mps_ops_grad_modifier")["entries"] == {
        "nn.functional.conv3d": {"dtypes": ["float32"], "line": line_of('"nn.functional.conv3d": [torch.float32]')}}
    assert listed(installed, "MACOS_BEFORE_15_0_XFAILLIST_GRAD", "mps_ops_grad_modifier")["macos"] == [["<", "15.0"]]
    # The sparse lists apply to sparse tensors, which no lesson uses.
    assert not [item for item in installed["lists"] if "SPARSE" in item["name"]]


def test_what_the_installed_torch_expects_of_the_lesson_ops(installed):
    by_op = {e.op: e for e in expectations(installed, LESSON_OPS)}
    assert {name for name, e in by_op.items() if e.verdict == FAILS} == {"adaptive_avg_pool2d", "bincount", "float64"}
    assert [(m.list_name, m.line) for m in by_op["bincount"].matches] == [
        ("UNIMPLEMENTED_XFAILLIST", line_of('"bincount": ['))]
    assert by_op["linalg.solve"].verdict == PASSES
    # lstsq's gradient is expected to fail in float32, but the lesson never asks for it.
    assert by_op["linalg.lstsq"].verdict == PASSES
    # sort is expected to fail in float16 and bfloat16; the lesson sorts float32.
    assert by_op["sort"].verdict == PASSES
    assert {name for name, e in by_op.items() if e.verdict == NO_OPINFO} == {
        "affine_grid", "lstm", "gru", "bernoulli_.int64", "randperm"}


def test_every_catalogue_op_has_its_opinfo_mapping_declared():
    assert set(OPINFO_OF) == set(catalog_names())


def fake_torch(tmp_path, lists=None):
    """A torch package that fails if imported, with ``lists`` as its common_mps.py (None: no such file)."""
    package = tmp_path / "torch"
    (package / "testing" / "_internal").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('the probe imported torch')\n")
    if lists is not None:
        (package / "testing" / "_internal" / "common_mps.py").write_text(textwrap.dedent(lists))
    return {"PYTHONPATH": str(tmp_path)}


GUARDED = """
    import torch
    from .common_utils import MACOS_VERSION
    if torch.backends.mps.is_available():
        def mps_ops_modifier(ops):
            MACOS_BEFORE_13_3_XFAILLIST = {"nn.functional.conv2d": [torch.float32], "matmul": dtypes_of("x")}
            MACOS_BEFORE_14_0_XFAILLIST = {"nn.functional.grid_sample": None}
            MACOS_AFTER_13_1_XFAILLIST = {"cumsum": [torch.float32, torch.frobnicate]}
            UNIMPLEMENTED_XFAILLIST = {"bincount": None, "double": [torch.float16]}
            SKIPLIST = {"softmax": [torch.float32]}
            UNDEFINED_XFAILLIST = build_list()
            for op in ops:
                key = op.name + op.variant_test_name
                if key in MACOS_BEFORE_13_3_XFAILLIST and (MACOS_VERSION < 13.3):
                    pass
                if key in MACOS_BEFORE_14_0_XFAILLIST and MACOS_VERSION < current_release():
                    pass
            return ops
"""


def test_a_fabricated_file_is_read_as_far_as_it_is_literal(tmp_path):
    answer = read(fake_torch(tmp_path, GUARDED))
    assert answer["status"] == "read"
    assert answer["unread"] == ["UNDEFINED_XFAILLIST (line 11): not a dict literal"]
    lists = {item["name"]: item for item in answer["lists"]}
    assert (lists["MACOS_BEFORE_13_3_XFAILLIST"]["condition"], lists["MACOS_BEFORE_13_3_XFAILLIST"]["macos"]) == (
        "macos", [["<", "13.3"]])
    assert lists["MACOS_BEFORE_13_3_XFAILLIST"]["entries"]["matmul"]["dtypes"] == "?"
    # A version test it cannot evaluate, and a macOS list with no test it can find, are conditions unknown.
    assert lists["MACOS_BEFORE_14_0_XFAILLIST"]["condition"] == "unknown"
    assert lists["MACOS_AFTER_13_1_XFAILLIST"]["condition"] == "unknown"
    assert lists["MACOS_AFTER_13_1_XFAILLIST"]["entries"]["cumsum"]["dtypes"] == ["float32", "frobnicate"]


@pytest.mark.parametrize("macos, verdicts", [
    (None, {"conv2d": MAY_FAIL, "grid_sample": MAY_FAIL, "cumsum": MAY_FAIL, "matmul.float16": MAY_FAIL}),
    ("13.0", {"conv2d": FAILS, "grid_sample": MAY_FAIL, "matmul.float16": MAY_FAIL}),
    ("13.3.1", {"conv2d": PASSES, "grid_sample": MAY_FAIL, "matmul.float16": PASSES}),
    ("15.1", {"conv2d": PASSES, "cumsum": MAY_FAIL}),
])
def test_fabricated_expectations_by_macos_version(tmp_path, macos, verdicts):
    by_op = {e.op: e for e in expectations(read(fake_torch(tmp_path, GUARDED)), LESSON_OPS, macos)}
    assert {name: by_op[name].verdict for name in verdicts} == verdicts
    assert by_op["bincount"].verdict == FAILS and by_op["softmax"].verdict == UNTESTED
    # "double" fails for float16 only; the lesson's float64 op is matched on the conversion's float32 input.
    assert by_op["float64"].verdict == PASSES
    if macos is None:
        assert by_op["conv2d"].when == "macOS < 13.3" and by_op["grid_sample"].when == "an unread condition"


@pytest.mark.parametrize("lists, reason", [
    ("UNIMPLEMENTED_XFAILLIST = {\n", "cannot be read: SyntaxError"),
    ("def mps_ops_modifier(ops):\n    return [op for op in ops]\n", "holds no expectation list"),
    (None, "has no torch/testing/_internal/common_mps.py"),
    ("def f():\n    SKIPLIST = make_skiplist()\n", "holds no expectation list"),
])
def test_a_file_that_cannot_be_read_is_a_clear_cannot_predict(tmp_path, lists, reason):
    answer = read(fake_torch(tmp_path, lists))
    assert answer["status"] == "unavailable" and reason in answer["reason"] and answer["lists"] == []


def test_a_file_that_is_not_utf8_cannot_predict(tmp_path):
    env = fake_torch(tmp_path, "")
    (tmp_path / "torch" / "testing" / "_internal" / "common_mps.py").write_bytes(b"SKIPLIST = {'\xff': None}\n")
    answer = read(env)
    assert answer["status"] == "unavailable" and "UnicodeDecodeError" in answer["reason"]


def test_an_interpreter_without_torch_cannot_predict(tmp_path):
    base = getattr(sys, "_base_executable", None)
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is not None)"
    if not base or base == sys.executable or subprocess.run([base, "-c", probe]).returncode != 0:
        pytest.skip("no interpreter without torch here")
    answer = read(python=base, cwd=tmp_path)
    assert answer["status"] == "unavailable" and answer["reason"] == "torch is not installed in this interpreter"


RECORDED = {"macos_version": "14.2", "lists": [
    {"name": "UNIMPLEMENTED_XFAILLIST", "function": "mps_ops_modifier", "line": 10, "gradient": False,
     "expectation": "fail", "condition": "always", "macos": None,
     "entries": {"bincount": {"dtypes": ["int64"], "line": 11}}},
    {"name": "MACOS_BEFORE_14_4_XFAILLIST", "function": "mps_ops_modifier", "line": 20, "gradient": False,
     "expectation": "fail", "condition": "macos", "macos": [["<", "14.4"]],
     "entries": {"nn.functional.grid_sample": {"dtypes": None, "line": 21}}},
    {"name": "XFAILLIST_GRAD", "function": "mps_ops_grad_modifier", "line": 30, "gradient": True,
     "expectation": "fail", "condition": "unknown", "macos": None,
     "entries": {"nn.functional.conv2d": {"dtypes": None, "line": 31}}},
]}


@pytest.mark.parametrize("op, macos, measured, expected, link", [
    ("bincount", "14.2", "native", FAILS, BUG_REPORT_LINK),
    ("bincount", "14.2", "unsupported", None, None),
    ("grid_sample", "14.2", "native", FAILS, BUG_REPORT_LINK),
    ("grid_sample", "14.2", "fallback", None, None),
    ("grid_sample", "15.0", "native", None, None),
    ("grid_sample", "15.0", "unsupported", PASSES, MPS_COVERAGE_LINK),
    ("grid_sample", "15.0", "fallback", PASSES, MPS_COVERAGE_LINK),
    ("grid_sample", "15.0", "wrong", PASSES, BUG_REPORT_LINK),
    ("grid_sample", None, "native", None, None),  # the macOS version is unknown: no judgement
    ("conv2d", "15.0", "crashed", None, None),  # an unread condition on its gradient: no judgement
    ("linalg.solve", "15.0", "crashed", PASSES, BUG_REPORT_LINK),
    ("linalg.solve", "15.0", "native", None, None),
    ("lstm", "15.0", "unsupported", None, None),  # no OpInfo: torch's lists say nothing
])
def test_a_mac_run_that_contradicts_torch_is_marked_for_a_report(op, macos, measured, expected, link):
    expectation = next(e for e in expectations(RECORDED, LESSON_OPS, macos) if e.op == op)
    found = disagreement(expectation, measured)
    assert (found and (found.expected, found.link)) == ((expected, link) if expected else None)
    if found:
        assert op in found.sentence and "worth a report" in found.sentence


def test_a_run_is_annotated_for_the_macos_version_the_probe_read():
    records = [{"op": "grid_sample", "class": "native"}, {"op": "bincount", "class": "unsupported"},
               {"op": "not-in-the-catalogue", "class": "native"}]
    marked = annotated(records, RECORDED, LESSON_OPS)
    assert marked[0]["torch_expects"]["verdict"] == FAILS and marked[0]["torch_expects"]["link"] == BUG_REPORT_LINK
    assert marked[0]["torch_expects"]["when"] == "macOS < 14.4"
    assert marked[1]["torch_expects"]["disagreement"] is None
    assert marked[2] == records[2] and "torch_expects" not in records[0]


def test_predict_in_a_real_child_names_the_expected_failures_and_their_lessons(tmp_path):
    completed = run_cli("ops", "--device", "mps", "--predict", cwd=str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "torch %s's own MPS expectations" % metadata.version("torch") in completed.stdout
    assert "UNIMPLEMENTED_XFAILLIST:%d" % line_of('"bincount": [') in completed.stdout
    assert "3 of %d lesson ops are expected to fail on MPS (lessons 1, 2, 5, 6, 8)" % len(CATALOG) in completed.stdout


def test_predict_as_json_lists_every_lesson_op(tmp_path):
    completed = run_cli("ops", "--device", "mps", "--predict", "--lesson", "5", "--format", "json", cwd=str(tmp_path))
    document = json.loads(completed.stdout)
    assert completed.returncode == 0 and document["kind"] == "mps-predict" and document["status"] == "read"
    assert document["source"].endswith("common_mps.py") and document["torch"] == metadata.version("torch")
    assert [op["op"] for op in document["ops"]] == [op.name for op in CATALOG if 5 in op.lessons]
    assert {op["op"]: op["torch_expects"] for op in document["ops"]}["float64"] == FAILS


def test_predict_with_no_readable_lists_says_it_cannot_predict(tmp_path):
    env = dict(os.environ, **fake_torch(tmp_path, "x = (\n"))
    completed = run_cli("ops", "--device", "mps", "--predict", cwd=str(tmp_path), env=env)
    assert completed.returncode == 1 and "cannot predict MPS support" in completed.stdout
    assert "SyntaxError" in completed.stdout and "Traceback" not in completed.stderr


@pytest.mark.parametrize("arguments, message", [
    (("--device", "cpu"), "use it with --device mps"),
    (("--device", "mps", "--format", "junit"), "--predict writes text or json"),
    (("--device", "mps", "--catalog", "all"), "lesson catalogue's ops only"),
])
def test_predict_usage_errors(tmp_path, arguments, message):
    completed = run_cli("ops", "--predict", *arguments, cwd=str(tmp_path))
    assert completed.returncode == 2 and message in completed.stdout + completed.stderr


def test_predict_never_imports_torch_in_the_parent(tmp_path):
    program = ("import io, sys; from doctor.cli import main; out = io.StringIO(); "
               "code = main(['ops', '--device', 'mps', '--predict'], out); "
               "assert code == 0 and 'bincount' in out.getvalue(), out.getvalue(); "
               "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    completed = subprocess.run([sys.executable, "-c", program], cwd=str(tmp_path), capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_simulated_mps_run_marks_where_it_disagrees_with_torch(tmp_path):
    env = dict(os.environ, DL_DOCTOR_SIMULATE=json.dumps({"missing": ["aten::_linalg_solve_ex"]}))
    env.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
    arguments = ("ops", "--device", "mps", "--op", "linalg.solve", "--op", "bincount", "--op", "softmax")
    completed = run_cli(*arguments, "--format", "json", cwd=str(tmp_path), env=env)
    expects = {op["op"]: op["torch_expects"] for op in json.loads(completed.stdout)["ops"]}
    assert expects["linalg.solve"]["link"] == MPS_COVERAGE_LINK and expects["linalg.solve"]["verdict"] == PASSES
    assert expects["bincount"]["link"] == BUG_REPORT_LINK and expects["bincount"]["verdict"] == FAILS
    assert expects["softmax"]["disagreement"] is None
    text = run_cli(*arguments, cwd=str(tmp_path), env=env).stdout
    assert "2 ops disagree with torch's own MPS expectations" in text and MPS_COVERAGE_LINK in text
