"""The Python interpreter: its version against what the course stack declares and against the wheels the course's
binary packages publish, its bitness, and the kind of environment it lives in."""

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

from .commands import POSIX, learner_shell, on_windows, target_python
from .wheel_table import RECOMMENDED_MINOR, WHEELS, WHEELS_READ, WheelRange, platform_of

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


def _venv_commands(on_windows: bool, shell: str, minor: int):
    """Make a venv with Python 3.``minor`` and install the course stack into it, spelled for the platform (the
    Python launcher ``py`` on Windows) and the shell (Git Bash reads a backslash as an escape)."""
    if on_windows:
        scripts = "course-env/Scripts/python" if shell == POSIX else r"course-env\Scripts\python"
        return ("py -3.%d -m venv course-env" % minor, scripts + " -m pip install torch torchvision fastai")
    return ("python3.%d -m venv course-env" % minor, "course-env/bin/python -m pip install torch torchvision fastai")


def _wheel_gap(row: WheelRange, minor: int) -> str:
    if minor > row.newest:
        return "%s has no wheel for Python 3.%d on %s (the newest, %s %s, stops at 3.%d)" % (
            row.package, minor, row.platform, row.package, row.newest_release, row.newest)
    return "%s %s has no wheel for Python 3.%d on %s (it starts at 3.%d)" % (
        row.package, row.oldest_release, minor, row.platform, row.oldest)


@check("python-wheels", "torch, torchvision and spaCy's binary packages publish wheels for this Python and platform",
       needs=("python",), reads=("packages",), topic="python")
def python_wheels(facts):
    python = facts.data("python")
    major, minor = python["version"][0], python["version"][1]
    markers = python.get("marker_environment") or {}
    platform = platform_of(markers.get("sys_platform"), markers.get("platform_machine"))
    if major != 3 or platform is None:
        yield skipped("no wheel table for Python %d.%d on %s %s" % (
            major, minor, markers.get("sys_platform"), markers.get("platform_machine")))
        return
    rows = [row for row in WHEELS if row.platform == platform]
    # What is installed already is a fact: the table judges only what pip still has to find.
    installed = [facts.distribution(row.package) for row in rows]
    judged = [row for row, dist in zip(rows, installed) if dist is None]
    gaps = [row for row in judged if not row.oldest <= minor <= row.newest]
    detail = ["Python %d.%d on %s; wheels as PyPI listed them on %s:" % (major, minor, platform, WHEELS_READ)]
    detail += ["  %s: 3.%d (%s) to 3.%d (%s) %s" % (row.package, row.oldest, row.oldest_release, row.newest,
                                                  row.newest_release, row.source) for row in judged]
    detail += ["  %s %s: installed, not judged" % (dist.name, dist.version) for dist in installed if dist is not None]
    if not gaps:
        yield ok("wheels exist for Python %d.%d on %s" % (major, minor, platform), detail="\n".join(detail))
        return
    core = [row for row in gaps if not row.nlp]
    build = error if core else warning
    needs = "the course's packages" if core else "spaCy for the NLP lessons (fastai.text)"
    yield build(
        "Python %d.%d is too %s for %s: %s" % (major, minor, "new" if minor > gaps[0].newest else "old", needs,
                                               "; ".join(_wheel_gap(row, minor) for row in gaps)),
        detail="\n".join(detail) + "\nWithout a wheel pip tries to build from source, which fails without a "
        "compiler (or finds no torch at all: \"from versions: none\").",
        fix=fix("Make a virtual environment with Python 3.%d and install the course there:" % RECOMMENDED_MINOR,
                *_venv_commands(on_windows(facts), learner_shell(facts), RECOMMENDED_MINOR)),
        links=(PYTHON_DOWNLOADS,) + tuple(dict.fromkeys(row.source for row in gaps)),
    )
