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


def _atomic_write(path: Path, data: bytes) -> None:
    """Write beside the target, then rename over it: a reader sees the old file or the new, never half."""
    handle, temporary = tempfile.mkstemp(prefix="." + path.name + ".", dir=str(path.parent))
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


class Journal:
    """What dl-doctor changed in one environment, with backups, kept under ``<prefix>/share/dl-doctor``."""

    def __init__(self, prefix: str) -> None:
        self.folder = Path(prefix) / JOURNAL_FOLDER
        self.path = self.folder / JOURNAL_NAME

    def entries(self) -> List[Dict[str, object]]:
        try:
            return list(json.loads(self.path.read_text(encoding="utf-8"))["entries"])
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError) as exc:
            raise FixRefused("the fix journal %s is unreadable (%s)" % (self.path, exc)) from None

    def _save(self, entries: List[Dict[str, object]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.path, (json.dumps({"entries": entries}, indent=2) + "\n").encode("utf-8"))

    def record(self, fix_id: str, target: Path, previous: Optional[bytes], written: bytes) -> None:
        entries = self.entries()
        backup = None
        if previous is not None:
            backup = "%d-%s" % (len(entries), target.name)
            self.folder.mkdir(parents=True, exist_ok=True)
            _atomic_write(self.folder / backup, previous)
        entries.append({"fix": fix_id, "path": str(target), "backup": backup, "written_sha256": _digest(written)})
        self._save(entries)

    def undo(self) -> List[str]:
        """Restore every recorded file, newest change first; returns what was done, one line each."""
        done = []
        entries = self.entries()
        for entry in reversed(entries):
            target = Path(str(entry["path"]))
            current = target.read_bytes() if target.exists() else None
            if current is not None and _digest(current) != entry["written_sha256"]:
                raise FixRefused("%s changed after dl-doctor wrote it; restore it by hand from %s"
                                 % (target, self.folder / str(entry["backup"] or "(it did not exist)")))
            if entry["backup"] is None:
                if current is not None:
                    target.unlink()
                done.append("removed %s" % target)
            else:
                _atomic_write(target, (self.folder / str(entry["backup"])).read_bytes())
                done.append("restored %s" % target)
        if entries:
            shutil.rmtree(str(self.folder))
            try:
                self.folder.parent.rmdir()  # <prefix>/share, when dl-doctor's folder was all it held
            except OSError:
                pass
        return done


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
    applied = []
    for write in plan.writes:
        target = Path(write.path)
        previous = target.read_bytes() if target.exists() else None
        if previous == write.content:
            applied.append(AppliedWrite(write.path, False))
            continue
        journal.record(plan.fix_id, target, previous, write.content)
        _atomic_write(target, write.content)
        applied.append(AppliedWrite(write.path, True))
    return applied
