"""doctor/registry.py: a check declares its topic and the suites (commands) that run it; `dl-doctor list` prints
topics as reports do; the README's table of checks lists every registered check with its topic, in the order
`dl-doctor list --format markdown` prints them."""

import argparse
import io
import json
import re
from pathlib import Path

import pytest

from conftest import run_cli
from doctor.commands.listing import MARKDOWN_HEADER, render_markdown_table, run_list
from doctor.registry import SUITES, check, registered_checks

README = Path(__file__).resolve().parent.parent / "README.md"
CHECKS = registered_checks()


def _ids(specs):
    return {spec.id for spec in specs}


def _of_topics(*topics):
    return {spec.id for spec in CHECKS if spec.topic in topics}


# --- suites ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("suite, expected", [
    ("check", _ids(CHECKS)),
    ("bench", _of_topics("bench")),
    # torch-import says why nothing ran when torch itself does not import.
    ("dist", _of_topics("dist") | {"torch-import"}),
    ("learner", _of_topics("learner", "torch_load")),
    ("widgets", _of_topics("widgets", "notebook")),
])
def test_each_command_runs_the_checks_of_its_suite(suite, expected):
    assert _ids(registered_checks(suite)) == expected


def test_every_suite_runs_some_check_and_every_check_is_in_a_suite():
    assert all(registered_checks(suite) for suite in SUITES)
    assert all(spec.suites and set(spec.suites) <= set(SUITES) for spec in CHECKS)


def test_asking_for_an_unknown_suite_names_the_known_ones():
    with pytest.raises(ValueError, match="no suite 'benchmark'; suites: check, bench, dist, learner, widgets"):
        registered_checks("benchmark")


# --- declaring a check ----------------------------------------------------------------------------

@pytest.mark.parametrize("arguments, message", [
    ({"topic": "torch build"}, "topic 'torch build' is not snake_case"),
    ({"topic": "Cuda"}, "topic 'Cuda' is not snake_case"),
    ({"topic": "cuda", "suites": ("checks",)}, r"suites \('checks',\), not some of check, bench"),
    ({"topic": "cuda", "suites": ()}, r"suites \(\), not some of"),
], ids=["space", "capital", "unknown-suite", "no-suite"])
def test_a_badly_declared_check_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        check("registry-test", "never registered", **arguments)


def test_a_check_must_declare_its_topic():
    with pytest.raises(TypeError, match="topic"):
        check("registry-test", "never registered")


def test_a_check_that_names_no_suite_runs_only_in_the_full_check():
    (spec,) = [spec for spec in CHECKS if spec.id == "python-version"]
    assert spec.suites == ("check",)


# --- dl-doctor list -------------------------------------------------------------------------------

def _list(format):
    stdout = io.StringIO()
    assert run_list(argparse.Namespace(format=format), stdout) == 0
    return stdout.getvalue()


def test_list_prints_topics_as_reports_print_them():
    (line,) = [line for line in _list("text").splitlines() if line.startswith("torch-import ")]
    assert line.split()[:3] == ["torch-import", "torch", "build"]
    assert "torch_build" not in _list("text")


def test_list_as_json_keeps_the_topic_that_reports_call_category():
    listed = {item["id"]: item for item in json.loads(_list("json"))}
    assert listed["torch-import"]["category"] == "torch_build"
    assert listed["torch-import"]["suites"] == ["check", "dist"]
    assert listed["bench-run"]["suites"] == ["check", "bench"]


def test_list_as_markdown_from_the_command_line():
    completed = run_cli("list", "--format", "markdown")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == render_markdown_table(CHECKS)
    assert "| `torch-import` | torch build | import torch works in the target interpreter |" in completed.stdout


# --- the README's table of checks -----------------------------------------------------------------

def _rows(table: str):
    """(id, topic, text) for each row under the header."""
    rows = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        assert len(cells) == 3, "not a row of three cells: %r" % line
        rows.append(tuple(cells))
    return rows


def _readme_table() -> str:
    readme = README.read_text(encoding="utf-8")
    assert readme.count(MARKDOWN_HEADER) == 1, "README.md has no table of checks (or two)"
    start = readme.index(MARKDOWN_HEADER)
    end = readme.find("\n\n", start)
    return readme[start:end + 1 if end >= 0 else len(readme)]


def test_the_readmes_table_lists_every_check_with_its_topic_in_lists_order():
    generated = render_markdown_table(CHECKS)
    readme = [row[:2] for row in _rows(_readme_table())]
    registry = [row[:2] for row in _rows(generated)]
    missing = [line for line, row in zip(generated.splitlines()[2:], registry) if row not in readme]
    assert readme == registry, (
        "README.md's table of checks is not `dl-doctor list --format markdown`'s.\nRows to add:\n%s\n"
        "Rows for no registered check (or with another topic): %s" % ("\n".join(missing),
                                                                      [row for row in readme if row not in registry]))


def test_every_row_of_the_readmes_table_says_what_it_checks():
    for check_id, _, text in _rows(_readme_table()):
        assert re.fullmatch(r"`[a-z0-9-]+`", check_id)
        assert text, "README.md's row for %s says nothing" % check_id
