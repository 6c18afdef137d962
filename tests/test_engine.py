"""doctor/engine.py: crashes become findings, unanswered probes skip the checks that need them, findings are
stamped with their check's id and category; and saved facts (to_dict/from_dict) give the same findings."""

import json

import pytest

from checkrun import (APPLE_ARM64, CPU_TORCH, NO_CUDA_TORCH, NO_NVIDIA, SPECS, build, environment,
                      failed_torch_import, import_error, one, torch_missing, without_probe)
from doctor.engine import run_check, run_checks
from doctor.facts import Facts
from doctor.findings import info, ok
from doctor.outcome import ProbeOutcome
from doctor.registry import CheckSpec, registered_checks
from factories import failed_outcome, make_facts


def _spec(function, needs=(), id="engine-test", category="testing"):
    return CheckSpec(id, "a check written for the engine tests", category, tuple(needs), ("check",), function)


def _divide_by_zero(facts):
    return [ok("never reached %d" % (1 / 0))]


def _yields_then_raises(facts):
    yield info("first finding")
    raise RuntimeError("the second part of this check is broken")


# --- crashes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("function, exception, message", [
    (_divide_by_zero, "ZeroDivisionError", "division by zero"),
    (_yields_then_raises, "RuntimeError", "the second part of this check is broken"),
], ids=["raises", "raises-after-yielding"])
def test_a_check_that_raises_becomes_one_crashed_error(function, exception, message):
    found = run_check(_spec(function), make_facts())
    assert len(found) == 1
    (finding,) = found
    assert finding.status == "error"
    assert finding.crashed is True
    assert finding.title == "check engine-test crashed: %s: %s" % (exception, message)
    assert finding.detail.startswith("Traceback (most recent call last):")
    assert function.__name__ in finding.detail
    assert (finding.id, finding.category) == ("engine-test", "testing")


def test_a_real_check_crashing_on_malformed_facts_leaves_a_finding():
    # A python answer without "version", built by hand: no probe, factory or saved-facts loader gives one.
    answer = dict(make_facts().data("python"))
    del answer["version"]
    malformed = ProbeOutcome("python", "ok", answer, None, "", 0.1, None, 0)
    (finding,) = run_check(SPECS["python-version"], make_facts(outcomes={"python": malformed}))
    assert finding.crashed is True
    assert finding.status == "error"
    assert "KeyError" in finding.title and "'version'" in finding.title
    assert (finding.id, finding.category) == ("python-version", "python")


def _returns_empty_list(facts):
    return []


def _yields_nothing(facts):
    return
    yield  # pragma: no cover - makes this a generator


@pytest.mark.parametrize("function", [_returns_empty_list, _yields_nothing], ids=["empty-list", "empty-generator"])
def test_a_check_returning_nothing_becomes_a_crashed_error(function):
    (finding,) = run_check(_spec(function), make_facts())
    assert finding.status == "error"
    assert finding.crashed is True
    assert "returned no finding" in finding.title
    assert finding.id == "engine-test"


def test_a_healthy_check_is_not_marked_crashed():
    (finding,) = run_check(_spec(lambda facts: [ok("fine", detail="d")]), make_facts())
    assert (finding.status, finding.title, finding.detail, finding.crashed) == ("ok", "fine", "d", False)


# --- probes a check needs -------------------------------------------------------------------------

QUICK_SKIPPED = sorted(spec_id for spec_id, spec in SPECS.items() if set(spec.needs) & {"torch", "imports"})


def test_some_checks_need_probes_that_quick_mode_skips():
    assert {"cuda-arch", "cudnn", "fastai-device"} <= set(QUICK_SKIPPED)


@pytest.mark.parametrize("check_id", QUICK_SKIPPED)
def test_quick_mode_skips_checks_needing_torch_or_imports(check_id):
    finding = one(check_id, make_facts(quick=True))
    assert finding.status == "skipped"
    skipped_probe = [name for name in SPECS[check_id].needs if name in ("torch", "imports")]
    assert finding.title == "needs the %s probe (not run with --quick)" % ", ".join(skipped_probe)


def test_a_skipped_check_is_never_called():
    (finding,) = run_check(_spec(_divide_by_zero, needs=("torch",)), make_facts(quick=True))
    assert finding.status == "skipped"
    assert finding.crashed is False
    assert (finding.id, finding.category) == ("engine-test", "testing")


@pytest.mark.parametrize("needs, facts, title", [
    (("torch", "hardware"), {"quick": True}, "needs the torch probe (not run with --quick)"),
    (("torch", "imports"), {"quick": True}, "needs the torch, imports probe (not run with --quick)"),
    (("torch",), {"outcomes": {"torch": failed_outcome("torch")}},
     "needs the torch probe (probe torch crashed with SIGSEGV)"),
    (("torch", "imports"), {"quick": True, "outcomes": {"torch": failed_outcome("torch")}},
     "needs the torch, imports probe (not run with --quick; probe torch crashed with SIGSEGV)"),
    (("gpu-benchmark",), {}, "needs the gpu-benchmark probe (not run)"),
], ids=["one-of-two", "both-skipped", "crashed", "two-reasons", "never-asked"])
def test_skipped_finding_names_the_probe_and_why(needs, facts, title):
    (finding,) = run_check(_spec(lambda f: [ok("ran")], needs=needs), make_facts(**facts))
    assert finding.status == "skipped"
    assert finding.title == title


def test_a_probe_with_no_outcome_is_reported_as_not_run():
    facts = without_probe(make_facts(), "hardware")
    assert one("cuda-driver", facts).title == "needs the hardware probe (not run)"


# --- stamping -------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_id, category", [
    ("python-version", "python"), ("package-requirements", "packages"), ("torch-build", "devices"),
    ("cuda-arch", "cuda"), ("cudnn", "cuda"), ("lesson-imports", "lesson"), ("shadowed-modules", "shadowing"),
    ("mps-fallback-variable", "mps"), ("probes-answered", "probes"), ("torch-import", "torch_build"),
])
def test_real_findings_carry_their_checks_id_and_category(check_id, category):
    for facts in (make_facts(), make_facts(quick=True)):
        finding = one(check_id, facts)
        assert (finding.id, finding.category) == (check_id, category)


def test_every_finding_of_every_check_is_stamped():
    findings, timings = run_checks(registered_checks(), make_facts())
    assert set(timings) == set(SPECS)
    assert {finding.id for finding in findings} == set(SPECS)
    for finding in findings:
        assert finding.category == SPECS[finding.id].topic


def test_a_custom_checks_findings_are_all_stamped():
    found = run_check(_spec(lambda f: [ok("a"), info("b")], id="two-findings", category="extra"), make_facts())
    assert [(f.title, f.id, f.category) for f in found] == [("a", "two-findings", "extra"),
                                                            ("b", "two-findings", "extra")]


# --- saved facts ----------------------------------------------------------------------------------

VARIANTS = {
    "healthy": lambda: make_facts(),
    "quick": lambda: make_facts(quick=True),
    "cpu-torch-on-gpu": lambda: build(CPU_TORCH),
    "no-gpu": lambda: build(CPU_TORCH, NO_NVIDIA),
    "apple-mps-bad-fallback": lambda: build(APPLE_ARM64, environment(PYTORCH_ENABLE_MPS_FALLBACK="true")),
    "apple-mps-unavailable": lambda: build(APPLE_ARM64, {"torch": {"mps": {"built": True, "available": False}}}),
    "torch-import-crashed": lambda: make_facts(outcomes={"torch": failed_outcome("torch")}),
    "torch-missing": lambda: build(torch_missing()),
    "cudnn-broken": lambda: build({"torch": {"cuda": {"cudnn_error": "cuDNN version incompatibility"}}},
                                  environment(LD_LIBRARY_PATH="/usr/local/cuda/lib64")),
    "old-gpu": lambda: build({"torch": {"cuda": {"devices": [{"index": 0, "name": "GTX 1080", "capability": [6, 1]}]}},
                              "hardware": {"nvidia": {"gpus": [{"index": 0, "name": "GTX 1080",
                                                                "compute_capability": "6.1"}]}}}),
    "python-probe-crashed": lambda: make_facts(outcomes={"python": failed_outcome("python")}),
    "packages-probe-timed-out": lambda: make_facts(outcomes={"packages": failed_outcome(
        "packages", "timeout", "probe packages timed out after 60 s")}),
    "every-probe-failed": lambda: make_facts(outcomes={name: failed_outcome(name) for name in
                                                       ("python", "packages", "hardware", "torch", "imports")}),
    "shadowed-and-broken-lesson": lambda: build(
        {"python": {"module_origins": {"torch": {"found": True, "origin": "/home/learner/torch.py",
                                                 "locations": [], "error": None}}}},
        failed_torch_import(import_error("AttributeError", "module 'torch' has no attribute 'version'",
                                         files=["/home/learner/torch.py"])),
        {"imports": {"statements": [{"statement": "from fastai.vision.all import *", "required": True, "ok": False,
                                     "seconds": 0.1, "error": import_error("ImportError", "partially initialized "
                                                                           "module 'torch'")}]}}),
    "old-torch-numpy-2-broken-requirements": lambda: build(
        {"torch": {"version": "2.2.2+cu121", "cuda_version": "12.1"},
         "packages": {"version_modules": {"torch": {"__version__": "2.2.2+cu121", "cuda": "12.1"}},
                      "antialias_users": {"fastai": ["fastai/vision/core.py"]}},
         "distributions": {"torch": "2.2.2", "fastcore": "2.0.0"}}),
    "windows": lambda: build(CPU_TORCH, {"python": {
        "executable": "C:\\Users\\Ada Lovelace\\course\\Scripts\\python.exe",
        "marker_environment": {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows"}}}),
    "rocm": lambda: build(NO_NVIDIA, {"torch": {"version": "2.14.1+rocm7.0", "cuda_version": None,
                                                "hip_version": "7.0", "cuda": NO_CUDA_TORCH}}),
    "lesson-2": lambda: make_facts(lesson=2),
}


def _all_findings(facts):
    return [finding.to_dict() for spec in registered_checks() for finding in run_check(spec, facts)]


def _reloaded(facts):
    return Facts.from_dict(json.loads(json.dumps(facts.to_dict())))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_saved_facts_give_identical_findings(variant):
    facts = VARIANTS[variant]()
    reloaded = _reloaded(facts)
    assert reloaded == facts
    assert reloaded.derived == facts.derived
    assert _all_findings(reloaded) == _all_findings(facts)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_no_check_crashes_on_any_variant(variant):
    crashed = [f for f in _all_findings(VARIANTS[variant]()) if f["crashed"]]
    assert crashed == [], "\n\n".join("%s\n%s" % (f["title"], f["detail"]) for f in crashed)


def test_variants_are_really_different_machines():
    # Guards the round-trip test against comparing the same healthy findings every time.
    verdicts = {variant: json.dumps(_all_findings(make()), sort_keys=True) for variant, make in VARIANTS.items()}
    assert len(set(verdicts.values())) == len(VARIANTS)


def test_saved_facts_from_another_schema_version_are_refused():
    raw = make_facts().to_dict()
    raw["facts_schema_version"] = 999
    with pytest.raises(ValueError, match="schema version"):
        Facts.from_dict(raw)
