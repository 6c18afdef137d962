"""PYTORCH_ENABLE_MPS_FALLBACK: whether it is set, and whether torch can read its value.

torch reads the variable once, when its library loads, with getenv and std::stoi
(aten/src/ATen/mps/MPSFallback.mm; pytorch#86195; knowledge.md #1): unset or "0" is off, a non-zero
integer is on, anything else (such as "true") is not a valid value.
"""

import re

from doctor.findings import error, fix, info, ok, skipped, warning
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
