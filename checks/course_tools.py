"""What the course's packages need outside Python: the Graphviz `dot` program behind the graphviz package
(graphviz-dot, lesson 6's decision trees) and Kaggle API credentials for kaggle / fastkaggle
(kaggle-credentials, lessons 4-8). Read by the course probe: a PATH lookup and a stat, never the file."""

from typing import Any, Dict, Optional

from doctor.findings import Fix, fix, info, ok, skipped, warning
from doctor.lessons import LESSONS
from doctor.registry import check

from .commands import quote

# The graphviz package only writes DOT text and runs the `dot` program: without it, rendering raises
# "ExecutableNotFound: failed to execute PosixPath('dot'), make sure the Graphviz executables are on your
# systems' PATH" (graphviz/backend/execute.py).
DOT_MISSING = "ExecutableNotFound: failed to execute 'dot'"


def _lesson_uses(facts, *modules: str) -> bool:
    profile = LESSONS.get(facts.lesson)
    return profile is not None and any(m in profile.packages() for m in modules)


def _platform(facts) -> str:
    markers = (facts.data("python") or {}).get("marker_environment") or {}
    return markers.get("sys_platform") or ""


def graphviz_fix(facts) -> Fix:
    """Install the Graphviz programs the way this platform does (graphviz.org/download)."""
    conda = bool((facts.data("python") or {}).get("conda"))
    platform = _platform(facts)
    commands = []
    if conda:
        # conda-forge's python-graphviz brings the Graphviz programs with it.
        commands.append("conda install -c conda-forge python-graphviz")
    if platform == "darwin":
        commands.append("brew install graphviz")
    elif platform.startswith("linux"):
        commands.append("sudo apt-get install graphviz")
    if platform == "win32":
        text = "Install Graphviz from graphviz.org/download and add its bin folder to PATH" + (
            ", or:" if commands else ".")
    else:
        text = "Install the Graphviz programs (pip's graphviz is only the Python side):"
    return fix(text, *commands)


@check("graphviz-dot", "Graphviz's dot program is on PATH for the graphviz package (lesson 6's decision trees)",
       reads=('python', 'packages', 'course'), topic="course_tools")
def graphviz_dot(facts):
    if not _lesson_uses(facts, "graphviz"):
        yield skipped("lesson %d does not draw with graphviz" % facts.lesson)
        return
    course = facts.data("course")
    if course is None:
        yield skipped("the course probe did not answer")
        return
    path = (course.get("dot") or {}).get("path")
    if path:
        yield ok("Graphviz's dot is on PATH: %s" % path)
        return
    package = facts.distribution("graphviz")
    detail = ("07-how-random-forests-really-work draws its trees with graphviz.Source, which runs the dot "
              "program; without it: %s" % DOT_MISSING)
    if package is None:
        yield info("graphviz (the Python package) and the dot program are both missing", detail=detail,
                   fix=graphviz_fix(facts))
        return
    yield warning("`graphviz.Source(...)` fails: graphviz %s is installed but the dot program is not on PATH"
                  % package.version, detail=detail, fix=graphviz_fix(facts))


def kaggle_credentials_fix(facts, path: Optional[str] = None) -> Fix:
    """Where the API token goes and how to protect it (Kaggle's API docs: Settings > API > Create New Token)."""
    windows = _platform(facts) == "win32"
    target = path or ("%USERPROFILE%\\.kaggle\\kaggle.json" if windows else "~/.kaggle/kaggle.json")
    text = ("Create an API token on kaggle.com (Settings > API > Create New Token) and save the downloaded "
            "kaggle.json as %s%s, or set KAGGLE_USERNAME and KAGGLE_KEY" % (target, "" if windows else
                                                                            " readable only by you"))
    if windows:
        return fix(text + ".")
    folder = target.rsplit("/", 1)[0]
    shown = [folder if folder.startswith("~") else quote(facts, folder),
             target if target.startswith("~") else quote(facts, target)]
    return fix(text + ":", "mkdir -p %s" % shown[0], "mv ~/Downloads/kaggle.json %s" % shown[1],
               "chmod 600 %s" % shown[1])


def _kaggle_record(facts) -> Optional[Dict[str, Any]]:
    course = facts.data("course")
    return None if course is None else course.get("kaggle")


@check("kaggle-credentials", "Kaggle API credentials for kaggle / fastkaggle exist and only you can read them",
       reads=('python', 'packages', 'course'), topic="course_tools")
def kaggle_credentials(facts):
    if not _lesson_uses(facts, "kaggle", "fastkaggle"):
        yield skipped("lesson %d does not download from Kaggle" % facts.lesson)
        return
    record = _kaggle_record(facts)
    if record is None:
        yield skipped("the course probe did not answer")
        return
    if record.get("on_kaggle"):
        yield ok("running on Kaggle (KAGGLE_KERNEL_RUN_TYPE is set): the notebooks read the competition data "
                 "from ../input, no API token needed")
        return
    if record.get("username_variable") and record.get("key_variable"):
        yield ok("Kaggle credentials come from KAGGLE_USERNAME and KAGGLE_KEY")
        return
    path = record.get("path") or "~/.kaggle/kaggle.json"
    installed = facts.distribution("kaggle") or facts.distribution("fastkaggle")
    report = warning if installed else info
    where = "KAGGLE_CONFIG_DIR" if record.get("config_dir_variable") else "the default place"
    if record.get("stat_error"):
        yield report("%s cannot be checked: %s" % (path, record["stat_error"]),
                     fix=kaggle_credentials_fix(facts, path))
        return
    if not record.get("exists"):
        yield report("no Kaggle API token: %s is missing (%s) and KAGGLE_USERNAME/KAGGLE_KEY are not both set"
                     % (path, where),
                     detail="`import kaggle` and fastkaggle's setup_comp authenticate first and raise "
                            "\"OSError: Could not find kaggle.json\" without it (Kaggle/kaggle-cli#617); "
                            "the lesson's notebooks download the competition data with it",
                     fix=kaggle_credentials_fix(facts, path))
        return
    if not record.get("is_file"):
        yield report("%s is not a file" % path, fix=kaggle_credentials_fix(facts, path))
        return
    mode = record.get("mode")
    # The kaggle client warns "Your Kaggle API key is readable by other users on this system" for a group- or
    # world-readable file (kaggle/api/kaggle_api_extended.py); mode bits mean nothing on Windows.
    if record.get("posix") and isinstance(mode, int) and mode & 0o077:
        yield warning("%s is readable by other users (mode %04o): it holds your API key" % (path, mode),
                      fix=fix("Make it readable only by you:",
                              "chmod 600 %s" % (quote(facts, path) if not path.startswith("~") else path)))
        return
    yield ok("Kaggle API token present: %s%s" % (path, " (mode %04o)" % mode if isinstance(mode, int) else ""))
