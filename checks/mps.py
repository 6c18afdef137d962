"""PYTORCH_ENABLE_MPS_FALLBACK: whether it is set, and whether torch can read its value.

torch reads the variable once, when its library loads, with getenv and std::stoi
(aten/src/ATen/mps/MPSFallback.mm; pytorch#86195): unset or "0" is off, a non-zero integer is on,
anything else (such as "true") is not a valid value.
"""

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.fixes.mps_fallback import fallback_turns_on, fallback_value_valid, preset_blockers
from doctor.results.ops import FALLBACK, NATIVE, UNSUPPORTED, by_class
from doctor.registry import check

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"


def fallback_value(facts):
    return ((facts.data("python") or {}).get("environment_variables") or {}).get(VARIABLE)


@check("mps-fallback-variable", "PYTORCH_ENABLE_MPS_FALLBACK, when set, is an integer torch can read",
       needs=("python",), reads=('ops', 'torch', 'packages'), topic="mps")
def mps_fallback_variable(facts):
    value = fallback_value(facts)
    build = facts.derived.torch_build
    on_mps = (build is not None and build.flavour == "mps") or (facts.data("ops") or {}).get("device") == "mps"
    if value is None:
        if on_mps:
            yield info("%s is not set: ops missing on MPS will raise NotImplementedError" % VARIABLE,
                       fix=fix("Set it before Python starts (it is read once, at import torch):",
                               "export %s=1" % VARIABLE))
        else:
            yield skipped("%s is not set (it matters only on Apple Silicon)" % VARIABLE)
        return
    if not fallback_value_valid(value):
        # Only macOS builds of torch read the variable; elsewhere a bad value breaks nothing.
        on_mac = ((facts.data("python") or {}).get("marker_environment") or {}).get("sys_platform") == "darwin"
        yield (error if on_mps or on_mac else warning)(
            "%s=%r is not an integer torch can read (it uses std::stoi)" % (VARIABLE, value),
            detail="Valid values are 0 (off) and 1 (on). A non-integer makes import torch fail on macOS.",
            fix=fix("Use 1 to turn the fallback on:", "export %s=1" % VARIABLE),
        )
        return
    state = "on" if fallback_turns_on(value) else "off"
    if on_mps:
        yield ok("%s=%s: the CPU fallback is %s" % (VARIABLE, value, state))
    else:
        yield info("%s=%s is set but has no effect without MPS" % (VARIABLE, value))


@check("mps-fallback", "On MPS, the lesson ops MPS lacks are covered by PYTORCH_ENABLE_MPS_FALLBACK",
       needs=("ops",), topic="mps")
def mps_fallback(facts):
    data = facts.data("ops")
    if data.get("device") != "mps":
        yield skipped("the lessons run on %s, not MPS" % data.get("device"))
        return
    if not data.get("ops"):
        yield skipped("no lesson op ran on MPS")
        return
    missing = by_class(data, UNSUPPORTED)
    rescued = by_class(data, FALLBACK)
    value = data.get("fallback_variable")
    if missing and fallback_turns_on(value):
        # The fallback covers ops without an MPS kernel, not ones whose kernel raises (aten/src/ATen/mps/MPSFallback.mm
        # registers it for the MPS dispatch key only).
        yield error(
            "%d lesson op%s fail%s on MPS although %s=%s: the fallback does not cover %s"
            % (len(missing), "" if len(missing) == 1 else "s", "s" if len(missing) == 1 else "", VARIABLE, value,
               "it" if len(missing) == 1 else "them"),
            detail="\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in missing),
            fix=fix("Update torch (newer releases add MPS kernels), or train these parts on the CPU."),
        )
        return
    if missing:
        yield _missing_ops_finding(facts, missing, value)
        return
    if rescued:
        yield info("fallback on: %d lesson op%s run%s on the CPU, slower: %s" % (
            len(rescued), "" if len(rescued) == 1 else "s", "s" if len(rescued) == 1 else "",
            ", ".join(r["op"] for r in rescued)),
            detail="\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in rescued))
        return
    # Crashing, wrong or dtype-failing ops are device-ops' findings: the fallback cannot help them, and this
    # title must not claim that they run.
    unused = " (fallback on, unused)" if fallback_turns_on(value) else ""
    if len(by_class(data, NATIVE)) == len(data.get("ops", [])):
        yield ok("every lesson op runs natively on MPS%s" % unused)
    else:
        yield ok("no lesson op is missing on MPS%s" % unused)


def _missing_ops_finding(facts, missing, value):
    first = missing[0]
    lessons = first.get("lessons") or [facts.lesson]
    lesson = facts.lesson if facts.lesson in lessons else lessons[0]
    blockers = preset_blockers(facts)
    state = "is not set" if value is None else "is %r" % value
    if blockers and value is not None:
        state += " (set by %s)" % blockers[0].where
    title = ("%d lesson op%s missing on MPS and %s %s: lesson %d's %s will fail with NotImplementedError"
             % (len(missing), " is" if len(missing) == 1 else "s are", VARIABLE, state, lesson, first.get("why")))
    detail = "\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in missing)
    if blockers:
        # dl-doctor's hook only fills in an unset variable (os.environ.setdefault) and does not run under
        # python -S (Python docs, "site"): it cannot win over these.
        return error(title, detail=detail + "\nSet before Python starts, where dl-doctor's start-up hook cannot "
                                           "change it: " + "; ".join(b.where for b in blockers),
                     fix=fix("Turn the fallback on where it is turned off, then restart Python (or the kernel): "
                             + "; ".join("%s: %s" % (b.where, b.change) for b in blockers),
                             *[b.command for b in blockers if b.command]))
    return error(title, detail=detail,
                 fix=fix("Turn the CPU fallback on for this environment, before torch is imported, then restart "
                         "Python (or the kernel):", "dl-doctor fix --yes", "export %s=1" % VARIABLE,
                         automatic="mps-fallback"))


@check("mps-fallback-late", "PYTORCH_ENABLE_MPS_FALLBACK was not changed after torch was imported in this process",
       needs=("process",), topic="mps")
def mps_fallback_late(facts):
    process = facts.data("process")
    if not process.get("torch_imported"):
        yield skipped("torch is not imported in this process (this matters inside a notebook kernel)")
        return
    now, before = process.get("fallback_now"), process.get("fallback_at_start")
    if process.get("initial_environment_known") and now == before:
        yield ok("%s is as it was when this process started" % VARIABLE)
        return
    if not process.get("initial_environment_known") and now is None:
        yield ok("%s is not set in this process" % VARIABLE)
        return
    # torch read the variable when it loaded; a later change only shows after a restart (MPSFallback.mm).
    yield warning(
        "%s is %s now but torch was already imported: it takes effect only after a restart" % (
            VARIABLE, "unset" if now is None else repr(now)),
        detail="At start: %s; now: %s. torch reads the variable once, when it is imported." % (
            repr(before) if process.get("initial_environment_known") else "unknown", repr(now)),
        fix=fix("Restart the kernel (or Python), and set the variable before the first import of torch or fastai; "
                "dl-doctor fix makes it part of this environment."),
    )
