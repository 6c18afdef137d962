# Sent with every probe program, right after prelude.py: the helpers several programs need, written once.
# Stdlib only, and old-interpreter syntax (no f-strings, no annotations), as prelude.py explains. Every program
# imports the standard library it needs at module level, as these helpers do: then the working folder is off
# sys.path (prelude.py), so a learner's json.py or subprocess.py cannot stand in for it once collect() runs.
import importlib
import importlib.machinery
import importlib.util
import subprocess


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
    try:
        out = subprocess.check_output(command, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=timeout_s)
    except Exception:
        return None
    return out.decode("utf-8", "replace").strip()


def _doctor_stdlib_module_names():
    """The standard library's top-level module names, as this interpreter has them."""
    names = getattr(sys, "stdlib_module_names", None)  # novermin (3.10+)
    if names is not None:
        return sorted(names)
    # Before 3.10: the modules built into the interpreter and those its standard-library folders hold.
    found = set(sys.builtin_module_names)
    stdlib = os.path.dirname(os.__file__)
    suffixes = tuple(importlib.machinery.all_suffixes())
    for folder in (stdlib, os.path.join(stdlib, "lib-dynload")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            name = entry.split(".")[0]
            if name.isidentifier() and (entry.endswith(suffixes) or os.path.isfile(os.path.join(folder, entry,
                                                                                                   "__init__.py"))):
                found.add(name)
    return sorted(found)


def _doctor_importlib_metadata():
    """importlib.metadata, or its backport on interpreters older than 3.8: ``(module, None)``, or ``(None, the
    ImportError)``, which the probe's collect() raises so that the probe fails and says why. Call it at module
    level, while the working folder is off sys.path: importlib.metadata imports email, csv and zipfile."""
    for name in ("importlib.metadata", "importlib_metadata"):
        try:
            return importlib.import_module(name), None
        except ImportError as exc:
            error = exc
    return None, error


def _doctor_metadata_headers(dist):
    """The core-metadata header fields (name -> list of values).

    Read by hand rather than through ``dist.metadata``: the email parser also parses the long
    description, which makes reading every installed distribution several times slower.
    """
    # An old-style .egg-info may be a single file: read_text("") reads that file itself, as
    # importlib.metadata's own Distribution.metadata does.
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    if text is None:
        return None
    fields = {}
    last = None
    for line in text.splitlines():
        if not line:
            break  # the empty line that ends the headers; a line of spaces only is a folded continuation
        if line[0] in " \t" and last is not None:
            fields[last][-1] += "\n" + line.strip()
            continue
        key, _, value = line.partition(":")
        last = key.strip().lower()
        fields.setdefault(last, []).append(value.strip())
    return fields
