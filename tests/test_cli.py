"""The command line end to end, in real child processes: exit codes, output formats, bad input."""

import json
import os
import pty
import subprocess
import sys

import pytest

import doctor
from conftest import run_cli
from doctor.registry import registered_checks
from doctor.report import REPORT_SCHEMA_VERSION
from factories import make_facts

CHECK_IDS = sorted(spec.id for spec in registered_checks())


def assert_one_line_usage_error(completed, *words):
    assert completed.returncode == 2, completed.stdout + completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("dl-doctor: error: ")
    assert "Traceback" not in completed.stderr + completed.stdout
    assert completed.stdout == "", "printed before the usage error: %r" % completed.stdout[:200]
    for word in words:
        assert word in lines[0]


def write_facts(path, facts):
    path.write_text(json.dumps(facts.to_dict()))
    return str(path)


def test_version():
    completed = run_cli("--version")
    assert completed.returncode == 0
    assert completed.stdout.strip() == "dl-doctor %s" % doctor.__version__


def test_version_and_help_load_no_command_module():
    """The parser is built from light modules: a command's module (and the process code behind it) is imported
    only when that command runs."""
    program = ("import sys\nfrom doctor.cli import main\nfor arguments in (['--version'], ['--help'], "
               "['check', '--help'], ['dist', '--help']):\n    try:\n        main(arguments)\n"
               "    except SystemExit:\n        pass\n"
               "print(sorted(name for name in sys.modules if name.startswith('doctor.')))")
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    loaded = eval(completed.stdout.strip().splitlines()[-1])
    assert "doctor.cli" in loaded
    assert [name for name in loaded if name.startswith("doctor.commands.")] == []
    assert {"doctor.collect", "doctor.probes", "doctor.registry", "doctor.report"}.isdisjoint(loaded)


def test_list_names_every_check():
    completed = run_cli("list")
    assert completed.returncode == 0
    for check_id in CHECK_IDS:
        assert check_id in completed.stdout


def test_list_as_json():
    listed = json.loads(run_cli("list", "--format", "json").stdout)
    assert sorted(item["id"] for item in listed) == CHECK_IDS
    assert all(item["summary"] for item in listed)


def test_real_check_reports_every_check_and_exits_by_its_findings(real_check):
    report = real_check["report"]
    assert report["schema_version"] == REPORT_SCHEMA_VERSION
    assert report["kind"] == "check" and report["redacted"] is True
    assert report["tool"] == {"name": "dl-doctor", "version": doctor.__version__}
    assert sorted({f["id"] for f in report["findings"]}) == CHECK_IDS
    has_errors = any(f["status"] == "error" for f in report["findings"])
    assert real_check["process"]["exit_code"] == (1 if has_errors else 0)
    assert set(report["timings"]["probes_s"]) == {"python", "packages", "hardware", "notebook", "course", "torch",
                                                  "imports", "installs", "ops", "process"}


def test_real_check_imports_the_lesson_stack_in_a_child(real_check):
    findings = {f["id"]: f for f in real_check["report"]["findings"]}
    assert findings["torch-import"]["status"] == "ok"
    assert findings["lesson-imports"]["status"] == "ok"
    assert "from fastai.vision.all import *" in findings["lesson-imports"]["detail"]


def test_doctor_process_never_imports_torch_or_changes_its_environment(real_check):
    assert real_check["process"]["heavy_modules"] == []
    assert real_check["process"]["environ_changed"] is False


def test_saved_report_rechecks_to_the_same_findings(real_check, tmp_path):
    completed = run_cli("check", "--facts", str(real_check["report_path"]), "--format", "json")
    again = json.loads(completed.stdout)
    summary = lambda report: [(f["id"], f["status"], f["title"]) for f in report["findings"]]  # noqa: E731
    assert summary(again) == summary(real_check["report"])


def test_strict_turns_warnings_into_exit_1(tmp_path):
    facts = write_facts(tmp_path / "facts.json", make_facts(distributions={"awscli": {"requires": ["nope>1"]}}))
    assert run_cli("check", "--facts", facts).returncode == 0
    assert run_cli("check", "--facts", facts, "--strict").returncode == 1


def test_errors_exit_1_and_show_the_fix(tmp_path):
    mismatched = make_facts(distributions={"torchvision": "0.28.0"},
                            packages={"version_modules": {"torchvision": {"__version__": "0.28.0+cu130"}}})
    completed = run_cli("check", "--facts", write_facts(tmp_path / "facts.json", mismatched))
    assert completed.returncode == 1
    assert "[x] torchvision-pairing" in completed.stdout
    assert ("$ /opt/course/bin/python -m pip install torch==2.14.1 'torchvision==0.29.*' "
            "--index-url https://download.pytorch.org/whl/cu130") in completed.stdout


def test_quick_skips_the_imports_and_says_so(tmp_path):
    completed = run_cli("check", "--quick", "--format", "json", cwd=str(tmp_path))
    report = json.loads(completed.stdout)
    statuses = {f["id"]: f["status"] for f in report["findings"]}
    assert statuses["lesson-imports"] == "skipped"
    assert report["facts"]["probes"]["torch"]["status"] == "skipped"
    assert completed.returncode in (0, 1)


def test_output_file_gets_the_report_and_stdout_the_summary(tmp_path):
    facts = write_facts(tmp_path / "facts.json", make_facts())
    target = tmp_path / "report.txt"
    completed = run_cli("check", "--facts", facts, "--output", str(target))
    assert completed.returncode == 0
    assert "report written to %s" % target in completed.stdout
    assert "python-version" in target.read_text()


def test_text_is_ascii_when_piped_and_unicode_with_colour_on_a_terminal(tmp_path):
    facts = write_facts(tmp_path / "facts.json", make_facts())
    piped = run_cli("check", "--facts", facts)
    assert "[ok] python-version" in piped.stdout and "\033[" not in piped.stdout
    on_terminal = _run_on_terminal(["check", "--facts", facts], dict(os.environ))
    assert "✓" in on_terminal and "\033[32m" in on_terminal
    no_color = _run_on_terminal(["check", "--facts", facts], dict(os.environ, NO_COLOR="1"))
    assert "[ok] python-version" in no_color and "\033[" not in no_color


def _run_on_terminal(arguments, env):
    main, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "doctor", *arguments], stdout=secondary, stderr=secondary,
                               stdin=subprocess.DEVNULL, env=env)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_verbose_shows_evidence_for_healthy_findings_and_probe_timings(tmp_path):
    facts = write_facts(tmp_path / "facts.json", make_facts())
    completed = run_cli("check", "--facts", facts, "-v")
    assert "arch list: sm_75" in completed.stdout
    assert "peak RSS kB" in completed.stdout


@pytest.mark.parametrize("arguments, words", [
    (["check", "--frobnicate"], ["unrecognized arguments: --frobnicate"]),
    (["check", "--lesson", "9"], ["lesson '9' does not exist", "1-8"]),
    (["check", "--lesson", "one"], ["lesson 'one' does not exist"]),
    (["check", "--format", "yaml"], ["invalid choice: 'yaml'"]),
    (["explode"], ["invalid choice: 'explode'"]),
    (["check", "--python", "/no/such/python"], ["--python /no/such/python: no such file"]),
    (["check", "--python", "no-such-python-anywhere"], ["no such file"]),
    (["check", "--facts", "/no/such/facts.json"], ["--facts /no/such/facts.json: cannot read it"]),
    # Refused before anything is read or collected: no report is printed first.
    (["check", "--facts", "/no/such/facts.json", "--fix"], ["--fix needs a live environment"]),
    (["check", "--facts", "/no/such/facts.json", "--python", "/no/such/python"], ["cannot be combined"]),
    (["check", "--quick", "--deep", "--bench"], ["--bench runs the benchmark"]),
], ids=["unknown-flag", "lesson-9", "lesson-word", "format", "command", "python-missing", "python-not-on-path",
        "facts-missing", "fix-on-saved-facts", "facts-and-python", "bench-and-quick"])
def test_bad_usage_is_one_line_and_exit_2(arguments, words):
    assert_one_line_usage_error(run_cli(*arguments), *words)


def test_python_that_is_not_python(tmp_path):
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\necho not python\nexit 3\n")
    script.chmod(0o755)
    assert_one_line_usage_error(run_cli("check", "--python", str(script)), "not a Python interpreter")
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    assert_one_line_usage_error(run_cli("check", "--python", str(text_file)), "cannot run it")
    assert_one_line_usage_error(run_cli("check", "--python", str(tmp_path)), "is a directory")


@pytest.mark.parametrize("content, words", [
    ("{not json", ["not JSON"]),
    ("", ["not JSON"]),
    ("[1, 2, 3]", ["not a dl-doctor report or facts file"]),
    ('{"facts": {"facts_schema_version": 99, "probes": {}}}', ["facts schema version 99"]),
    ('{"facts_schema_version": 1, "python": "p", "cwd": "c", "quick": false, "lesson": 1}', ["probes"]),
], ids=["broken", "empty", "list", "newer-schema", "truncated"])
def test_unreadable_facts_are_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "facts.json"
    path.write_text(content)
    assert_one_line_usage_error(run_cli("check", "--facts", str(path)), str(path), *words)


def test_output_that_cannot_be_written(tmp_path):
    facts = write_facts(tmp_path / "facts.json", make_facts())
    assert_one_line_usage_error(run_cli("check", "--facts", facts, "--output", str(tmp_path / "no" / "r.txt")),
                                str(tmp_path / "no"), "does not exist")


def test_a_learners_checks_py_neither_runs_nor_replaces_ours(tmp_path):
    (tmp_path / "checks.py").write_text("print('LEARNER CODE RAN')\nraise SystemExit(7)\n")
    completed = run_cli("list", cwd=str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "LEARNER CODE RAN" not in completed.stdout
    assert "torch-import" in completed.stdout


def test_a_learners_checks_module_already_imported_is_left_in_place(tmp_path):
    (tmp_path / "checks.py").write_text("LEARNER = True\n")
    program = (
        "import checks; from doctor.registry import registered_checks; ids = [c.id for c in registered_checks()];"
        "import sys; print(len(ids), 'torch-import' in ids, getattr(sys.modules['checks'], 'LEARNER', False))"
    )
    completed = subprocess.run([sys.executable, "-c", program], cwd=str(tmp_path), capture_output=True, text=True,
                               timeout=60)
    assert completed.stdout.split() == [str(len(CHECK_IDS)), "True", "True"], completed.stderr


def test_a_working_folder_that_was_deleted_is_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    program = "import os, sys; os.chdir(%r); os.rmdir(%r); from doctor.cli import main; sys.exit(main(['check']))" % (
        str(gone), str(gone))
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert_one_line_usage_error(completed, "the current folder no longer exists")
