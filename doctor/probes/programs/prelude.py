# Prepended to every probe program. Written for old Python 3 interpreters too (no f-strings, no annotations),
# so that a too-old Python can still report what it is.
import sys

# The learner's working folder ('' under python -c) is taken off sys.path before anything else is imported, so a
# json.py or typing.py beside the notebook cannot stand in for the standard library in the probe's own machinery
# (this prelude, the shared helpers, each program's module-level imports); _doctor_run puts it back where it was
# before collect runs, so the lesson's imports see the folder as a notebook does.
_DOCTOR_WORKING_FOLDER = [(index, entry) for index, entry in enumerate(sys.path) if entry in ("", ".")]
for _doctor_index, _doctor_entry in reversed(_DOCTOR_WORKING_FOLDER):
    del sys.path[_doctor_index]

import json  # noqa: E402
import os  # noqa: E402
import traceback  # noqa: E402


def _doctor_error(exc):
    # The probe's own frames (compiled from "<string>") are left out: they are not the learner's problem.
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != "<string>"]
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(lines)[-4000:],
        "files": [frame.filename for frame in frames],
    }


def _doctor_answer_channel():
    # The supervisor passes a pipe of its own (POSIX): nothing else writes to it. It is not inherited by the
    # processes a library starts, and its variable leaves the environment the probe reports and passes on.
    descriptor = os.environ.pop("DL_DOCTOR_ANSWER_FD", None)
    if descriptor is not None:
        os.set_inheritable(int(descriptor), False)
        return int(descriptor)
    # Windows: the answer travels on a private copy of fd 1 while fd 1 itself is pointed at stderr.
    sys.stdout.flush()
    channel = os.dup(1)
    os.dup2(2, 1)
    return channel


_DOCTOR_ANSWER_FD = [_doctor_answer_channel()]


def _doctor_write_line(record):
    payload = (json.dumps(record) + "\n").encode("utf-8")
    while payload:
        written = os.write(_DOCTOR_ANSWER_FD[0], payload)
        payload = payload[written:]


def _doctor_progress(record):
    """Send a partial result now: if the process dies later, the runner still has it."""
    _doctor_write_line({"progress": record})


def _doctor_run(collect):
    arguments = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    for index, entry in _DOCTOR_WORKING_FOLDER:
        sys.path.insert(index, entry)
    data = collect(arguments)
    sys.stdout.flush()
    _doctor_write_line({"data": data})
    os.close(_DOCTOR_ANSWER_FD[0])
    # The answer is sent: leave without the interpreter's teardown, which is no part of what was measured and,
    # after `import torch`, costs time and raises the child's peak memory by about 130 MB.
    sys.stderr.flush()
    os._exit(0)
