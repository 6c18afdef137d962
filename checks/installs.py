"""Installed files against the records of what installed them: files a distribution's RECORD lists that are
missing or changed (an interrupted install, a manual edit: what ``conda doctor`` checks for conda-meta), and
OpenMP runtimes that abort each other when two copies load in one process."""

from packaging.utils import canonicalize_name

from doctor.findings import error, fix, info, ok, warning
from doctor.registry import check

from .commands import pip_install, pytorch_index_for_local_tag

# The local tag (+cu130, +cpu) of these names a build only the PyTorch index serves.
PYTORCH_INDEX_PACKAGES = ("torch", "torchvision", "torchaudio")
# LLVM's OpenMP runtime grew from Intel's and shares its start-up check: a second copy of either in a process
# aborts it with "OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already initialized"
# (llvm-project openmp/runtime/src/i18n/en_US.txt, DuplicateLibrary). GNU's libgomp is another implementation:
# wheels carry private copies of it side by side.
KMP_RUNTIMES = ("libiomp5", "libomp")
OPENMP_HINT = "https://github.com/llvm/llvm-project/blob/main/openmp/runtime/src/i18n/en_US.txt"


def reinstall_command(facts, name, version):
    """``python -m pip install --force-reinstall --no-deps NAME==VERSION``: the distribution's own files again,
    at the version installed, and nothing else changed."""
    _, _, local_tag = version.partition("+")
    index = pytorch_index_for_local_tag(local_tag) if canonicalize_name(name) in PYTORCH_INDEX_PACKAGES else None
    return pip_install(facts, "--force-reinstall", "--no-deps", "%s==%s" % (name, version), index_url=index)


def _listed(kind, shown, count):
    lines = ["  %s: %s" % (kind, path) for path in shown]
    if count > len(shown):
        lines.append("  ... and %d more %s" % (count - len(shown), kind))
    return lines


def _scope(answer):
    if answer["deep"]:
        return "every distribution, every file by hash"
    if answer["hashing"] == "none":
        return "the course stack, every file by size (--quick hashes nothing; --deep hashes everything)"
    return "the course stack: Python sources by hash, other files by size; --deep hashes everything"


@check("install-records", "Installed files match the RECORD their installer wrote (interrupted installs, edits)",
       needs=("installs",), reads=("python",), topic="installs")
def install_records(facts):
    answer = facts.data("installs")
    problems = answer["problems"]
    scope = _scope(answer)
    if problems:
        lines = []
        for problem in problems:
            lines.append("%s %s at %s:" % (problem["name"], problem["version"], problem["location"]))
            lines += _listed("missing", problem["missing"], problem["missing_count"])
            lines += _listed("changed", problem["changed"], problem["changed_count"])
        lines.append("checked: %s" % scope)
        counts = ", ".join("%s %s (%d missing, %d changed)" % (p["name"], p["version"], p["missing_count"],
                                                                p["changed_count"]) for p in problems)
        # A missing file breaks an import; a changed one may be a deliberate edit (a certificate bundle replaced).
        build = error if any(p["missing_count"] for p in problems) else warning
        yield build(
            "files missing or changed since they were installed: %s" % counts,
            detail="\n".join(lines),
            fix=fix("Reinstall the same version from its wheel, leaving its dependencies as they are:",
                    *(reinstall_command(facts, p["name"], p["version"]) for p in problems)),
        )
        return
    verified = answer["verified"]
    detail = "checked: %s\n%s" % (scope, ", ".join(sorted("%s %s" % (v["name"], v["version"]) for v in verified)))
    if answer["unfinished"]:
        yield info("%d distributions match their RECORD; %d not reached in %.0f s: %s"
                   % (len(verified), len(answer["unfinished"]), answer["time_allowance_s"],
                      ", ".join(answer["unfinished"])), detail=detail)
        return
    yield ok("%d distributions match their RECORD" % len(verified), detail=detail)


def _owners(entries):
    """'libomp from torch (pip)', one per package that ships the runtime (a package's symlinks are one copy)."""
    seen = {}
    for entry in entries:
        seen.setdefault((entry["owner"], entry["installer"]), []).append(entry)
    return seen


@check("openmp-runtimes", "At most one copy of Intel's/LLVM's OpenMP runtime (two abort with 'OMP: Error #15')",
       needs=("installs",), topic="installs")
def openmp_runtimes(facts):
    answer = facts.data("installs")
    kmp = _owners(e for e in answer["openmp"] if e["runtime"] in KMP_RUNTIMES)
    others = _owners(e for e in answer["openmp"] if e["runtime"] not in KMP_RUNTIMES)
    describe = ["%s from %s (%s): %s" % (entries[0]["runtime"], owner, installer,
                                         ", ".join(sorted(e["path"] for e in entries)))
                for (owner, installer), entries in sorted(kmp.items(), key=lambda item: str(item[0]))]
    gnu = ["%s from %s (%s)" % (entries[0]["runtime"], owner, installer)
           for (owner, installer), entries in sorted(others.items(), key=lambda item: str(item[0]))]
    if len(kmp) > 1:
        packages = ", ".join("%s (%s)" % owner for owner in sorted(kmp, key=str))
        yield warning(
            "%d copies of the Intel/LLVM OpenMP runtime: %s" % (len(kmp), packages),
            detail="\n".join(describe + gnu) + "\nImporting two of these in one process stops it with "
            "\"OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already initialized\" (or "
            "libomp.dylib).",
            fix=fix("Install the packages that ship them from one source: in a conda environment take torch, numpy "
                    "and scikit-learn all from conda-forge, or make a venv and install them all with pip. "
                    "KMP_DUPLICATE_LIB_OK=TRUE only silences the check; the runtime's own message warns it may crash "
                    "or give wrong results."),
            links=(OPENMP_HINT,),
        )
        return
    if not kmp and not others:
        yield ok("no OpenMP runtime library installed")
        return
    yield ok("one Intel/LLVM OpenMP runtime" if kmp else "only GNU OpenMP (libgomp) copies, which do not clash",
             detail="\n".join(describe + gnu))
