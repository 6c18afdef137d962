# Prepended to every probe program. Written for old Python 3 interpreters too (no f-strings, no annotations),
# so that a too-old Python can still report what it is.
import json
import os
import sys


def _doctor_error(exc):
    # The probe's own frames (compiled from "<string>") are left out: they are not the learner's problem.
    import traceback
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename != "<string>"]
    lines = ["Traceback (most recent call last):\n"] + traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(lines)[-4000:],
        "files": [frame.filename for frame in frames],
    }


_DOCTOR_ANSWER_FD = []


def _doctor_write_line(record):
    payload = (json.dumps(record) + "\n").encode("utf-8")
    while payload:
        written = os.write(_DOCTOR_ANSWER_FD[0], payload)
        payload = payload[written:]


def _doctor_progress(record):
    """Send a partial result now: if the process dies later, the runner still has it."""
    _doctor_write_line({"progress": record})


def _doctor_run(collect):
    # Libraries print to stdout from Python and from C; the answer travels on a private copy of fd 1
    # while fd 1 itself is pointed at stderr.
    sys.stdout.flush()
    _DOCTOR_ANSWER_FD.append(os.dup(1))
    os.dup2(2, 1)
    arguments = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    data = collect(arguments)
    sys.stdout.flush()
    _doctor_write_line({"data": data})
    os.close(_DOCTOR_ANSWER_FD[0])
