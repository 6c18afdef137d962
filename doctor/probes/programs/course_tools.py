# Probe "course": what the course's packages need outside Python, read without importing them: the
# Graphviz `dot` program on PATH, where Kaggle credentials would be (stat only: the file is never opened,
# variables are reported as set or not, never their values), and a package's own dependency table
# (transformers/dependency_versions_table.py, parsed as data). No judgement here.
import ast
import errno
import io
import os
import shutil
import stat


def _course_dot():
    return {"path": shutil.which("dot")}


def _course_kaggle():
    environment = os.environ
    config_dir = environment.get("KAGGLE_CONFIG_DIR")
    folder = config_dir or os.path.join(os.path.expanduser("~"), ".kaggle")
    path = os.path.join(folder, "kaggle.json")
    record = {
        "path": path, "config_dir_variable": bool(config_dir), "exists": False, "is_file": False, "mode": None,
        "stat_error": None, "username_variable": bool(environment.get("KAGGLE_USERNAME")),
        "key_variable": bool(environment.get("KAGGLE_KEY")),
        "on_kaggle": bool(environment.get("KAGGLE_KERNEL_RUN_TYPE")), "posix": os.name == "posix",
    }
    try:
        status = os.stat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return record
        record["stat_error"] = _doctor_error_text(exc)
        return record
    record["exists"] = True
    record["is_file"] = stat.S_ISREG(status.st_mode)
    record["mode"] = stat.S_IMODE(status.st_mode)
    return record


def _course_table(package, wanted):
    record = {"package": package, "path": None, "found": False, "entries": {}, "error": None}
    spec, record["error"] = _doctor_find_spec(package)
    if record["error"]:
        return record
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        return record
    record["found"] = True
    path = os.path.join(locations[0], "dependency_versions_table.py")
    record["path"] = path
    try:
        with io.open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        table = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "deps" for t in node.targets):
                table = ast.literal_eval(node.value)
        if not isinstance(table, dict):
            record["error"] = "no literal deps = {...} in %s" % path
            return record
        record["entries"] = dict((name, table[name]) for name in wanted if isinstance(table.get(name), str))
    except Exception as exc:
        record["error"] = _doctor_error_text(exc)
    return record


def collect(arguments):
    tables = arguments.get("tables") or {}
    return {
        "dot": _course_dot(),
        "kaggle": _course_kaggle(),
        "tables": dict((package, _course_table(package, wanted)) for package, wanted in tables.items()),
    }
