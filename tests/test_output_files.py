"""``--output`` (#14 §9): the path is checked before any probe runs, and the file is written atomically, so a
full disk leaves the previous file whole and the command says so in one line."""

import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from doctor.cli import main
from doctor.commands.output import write_output
from doctor.commands import UsageError

REPORT = str(Path(__file__).parent / "data" / "report-schema-1.json")
# Every command with --output, and what it needs besides to get as far as its work.
COMMANDS = {
    "check": ["check"],
    "ops": ["ops"],
    "bench": ["bench"],
    "dist": ["dist"],
    "learner": ["learner", REPORT],
    "matrix": ["matrix", REPORT],
    "diff": ["diff", REPORT, REPORT],
}


@pytest.fixture
def no_children(monkeypatch):
    """Any child process (a probe, the interpreter check) fails the test: the output must be refused first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a child process started before --output was checked: %r" % (args[:1],))

    monkeypatch.setattr(subprocess, "Popen", refuse)


def refused(capsys, arguments, *words):
    assert main(arguments) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dl-doctor: error: --output "), lines
    for word in words:
        assert word in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_is_refused_before_any_work(command, tmp_path, capsys, no_children):
    refused(capsys, COMMANDS[command] + ["--output", str(tmp_path)], "is a folder")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_missing_folder_is_refused_before_any_work(command, tmp_path, capsys, no_children):
    missing = tmp_path / "no" / "such"
    refused(capsys, COMMANDS[command] + ["--output", str(missing / "report.json")], str(missing), "does not exist")


def test_an_unwritable_folder_is_refused_before_any_work(tmp_path, capsys, no_children):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(str(folder), os.W_OK):
            pytest.skip("this user (root) may write to any folder; the read-only mount below covers it")
        refused(capsys, ["bench", "--output", str(folder / "report.json")], "not writable")
    finally:
        folder.chmod(0o755)


def test_a_file_is_replaced_whole_and_keeps_its_modes(tmp_path):
    output = tmp_path / "report.md"
    output.write_text("previous\n")
    output.chmod(0o640)
    write_output("new report\n", str(output), sys.stdout)
    assert output.read_text() == "new report\n"
    assert output.stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(str(tmp_path))) == ["report.md"]


def test_a_link_is_followed_and_kept(tmp_path):
    """--output through a symbolic link (a dotfiles repo, a shared folder) replaces the file it points at."""
    real = tmp_path / "reports" / "report.md"
    real.parent.mkdir()
    real.write_text("previous\n")
    link = tmp_path / "report.md"
    link.symlink_to(real)
    write_output("new report\n", str(link), sys.stdout)
    assert link.is_symlink() and real.read_text() == "new report\n"


def test_a_device_is_written_in_place(tmp_path):
    """/dev/null (or /dev/stdout) is written to, never renamed over."""
    write_output("report\n", os.devnull, sys.stdout)
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    """The injected failure, for machines where a real full disk cannot be mounted (the test below)."""
    output = tmp_path / "report.json"
    output.write_text("previous\n")

    def full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UsageError, match="No space left on device.*the previous file is unchanged"):
        write_output("new report\n" * 1000, str(output), sys.stdout)
    assert output.read_text() == "previous\n"
    assert os.listdir(str(tmp_path)) == ["report.json"]


def _can_mount():
    if not hasattr(os, "getuid") or os.getuid() != 0 or not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs root and unshare -m to mount a tiny tmpfs")

# Runs in a private mount namespace: a 64 KiB tmpfs at $1, a previous report, the disk filled, then dl-doctor.
_FULL_DISK = textwrap.dedent("""
    set -e
    mount -t tmpfs -o size=64k tmpfs "$1"
    printf 'previous report\\n' > "$1/report.json"
    python - "$1" <<'PY'
    import os, sys
    filler = os.open(sys.argv[1] + "/filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(filler, b"x" * 512)
    except OSError:
        os.close(filler)
    PY
    set +e
    "$2" -m doctor check --facts "$3" --format json --output "$1/report.json" 2>"$1.stderr"
    echo "exit=$?"
    cat "$1/report.json"
    ls -a "$1"
""")


@needs_mount
def test_a_full_disk_keeps_the_previous_report(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    completed = subprocess.run(["unshare", "-m", "sh", "-c", _FULL_DISK, "full-disk", str(mount), sys.executable,
                                REPORT], capture_output=True, text=True, timeout=120)
    lines = completed.stdout.splitlines()
    assert lines[:2] == ["exit=2", "previous report"], completed.stdout + completed.stderr
    assert sorted(lines[2:]) == [".", "..", "filler", "report.json"]
    error = (tmp_path / "disk.stderr").read_text().strip().splitlines()
    assert error == ["dl-doctor: error: --output %s: cannot write it (No space left on device); the previous file is "
                     "unchanged" % (mount / "report.json")]


@needs_mount
def test_a_read_only_folder_is_refused_before_any_work(tmp_path):
    mount = tmp_path / "readonly"
    mount.mkdir()
    script = 'mount -t tmpfs -o ro tmpfs "$1" && "$2" -m doctor bench --output "$1/report.json"'
    completed = subprocess.run(["unshare", "-m", "sh", "-c", script, "read-only", str(mount), sys.executable],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.splitlines() == ["dl-doctor: error: --output %s: the folder %s is not writable"
                                             % (mount / "report.json", mount)]
