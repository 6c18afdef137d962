"""PYTORCH_ENABLE_MPS_FALLBACK: whether it is set, and whether torch can read its value.

torch reads the variable once, when its library loads, with getenv and std::stoi
(aten/src/ATen/mps/MPSFallback.mm; pytorch#86195; knowledge.md #1): unset or "0" is off, a non-zero
integer is on, anything else (such as "true") is not a valid value.
"""

import re

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.ops import FALLBACK, NATIVE, UNSUPPORTED, by_class
from doctor.registry import check

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
# ASCII: std::isspace and the digits stoi knows, not Unicode spaces and digits.
_INTEGER = re.compile(r"^\s*[-+]?\d+", re.ASCII)


def fallback_value(facts):
    return ((facts.data("python") or {}).get("environment_variables") or {}).get(VARIABLE)


# std::stoi throws std::out_of_range outside a C int (32 bits on every platform torch builds for).
_INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)


def fallback_value_valid(value):
    """std::stoi accepts leading whitespace, a sign and digits, ignoring what follows, within int's range."""
    found = _INTEGER.match(value)
    return bool(found) and _INT_RANGE[0] <= int(found.group(0)) <= _INT_RANGE[1]


@check("mps-fallback-variable", "PYTORCH_ENABLE_MPS_FALLBACK, when set, is an integer torch can read",
       needs=("python",))
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
    state = "on" if int(_INTEGER.match(value).group(0)) != 0 else "off"
    if on_mps:
        yield ok("%s=%s: the CPU fallback is %s" % (VARIABLE, value, state))
    else:
        yield info("%s=%s is set but has no effect without MPS" % (VARIABLE, value))


def _enabled(value):
    return value is not None and fallback_value_valid(value) and int(_INTEGER.match(value).group(0)) != 0


@check("mps-fallback", "On MPS, the lesson ops MPS lacks are covered by PYTORCH_ENABLE_MPS_FALLBACK",
       needs=("ops",))
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
    if missing and _enabled(value):
        # The fallback covers ops without an MPS kernel, not ones whose kernel raises (knowledge.md #2).
        yield error(
            "%d lesson op%s fail%s on MPS although %s=%s: the fallback does not cover %s"
            % (len(missing), "" if len(missing) == 1 else "s", "s" if len(missing) == 1 else "", VARIABLE, value,
               "it" if len(missing) == 1 else "them"),
            detail="\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in missing),
            fix=fix("Update torch (newer releases add MPS kernels), or train these parts on the CPU."),
        )
        return
    if missing:
        first = missing[0]
        lessons = first.get("lessons") or [facts.lesson]
        lesson = facts.lesson if facts.lesson in lessons else lessons[0]
        state = "is not set" if value is None else "is %r" % value
        yield error(
            "%d lesson op%s missing on MPS and %s %s: lesson %d's %s will fail with NotImplementedError"
            % (len(missing), " is" if len(missing) == 1 else "s are", VARIABLE, state, lesson, first.get("why")),
            detail="\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in missing),
            fix=fix("Turn the CPU fallback on for this environment, before torch is imported, then restart "
                    "Python (or the kernel):", "dl-doctor fix --yes", "export %s=1" % VARIABLE,
                    automatic="mps-fallback"),
        )
        return
    if rescued:
        yield info("fallback on: %d lesson op%s run%s on the CPU, slower: %s" % (
            len(rescued), "" if len(rescued) == 1 else "s", "s" if len(rescued) == 1 else "",
            ", ".join(r["op"] for r in rescued)),
            detail="\n".join("%s: %s" % (r["op"], r.get("evidence", "")) for r in rescued))
        return
    # Crashing, wrong or dtype-failing ops are device-ops' findings: the fallback cannot help them, and this
    # title must not claim that they run.
    unused = " (fallback on, unused)" if _enabled(value) else ""
    if len(by_class(data, NATIVE)) == len(data.get("ops", [])):
        yield ok("every lesson op runs natively on MPS%s" % unused)
    else:
        yield ok("no lesson op is missing on MPS%s" % unused)


@check("mps-fallback-late", "PYTORCH_ENABLE_MPS_FALLBACK was not changed after torch was imported in this process",
       needs=("process",))
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
    # torch read the variable when it loaded; a later change only shows after a restart (knowledge.md #1).
    yield warning(
        "%s is %s now but torch was already imported: it takes effect only after a restart" % (
            VARIABLE, "unset" if now is None else repr(now)),
        detail="At start: %s; now: %s. torch reads the variable once, when it is imported." % (
            repr(before) if process.get("initial_environment_known") else "unknown", repr(now)),
        fix=fix("Restart the kernel (or Python), and set the variable before the first import of torch or fastai; "
                "dl-doctor fix makes it part of this environment."),
    )
