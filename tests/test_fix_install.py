"""`dl-doctor fix --install` for real: a venv with pip, broken the way learners break theirs (a dependency
installed with --no-deps at a version its dependent does not allow), fixed by dl-doctor's own merged pip
command, resolved offline from wheels built in the test. Refusals are judged on recorded facts."""

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from conftest import run_cli
from doctor.collect import Target
from doctor.findings import error, fix
from doctor.fixes import FixRefused
from doctor.fixes.pip_install import check_installable, last_error_line, pip_arguments
from doctor.fixes.pip_merge import PipInstall, merge_finding_fixes
from doctor.report import Report
from factories import make_facts
from wheels import build_wheel, make_venv_with_pip, offline_pip_environment, pip

pytestmark = pytest.mark.slow

CONFLICT = "package-requirements"


def _stub_version(requirement: Requirement) -> str:
    """A version the requirement accepts, for a stub that stands in for a package this test cannot download."""
    tried = ["99.0"] + [clause.version.rstrip(".*") for clause in requirement.specifier] + ["0.1"]
    return next(version for version in tried if requirement.specifier.contains(version, prereleases=True))


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """A venv where lessonpkg 1.0 requires helperpkg<2 but helperpkg 2.0 is installed, plus local wheels:
    helperpkg 1.0 and 2.0, lessonpkg, and stubs for whatever else the findings' merged command names (the course
    stack is not in this venv, and the network is not used)."""
    folder = tmp_path_factory.mktemp("fix-install")
    wheels = folder / "wheels"
    build_wheel(wheels, "helperpkg", "1.0", files={"helperpkg/__init__.py": "VERSION = '1.0'\n"})
    build_wheel(wheels, "helperpkg", "2.0", files={"helperpkg/__init__.py": "VERSION = '2.0'\n"})
    build_wheel(wheels, "lessonpkg", "1.0", requires=["helperpkg<2"],
                files={"lessonpkg/__init__.py": "import helperpkg\nassert helperpkg.VERSION < '2'\n"})
    python = make_venv_with_pip(folder / "venv")
    assert pip(python, ["install", "lessonpkg"], wheels).returncode == 0
    assert pip(python, ["install", "--no-deps", "helperpkg==2.0"], wheels).returncode == 0
    report = folder / "report.json"
    run_cli("check", "--python", str(python), "--format", "json", "--output", str(report), cwd=str(folder),
            env=offline_pip_environment(wheels))
    findings = Report.from_dict(json.loads(report.read_text())).findings
    (merged,) = merge_finding_fixes(findings, windows=False)
    ours = {"helperpkg", "lessonpkg"}
    for requirement in merged.install.requirements:
        if requirement.name not in ours:
            build_wheel(wheels, requirement.name, _stub_version(requirement),
                        files={requirement.name.replace("-", "_") + "/__init__.py": ""})
    return {"folder": folder, "python": python, "wheels": wheels, "merged": merged}


def _snapshot(python: Path):
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return sorted(path.name for path in Path(site).iterdir())


def test_the_merged_command_carries_the_conflict_fix(broken):
    assert CONFLICT in broken["merged"].finding_ids
    assert "helperpkg<2" in [str(r) for r in broken["merged"].install.requirements]


def test_without_yes_pip_only_tries_it_and_nothing_changes(broken):
    before = _snapshot(broken["python"])
    completed = run_cli("fix", "--install", "--python", str(broken["python"]), cwd=str(broken["folder"]),
                        env=offline_pip_environment(broken["wheels"]))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "$ %s --dry-run" % broken["merged"].command in completed.stdout
    assert "pip would install: " in completed.stdout and "helperpkg 1.0" in completed.stdout
    assert "Dry run: nothing was installed" in completed.stdout
    assert _snapshot(broken["python"]) == before


def test_offline_without_the_wheels_fails_in_one_line(broken):
    environment = offline_pip_environment(broken["wheels"])
    del environment["PIP_FIND_LINKS"]
    completed = run_cli("fix", "--install", "--yes", "--python", str(broken["python"]), cwd=str(broken["folder"]),
                        env=environment)
    assert completed.returncode == 1
    failures = [line for line in completed.stdout.splitlines() if line.startswith("dl-doctor fix --install:")]
    assert len(failures) == 1 and "No matching distribution" in failures[0]
    assert "Traceback" not in completed.stdout + completed.stderr
    assert "installing:" not in completed.stdout


def test_install_yes_fixes_the_conflict_for_real(broken):
    """Runs last in this module: it changes the venv the others read."""
    python = broken["python"]
    completed = run_cli("fix", "--install", "--yes", "--python", str(python), cwd=str(broken["folder"]),
                        env=offline_pip_environment(broken["wheels"]))
    assert "installing: $ %s" % broken["merged"].command in completed.stdout, completed.stdout + completed.stderr
    checked = pip(python, ["check"], broken["wheels"])
    assert checked.returncode == 0, checked.stdout
    imported = subprocess.run([str(python), "-c", "import lessonpkg, helperpkg; print(helperpkg.VERSION)"],
                              capture_output=True, text=True)
    assert imported.stdout.strip() == "1.0", imported.stderr
    after = completed.stdout.split("re-checked in a new process:")[1]
    block = after.split("\n  %s\n" % CONFLICT)[1].splitlines()
    assert block[0].startswith("    before [!] helperpkg 2.0 is newer than lessonpkg 1.0 allows")
    assert block[1].startswith("    now    [ok] no broken requirements")
    assert "fixed: " in after and CONFLICT in after.split("fixed: ")[1].split(";")[0]


# --- refusals and pieces, on recorded facts ----------------------------------------------------------------------

def _facts(tmp_path, **python):
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    answer = {"prefix": str(tmp_path), "site_packages": [str(site)], "executable": str(tmp_path / "bin/python")}
    answer.update(python)
    return make_facts(python=answer)


def test_an_os_managed_environment_is_refused(tmp_path):
    with pytest.raises(FixRefused, match="managed by the operating system"):
        check_installable(_facts(tmp_path, externally_managed=True))


def test_a_read_only_environment_is_refused(tmp_path):
    facts = _facts(tmp_path)
    site = tmp_path / "lib" / "site-packages"
    site.chmod(0o555)
    try:
        if os.access(str(site), os.W_OK):
            pytest.skip("running as root: nothing is read-only")
        with pytest.raises(FixRefused, match="read-only"):
            check_installable(facts)
    finally:
        site.chmod(0o755)


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="giving a folder away needs root")
def test_another_users_environment_is_refused(tmp_path):
    facts = _facts(tmp_path)
    site = tmp_path / "lib" / "site-packages"
    os.chown(str(site), 12345, 12345)
    with pytest.raises(FixRefused, match="belongs to another user"):
        check_installable(facts)


def test_an_old_pip_is_refused_with_the_upgrade(tmp_path):
    facts = make_facts(python={"prefix": str(tmp_path), "site_packages": [str(tmp_path)],
                               "executable": "/x/bin/python"}, distributions={"pip": "21.3"})
    with pytest.raises(FixRefused, match="--dry-run needs pip 22.2.*-m pip install --upgrade pip"):
        check_installable(facts)


def test_a_refused_environment_gets_one_line_and_exit_1(tmp_path):
    from doctor.commands.install import install_merged

    facts = _facts(tmp_path, externally_managed=True)
    finding = error("conflict", fix=fix("Install:", "%s -m pip install 'helperpkg<2'" % (tmp_path / "bin/python")))
    report = Report(findings=[finding.stamped(CONFLICT, "packages")], facts=facts, timings={})
    installs = merge_finding_fixes(report.findings, windows=False)
    out = io.StringIO()
    assert install_merged(report, Target(python=str(tmp_path / "bin/python")), installs, True, out) == 1
    lines = out.getvalue().splitlines()
    assert lines == ["dl-doctor fix --install: refused: %s is managed by the operating system (PEP 668); make a "
                     "virtual environment for the course and fix that one" % tmp_path]


def test_pip_arguments_put_the_dry_run_after_install():
    install = PipInstall("/v/bin/python", (Requirement("helperpkg<2"),), upgrade=True)
    assert pip_arguments(install, "/tmp/r.json")[:6] == ["install", "--dry-run", "--report", "/tmp/r.json",
                                                          "--upgrade", "helperpkg<2"]
    assert "--dry-run" not in pip_arguments(install)


@pytest.mark.parametrize("output, line", [
    ("Looking in links: /w\nERROR: Could not find a version\nERROR: No matching distribution found for x<2\n",
     "ERROR: No matching distribution found for x<2"),
    ("something odd\n\n", "something odd"),
    ("", "pip failed without a message"),
])
def test_last_error_line(output, line):
    assert last_error_line(output) == line
