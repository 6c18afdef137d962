"""Local files or folders that shadow a package: a ``torch.py`` or ``fastai/`` next to the notebook is
imported instead of the installed package (fastbook#349, fastai forums: "module 'torch' has no attribute")."""

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
    cwd = python.get("cwd") or facts.cwd
    allowed += sorted({dist.location for dist in facts.derived.distributions.values()
                       if dist.location and not _inside(dist.location, [cwd])})
    editable = {name for dist in facts.derived.distributions.values() if dist.editable for name in dist.top_level}
    found = {}
    for module, record in sorted((python.get("module_origins") or {}).items()):
        path = _location(record) if record.get("found") else None
        if path is None or module in editable or _inside(path, allowed):
            continue
        if not record.get("origin") and not installed_provider(facts, module):
            continue  # a plain folder (a data folder named datasets/) is imported only when nothing is installed
        found[module] = path
    return found


def installed_provider(facts, module):
    """Whether an installed distribution provides this top-level module (top_level.txt, or its own name)."""
    key = canonicalize_name(DISTRIBUTION_FOR_MODULE.get(module, module))
    return any(module in dist.top_level or canonicalize_name(dist.name) == key
               for dist in facts.derived.distributions.values())


@check("shadowed-modules", "No local file or folder hides torch, fastai, numpy and the other course packages",
       needs=("python",), reads=('packages',), topic="shadowing")
def shadowed_modules(facts):
    found = shadowing(facts)
    if not found:
        yield ok("no local file shadows a course package")
        return
    (module, path), more = sorted(found.items())[0], len(found) - 1
    yield error(
        "%s shadows the installed %s%s" % (path, module, "; and %d more" % more if more else ""),
        detail="\n".join("%s -> %s" % (module, path) for module, path in sorted(found.items()))
        + "\nErrors look like \"module 'torch' has no attribute ...\" or \"partially initialized module\".",
        fix=fix("Rename these files or folders (and delete __pycache__ next to them), then restart the kernel:",
                *("mv %s %s" % (quote(facts, path),
                                quote(facts, os.path.join(os.path.dirname(path), "my_" + os.path.basename(path))))
                  for path in found.values())),
    )
