"""torch itself: whether ``import torch`` works in the target interpreter, and if not, why."""

from doctor.findings import error, fix, ok, skipped
from doctor.registry import check

from .commands import pip_install
from .import_errors import explain_import_error, probe_failure
from .shadowing import shadowing, stdlib_shadows

GET_STARTED = "https://pytorch.org/get-started/locally/"


def _not_installed(facts):
    """The same words whether metadata (--quick) or the import found it missing."""
    return error("torch is not installed in %s" % facts.python,
                 fix=fix("Install torch and torchvision into this interpreter:",
                         pip_install(facts, "torch", "torchvision")),
                 links=(GET_STARTED,))


def _crash_fix(facts):
    """A local file that torch imports instead of the real module can end the process as well as a broken
    install can; reinstalling torch does not help then."""
    shadows = sorted(stdlib_shadows(facts).items()) + sorted(shadowing(facts).items())
    if shadows:
        module, path = shadows[0]
        return fix("%s shadows %s, which torch imports: rename it (see stdlib-shadowed and shadowed-modules), then "
                   "run python -X faulthandler -c 'import torch' if it still crashes." % (path, module))
    return fix("Reinstall torch; if it still crashes, run python -X faulthandler -c 'import torch' for the crashing "
               "frame.", pip_install(facts, "--force-reinstall", "torch"))


# dl-doctor dist runs it too: it says why nothing ran when torch itself does not import.
@check("torch-import", "import torch works in the target interpreter",
       reads=('torch', 'packages', 'python'), topic="torch_build", suites=("check", "dist"))
def torch_import(facts):
    outcome = facts.outcome("torch")
    if outcome is None or outcome.status == "skipped":
        build = facts.derived.torch_build
        if build is None:
            yield _not_installed(facts)
        else:
            yield skipped("torch %s is installed; not imported with --quick" % build.version)
        return
    if not outcome.ok:
        title, detail = probe_failure(outcome)
        yield error("import torch does not finish: %s" % title, detail=detail, fix=_crash_fix(facts))
        return
    data = outcome.data
    if not data.get("importable"):
        failure = data.get("error") or {}
        explanation = explain_import_error(facts, failure)
        if failure.get("type") == "ModuleNotFoundError" and "'torch'" in failure.get("message", ""):
            yield _not_installed(facts)
            return
        yield error("import torch fails: %s" % explanation.cause,
                    detail=failure.get("traceback", ""), fix=explanation.fix)
        return
    yield ok("torch %s imports (%.1f s)" % (data.get("version"), data.get("import_seconds") or 0.0))
