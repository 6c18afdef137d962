"""`dl-doctor fix` for real: a temporary virtualenv (seeing this interpreter's torch), the simulated MPS
backend so that the findings ask for the fallback, the fix applied, a new interpreter of that venv seeing
the variable before it imports anything, and undo restoring the files byte for byte."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import make_venv, run_cli, site_packages

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="venv layout as on Linux and macOS")]

MISSING_ON_MPS = json.dumps({"missing": ["aten::_linalg_solve_ex", "aten::grid_sampler_2d"]})
PTH = "dl_doctor_mps_fallback.pth"


def simulated_mps_env():
    env = dict(os.environ, DL_DOCTOR_SIMULATE=MISSING_ON_MPS)
    env.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
    return env


@pytest.fixture(scope="module")
def course_venv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fix")
    python = make_venv(folder / "venv", system_site_packages=True)
    return folder, python, site_packages(python)


def fresh_interpreter_sees(python):
    """What a brand-new process of the venv sees before it imports anything itself."""
    program = ("import os, sys, json; print(json.dumps([os.environ.get('PYTORCH_ENABLE_MPS_FALLBACK'), "
               "sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'fastai'))]))")
    env = dict(os.environ)
    env.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
    out = subprocess.run([str(python), "-c", program], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_check_names_the_missing_ops_and_the_automatic_fix(course_venv):
    folder, python, _ = course_venv
    completed = run_cli("check", "--python", str(python), "--format", "json", cwd=str(folder),
                        env=simulated_mps_env())
    findings = {f["id"]: f for f in json.loads(completed.stdout)["findings"]}
    fallback = findings["mps-fallback"]
    assert fallback["status"] == "error"
    assert fallback["title"].startswith("2 lesson ops are missing on MPS and PYTORCH_ENABLE_MPS_FALLBACK is not set")
    assert "lesson 1's fastai aug_transforms warp" in fallback["title"]
    assert fallback["fix"]["automatic"] == "mps-fallback"
    assert completed.returncode == 1


def test_dry_run_writes_nothing(course_venv):
    folder, python, site = course_venv
    completed = run_cli("fix", "--python", str(python), cwd=str(folder), env=simulated_mps_env())
    assert completed.returncode == 0, completed.stderr
    assert "would write %s" % (site / PTH) in completed.stdout
    assert "Dry run: nothing was written" in completed.stdout
    assert not (site / PTH).exists()
    assert fresh_interpreter_sees(python)[0] is None


def test_apply_then_a_new_interpreter_has_the_variable_before_any_import_then_undo(course_venv):
    folder, python, site = course_venv
    applied = run_cli("fix", "--yes", "--python", str(python), cwd=str(folder), env=simulated_mps_env())
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "wrote %s" % (site / PTH) in applied.stdout
    assert "mps-fallback: fallback on: 2 lesson ops run on the CPU" in applied.stdout
    assert "mps-fallback: fixed" in applied.stdout
    assert fresh_interpreter_sees(python) == ["1", []]

    again = run_cli("fix", "mps-fallback", "--yes", "--python", str(python), cwd=str(folder),
                    env=simulated_mps_env())
    assert "already in place: %s" % (site / PTH) in again.stdout
    journal = json.loads((python.parent.parent / "share" / "dl-doctor" / "fix-journal.json").read_text())
    assert len(journal["entries"]) == 1

    undone = run_cli("fix", "--undo", "--python", str(python), cwd=str(folder))
    assert undone.returncode == 0
    assert "removed %s" % (site / PTH) in undone.stdout
    assert not (site / PTH).exists()
    assert not (python.parent.parent / "share" / "dl-doctor").exists()
    assert fresh_interpreter_sees(python)[0] is None


def test_undo_restores_a_file_it_replaced_byte_for_byte(course_venv):
    folder, python, site = course_venv
    original = b"# the learner's own hook\r\nimport os; os.environ.setdefault('X', '\xc3\xa9')\n\x00"
    (site / PTH).write_bytes(original)
    try:
        applied = run_cli("fix", "mps-fallback", "--yes", "--python", str(python), cwd=str(folder))
        assert applied.returncode in (0, 1), applied.stderr
        assert (site / PTH).read_bytes() != original
        assert run_cli("fix", "--undo", "--python", str(python), cwd=str(folder)).returncode == 0
        assert (site / PTH).read_bytes() == original
    finally:
        (site / PTH).unlink()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to hand a folder over")
def test_another_users_environment_is_refused_and_left_alone(course_venv):
    folder, python, site = course_venv
    owner = os.stat(site).st_uid
    os.chown(site, 65534, -1)
    try:
        completed = run_cli("fix", "mps-fallback", "--yes", "--python", str(python), cwd=str(folder))
    finally:
        os.chown(site, owner, -1)
    assert completed.returncode == 1
    assert "mps-fallback: refused: %s belongs to another user" % site in completed.stdout
    assert not (site / PTH).exists()


@pytest.mark.parametrize("arguments, words", [
    (["fix", "make-it-fast"], ["unknown fix 'make-it-fast'", "mps-fallback"]),
    (["fix", "--yes", "--dry-run"], ["contradict"]),
    (["fix", "--undo", "--yes"], ["--undo restores everything"]),
], ids=["unknown-fix", "yes-and-dry-run", "undo-with-yes"])
def test_bad_fix_usage_is_one_line_and_exit_2(tmp_path, arguments, words):
    completed = run_cli(*arguments, cwd=str(tmp_path))
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and all(word in lines[0] for word in words)


def test_list_names_the_automatic_fixes(tmp_path):
    completed = run_cli("fix", "--list", cwd=str(tmp_path))
    assert completed.returncode == 0 and completed.stdout.startswith("mps-fallback  ")


KERNEL = textwrap.dedent("""
    import json, os, sys
    import torch
    {change}
    from doctor.cli import main
    main(["check", "--quick", "--format", "json", "--output", sys.argv[1]])
""")


@pytest.mark.parametrize("start, change, status", [
    (None, "os.environ['PYTORCH_ENABLE_MPS_FALLBACK'] = '1'", "warning"),
    ("1", "", "ok"),
], ids=["set-after-import", "set-before-start"])
def test_variable_set_after_import_torch_in_a_kernel_like_process(tmp_path, start, change, status):
    env = dict(os.environ)
    env.pop("PYTORCH_ENABLE_MPS_FALLBACK", None)
    if start is not None:
        env["PYTORCH_ENABLE_MPS_FALLBACK"] = start
    report_path = tmp_path / "report.json"
    subprocess.run([sys.executable, "-c", KERNEL.format(change=change), str(report_path)], env=env,
                   cwd=str(tmp_path), check=True, timeout=300, capture_output=True)
    findings = {f["id"]: f for f in json.loads(report_path.read_text())["findings"]}
    assert findings["mps-fallback-late"]["status"] == status
    if status == "warning":
        assert "takes effect only after a restart" in findings["mps-fallback-late"]["title"]
