"""Reading an exported learner (``learn.export()``, ``torch.save``) without unpickling it.

torch writes a zip whose ``<archive>/data.pkl`` is the pickle of the object; tensors live beside it in
``<archive>/data/N`` and are only named by persistent ids. What the pickle would import is in its GLOBAL,
INST and STACK_GLOBAL opcodes. ``pickletools.genops`` walks the opcodes without executing any; this module
keeps a small model of the unpickler's stack and memo so that STACK_GLOBAL gets the two strings pushed
before it (directly, or fetched back from the memo with BINGET and friends). Nothing in the file is run,
imported or instantiated.

Bad input (a missing file, a folder, something that is not a zip, a zip without a pickle, a truncated or
hostile pickle) raises ``ExportError`` with one line; reading is bounded in bytes and opcodes.
"""

import _compat_pickle
import os
import pickletools
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

# Bounds on what a learner export can be; a real resnet34 export's pickle is ~40 kB and ~10^4 opcodes, a text
# learner with a 60k-token vocabulary a few 10^5 opcodes.
MAX_PICKLE_BYTES = 128 * 1024 * 1024
MAX_OPCODES = 2000000
MAX_REFERENCES = 20000

# torch/serialization.py: the legacy (torch < 1.6, or _use_new_zipfile_serialization=False) format starts
# with the pickled MAGIC_NUMBER 0x1950a86a20f9469cfc6c, a LONG1 of 10 bytes.
_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")

_STRING_OPCODES = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                   "BINUNICODE8"}
_PUT_OPCODES = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPCODES = {"GET", "BINGET", "LONG_BINGET"}


class ExportError(Exception):
    """An input that is not a readable export: its message is the one line to show."""


class _Other:
    """Anything on the modelled stack that is not a string."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<object>"


_OTHER = _Other()
_MARK = pickletools.markobject


@dataclass(frozen=True)
class Reference:
    """A global the pickle imports: ``module`` and the (possibly dotted) ``name`` looked up in it."""

    module: str
    name: str
    count: int = 1

    @property
    def dotted(self) -> str:
        return "%s.%s" % (self.module, self.name)


@dataclass(frozen=True)
class ExportContents:
    path: str
    archive: str  # the zip's folder: "export" for export.pkl
    pickle_name: str
    pickle_bytes: int
    protocol: Optional[int]
    opcodes: int
    references: Tuple[Reference, ...]
    format_version: Optional[str] = None  # <archive>/version, torch's zip format version
    seconds: float = 0.0
    tensors: int = 0  # persistent ids: the storages the pickle points at
    extension_codes: Tuple[int, ...] = field(default_factory=tuple)

    def modules(self) -> Dict[str, List[str]]:
        """Each referenced module with the names looked up in it, in first-seen order."""
        found: Dict[str, List[str]] = {}
        for reference in self.references:
            found.setdefault(reference.module, []).append(reference.name)
        return found

    def to_dict(self) -> Dict[str, Any]:
        return {
            "path": self.path, "archive": self.archive, "pickle_name": self.pickle_name,
            "pickle_bytes": self.pickle_bytes, "protocol": self.protocol, "opcodes": self.opcodes,
            "references": [[r.module, r.name, r.count] for r in self.references],
            "format_version": self.format_version, "seconds": self.seconds, "tensors": self.tensors,
            "extension_codes": list(self.extension_codes),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "ExportContents":
        return cls(
            path=str(raw["path"]), archive=str(raw.get("archive") or ""), pickle_name=str(raw.get("pickle_name") or ""),
            pickle_bytes=int(raw.get("pickle_bytes") or 0), protocol=raw.get("protocol"),
            opcodes=int(raw.get("opcodes") or 0),
            references=tuple(Reference(str(m), str(n), int(c)) for m, n, c in raw.get("references") or ()),
            format_version=raw.get("format_version"), seconds=float(raw.get("seconds") or 0.0),
            tensors=int(raw.get("tensors") or 0), extension_codes=tuple(raw.get("extension_codes") or ()),
        )


def read_export(path: str) -> ExportContents:
    """What the export at ``path`` references, read without unpickling it; ``ExportError`` for bad input."""
    started = time.perf_counter()
    if not os.path.exists(path):
        raise ExportError("%s: no such file" % path)
    if os.path.isdir(path):
        raise ExportError("%s: is a folder, not an exported learner (give the .pkl file, e.g. %s)"
                          % (path, os.path.join(path, "export.pkl")))
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            if not zipfile.is_zipfile(handle):
                raise ExportError(_not_zip(path, head))
            archive = zipfile.ZipFile(handle)
            name = _pickle_member(archive, path)
            info = archive.getinfo(name)
            if info.file_size > MAX_PICKLE_BYTES:
                raise ExportError("%s: its pickle %s is %d MB, more than any learner export (%d MB): not read"
                                  % (path, name, info.file_size // 2 ** 20, MAX_PICKLE_BYTES // 2 ** 20))
            with archive.open(name) as member:
                data = member.read(MAX_PICKLE_BYTES + 1)
            version = _small_text(archive, name.rsplit("/", 1)[0] + "/version" if "/" in name else "version")
    except ExportError:
        raise
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, ValueError, EOFError, zlib.error,
            NotImplementedError) as exc:
        # RuntimeError: an encrypted member; ValueError/EOFError/zlib.error: a truncated or damaged archive;
        # NotImplementedError: a compression method zipfile does not know.
        raise ExportError("%s: a damaged zip file (%s)" % (path, _one_line(exc))) from None
    if len(data) > MAX_PICKLE_BYTES:
        raise ExportError("%s: its pickle is larger than %d MB: not read" % (path, MAX_PICKLE_BYTES // 2 ** 20))
    protocol, opcodes, references, tensors, extensions = scan_pickle(data, path)
    return ExportContents(
        path=path, archive=name.rsplit("/", 1)[0] if "/" in name else "", pickle_name=name, pickle_bytes=len(data),
        protocol=protocol, opcodes=opcodes, references=references, format_version=version,
        seconds=time.perf_counter() - started, tensors=tensors, extension_codes=extensions,
    )


def _not_zip(path: str, head: bytes) -> str:
    if len(head) >= 14 and head[0] == 0x80 and head[2:14] == _LEGACY_MAGIC:
        return ("%s: saved in torch's legacy format (torch < 1.6, or _use_new_zipfile_serialization=False), which "
                "dl-doctor learner does not read: load it with the torch that saved it and save it again" % path)
    if not head:
        return "%s: an empty file, not an exported learner" % path
    return "%s: not an exported learner (not a zip file, as torch.save and learn.export write)" % path


def _pickle_member(archive: zipfile.ZipFile, path: str) -> str:
    names = archive.namelist()
    # torch names every record "<archive>/<record>"; its reader takes the pickle from "<archive>/data.pkl".
    top = [name for name in names if name.count("/") == 1 and name.endswith("/data.pkl")]
    nested = [name for name in names if name == "data.pkl" or name.endswith("/data.pkl")]
    if top or nested:
        return (top or nested)[0]
    raise ExportError("%s: a zip file without a torch pickle (no <folder>/data.pkl among its %d entries): "
                      "not an exported learner" % (path, len(names)))


def _small_text(archive: zipfile.ZipFile, name: str) -> Optional[str]:
    try:
        info = archive.getinfo(name)
        if info.file_size > 64:
            return None
        return archive.read(name).decode("ascii", "replace").strip() or None
    except (KeyError, OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError, zlib.error,
            NotImplementedError):
        return None


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:200]


def scan_pickle(data: bytes, path: str = "pickle") -> Tuple[Optional[int], int, Tuple[Reference, ...], int,
                                                                Tuple[int, ...]]:
    """(protocol, opcode count, references, persistent ids, extension codes) of a pickle, without running it.

    The stack model follows pickletools' own opcode table (each opcode's ``stack_before``/``stack_after``,
    with MARK handled as ``pickletools.dis`` does); only strings keep their value, everything else is one
    shared placeholder, so memory stays proportional to the opcodes read.
    """
    stack: List[Any] = []
    memo: Dict[int, Any] = {}
    counts: Dict[Tuple[str, str], int] = {}
    protocol: Optional[int] = None
    opcodes = 0
    tensors = 0
    extensions: List[int] = []
    position = 0
    try:
        for opcode, argument, position in pickletools.genops(data):
            opcodes += 1
            if opcodes > MAX_OPCODES:
                raise ExportError("%s: its pickle has more than %d opcodes, far more than a learner export: "
                                  "not read further" % (path, MAX_OPCODES))
            name = opcode.name
            if name == "PROTO":
                protocol = argument
            elif name in ("GLOBAL", "INST"):
                module, _, attribute = str(argument).partition(" ")
                _count(counts, protocol, module, attribute, path)
            elif name == "STACK_GLOBAL":
                if len(stack) < 2 or not all(isinstance(item, str) for item in stack[-2:]):
                    raise ExportError("%s: a malformed pickle (STACK_GLOBAL at byte %d without a module and a name "
                                      "before it)" % (path, position))
                _count(counts, protocol, stack[-2], stack[-1], path)
                del stack[-2:]
                stack.append(_OTHER)
                continue
            elif name in ("BINPERSID", "PERSID"):
                tensors += 1
            elif name in ("EXT1", "EXT2", "EXT4"):
                extensions.append(int(argument))
            if name in _STRING_OPCODES:
                stack.append(argument if isinstance(argument, str) else _OTHER)
            elif name == "MEMOIZE":
                _need(stack, 1, name, position, path)
                memo[len(memo)] = stack[-1]
            elif name in _PUT_OPCODES:
                _need(stack, 1, name, position, path)
                if argument < 0:
                    raise ExportError("%s: a malformed pickle (negative memo index at byte %d)" % (path, position))
                memo[argument] = stack[-1]
            elif name in _GET_OPCODES:
                if argument not in memo:
                    raise ExportError("%s: a malformed pickle (memo entry %d fetched at byte %d was never stored)"
                                      % (path, argument, position))
                stack.append(memo[argument])
            else:
                _apply_stack_effect(stack, opcode, position, path)
            if name == "STOP":
                break
    except ExportError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, OverflowError, MemoryError) as exc:
        # genops raises ValueError for a truncated pickle or an unknown opcode.
        raise ExportError("%s: a damaged or truncated pickle (%s)" % (path, _one_line(exc))) from None
    references = tuple(Reference(module, attribute, count) for (module, attribute), count in counts.items())
    return protocol, opcodes, references, tensors, tuple(extensions)


def _need(stack: List[Any], count: int, name: str, position: int, path: str) -> None:
    if len(stack) < count or stack[-1] is _MARK:
        raise ExportError("%s: a malformed pickle (%s at byte %d on an empty stack)" % (path, name, position))


def _apply_stack_effect(stack: List[Any], opcode, position: int, path: str) -> None:
    before, after = opcode.stack_before, opcode.stack_after
    to_pop = len(before)
    if _MARK in before or (opcode.name == "POP" and stack and stack[-1] is _MARK):
        # Pop down to the topmost MARK and the MARK itself, then what sits below it (pickletools.dis).
        try:
            while stack[-1] is not _MARK:
                stack.pop()
            stack.pop()
        except IndexError:
            raise ExportError("%s: a malformed pickle (%s at byte %d without a MARK)"
                              % (path, opcode.name, position)) from None
        to_pop = before.index(_MARK) if _MARK in before else 0
    if to_pop:
        if len(stack) < to_pop:
            raise ExportError("%s: a malformed pickle (%s at byte %d pops %d items from a stack of %d)"
                              % (path, opcode.name, position, to_pop, len(stack)))
        # The unpickler keeps what sits below a MARK on another stack: popping across one is an underflow.
        if any(item is _MARK for item in stack[-to_pop:]):
            raise ExportError("%s: a malformed pickle (%s at byte %d pops past a MARK)" % (path, opcode.name, position))
        del stack[-to_pop:]
    for item in after:
        stack.append(_MARK if item is _MARK else _OTHER)


def _count(counts: Dict[Tuple[str, str], int], protocol: Optional[int], module: str, name: str, path: str) -> None:
    # pickle.Unpickler.find_class with fix_imports (the default): protocol 0-2 pickles name Python 2 modules
    # (__builtin__, copy_reg) and are mapped to Python 3's before the import.
    if protocol is None or protocol < 3:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
    key = (module, name)
    if key not in counts and len(counts) >= MAX_REFERENCES:
        raise ExportError("%s: its pickle names more than %d different globals, far more than a learner export: "
                          "not read further" % (path, MAX_REFERENCES))
    counts[key] = counts.get(key, 0) + 1
