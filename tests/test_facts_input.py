"""``check --facts`` (#14 §11): a saved file is read within the reader's limits — nesting, size — and a newer
schema is refused as ``matrix`` and ``diff`` refuse it, each as one line and exit 2."""

import json

import pytest

from doctor.cli import main
from doctor.facts import FACTS_SCHEMA_VERSION
from doctor.reader import MAX_REPORT_BYTES, ReportError, read_report
from doctor.report import REPORT_SCHEMA_VERSION, Report
from factories import make_facts


def one_line_error(capsys, arguments):
    assert main(arguments) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dl-doctor: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize("depth", [100, 100000], ids=["deeper-than-a-report", "deeper-than-the-stack"])
@pytest.mark.parametrize("command", [["check", "--facts"], ["matrix"]])
def test_a_deeply_nested_file_is_one_line(tmp_path, capsys, depth, command):
    path = tmp_path / "deep.json"
    path.write_text('{"facts": ' + "[" * depth + "]" * depth + "}")
    assert "nested too deeply" in one_line_error(capsys, command + [str(path)])


def test_a_report_nested_as_deep_as_reports_are_is_read(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(make_facts().to_dict()))
    assert main(["check", "--facts", str(path), "--format", "json", "--output", str(tmp_path / "out.json")]) in (0, 1)


@pytest.mark.parametrize("command", [["check", "--facts"], ["matrix"]])
def test_a_huge_file_is_refused_by_its_size_before_reading(tmp_path, capsys, command):
    path = tmp_path / "huge.json"
    with open(str(path), "wb") as handle:
        handle.truncate(MAX_REPORT_BYTES + 1)  # sparse: costs no disk, and reading it would cost 64 MiB
    line = one_line_error(capsys, command + [str(path)])
    assert "larger than any dl-doctor report" in line and "not read" in line


def test_a_newer_report_schema_is_refused_as_matrix_refuses_it(tmp_path, capsys):
    document = Report(findings=(), facts=make_facts(), timings={}).to_dict()
    document["schema_version"] = REPORT_SCHEMA_VERSION + 1
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ReportError) as matrix_refusal:
        read_report(str(path))
    line = one_line_error(capsys, ["check", "--facts", str(path)])
    assert line == "dl-doctor: error: --facts %s" % matrix_refusal.value
    assert "upgrade it with pip install -U dl-doctor" in str(matrix_refusal.value)


def test_a_newer_facts_schema_says_to_upgrade(tmp_path, capsys):
    raw = make_facts().to_dict()
    raw["facts_schema_version"] = FACTS_SCHEMA_VERSION + 1
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(raw))
    line = one_line_error(capsys, ["check", "--facts", str(path)])
    assert "facts schema version %d, written by a newer dl-doctor" % (FACTS_SCHEMA_VERSION + 1) in line
    assert "pip install -U dl-doctor" in line
