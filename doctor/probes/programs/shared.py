# Sent with every probe program, right after prelude.py: the helpers several programs need, written once.
# Stdlib only, and old-interpreter syntax (no f-strings, no annotations), as prelude.py explains.
import importlib.util


def _doctor_error_text(exc):
    """An exception as one line of evidence: its type and its message."""
    return "%s: %s" % (type(exc).__name__, exc)


def _doctor_attempt(function):
    """``(function(), None)``, or ``(None, error text)`` when it raises."""
    try:
        return function(), None
    except Exception as exc:
        return None, _doctor_error_text(exc)


def _doctor_find_spec(name):
    """Where module ``name`` would come from, without importing it: ``(spec or None, error text or None)``.
    For a dotted name find_spec imports the parent package, which can fail in any way."""
    return _doctor_attempt(lambda: importlib.util.find_spec(name))


def _doctor_module_found(name):
    return _doctor_find_spec(name)[0] is not None


def _doctor_command_output(command, timeout_s):
    """A command's standard output, stripped, or None when it is missing, fails or outlives ``timeout_s``."""
    import subprocess
    try:
        out = subprocess.check_output(command, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=timeout_s)
    except Exception:
        return None
    return out.decode("utf-8", "replace").strip()
