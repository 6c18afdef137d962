"""doctor/fixes: the mps-fallback plan (a .pth start-up hook in the environment's site-packages), applying
it with a journal, undoing it byte for byte, and workflow.propose turning a report into plans. Real files
under tmp_path; no child process runs here."""

import os
import site
import sys
from pathlib import Path

import pytest

from checkrun import APPLE_ARM64, build, environment
from doctor.collect import Target
from doctor.fixes import AppliedWrite, FixRefused, Journal, apply_plan
from doctor.fixes.mps_fallback import CONTENT, FILE_NAME, plan_mps_fallback
from doctor.fixes.workflow import propose
from doctor.diagnose import diagnose
from doctor.answers.notebook import Kernelspec
from factories import failed_outcome, make_facts, ok_outcome, op_record, record

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
ODD_BYTES = b"\x00\xff\r\nimport sys\r\n\xfe not utf-8 \x80\n"


@pytest.fixture
def env(tmp_path):
    """A real environment folder: ``<tmp>/env`` with its site-packages."""
    prefix = tmp_path / "env"
    site_packages = prefix / "lib" / "python3.11" / "site-packages"
    site_packages.mkdir(parents=True)
    return prefix, site_packages


def mac_facts(prefix, site_packages, python=None, ops=None):
    """An Apple Silicon Mac whose interpreter lives in ``prefix``; ``ops`` replaces the op records."""
    answer = {"prefix": str(prefix), "site_packages": [str(folder) for folder in site_packages]}
    answer.update(python or {})
    layers = [APPLE_ARM64, {"python": answer}]
    if ops is not None:
        layers.append({"ops": {"device": "mps", "torch": "2.14.1", "ops": ops}})
    return build(*layers)


def missing_solve():
    return op_record("linalg.solve", (1, 2), "fastai aug_transforms warp (find_coeffs)", op_class="unsupported",
               evidence="NotImplementedError: The operator 'aten::_linalg_solve_ex.result' is not currently "
                        "implemented for the MPS device.", within_tolerance=None, max_abs_error=None)


def journal_folder(prefix):
    return Path(prefix) / "share" / "dl-doctor"


# --- the plan -----------------------------------------------------------------------------------------

def test_the_plan_writes_a_pth_hook_into_site_packages_and_rechecks(env):
    prefix, site_packages = env
    plan = plan_mps_fallback(mac_facts(prefix, [site_packages]))
    assert plan.fix_id == "mps-fallback"
    assert plan.prefix == str(prefix)
    assert plan.rechecks == ("mps-fallback-variable", "mps-fallback")
    (write,) = plan.writes
    assert write.path == str(site_packages / "dl_doctor_mps_fallback.pth")
    assert b"os.environ.setdefault('%s', '1')" % VARIABLE.encode() in write.content
    assert any("Restart" in note for note in plan.notes)
    # Planning is a dry run: nothing is written.
    assert list(site_packages.iterdir()) == []
    assert not journal_folder(prefix).exists()


def test_the_plan_picks_the_site_packages_inside_the_prefix(env, tmp_path):
    prefix, site_packages = env
    user_site = tmp_path / "home" / ".local" / "lib" / "python3.11" / "site-packages"
    user_site.mkdir(parents=True)
    plan = plan_mps_fallback(mac_facts(prefix, [user_site, site_packages]))
    assert [write.path for write in plan.writes] == [str(site_packages / FILE_NAME)]


@pytest.mark.parametrize("existing, expected", [(None, "1"), ("0", "0"), ("1", "1")],
                         ids=["unset-turns-it-on", "learner-set-0-wins", "learner-set-1-stays"])
def test_the_hook_sets_the_variable_at_start_up_unless_the_learner_set_it(env, monkeypatch, existing, expected):
    # What `site` does with the file at interpreter start-up (its `import` lines run), in a private environ.
    prefix, site_packages = env
    (write,) = plan_mps_fallback(mac_facts(prefix, [site_packages])).writes
    Path(write.path).write_bytes(write.content)
    environ = {} if existing is None else {VARIABLE: existing}
    monkeypatch.setattr(os, "environ", environ)
    monkeypatch.setattr(sys, "path", list(sys.path))
    site.addpackage(str(site_packages), FILE_NAME, set())
    assert environ == {VARIABLE: expected}


def _outside(env, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "site-packages"
    elsewhere.mkdir(parents=True)
    return {"site_packages": [str(elsewhere)]}


# (id, how to spoil the environment: a function of (env, tmp_path) giving python-probe changes, reason words)
REFUSALS = [
    ("externally-managed", lambda env, tmp: {"externally_managed": True}, "managed by the operating system (PEP 668)"),
    ("site-packages-outside-the-prefix", _outside, "no site-packages folder inside"),
    ("no-site-packages", lambda env, tmp: {"site_packages": []}, "no site-packages folder inside"),
    ("site-packages-missing", lambda env, tmp: {"site_packages": [str(env[0] / "lib" / "gone" / "site-packages")]},
     "does not exist"),
]


@pytest.mark.parametrize("spoil, reason", [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS])
def test_the_plan_is_refused_where_the_environment_is_not_the_learners_to_change(env, tmp_path, spoil, reason):
    prefix, site_packages = env
    facts = mac_facts(prefix, [site_packages], python=spoil(env, tmp_path))
    with pytest.raises(FixRefused) as refused:
        plan_mps_fallback(facts)
    assert reason in str(refused.value)
    assert list(site_packages.iterdir()) == []


def _notebook(prefix, presets=(), kernelspecs=()):
    return {"notebook": ok_outcome("notebook", {"prefix": str(prefix), "fallback_presets": list(presets),
                                                "kernelspecs": list(kernelspecs)})}


@pytest.mark.parametrize("case, reason", [
    ("conda-env-vars", "conda env config vars set PYTORCH_ENABLE_MPS_FALLBACK=1 -p "),
    ("kernelspec-argv-S", "remove -S from its \"argv\""),
    ("kernelspec-env-0", "set \"PYTORCH_ENABLE_MPS_FALLBACK\": \"1\" in its \"env\""),
], ids=["conda-env-vars", "kernelspec-argv-S", "kernelspec-env-0"])
def test_the_plan_is_refused_where_a_start_up_hook_cannot_win(env, case, reason):
    # The hook uses os.environ.setdefault and runs only when site does: a preset 0 or python -S defeats it.
    prefix, site_packages = env
    spec = record(Kernelspec, name="course", path=str(prefix / "kernel.json"), prefix=str(prefix),
                  fallback_variable="0" if case == "kernelspec-env-0" else None, no_site=case == "kernelspec-argv-S")
    presets = [{"kind": "conda-env-vars", "path": str(prefix / "conda-meta" / "state"), "line": None, "value": "0"}]
    outcomes = _notebook(prefix, presets=presets if case == "conda-env-vars" else (),
                         kernelspecs=[spec] if case.startswith("kernelspec") else ())
    facts = build(APPLE_ARM64, {"python": {"prefix": str(prefix), "site_packages": [str(site_packages)]}},
                  outcomes=outcomes)
    with pytest.raises(FixRefused) as refused:
        plan_mps_fallback(facts)
    assert reason in str(refused.value)
    assert list(site_packages.iterdir()) == []


@pytest.mark.parametrize("kernel, no_site, refused", [(True, True, True), (True, False, False), (False, True, False)],
                         ids=["kernel-started-with-S", "kernel", "dl-doctor-itself-with-S"])
def test_a_kernel_started_with_S_refuses_the_hook_but_dl_doctor_run_with_S_does_not(env, kernel, no_site, refused):
    prefix, site_packages = env
    process = {"pid": 1, "torch_imported": False, "fallback_now": None, "initial_environment_known": True,
               "fallback_at_start": None, "kernel": kernel, "no_site": no_site}
    facts = build(APPLE_ARM64, {"python": {"prefix": str(prefix), "site_packages": [str(site_packages)]}},
                  outcomes={"process": ok_outcome("process", process)})
    if refused:
        with pytest.raises(FixRefused, match="this kernel, started with -S"):
            plan_mps_fallback(facts)
    else:
        assert plan_mps_fallback(facts).writes


def test_the_plan_is_refused_when_the_environment_already_holds_a_0(env):
    prefix, site_packages = env
    facts = mac_facts(prefix, [site_packages], python=environment(PYTORCH_ENABLE_MPS_FALLBACK="0")["python"])
    with pytest.raises(FixRefused, match="the environment this Python started with"):
        plan_mps_fallback(facts)


def test_the_plan_is_refused_when_the_python_probe_did_not_answer(env):
    prefix, site_packages = env
    facts = build(APPLE_ARM64, {"python": {"prefix": str(prefix), "site_packages": [str(site_packages)]}},
                  outcomes={"python": failed_outcome("python")})
    with pytest.raises(FixRefused, match="the interpreter did not answer"):
        plan_mps_fallback(facts)


def test_the_plan_is_refused_in_another_users_environment(env, monkeypatch):
    prefix, site_packages = env
    owner = os.stat(str(site_packages)).st_uid
    monkeypatch.setattr(os, "getuid", lambda: owner + 1)
    with pytest.raises(FixRefused, match="belongs to another user"):
        plan_mps_fallback(mac_facts(prefix, [site_packages]))


def test_the_plan_is_refused_in_a_read_only_environment(env, monkeypatch):
    prefix, site_packages = env
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if mode & os.W_OK else real_access(path, mode))
    with pytest.raises(FixRefused, match="read-only"):
        plan_mps_fallback(mac_facts(prefix, [site_packages]))


# --- apply and undo -----------------------------------------------------------------------------------

@pytest.mark.parametrize("previous", [None, ODD_BYTES, b"", b"import os; os.environ['X'] = '1'\n"],
                         ids=["new-file", "odd-bytes", "empty-file", "other-hook"])
def test_apply_then_undo_restores_every_byte(env, previous):
    prefix, site_packages = env
    plan = plan_mps_fallback(mac_facts(prefix, [site_packages]))
    target = site_packages / FILE_NAME
    if previous is not None:
        target.write_bytes(previous)

    assert apply_plan(plan) == [AppliedWrite(str(target), True)]
    assert target.read_bytes() == CONTENT
    assert len(Journal(str(prefix)).entries()) == 1

    done = Journal(str(prefix)).undo()
    if previous is None:
        assert done == ["removed %s" % target]
        assert not target.exists()
    else:
        assert done == ["restored %s" % target]
        assert target.read_bytes() == previous
    assert not journal_folder(prefix).exists()
    assert site_packages.is_dir()
    # Nothing left behind in site-packages: no temporary files, no backups.
    assert sorted(path.name for path in site_packages.iterdir()) == ([] if previous is None else [FILE_NAME])


def test_apply_and_undo_keep_the_mode_of_an_existing_file(env):
    prefix, site_packages = env
    target = site_packages / FILE_NAME
    target.write_bytes(ODD_BYTES)
    target.chmod(0o640)
    apply_plan(plan_mps_fallback(mac_facts(prefix, [site_packages])))
    assert target.stat().st_mode & 0o777 == 0o640
    Journal(str(prefix)).undo()
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.read_bytes() == ODD_BYTES


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["umask-022", "umask-077"])
def test_a_new_hook_gets_the_modes_any_new_file_would(env, umask):
    # site skips a .pth it cannot read, silently: a private (0600) hook would not reach other users of a shared
    # environment, while pip's own files there follow the umask.
    prefix, site_packages = env
    previous = os.umask(umask)
    try:
        apply_plan(plan_mps_fallback(mac_facts(prefix, [site_packages])))
    finally:
        os.umask(previous)
    assert (site_packages / FILE_NAME).stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("previous", [None, ODD_BYTES], ids=["new-file", "existing-file"])
def test_applying_twice_is_applying_once(env, previous):
    prefix, site_packages = env
    target = site_packages / FILE_NAME
    if previous is not None:
        target.write_bytes(previous)
    plan = plan_mps_fallback(mac_facts(prefix, [site_packages]))
    first = apply_plan(plan)
    second = apply_plan(plan_mps_fallback(mac_facts(prefix, [site_packages])))
    assert [write.changed for write in first] == [True]
    assert second == [AppliedWrite(str(target), False)]
    assert len(Journal(str(prefix)).entries()) == 1
    Journal(str(prefix)).undo()
    assert (target.read_bytes() if target.exists() else None) == previous


def test_a_hook_already_in_place_is_left_alone_and_not_undone(env):
    prefix, site_packages = env
    target = site_packages / FILE_NAME
    target.write_bytes(CONTENT)
    assert apply_plan(plan_mps_fallback(mac_facts(prefix, [site_packages]))) == [AppliedWrite(str(target), False)]
    assert Journal(str(prefix)).entries() == []
    assert Journal(str(prefix)).undo() == []
    assert target.read_bytes() == CONTENT


@pytest.mark.parametrize("previous", [None, ODD_BYTES], ids=["new-file", "existing-file"])
def test_undo_refuses_to_overwrite_a_file_edited_after_the_fix(env, previous):
    prefix, site_packages = env
    target = site_packages / FILE_NAME
    if previous is not None:
        target.write_bytes(previous)
    apply_plan(plan_mps_fallback(mac_facts(prefix, [site_packages])))
    target.write_bytes(CONTENT + b"# my own line\n")
    with pytest.raises(FixRefused, match="changed after dl-doctor wrote it") as refused:
        Journal(str(prefix)).undo()
    # The learner's edit and the journal (with its backup) both survive, to restore by hand.
    assert target.read_bytes() == CONTENT + b"# my own line\n"
    assert len(Journal(str(prefix)).entries()) == 1
    if previous is not None:
        backup = journal_folder(prefix) / ("0-%s" % FILE_NAME)
        assert str(backup) in str(refused.value)
        assert backup.read_bytes() == previous
    else:
        assert "it did not exist" in str(refused.value)


def test_undo_with_nothing_recorded_does_nothing(env):
    prefix, _ = env
    assert Journal(str(prefix)).undo() == []


def test_an_unreadable_journal_refuses(env):
    prefix, _ = env
    journal_folder(prefix).mkdir(parents=True)
    (journal_folder(prefix) / "fix-journal.json").write_text("{not json")
    with pytest.raises(FixRefused, match="unreadable"):
        Journal(str(prefix)).undo()


# --- propose --------------------------------------------------------------------------------------------

def report_for(facts):
    return diagnose(Target(), 1, facts=facts)


def test_propose_plans_the_fix_a_finding_names(env):
    prefix, site_packages = env
    report = report_for(mac_facts(prefix, [site_packages], ops=[missing_solve()]))
    assert [f.fix.automatic for f in report.findings if f.id == "mps-fallback"] == ["mps-fallback"]
    proposal = propose(report)
    assert [plan.fix_id for plan in proposal.plans] == ["mps-fallback"]
    assert proposal.plans[0].writes[0].path == str(site_packages / FILE_NAME)
    assert proposal.refused == ()
    # The automatic fix's finding is not repeated as a manual one.
    assert "mps-fallback" not in [f.id for f in proposal.manual]


@pytest.mark.parametrize("ops, requested, planned", [
    (None, (), []),
    (None, ("mps-fallback",), ["mps-fallback"]),
    ([missing_solve()], ("mps-fallback", "mps-fallback"), ["mps-fallback"]),
    ([missing_solve()], (), ["mps-fallback"]),
], ids=["healthy-nothing-requested", "healthy-requested", "requested-twice", "named-by-a-finding"])
def test_propose_plans_requested_fixes_or_else_the_named_ones(env, ops, requested, planned):
    prefix, site_packages = env
    proposal = propose(report_for(mac_facts(prefix, [site_packages], ops=ops)), requested)
    assert [plan.fix_id for plan in proposal.plans] == planned


@pytest.mark.parametrize("python, reason", [
    ({"externally_managed": True}, "PEP 668"),
    ({"site_packages": []}, "no site-packages folder inside"),
], ids=["externally-managed", "no-site-packages"])
def test_propose_collects_refusals_instead_of_raising(env, python, reason):
    prefix, site_packages = env
    proposal = propose(report_for(mac_facts(prefix, [site_packages], python=python, ops=[missing_solve()])))
    assert proposal.plans == ()
    assert [fix_id for fix_id, _ in proposal.refused] == ["mps-fallback"]
    assert reason in proposal.refused[0][1]
    assert list(site_packages.iterdir()) == []


@pytest.mark.parametrize("layers, manual_ids", [
    # An unreadable value on a Mac: an error whose fix is a command.
    ((APPLE_ARM64, environment(**{VARIABLE: "true"})), ["mps-fallback-variable"]),
    # The same on Linux: a warning with the same command.
    ((environment(**{VARIABLE: "true"}),), ["mps-fallback-variable"]),
    # Unset on a Mac: only an info finding with a command, which is not a problem to fix.
    ((APPLE_ARM64,), []),
    # Set after torch was imported: a warning whose fix is words only (restart), no command.
    (({"process": {"torch_imported": True, "fallback_now": "1"}},), []),
], ids=["error-with-command", "warning-with-command", "info-with-command", "warning-without-command"])
def test_manual_fixes_are_problems_with_commands_and_no_automatic_fix(layers, manual_ids):
    report = report_for(build(*layers))
    proposal = propose(report)
    assert [f.id for f in proposal.manual] == manual_ids
    for finding in proposal.manual:
        assert finding.status in ("error", "warning")
        assert finding.fix.commands
        assert finding.fix.automatic is None
    assert proposal.plans == ()


def test_undo_leaves_no_empty_share_folder_behind(tmp_path):
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    plan = plan_mps_fallback(make_facts(python={"prefix": str(tmp_path), "site_packages": [str(site)]}))
    apply_plan(plan)
    assert (tmp_path / "share" / "dl-doctor").is_dir()
    Journal(str(tmp_path)).undo()
    assert not (tmp_path / "share").exists()


def test_an_unknown_fix_name_is_refused_not_raised():
    report = diagnose(Target(), 1, facts=make_facts())
    proposal = propose(report, ["make-it-fast"])
    assert proposal.plans == ()
    assert proposal.refused[0][0] == "make-it-fast" and "mps-fallback" in proposal.refused[0][1]
