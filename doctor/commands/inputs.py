"""The command line's inputs: bad ones become a ``UsageError`` (one line, exit code 2)."""

import os
import re
import shutil
import sys
from typing import List, Optional

from doctor.collect import Target
from doctor.commands import UsageError
from doctor.facts import Facts
from doctor.supervisor import ChildOutcome, Command, last_line, run_child

INTERPRETER_CHECK_TIMEOUT_S = 20
# The oldest Python whose probes dl-doctor runs; an older one gets one line saying so.
OLDEST_EXAMINED = (3, 6)
# Its version, on the supervisor's answer pipe (stdout on Windows): a banner a site customisation prints on stdout
# cannot be mistaken for it, and a json.py in the working folder is not imported. Python 2 syntax too, so that a
# Python 2 can say what it is.
VERSION_PROGRAM = (
    "import sys\n"
    "sys.path[:] = [entry for entry in sys.path if entry not in ('', '.')]\n"
    "import json, os\n"
    "line = json.dumps({'data': list(sys.version_info[:3])}) + '\\n'\n"
    "channel = os.environ.get('DL_DOCTOR_ANSWER_FD')\n"
    "os.write(int(channel) if channel else 1, ('\\n' + line).encode('ascii'))\n"
)


def target_of(python: Optional[str]) -> Target:
    """The interpreter to examine (``--python``, or this one) in the current working directory."""
    try:
        cwd = os.getcwd()
    except FileNotFoundError:
        raise UsageError("the current folder no longer exists: cd into an existing folder and run again") from None
    return Target(python=sys.executable if python is None else resolve_interpreter(python, cwd), cwd=cwd)


def resolve_interpreter(path: str, cwd: str) -> str:
    """Resolve ``--python`` and make sure it is a Python interpreter dl-doctor can examine, that starts."""
    if not path.strip():
        raise UsageError("--python is empty: give the path or the name of a Python interpreter")
    found = path if os.sep in path or (os.altsep and os.altsep in path) else shutil.which(path)
    if not found or not os.path.exists(found):
        raise UsageError("--python %s: no such file" % path)
    if os.path.isdir(found):
        raise UsageError("--python %s: is a directory, not an interpreter" % path)
    answer = _ask(found, ["-c", VERSION_PROGRAM], cwd, path)
    version = (answer.answer or {}).get("data")
    if not isinstance(version, list):
        # A Python 2 cannot run even that program's answer, or its site customisation failed: --version says
        # which Python it is (Python 2 writes it on stderr, Python 3.4+ on stdout; both reach the output tail).
        named = re.search(r"^Python (\d+)\.(\d+)\S*", _ask(found, ["--version"], cwd, path).stderr, re.MULTILINE)
        if named is None:
            raise UsageError("--python %s: not a Python interpreter" % path)
        if (int(named.group(1)), int(named.group(2))) >= OLDEST_EXAMINED:
            raise UsageError("--python %s: %s fails to start: %s" % (path, named.group(0), last_line(answer.stderr)))
        version = [int(named.group(1)), int(named.group(2))]
        shown = named.group(0)
    else:
        shown = "Python " + ".".join(str(part) for part in version)
    if tuple(version[:2]) < OLDEST_EXAMINED:
        raise UsageError("--python %s is %s, which dl-doctor does not support: it examines Python %d.%d or newer"
                         % (path, shown, *OLDEST_EXAMINED))
    return os.path.abspath(found)


def _ask(found: str, arguments: List[str], cwd: str, path: str) -> ChildOutcome:
    outcome = run_child(Command("interpreter", [found, *arguments], cwd, dict(os.environ),
                                INTERPRETER_CHECK_TIMEOUT_S))
    if outcome.start_error is not None:
        raise UsageError("--python %s: cannot run it (%s)" % (path, outcome.start_error))
    if outcome.timed_out:
        raise UsageError("--python %s: did not answer within %d s" % (path, INTERPRETER_CHECK_TIMEOUT_S))
    return outcome


def load_facts_file(path: str) -> Facts:
    """Facts saved in a JSON report or facts file, read within the reader's limits (size, nesting), refused in
    one line when this dl-doctor cannot read them (a newer report or facts schema among them)."""
    from doctor.facts import FACTS_SCHEMA_VERSION
    from doctor.reader import ReportError, check_schema_version, parse_json, read_text

    try:
        text = read_text(path)
        if not text.strip():
            raise ReportError("%s: empty file, not JSON" % path)
        raw = parse_json(text, path)
        if isinstance(raw, dict) and "schema_version" in raw:
            check_schema_version(raw, path)
    except ReportError as exc:
        raise UsageError("--facts %s" % exc) from None
    if isinstance(raw, dict) and isinstance(raw.get("facts"), dict):
        raw = raw["facts"]
    version = raw.get("facts_schema_version") if isinstance(raw, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > FACTS_SCHEMA_VERSION:
        raise UsageError("--facts %s: facts schema version %d, written by a newer dl-doctor; this dl-doctor reads "
                         "up to %d: upgrade it with pip install -U dl-doctor" % (path, version, FACTS_SCHEMA_VERSION))
    try:
        return Facts.from_dict(raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            "--facts %s: not a dl-doctor report or facts file (%s: %s)" % (path, type(exc).__name__, exc)
        ) from None

