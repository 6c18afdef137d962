"""The command line's inputs: bad ones become a ``UsageError`` (one line, exit code 2)."""

import json
import os
import shutil
import subprocess
import sys
from typing import Optional

from doctor.collect import Target
from doctor.commands import UsageError
from doctor.facts import Facts

INTERPRETER_CHECK_TIMEOUT_S = 20


def target_of(python: Optional[str]) -> Target:
    """The interpreter to examine (``--python``, or this one) in the current working directory."""
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        raise UsageError("the current folder no longer exists: cd into an existing folder and run again") from None
    return Target(python=resolve_interpreter(python) if python else sys.executable, cwd=cwd)


def resolve_interpreter(path: str) -> str:
    """Resolve ``--python`` and make sure it is a Python interpreter that starts."""
    found = path if os.sep in path or (os.altsep and os.altsep in path) else shutil.which(path)
    if not found or not os.path.exists(found):
        raise UsageError("--python %s: no such file" % path)
    if os.path.isdir(found):
        raise UsageError("--python %s: is a directory, not an interpreter" % path)
    try:
        answer = subprocess.run(
            [found, "-c", "import sys; sys.stdout.write('%d' % sys.version_info[0])"],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=INTERPRETER_CHECK_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        raise UsageError("--python %s: did not answer within %d s" % (path, INTERPRETER_CHECK_TIMEOUT_S)) from None
    except OSError as exc:
        raise UsageError("--python %s: cannot run it (%s)" % (path, exc.strerror or exc)) from None
    if answer.returncode != 0 or not answer.stdout.strip().isdigit():
        raise UsageError("--python %s: not a Python interpreter" % path)
    return os.path.abspath(found)


def load_facts_file(path: str) -> Facts:
    try:
        with open(path, "r", encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as exc:
        raise UsageError("--facts %s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError("--facts %s: not JSON (%s)" % (path, exc)) from None
    if isinstance(raw, dict) and isinstance(raw.get("facts"), dict):
        raw = raw["facts"]
    try:
        return Facts.from_dict(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            "--facts %s: not a dl-doctor report or facts file (%s: %s)" % (path, type(exc).__name__, exc)
        ) from None

