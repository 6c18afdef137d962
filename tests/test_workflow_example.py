"""examples/github-actions.yml: it parses, its matrix and artifacts are shaped the way GitHub needs, and
the dl-doctor commands it runs work here, on a leg's worth of real reports."""

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from doctor.reader import read_report

WORKFLOW = Path(__file__).resolve().parent.parent / "examples" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow():
    return yaml.safe_load(WORKFLOW.read_text())


def leg_values(workflow):
    matrix = workflow["jobs"]["doctor"]["strategy"]["matrix"]
    names = sorted(matrix)
    return [dict(zip(names, values)) for values in itertools.product(*(matrix[name] for name in names))]


def substitute(text, values, env=None):
    """GitHub's ${{ matrix.X }} and ${{ env.X }} expressions, as a leg would see them."""
    text = re.sub(r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: str(values[m.group(1)]), text)
    return re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: str((env or {})[m.group(1)]), text)


def dl_doctor_steps(job):
    return [step for step in job["steps"] if "dl-doctor " in step.get("run", "") and "pip install" not in step["run"]]


def run_step(script, cwd, env):
    # The steps are bash; the venv's dl-doctor is on PATH as it would be after the install step.
    path = os.path.dirname(shutil.which("dl-doctor") or sys.executable) + os.pathsep + os.environ["PATH"]
    return subprocess.run(["bash", "-e", "-c", script], cwd=str(cwd), capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PATH=path, **env), stdin=subprocess.DEVNULL)


def test_matrix_spans_operating_systems_pythons_and_torch_versions(workflow):
    assert workflow.get("on", workflow.get(True)) is not None  # PyYAML reads the key `on` as True
    matrix = workflow["jobs"]["doctor"]["strategy"]["matrix"]
    assert {"ubuntu-latest", "macos-latest", "windows-latest"} <= set(matrix["os"])
    assert len(matrix["python"]) >= 2 and len(matrix["torch"]) >= 2
    assert workflow["jobs"]["doctor"]["strategy"]["fail-fast"] is False


def test_every_leg_runs_check_as_junit_and_json(workflow):
    runs = " ".join(step["run"] for step in dl_doctor_steps(workflow["jobs"]["doctor"]))
    assert "dl-doctor check --format junit" in runs
    assert "dl-doctor check --format json" in runs


def test_artifact_names_are_unique_across_the_matrix(workflow):
    upload = next(step for step in workflow["jobs"]["doctor"]["steps"]
                  if step.get("uses", "").startswith("actions/upload-artifact"))
    names = [substitute(upload["with"]["name"], values) for values in leg_values(workflow)]
    assert len(names) == len(set(names)) == len(leg_values(workflow))
    assert upload["if"] == "always()"


def test_final_job_downloads_every_leg_and_writes_the_matrix_into_the_summary(workflow):
    job = workflow["jobs"]["matrix"]
    assert job["needs"] == "doctor" and job["if"] == "always()"
    download = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/download-artifact"))
    upload_name = next(step for step in workflow["jobs"]["doctor"]["steps"]
                       if step.get("uses", "").startswith("actions/upload-artifact"))["with"]["name"]
    assert upload_name.startswith(download["with"]["pattern"].rstrip("*"))
    assert "dl-doctor matrix" in dl_doctor_steps(job)[0]["run"]
    assert "GITHUB_STEP_SUMMARY" in dl_doctor_steps(job)[0]["run"]


def test_the_commands_run_here_and_their_reports_merge(workflow, tmp_path, real_check):
    """One leg's steps for real, then the final job's step over that leg and a second one (the shared
    real check report, under another artifact name, as download-artifact lays them out)."""
    legs = leg_values(workflow)
    job = workflow["jobs"]["doctor"]
    leg_folder = tmp_path / "leg"
    leg_folder.mkdir()
    summary = tmp_path / "leg-summary.md"
    env = {name: substitute(value, legs[0]) for name, value in job["env"].items()}
    for step in dl_doctor_steps(job):
        completed = run_step(substitute(step["run"], legs[0], env), leg_folder,
                             dict(env, GITHUB_STEP_SUMMARY=str(summary)))
        assert completed.returncode in (0, 1), completed.stderr
    leg_report = read_report(str(leg_folder / "dl-doctor.json"))
    assert leg_report.report.label == env["LABEL"]
    assert (leg_folder / "dl-doctor.xml").read_text().startswith("<?xml")
    assert summary.read_text().count("### dl-doctor check") == 2  # each check step appended its summary

    reports = tmp_path / "matrix" / "reports"
    upload_name = next(step for step in job["steps"]
                       if step.get("uses", "").startswith("actions/upload-artifact"))["with"]["name"]
    for values, source in ((legs[0], leg_folder / "dl-doctor.json"), (legs[-1], real_check["report_path"])):
        folder = reports / substitute(upload_name, values)
        folder.mkdir(parents=True)
        shutil.copy(str(source), str(folder / "dl-doctor.json"))
    job_summary = tmp_path / "matrix-summary.md"
    step = dl_doctor_steps(workflow["jobs"]["matrix"])[0]
    completed = run_step(step["run"], reports.parent, {"GITHUB_STEP_SUMMARY": str(job_summary)})
    assert completed.returncode in (0, 1), completed.stderr
    table = job_summary.read_text()
    assert table.startswith("## dl-doctor matrix: 2 environments")
    assert env["LABEL"] in table
