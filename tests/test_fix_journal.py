"""The fix journal (#14 §10): ``fix --yes`` killed with SIGKILL at any point leaves a state that undo completes;
fix / the learner's edit / fix / undo ends in the learner's version or names the file they changed; undo touches
only files a fix may write and its own backups, whatever the journal says.

The kills are real: a small driver applies (or undoes) a plan in a child process whose file-system calls are
counted, and the child sends itself SIGKILL at the Nth one, for every N the whole run makes."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doctor.cli import main
from doctor.fixes import FileWrite, FixRefused, Journal, Plan, apply_plan
from factories import make_facts

CONTENT = b"import os; os.environ.setdefault('PYTORCH_ENABLE_MPS_FALLBACK', '1')\n"
ODD_BYTES = b"\x00\xff\r\nimport sys\r\n\xfe not utf-8 \x80\n"
EDITED = CONTENT + b"# the learner's own line\n"
NAME = "dl_doctor_mps_fallback.pth"

# Counts the calls that change files (and the listings undo makes) and kills itself at the Nth; with N = 0 it runs
# to the end and prints how many there were.
DRIVER = textwrap.dedent("""
    import os, shutil, signal, sys, tempfile
    from pathlib import Path
    from doctor.fixes import FileWrite, Journal, Plan, apply_plan

    mode, prefix, target, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    calls = [0]

    def counted(function):
        def call(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return function(*args, **kwargs)
        return call

    for module, name in ((os, "replace"), (os, "fsync"), (os, "chmod"), (os, "unlink"), (os, "mkdir"),
                         (os, "rmdir"), (os, "listdir"), (tempfile, "mkstemp"), (shutil, "copymode"),
                         (shutil, "rmtree")):
        setattr(module, name, counted(getattr(module, name)))
    if mode == "apply":
        apply_plan(Plan("mps-fallback", "test", (FileWrite(target, %r, "test"),), (), prefix))
    else:
        Journal(prefix).undo()
    print(calls[0])
""" % (CONTENT,))


@pytest.fixture
def env(tmp_path):
    prefix = tmp_path / "env"
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    return prefix, site, driver


def drive(env, mode, kill_at):
    prefix, site, driver = env
    return subprocess.run([sys.executable, str(driver), mode, str(prefix), str(site / NAME), str(kill_at)],
                          capture_output=True, text=True, timeout=120)


def calls_in_a_whole_run(env, mode, setup):
    """How many counted calls a run makes, measured on a copy of the starting state."""
    setup()
    completed = drive(env, mode, 0)
    assert completed.returncode == 0, completed.stderr
    return int(completed.stdout)


def assert_as_before(env, previous):
    prefix, site, _ = env
    target = site / NAME
    assert (target.read_bytes() if target.exists() else None) == previous
    assert sorted(path.name for path in site.iterdir()) == ([] if previous is None else [NAME])
    assert not (prefix / "share").exists()


def reset(env, previous):
    prefix, site, _ = env
    for path in site.iterdir():
        path.unlink()
    if (prefix / "share").exists():
        import shutil

        shutil.rmtree(str(prefix / "share"))
    if previous is not None:
        (site / NAME).write_bytes(previous)


@pytest.mark.slow
@pytest.mark.parametrize("previous", [None, ODD_BYTES], ids=["new-file", "existing-file"])
def test_a_fix_killed_at_any_point_is_undone_completely(env, previous):
    total = calls_in_a_whole_run(env, "apply", lambda: reset(env, previous))
    assert total >= 6  # backup, journal, hook: each a temporary, its fsync and its rename
    for kill_at in range(1, total + 1):
        reset(env, previous)
        killed = drive(env, "apply", kill_at)
        assert killed.returncode == -9, (kill_at, killed.stderr)
        Journal(str(env[0])).undo()
        assert_as_before(env, previous)


@pytest.mark.slow
@pytest.mark.parametrize("previous", [None, ODD_BYTES], ids=["new-file", "existing-file"])
def test_an_undo_killed_at_any_point_is_completed_by_the_next(env, previous):
    def applied():
        reset(env, previous)
        assert drive(env, "apply", 0).returncode == 0

    total = calls_in_a_whole_run(env, "undo", applied)
    assert_as_before(env, previous)
    for kill_at in range(1, total + 1):
        applied()
        killed = drive(env, "undo", kill_at)
        assert killed.returncode == -9, (kill_at, killed.stderr)
        Journal(str(env[0])).undo()
        assert_as_before(env, previous)


def test_fix_edit_fix_undo_ends_in_the_learners_version_and_says_so(env):
    prefix, site, _ = env
    assert drive(env, "apply", 0).returncode == 0
    (site / NAME).write_bytes(EDITED)
    assert drive(env, "apply", 0).returncode == 0
    assert (site / NAME).read_bytes() == CONTENT
    done = Journal(str(prefix)).undo()
    assert done == ["restored %s" % (site / NAME),
                    "kept %s as you last edited it: you changed it between two dl-doctor fixes" % (site / NAME)]
    assert (site / NAME).read_bytes() == EDITED
    assert not (prefix / "share").exists()


@pytest.mark.slow
def test_fix_edit_then_a_second_fix_killed_at_any_point_never_loses_the_edit(env):
    prefix, site, _ = env

    def edited():
        reset(env, None)
        assert drive(env, "apply", 0).returncode == 0
        (site / NAME).write_bytes(EDITED)

    total = calls_in_a_whole_run(env, "apply", edited)
    for kill_at in range(1, total + 1):
        edited()
        assert drive(env, "apply", kill_at).returncode == -9
        try:
            Journal(str(prefix)).undo()
        except FixRefused as refused:
            # The second fix was killed before it recorded anything: the file is the learner's edit of the first.
            assert "changed after dl-doctor wrote it: %s" % (site / NAME) in str(refused)
            assert "then run dl-doctor fix --undo again" in str(refused)
        assert (site / NAME).read_bytes() == EDITED
        assert sorted(path.name for path in site.iterdir()) == [NAME]


def test_an_edit_undone_by_hand_lets_undo_finish(env):
    prefix, site, _ = env
    assert drive(env, "apply", 0).returncode == 0
    (site / NAME).write_bytes(EDITED)
    with pytest.raises(FixRefused, match="it did not exist before dl-doctor; delete it"):
        Journal(str(prefix)).undo()
    (site / NAME).unlink()
    Journal(str(prefix)).undo()
    assert_as_before(env, None)


# --- a journal that points elsewhere -------------------------------------------------------------------------

def tampered(env, tmp_path, **entry):
    prefix, site, _ = env
    assert drive(env, "apply", 0).returncode == 0
    journal = Journal(str(prefix))
    entries = journal.entries()
    entries.append(dict({"fix": "mps-fallback", "path": str(site / NAME), "backup": None,
                         "written_sha256": "0" * 64}, **entry))
    journal.path.write_text(json.dumps({"entries": entries}))
    return journal


@pytest.mark.parametrize("where", ["/etc/passwd", "bashrc", "symlink"])
def test_undo_refuses_a_journal_naming_a_file_outside_the_environment(env, tmp_path, where):
    outside = tmp_path / ".bashrc"
    outside.write_text("export PATH=$HOME/bin:$PATH\n")
    if where == "/etc/passwd":
        path = "/etc/passwd"
    elif where == "bashrc":
        path = str(outside)
    else:
        path = str(env[1] / "innocent.pth")
        os.symlink(str(outside), path)
    journal = tampered(env, tmp_path, path=path, written_sha256="")
    with pytest.raises(FixRefused, match="names %s, outside the environment %s; refused, nothing undone"
                       % (path, env[0])):
        journal.undo()
    assert outside.read_text() == "export PATH=$HOME/bin:$PATH\n"
    assert (env[1] / NAME).read_bytes() == CONTENT  # nothing undone
    assert len(journal.entries()) == 2


@pytest.mark.parametrize("backup", ["../../../../.bashrc", "/etc/passwd", ".."])
def test_undo_refuses_a_backup_outside_its_own_folder(env, tmp_path, backup):
    journal = tampered(env, tmp_path, backup=backup)
    with pytest.raises(FixRefused, match="outside its folder; refused, nothing undone"):
        journal.undo()
    assert (env[1] / NAME).read_bytes() == CONTENT


def test_fix_undo_says_the_refusal_in_one_line(env, tmp_path, capsys, monkeypatch):
    import doctor.collect

    prefix = env[0]
    tampered(env, tmp_path, path="/etc/passwd")
    monkeypatch.setattr(doctor.collect, "collect_facts",
                        lambda *args, **kwargs: make_facts(python={"prefix": str(prefix)}))
    assert main(["fix", "--undo"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "dl-doctor fix --undo: refused: the fix journal %s names /etc/passwd, outside the environment %s; refused, "
        "nothing undone" % (Journal(str(prefix)).path, prefix)]


def test_a_plan_writing_outside_its_environment_is_refused(env, tmp_path):
    outside = tmp_path / "elsewhere.pth"
    with pytest.raises(FixRefused, match="outside the environment"):
        apply_plan(Plan("mps-fallback", "test", (FileWrite(str(outside), CONTENT, "test"),), (), str(env[0])))
    assert not outside.exists()


def test_a_kernelspec_outside_the_environment_may_be_written_and_undone(env, tmp_path):
    spec = tmp_path / "data" / "kernels" / "course" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_bytes(b'{"argv": ["/gone/python"]}')
    apply_plan(Plan("kernelspec", "test", (FileWrite(str(spec), b'{"argv": ["/env/python"]}', "test"),), (),
                    str(env[0])))
    assert Journal(str(env[0])).undo() == ["restored %s" % spec]
    assert spec.read_bytes() == b'{"argv": ["/gone/python"]}'
    assert Path(env[0], "share").exists() is False
