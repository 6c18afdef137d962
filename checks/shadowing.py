"""Local files or folders that shadow a package: a ``torch.py`` or ``fastai/`` next to the notebook is
imported instead of the installed package (fastbook#349, fastai forums: "module 'torch' has no attribute"), and a
``json.py`` or ``random.py`` there is imported instead of the standard library's module by torch, fastai and Jupyter.
A copy that PYTHONPATH or a .pth file puts first is fixed there, not by moving files."""

import os

from packaging.utils import canonicalize_name

from doctor.findings import error, fix, ok
from doctor.lessons import DISTRIBUTION_FOR_MODULE
from doctor.registry import check

from .commands import quote


def _inside(path, folders):
    path = os.path.normcase(os.path.abspath(path))
    for folder in folders:
        if not folder:
            continue
        folder = os.path.normcase(os.path.abspath(folder))
        if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
            return True
    return False


def _location(origin_record):
    if origin_record.get("origin"):
        origin = origin_record["origin"]
        if os.path.basename(origin) == "__init__.py":
            return os.path.dirname(origin)
        return origin
    locations = origin_record.get("locations") or []
    return locations[0] if locations else None


def shadowing(facts):
    """{module: path} for modules that would be imported from outside the installed packages."""
    python = facts.data("python") or {}
    allowed = list(python.get("site_packages") or []) + [python.get("user_site"), python.get("stdlib")]
    # A folder that installed distributions live in is a site folder too, however it joined sys.path (a .pth
    # calling site.addsitedir, a parent environment's site-packages): its packages are the installed ones. The
    # working folder never is, even with an .egg-info in it: a torch.py there is the learner's.
    # Only a folder where the module's own distribution lives: a PYTHONPATH folder holding some other
    # distribution's .dist-info does not make its fastai.py the installed fastai.
    cwd = python.get("cwd") or facts.cwd
    editable = {name for dist in facts.derived.distributions.values() if dist.editable for name in dist.top_level}
    found = {}
    for module, record in sorted((python.get("module_origins") or {}).items()):
        path = _location(record) if record.get("found") else None
        if path is None or module in editable or _inside(path, allowed + _provider_folders(facts, module, cwd)):
            continue
        if not record.get("origin") and not installed_provider(facts, module):
            continue  # a plain folder (a data folder named datasets/) is imported only when nothing is installed
        found[module] = path
    return found


def _provider_folders(facts, module, cwd):
    return sorted({dist.location for dist in _providers(facts, module)
                   if dist.location and not _inside(dist.location, [cwd])})


def _providers(facts, module):
    key = canonicalize_name(DISTRIBUTION_FOR_MODULE.get(module, module))
    return [dist for dist in facts.derived.distributions.values()
            if module in dist.top_level or canonicalize_name(dist.name) == key]


def installed_provider(facts, module):
    """Whether an installed distribution provides this top-level module (top_level.txt, or its own name)."""
    return bool(_providers(facts, module))


def path_source(facts, path):
    """What put the folder holding ``path`` on sys.path, when PYTHONPATH or a .pth file did: ``(source, pth file)``
    as the python probe found it (``("PYTHONPATH", None)``, ``("pth", "/.../site-packages/x.pth")``), else None."""
    sources = (facts.data("python") or {}).get("added_path_entries") or {}
    folder = os.path.normcase(os.path.dirname(os.path.abspath(path)))
    for entry, source in sources.items():
        if os.path.normcase(os.path.abspath(entry)) == folder:
            return source["source"], source.get("pth_file")
    return None


def _source_words(facts, path):
    source = path_source(facts, path)
    if source is None:
        return ""
    return " (on sys.path through %s)" % ("PYTHONPATH" if source[0] == "PYTHONPATH" else source[1])


def _in_site_folder(path):
    parts = os.path.normcase(os.path.abspath(path)).split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts


def shadow_fix(facts, found, commands=True):
    """Rename the learner's own files; a copy that PYTHONPATH or a .pth file puts on sys.path is fixed there, and
    files inside another environment's site-packages are never moved (they belong to that environment).
    ``commands=False``: the advice alone, for a finding that points at shadowed-modules for the commands."""
    renames, steps = [], []
    for path in sorted(found.values()):
        source = path_source(facts, path)
        folder = os.path.dirname(path)
        if source is not None and source[0] == "PYTHONPATH":
            steps.append("PYTHONPATH puts %s on sys.path: remove it from PYTHONPATH (or unset PYTHONPATH) where "
                         "Jupyter or Python is started" % folder)
        elif source is not None:
            steps.append("%s puts %s on sys.path: delete that line from it" % (source[1], folder))
        elif _in_site_folder(path):
            steps.append("%s is another environment's package folder on sys.path: take it off sys.path" % folder)
        else:
            renames.append(path)
    moves = ["mv %s %s" % (quote(facts, path),
                           quote(facts, os.path.join(os.path.dirname(path), "my_" + os.path.basename(path))))
             for path in renames] if commands else []
    text = "; ".join(dict.fromkeys(steps))
    if renames:
        text = (text + ". " if text else "") + "Rename or move %s (and delete __pycache__ next to %s)" % (
            ("these files or folders", "them") if commands else ("the file", "it"))
    end = ":" if moves else "." if commands else " (see shadowed-modules)."
    return fix("%s, then restart the kernel%s" % (text, end), *moves)


# The standard-library modules `from fastai.vision.all import *` loads (fastai 2.8.12, torch 2.14.1, CPython 3.11:
# the names in sys.stdlib_module_names that are in sys.modules after the import): what --quick, which imports
# nothing, holds the working folder against; a full check adds what the imports probe saw loaded in the target.
COURSE_STACK_STDLIB = frozenset((
    "argparse", "array", "ast", "asyncio", "atexit", "base64", "bdb", "binascii", "bisect", "bz2", "cProfile",
    "calendar", "cmath", "cmd", "code", "codeop", "collections", "colorsys", "concurrent", "configparser",
    "contextlib", "contextvars", "copy", "copyreg", "csv", "ctypes", "dataclasses", "datetime", "decimal", "difflib",
    "dis", "email", "enum", "faulthandler", "fileinput", "fnmatch", "fractions", "functools", "getpass", "gettext",
    "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http", "importlib", "inspect", "ipaddress", "json",
    "keyword", "linecache", "locale", "logging", "lzma", "mimetypes", "modulefinder", "multiprocessing", "numbers",
    "opcode", "operator", "pathlib", "pdb", "pickle", "pickletools", "pkgutil", "platform", "plistlib", "pprint",
    "profile", "pstats", "pydoc", "queue", "quopri", "random", "re", "reprlib", "runpy", "secrets", "selectors",
    "shlex", "shutil", "signal", "socket", "ssl", "statistics", "string", "stringprep", "struct", "subprocess",
    "sysconfig", "tarfile", "tempfile", "textwrap", "threading", "timeit", "token", "tokenize", "traceback", "types",
    "typing", "unittest", "urllib", "uuid", "warnings", "weakref", "xml", "zipfile", "zoneinfo",
))
# Imported by every interpreter before the working folder joins sys.path (sys.modules of `python -I -c` on CPython
# 3.9 and 3.13): a local os.py is never loaded.
IMPORTED_AT_START = frozenset(("abc", "codecs", "encodings", "genericpath", "io", "ntpath", "os", "posixpath", "site",
                               "stat", "zipimport"))


def stdlib_shadows(facts):
    """{module: path}: files or packages in the working folder that the course stack would import instead of the
    standard library's module of that name."""
    local = (facts.data("python") or {}).get("stdlib_names_in_working_folder") or {}
    imported = COURSE_STACK_STDLIB | set((facts.data("imports") or {}).get("stdlib_modules_imported") or ())
    return {module: path for module, path in sorted(local.items())
            if module in imported and module not in IMPORTED_AT_START}


def stdlib_shadow_fix(facts, found, commands=True):
    if not commands:
        return fix("Rename the file (and your imports of it; delete __pycache__ next to it), then restart the kernel.")
    return fix("Rename these files or folders (and your imports of them; delete __pycache__ next to them), then "
               "restart the kernel:",
               *("mv %s %s" % (quote(facts, path),
                               quote(facts, os.path.join(os.path.dirname(path), "my_" + os.path.basename(path))))
                 for path in found.values()))


def _first_shadow(found):
    """The module and file a title names (the first by module name), and '; and N more' for the rest."""
    (module, path), more = sorted(found.items())[0], len(found) - 1
    return module, path, "; and %d more" % more if more else ""


@check("shadowed-modules", "No local file or folder hides torch, fastai, numpy and the other course packages",
       needs=("python",), reads=('packages',), topic="shadowing")
def shadowed_modules(facts):
    found = shadowing(facts)
    if not found:
        yield ok("no local file shadows a course package")
        return
    module, path, more = _first_shadow(found)
    yield error(
        "%s shadows the installed %s%s" % (path, module, more),
        detail="\n".join("%s -> %s%s" % (module, path, _source_words(facts, path))
                          for module, path in sorted(found.items()))
        + "\nErrors look like \"module 'torch' has no attribute ...\" or \"partially initialized module\".",
        fix=shadow_fix(facts, found),
    )


@check("stdlib-shadowed", "No file in the working folder hides a standard-library module the course stack imports "
       "(json.py, random.py, typing.py)", needs=("python",), reads=("imports",), topic="shadowing")
def stdlib_shadowed(facts):
    found = stdlib_shadows(facts)
    if not found:
        yield ok("no file in the working folder shadows a standard-library module")
        return
    module, path, more = _first_shadow(found)
    yield error(
        "%s shadows the standard library's %s, which torch and fastai import%s" % (path, module, more),
        detail="\n".join("%s -> %s" % (module, path) for module, path in sorted(found.items()))
        + "\nWith the working folder first on sys.path (a notebook, python script.py), torch, fastai and Jupyter "
        "import these files instead of Python's own modules; the errors seem to come from torch (\"module 'json' "
        "has no attribute 'loads'\", \"partially initialized module\"), but reinstalling torch changes nothing.",
        fix=stdlib_shadow_fix(facts, found),
    )
