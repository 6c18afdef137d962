# Probe "imports": runs a lesson's import statements, in order, the way a notebook cell would,
# and records each one's outcome and error without judging it; then looks up the lesson's library calls
# (api_drift.py, prepended to this program) in the same child, so no library is imported twice.
import os
import sys
import time

try:
    from importlib import metadata as _imports_metadata  # novermin (3.8+)
except ImportError:
    _imports_metadata = None


def _fastai_default_device():
    # The device fastai trains on, from fastai itself (it may differ from torch's view: fastai#3952).
    core = sys.modules.get("fastai.torch_core")
    if core is None:
        return None, None
    return _doctor_attempt(lambda: str(core.default_device()))


def _listed_paths(dist, root):
    # The files a distribution owns, relative to its root: RECORD read as text (the common case, fast),
    # else importlib's own list (old egg-info installs, whose paths are relative to the .egg-info folder).
    text = dist.read_text("RECORD")
    if text:
        return set(line.rsplit(",", 2)[0] for line in text.splitlines() if line)
    located = (os.path.normpath(os.path.join(root, str(path))) for path in (dist.files or []))
    return set(os.path.relpath(path, root).replace(os.sep, "/") for path in located)


def _owners(files):
    """For each traceback file, the installed distribution whose RECORD lists it (None for the others).

    Read only when an import failed: reading every RECORD costs tens of milliseconds.
    """
    if _imports_metadata is None:
        return [None] * len(files)
    wanted = dict((path, os.path.realpath(path)) for path in files if path and not path.startswith("<"))
    if not wanted:
        return [None] * len(files)
    owners = {}
    for dist in _imports_metadata.distributions():
        try:
            root = os.path.realpath(str(dist.locate_file("")))
            mine = dict((path, os.path.relpath(real, root).replace(os.sep, "/")) for path, real in wanted.items()
                        if path not in owners and real.startswith(root + os.sep))
            if not mine:
                continue
            listed = _listed_paths(dist, root)
            for path, relative in mine.items():
                if relative in listed:
                    owners[path] = {"name": dist.metadata["Name"], "version": dist.version}
        except Exception:
            continue
    return [owners.get(path) for path in files]


def collect(arguments):
    results = []
    for item in arguments.get("statements", []):
        started = time.time()
        try:
            exec(compile(item["statement"], "<lesson cell>", "exec"), {"__name__": "__main__"})
            error = None
        except BaseException as exc:
            error = _doctor_error(exc)
            try:
                error["owners"] = _owners(error["files"])
            except Exception:
                # A half-imported library's finder can break the distribution scan; the error itself stands.
                error["owners"] = None
        results.append({
            "statement": item["statement"],
            "required": item["required"],
            "ok": error is None,
            "seconds": time.time() - started,
            "error": error,
        })
    device, device_error = _fastai_default_device()
    answer = {"statements": results, "fastai_default_device": device, "fastai_default_device_error": device_error,
              "stdlib_modules_imported": [name for name in _doctor_stdlib_module_names() if name in sys.modules]}
    if arguments.get("calls"):
        started = time.time()
        answer["calls"] = _drift_check_calls(arguments["calls"])
        answer["calls_seconds"] = time.time() - started
    return answer
