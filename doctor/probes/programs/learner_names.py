# Probe "learner-names": the modules and names an exported learner's pickle references (read by the parent,
# doctor/learner_export.py, without unpickling it), looked up in the target interpreter: find_spec for each
# module, then an import of that library module and an attribute lookup for each name. The pickle itself is
# never loaded here. Old-interpreter syntax on purpose (see prelude.py).
import importlib.util
import json
import os
import sys
import time

try:
    from importlib import metadata as _names_metadata  # novermin (3.8+)
except ImportError:
    _names_metadata = None

# Never imported, only found: __main__ is the learner's own notebook or script (reported, not looked up), and
# these run code on import (antigravity opens a browser, this prints, idlelib.idle starts IDLE).
_FIND_ONLY = ("antigravity", "this", "__hello__", "__phello__", "idlelib.idle", "turtledemo")


def _find_only(name):
    return name.split(".")[-1] == "__main__" or any(name == m or name.startswith(m + ".") for m in _FIND_ONLY)


def _message(exc):
    return _doctor_error_text(exc)[:500]


def _lookup(module, dotted):
    value = module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def _distributions(tops):
    # Which installed distributions provide each top-level name (their RECORD or top_level.txt).
    try:
        found = _names_metadata.packages_distributions()  # novermin (3.10+)
    except Exception:
        return {}
    return dict((top, sorted(set(found.get(top) or []))) for top in tops if found.get(top))


def collect(arguments):
    path = arguments.get("file")
    if path:
        with open(path, "r") as handle:
            arguments = json.load(handle)
    results = []
    unresolved_tops = set()
    for module_name, names in arguments.get("modules", []):
        started = time.time()
        record = {"module": module_name, "found": False, "imported": False, "error": None, "missing": {},
                  "looked_up": False}
        if module_name == "__main__":
            record["found"] = None
            results.append(record)
            continue
        try:
            record["found"] = importlib.util.find_spec(module_name) is not None
        except BaseException as exc:
            # A parent that is no package ('pathlib._local' before 3.13), or a parent package that fails.
            record["error"] = _message(exc)
        if record["found"] and not _find_only(module_name):
            try:
                module = importlib.import_module(module_name)
                record["imported"] = True
                record["looked_up"] = True
            except BaseException as exc:
                record["error"] = _message(exc)
                module = None
            if module is not None:
                for name in names:
                    try:
                        _lookup(module, name)
                    except BaseException as exc:
                        record["missing"][name] = _message(exc)
        if not record["found"] or record["error"] or record["missing"]:
            unresolved_tops.add(module_name.split(".")[0])
        record["seconds"] = time.time() - started
        results.append(record)
    return {
        "modules": results,
        "distributions": _distributions(sorted(set(m.split(".")[0] for m, _ in arguments.get("modules", [])))),
        "unresolved_tops": sorted(unresolved_tops),
        "python": list(sys.version_info[:3]),
        "os_name": os.name,
    }
