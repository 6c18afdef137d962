"""PYTORCH_ENABLE_MPS_FALLBACK: whether it is set, and whether torch can read its value.

torch reads the variable once, when its library loads, with getenv and std::stoi
(aten/src/ATen/mps/MPSFallback.mm; pytorch#86195; knowledge.md #1): unset or "0" is off, a non-zero
integer is on, anything else (such as "true") is not a valid value.
"""

import re

from doctor.findings import error, fix, info, ok, skipped
from doctor.registry import check

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
_INTEGER = re.compile(r"^\s*[-+]?\d+")


def fallback_value(facts):
    return ((facts.data("python") or {}).get("environment_variables") or {}).get(VARIABLE)


def fallback_value_valid(value):
    """std::stoi accepts leading whitespace, a sign and digits, ignoring what follows."""
    return bool(_INTEGER.match(value))


@check("mps-fallback-variable", "PYTORCH_ENABLE_MPS_FALLBACK, when set, is an integer torch can read",
       needs=("python",))
def mps_fallback_variable(facts):
    value = fallback_value(facts)
    on_mps = facts.derived.torch_build is not None and facts.derived.torch_build.flavour == "mps"
    if value is None:
        if on_mps:
            yield info("%s is not set: ops missing on MPS will raise NotImplementedError" % VARIABLE,
                       fix=fix("Set it before Python starts (it is read once, at import torch):",
                               "export %s=1" % VARIABLE))
        else:
            yield skipped("%s is not set (it matters only on Apple Silicon)" % VARIABLE)
        return
    if not fallback_value_valid(value):
        yield error(
            "%s=%r is not an integer: torch reads it with std::stoi" % (VARIABLE, value),
            detail="Valid values are 0 (off) and 1 (on). A non-integer makes import torch fail on macOS.",
            fix=fix("Use 1 to turn the fallback on:", "export %s=1" % VARIABLE),
        )
        return
    state = "on" if int(_INTEGER.match(value).group(0)) != 0 else "off"
    if on_mps:
        yield ok("%s=%s: the CPU fallback is %s" % (VARIABLE, value, state))
    else:
        yield info("%s=%s is set but has no effect without MPS" % (VARIABLE, value))
