"""Fixes: a plan first (what will be written where), applied only when asked, each write atomic and
backed up in a journal so that ``undo`` restores every file byte for byte. Applying twice equals applying
once. Package installs are never automatic: their commands are printed for the learner to run.
"""

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from doctor.facts import Facts

JOURNAL_FOLDER = Path("share") / "dl-doctor"
JOURNAL_NAME = "fix-journal.json"


class FixRefused(Exception):
    """The environment must not be changed (read-only, managed by the OS, another user's): the reason."""


@dataclass(frozen=True)
class FileWrite:
    path: str
    content: bytes
    why: str


@dataclass(frozen=True)
class Plan:
    fix_id: str
    summary: str
    writes: Tuple[FileWrite, ...]
    # The checks whose findings the fix should change; they run again after it is applied.
    rechecks: Tuple[str, ...]
    # Where the journal and backups live: the environment's prefix.
    prefix: str
    notes: Tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AppliedWrite:
    path: str
    changed: bool  # False: the file already had exactly this content


@dataclass(frozen=True)
class FixDefinition:
    id: str
    summary: str
    plan: Callable[[Facts], Plan]
    # What the fix can do for the running process itself (a notebook kernel), returning one line saying
    # what it did; None when only new processes can be fixed.
    apply_in_process: Optional[Callable[[], str]] = None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# A temporary file beside its target while it is written: a name no other tool uses and that site never runs (it
# does not end in .pth), so that undo can remove one a killed fix left behind.
TEMPORARY_SUFFIX = ".dl-doctor-partial"


def atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new, never half (a fix's
    files, and a report written with --output)."""
    handle, temporary = tempfile.mkstemp(prefix="." + path.name + ".", suffix=TEMPORARY_SUFFIX, dir=str(path.parent))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():
            shutil.copymode(str(path), temporary)
        else:
            # mkstemp makes the file private (0600); a new file gets the modes the umask gives any other one, so
            # that a .pth hook is not silently skipped by other users of the environment.
            umask = os.umask(0o022)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, str(path))
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _remove_temporaries(path: Path) -> None:
    """Temporary files of ``path`` that a killed write left beside it."""
    try:
        names = os.listdir(str(path.parent))
    except OSError:
        return
    for name in names:
        if name.startswith("." + path.name + ".") and name.endswith(TEMPORARY_SUFFIX):
            try:
                os.unlink(str(path.parent / name))
            except FileNotFoundError:
                pass


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # another drive (Windows)
        return False


def may_write(path: str, prefix: str) -> bool:
    """Where a fix may write, and so where undo may restore: inside the environment, or a kernelspec's kernel.json
    wherever Jupyter keeps kernelspecs (``.../kernels/<name>/kernel.json``, the kernelspec fix's files)."""
    if _inside(path, prefix):
        return True
    real = Path(os.path.realpath(path))
    return real.name == "kernel.json" and real.parent.parent.name == "kernels"


@dataclass(frozen=True)
class _Step:
    """What undo does for one journal entry: restore ``content`` (None: remove the file), nothing, or keep it."""

    target: Path
    action: str  # RESTORE, ALREADY or KEPT
    content: Optional[bytes] = None


RESTORE, ALREADY, KEPT = "restore", "already", "kept"


class Journal:
    """What dl-doctor changed in one environment, with backups, kept under ``<prefix>/share/dl-doctor``.

    Each change is recorded (backup first, then the entry) before its file is written, so a fix killed at any
    point leaves a journal that undo completes: an entry whose file still holds what was there before is already
    undone, a temporary file beside it is removed. Undo trusts no path in the journal: it touches only files a
    fix may write (``may_write``) and backups inside its own folder, and refuses the whole journal otherwise."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.folder = Path(prefix) / JOURNAL_FOLDER
        self.path = self.folder / JOURNAL_NAME

    def entries(self) -> List[Dict[str, object]]:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))["entries"]
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise FixRefused("the fix journal %s is unreadable (%s)" % (self.path, exc)) from None
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise FixRefused("the fix journal %s is unreadable (its entries are not a list of records)" % self.path)
        return entries

    def _save(self, entries: List[Dict[str, object]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, (json.dumps({"entries": entries}, indent=2) + "\n").encode("utf-8"))

    def record(self, fix_id: str, target: Path, previous: Optional[bytes], written: bytes) -> None:
        entries = self.entries()
        backup = None
        if previous is not None:
            backup = "%d-%s" % (len(entries), target.name)
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.folder / backup, previous)
        entries.append({"fix": fix_id, "path": str(target), "backup": backup, "written_sha256": _digest(written)})
        self._save(entries)

    def undo(self) -> List[str]:
        """Restore every recorded file, newest change first; returns what was done, one line each. Nothing is
        changed when an entry points outside what a fix may write or a file was changed after dl-doctor wrote it
        (``FixRefused`` names it)."""
        if self.folder.is_symlink() or (self.folder.exists() and not _inside(str(self.folder), self.prefix)):
            raise FixRefused("the fix journal folder %s leads outside %s; refused, nothing undone"
                             % (self.folder, self.prefix))
        steps = self._plan_undo(self.entries())
        done = []
        for step in steps:
            _remove_temporaries(step.target)
            if step.action == RESTORE and step.content is None:
                if step.target.exists():
                    step.target.unlink()
                done.append("removed %s" % step.target)
            elif step.action == RESTORE:
                atomic_write(step.target, step.content)
                done.append("restored %s" % step.target)
            elif step.action == KEPT:
                done.append("kept %s as you last edited it: you changed it between two dl-doctor fixes"
                            % step.target)
        if self.folder.exists():
            # The journal goes first: once it is gone undo is complete, and a kill in rmtree leaves only files
            # that the next undo removes, never a journal whose backups are gone.
            if self.path.exists():
                self.path.unlink()
            shutil.rmtree(str(self.folder))
        try:
            self.folder.parent.rmdir()  # <prefix>/share, when dl-doctor's folder was all it held (or a kill left)
        except OSError:
            pass
        return done

    def _plan_undo(self, entries: List[Dict[str, object]]) -> List[_Step]:
        """Each entry's step, newest first, before anything is touched; refuses the whole journal on a path it
        must not touch or a file the learner changed since dl-doctor last wrote it."""
        steps: List[_Step] = []
        expected: Dict[Path, Optional[str]] = {}  # what each file holds once the newer entries are undone
        changed = []
        for entry in reversed(entries):
            target, previous = self._checked_entry(entry)
            if target not in expected:
                expected[target] = _digest(target.read_bytes()) if target.exists() else None
                newest = True
            else:
                newest = False
            before = None if previous is None else _digest(previous)
            if expected[target] == entry["written_sha256"]:
                steps.append(_Step(target, RESTORE, previous))
                expected[target] = before
            elif expected[target] == before:
                steps.append(_Step(target, ALREADY))  # a fix killed before it wrote, or an undo killed after
            elif newest:
                changed.append("%s (%s)" % (target, "it did not exist before dl-doctor; delete it" if previous is None
                                             else "restore it from %s" % (self.folder / str(entry["backup"]))))
            else:
                steps.append(_Step(target, KEPT))
        if changed:
            raise FixRefused("changed after dl-doctor wrote it: %s; then run dl-doctor fix --undo again to finish"
                             % "; ".join(changed))
        return steps

    def _checked_entry(self, entry: Dict[str, object]) -> Tuple[Path, Optional[bytes]]:
        """An entry's file and its backup's bytes, refused unless both lie where undo may touch them."""
        path, backup, written = entry.get("path"), entry.get("backup"), entry.get("written_sha256")
        if not isinstance(path, str) or not os.path.isabs(path) or not isinstance(written, str):
            raise FixRefused("the fix journal %s has an entry without a full path and digest (%r); refused, nothing "
                             "undone" % (self.path, entry))
        if not may_write(path, self.prefix):
            raise FixRefused("the fix journal %s names %s, outside the environment %s; refused, nothing undone"
                             % (self.path, path, self.prefix))
        if backup is None:
            return Path(path), None
        if not isinstance(backup, str) or os.path.basename(backup) != backup or backup in ("", ".", "..") \
                or not _inside(str(self.folder / backup), str(self.folder)) or (self.folder / backup).is_symlink():
            raise FixRefused("the fix journal %s names the backup %r, outside its folder; refused, nothing undone"
                             % (self.path, backup))
        try:
            return Path(path), (self.folder / backup).read_bytes()
        except OSError as exc:
            raise FixRefused("the backup %s of %s cannot be read (%s); refused, nothing undone"
                             % (self.folder / backup, path, exc.strerror or exc)) from None


def check_writable(folder: Path, prefix: str) -> None:
    """Refuse environments that are not the learner's to change."""
    if not folder.is_dir():
        raise FixRefused("%s does not exist" % folder)
    if not os.access(str(folder), os.W_OK) or not os.access(prefix, os.W_OK):
        raise FixRefused("%s is read-only for this user" % folder)
    if hasattr(os, "getuid") and os.stat(str(folder)).st_uid != os.getuid():
        raise FixRefused("%s belongs to another user" % folder)


def apply_plan(plan: Plan) -> List[AppliedWrite]:
    journal = Journal(plan.prefix)
    outside = [write.path for write in plan.writes if not may_write(write.path, plan.prefix)]
    if outside:
        raise FixRefused("%s is outside the environment %s" % (", ".join(outside), plan.prefix))
    applied = []
    for write in plan.writes:
        target = Path(write.path)
        _remove_temporaries(target)
        previous = target.read_bytes() if target.exists() else None
        if previous == write.content:
            applied.append(AppliedWrite(write.path, False))
            continue
        journal.record(plan.fix_id, target, previous, write.content)
        atomic_write(target, write.content)
        applied.append(AppliedWrite(write.path, True))
    return applied
