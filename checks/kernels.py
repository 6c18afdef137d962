"""Notebook kernels that run something else than what is installed: kernelspecs whose interpreter is gone, and, in
a running kernel (``%doctor``), modules imported before a ``%pip install`` changed them on disk."""

from packaging.version import InvalidVersion, Version

from doctor.findings import fix, ok, skipped, warning
from doctor.fixes.kernelspec import FIX_ID as KERNELSPEC_FIX, broken_kernelspecs
from doctor.lessons import course_distributions
from doctor.registry import check

from .commands import command_line, target_python

# Where each front end restarts the kernel (Colab's Runtime menu; JupyterLab's Kernel menu).
RESTART = "Runtime > Restart session on Colab; Kernel > Restart Kernel in Jupyter"
STALE_ISSUE = "https://github.com/googlecolab/colabtools/issues/5197"


@check("kernelspec-interpreter", "Every kernelspec's interpreter exists", needs=("notebook", "python"),
       topic="notebook", suites=("check", "widgets"))
def kernelspec_interpreter(facts):
    broken = broken_kernelspecs(facts)
    if not broken:
        count = len((facts.data("notebook") or {}).get("kernelspecs") or [])
        yield ok("%d kernelspec%s, none names a missing interpreter" % (count, "" if count == 1 else "s"))
        return
    python = target_python(facts)
    names = ", ".join("%r" % spec["name"] for spec in broken)
    yield warning("Kernel %s runs %s, which does not exist: the kernel dies as it starts"
                  % (names, broken[0]["argv0"]) if len(broken) == 1 else
                  "Kernels %s run interpreters that do not exist: they die as they start" % names,
                  detail="\n".join("%s: argv[0] %s" % (spec["path"], spec["argv0"]) for spec in broken),
                  fix=fix("`dl-doctor fix` rewrites argv[0] of %s to %s (with a backup; `dl-doctor fix --undo` "
                          "restores it). Or register this interpreter under the same name:"
                          % ("that kernelspec" if len(broken) == 1 else "those kernelspecs", python),
                          *[command_line(facts, python, "-m", "ipykernel", "install", "--user", "--name", spec["name"])
                            for spec in broken], automatic=KERNELSPEC_FIX))


def _same_version(loaded, installed):
    """Equal but for a local tag or a post release, which metadata and ``__version__`` may spell differently
    (measured here: torchvision 0.29.1's metadata against its ``__version__`` 0.29.1+cu130; certifi's
    2026.10.19.post1 against 2026.10.19)."""
    try:
        return _without_local_and_post(Version(loaded)) == _without_local_and_post(Version(installed))
    except InvalidVersion:
        return loaded == installed


def _without_local_and_post(version):
    return Version(version.base_version), version.pre, version.dev


def _owners(facts):
    """Top-level module name -> the distribution that installs it, for the course's packages and what they need
    (other packages' ``__version__`` may be their own numbering: regex says 2.5.x)."""
    owners = {}
    for name in sorted(set(course_distributions()) | set(facts.derived.lesson_stack)):
        dist = facts.distribution(name)
        if dist is None:
            continue
        for module in dist.top_level or (dist.name.replace("-", "_"),):
            owners.setdefault(module, dist)
    return owners


@check("stale-modules", "The running kernel imported the versions that are installed now (no restart pending)",
       needs=("process", "packages", "python"), topic="notebook", suites=("check", "widgets"))
def stale_modules(facts):
    process = facts.data("process")
    if not process.get("kernel"):
        yield skipped("not in a notebook kernel (run %doctor there)")
        return
    if process.get("prefix") != facts.data("python").get("prefix"):
        yield skipped("the examined interpreter is not this kernel's (%s)" % process.get("prefix"))
        return
    owners = _owners(facts)
    stale = []
    for module in process.get("imported_modules") or []:
        dist = owners.get(module["name"])
        if dist is not None and dist.version and not _same_version(module["version"], dist.version):
            stale.append((module, dist))
    if not stale:
        yield ok("the kernel's imported course packages match what is installed")
        return
    first, dist = stale[0]
    more = "" if len(stale) == 1 else " (and %d more)" % (len(stale) - 1)
    yield warning("This kernel still runs %s %s; %s %s is installed now%s: restart the kernel"
                  % (first["name"], first["version"], dist.name, dist.version, more),
                  detail="\n".join("%s %s imported from %s; installed: %s %s" % (
                      module["name"], module["version"], module["file"], d.name, d.version) for module, d in stale),
                  fix=fix("Restart the kernel (%s), then run the notebook from the top: a module imported before "
                          "`%%pip install` stays in memory until then." % RESTART),
                  links=(STALE_ISSUE,))
