"""checks/mps.py: mps-fallback-variable, with values judged as torch's std::stoi reads them
(aten/src/ATen/mps/MPSFallback.mm: unset or 0 is off, any other int is on, a non-integer throws)."""

import pytest

from checkrun import APPLE_ARM64, CPU_TORCH, NO_NVIDIA, build, commands, environment, one
from doctor.checks.mps import fallback_value_valid
from factories import failed_outcome

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"

# (value, what std::stoi makes of it: "on", "off" or None for a throw)
STOI_CASES = [
    ("1", "on"),
    ("0", "off"),
    (" 1", "on"),  # leading whitespace is skipped
    ("\t0", "off"),
    ("-1", "on"),  # any non-zero int turns it on
    ("+1", "on"),
    ("2", "on"),
    ("1abc", "on"),  # stoi stops at the first non-digit
    ("0x1", "off"),  # base 10: reads the 0
    ("true", None),
    ("yes", None),
    ("", None),  # an empty value is set, and stoi throws on it
    (" ", None),
    ("abc1", None),
    ("-", None),
    ("1 ", "on"),
    ("2147483647", "on"),
    ("2147483648", None),  # std::out_of_range: past a C int
    ("99999999999", None),
    ("-2147483648", "on"),
    ("\u0661", None),  # an Arabic-Indic digit one: Python's int() reads it, stoi does not
]
STOI_IDS = [repr(value) for value, _ in STOI_CASES]


@pytest.mark.parametrize("value, meaning", STOI_CASES, ids=STOI_IDS)
def test_fallback_value_valid_follows_stoi(value, meaning):
    assert fallback_value_valid(value) is (meaning is not None)


@pytest.mark.parametrize("value, meaning", STOI_CASES, ids=STOI_IDS)
def test_on_apple_silicon(value, meaning):
    finding = one("mps-fallback-variable", build(APPLE_ARM64, environment(**{VARIABLE: value})))
    if meaning is None:
        assert finding.status == "error"
        assert "std::stoi" in finding.title
        assert commands(finding) == ("export %s=1" % VARIABLE,)
    else:
        assert finding.status == "ok"
        assert "the CPU fallback is %s" % meaning in finding.title


@pytest.mark.parametrize("value, meaning", STOI_CASES, ids=STOI_IDS)
def test_on_linux(value, meaning):
    finding = one("mps-fallback-variable", build(environment(**{VARIABLE: value})))
    if meaning is None:
        # Linux torch never reads it: worth fixing (a shared profile may reach a Mac), but nothing breaks here.
        assert finding.status == "warning"
        assert "std::stoi" in finding.title
    else:
        assert finding.status == "info"
        assert "has no effect without MPS" in finding.title


@pytest.mark.parametrize("value", ["true", ""], ids=["true", "empty"])
def test_invalid_value_on_an_intel_mac_is_an_error(value):
    # x86_64 macOS torch is built with MPS too, so it reads the variable at import.
    intel_mac = {"python": {"marker_environment": {"sys_platform": "darwin", "platform_machine": "x86_64"},
                            "apple": {"macos_version": "13.6", "rosetta_translated": None, "arm64_hardware": None}}}
    finding = one("mps-fallback-variable", build(CPU_TORCH, NO_NVIDIA, intel_mac, environment(**{VARIABLE: value})))
    assert finding.status == "error"


def test_unset_on_apple_silicon_suggests_turning_it_on_before_python_starts():
    finding = one("mps-fallback-variable", build(APPLE_ARM64))
    assert finding.status == "info"
    assert "not set" in finding.title
    assert "NotImplementedError" in finding.title
    assert "read once" in finding.fix.text
    assert commands(finding) == ("export %s=1" % VARIABLE,)


def test_unset_on_apple_silicon_in_quick_mode_still_knows_the_mps_build():
    finding = one("mps-fallback-variable", build(APPLE_ARM64, quick=True))
    assert finding.status == "info"


def test_unset_on_linux_is_skipped():
    finding = one("mps-fallback-variable", build())
    assert finding.status == "skipped"
    assert "only on Apple Silicon" in finding.title


def test_needs_the_python_probe():
    finding = one("mps-fallback-variable", build(APPLE_ARM64, outcomes={"python": failed_outcome("python")}))
    assert finding.status == "skipped"
    assert "python probe" in finding.title


def test_other_variables_do_not_count():
    finding = one("mps-fallback-variable", build(APPLE_ARM64, environment(PYTORCH_MPS_HIGH_WATERMARK_RATIO="0.0")))
    assert finding.status == "info"
    assert "not set" in finding.title
