"""The Python interpreter: its version against what the course stack declares, its bitness, and the
kind of environment it lives in."""

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from doctor.findings import error, fix, info, ok, warning
from doctor.registry import check

from .commands import target_python

# fastai 2.8.12's metadata declares Requires-Python >=3.10 (its wheel's METADATA);
# it is the course's floor even before fastai is installed.
COURSE_MINIMUM_PYTHON = Version("3.10")
DECLARING_PACKAGES = ("torch", "torchvision", "fastai", "fastcore", "ipywidgets")
PYTHON_DOWNLOADS = "https://www.python.org/downloads/"


def _version(python: dict) -> Version:
    return Version(".".join(str(part) for part in python["version"]))


@check("python-version", "Python's version against the course's floor and what installed packages declare",
       needs=("python",), reads=('packages',), topic="python")
def python_version(facts):
    python = facts.data("python")
    version = _version(python)
    where = "%s at %s" % (python.get("implementation", "Python"), python["executable"])
    problems = []
    for name in DECLARING_PACKAGES:
        dist = facts.distribution(name)
        if dist is None or not dist.requires_python:
            continue
        try:
            allowed = SpecifierSet(dist.requires_python)
        except InvalidSpecifier:
            continue
        if not allowed.contains(version, prereleases=True):
            problems.append("%s %s requires Python %s" % (dist.name, dist.version, dist.requires_python))
    if version < COURSE_MINIMUM_PYTHON and facts.distribution("fastai") is None:
        problems.append("fastai needs Python >= %s" % COURSE_MINIMUM_PYTHON)
    if problems:
        yield error(
            "Python %s is too old or too new for the course stack" % version,
            detail="%s\n%s" % (where, "\n".join(problems)),
            fix=fix("Install Python 3.11 or 3.12 (64-bit), make a fresh virtual environment with it, and install "
                    "the course stack there.", "python3.12 -m venv course-env"),
            links=(PYTHON_DOWNLOADS,),
        )
    else:
        yield ok("Python %s" % version, detail=where)


@check("python-bitness", "A 64-bit interpreter (torch publishes no 32-bit wheels)", needs=("python",), topic="python")
def python_bitness(facts):
    python = facts.data("python")
    bits = python.get("pointer_bits")
    # "No matching distribution ... from versions: none" for 32-bit Python (torch publishes 64-bit wheels only:
    # pytorch.org/get-started).
    if bits == 32:
        yield error(
            "32-bit Python: torch has no builds for it",
            detail="%s is a 32-bit interpreter; pip finds no torch wheel (\"from versions: none\")."
            % python["executable"],
            fix=fix("Install a 64-bit Python 3.11 or 3.12 and use it for the course."),
            links=(PYTHON_DOWNLOADS,),
        )
    else:
        yield ok("%s-bit interpreter" % bits)


@check("python-environment", "Which environment the interpreter belongs to (venv, conda, system)",
       needs=("python",), topic="python")
def python_environment(facts):
    python = facts.data("python")
    detail = "interpreter: %s\nprefix: %s" % (target_python(facts), python["prefix"])
    if python.get("conda"):
        yield ok("conda environment at %s" % python["prefix"], detail=detail)
    elif python.get("virtualenv"):
        yield ok("virtual environment at %s" % python["prefix"], detail=detail)
    elif python.get("externally_managed"):
        # PEP 668: pip refuses to install into an externally managed interpreter.
        yield warning(
            "system Python managed by the OS: pip install will refuse (externally-managed-environment)",
            detail=detail,
            fix=fix("Make a virtual environment for the course and install into it.",
                    "%s -m venv ~/course-env" % target_python(facts),
                    "~/course-env/bin/python -m pip install torch torchvision fastai ipywidgets"),
            links=("https://peps.python.org/pep-0668/",),
        )
    else:
        yield info("no virtual environment: packages install into %s" % python["prefix"], detail=detail)
