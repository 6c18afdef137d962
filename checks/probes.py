"""Whether the metadata probes answered. A probe that crashed, hung or printed garbage leaves the checks
that need it skipped; this check names the reason once. (The torch and lesson-import probes' failures
are diagnoses in their own right: ``torch-import`` and ``lesson-imports`` report them.)"""

from doctor.findings import error, ok
from doctor.registry import check

METADATA_PROBES = ("python", "packages", "hardware", "notebook")


@check("probes-answered", "The interpreter, package, hardware and notebook probes ran and answered",
       reads=('python', 'packages', 'hardware', 'notebook'), topic="probes")
def probes_answered(facts):
    failed = [facts.outcome(name) for name in METADATA_PROBES
              if facts.outcome(name) is not None and facts.outcome(name).status not in ("ok", "skipped")]
    if not failed:
        yield ok("the interpreter answered every probe")
        return
    detail = "\n\n".join("%s\n%s" % (outcome.reason, outcome.stderr_tail.strip()) for outcome in failed)
    yield error(
        "; ".join(outcome.reason for outcome in failed),
        detail=detail,
    )
