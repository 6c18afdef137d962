"""checks/mps.py, the checks that read the op probe and the running process: mps-fallback (are the ops MPS
lacks covered by PYTORCH_ENABLE_MPS_FALLBACK?) and mps-fallback-late (was the variable changed after torch
was imported, when torch no longer reads it? aten/src/ATen/mps/MPSFallback.mm)."""

import pytest

from checkrun import APPLE_ARM64, build, commands, one, words
from doctor.outcome import skipped_outcome
from factories import failed_outcome, ok_outcome, op_record

VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
SOLVE_WHY = "fastai aug_transforms warp (find_coeffs)"
GRID_WHY = "fastai affine and warp augmentations"
NOT_IMPLEMENTED = ("NotImplementedError: The operator 'aten::_linalg_solve_ex.result' is not currently implemented "
                   "for the MPS device.")
FALLS_BACK = ("The operator 'aten::_linalg_solve_ex.result' is not currently supported on the MPS backend and will "
              "fall back to run on the CPU. This may have performance implications.")


def native(name, lessons=(1, 2), why="a lesson op"):
    return op_record(name, lessons, why)


def missing(name, lessons=(1, 2), why=SOLVE_WHY):
    return op_record(name, lessons, why, op_class="unsupported", evidence=NOT_IMPLEMENTED, max_abs_error=None,
               within_tolerance=None, exception={"type": "NotImplementedError", "message": NOT_IMPLEMENTED})


def rescued(name, lessons=(1, 2), why=SOLVE_WHY):
    return op_record(name, lessons, why, op_class="fallback", evidence=FALLS_BACK, fallback_warnings=[FALLS_BACK])


def on_mps(records, fallback=None, lesson=1):
    """An Apple Silicon Mac whose op probe ran ``records`` with the variable at ``fallback``."""
    return build(APPLE_ARM64, ops={"device": "mps", "torch": "2.14.1", "fallback_variable": fallback,
                                   "ops": list(records)}, lesson=lesson)


# --- mps-fallback -----------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["cuda", "cpu", "xpu"])
def test_mps_fallback_is_skipped_off_mps(device):
    finding = one("mps-fallback", build(ops={"device": device}))
    assert finding.status == "skipped"
    assert finding.title == "the lessons run on %s, not MPS" % device


@pytest.mark.parametrize("keywords", [
    {"quick": True},
    {"outcomes": {"ops": skipped_outcome("ops", "torch does not import")}},
    {"outcomes": {"ops": failed_outcome("ops")}},
], ids=["quick", "torch-does-not-import", "probe-crashed"])
def test_mps_fallback_needs_the_ops_probe(keywords):
    finding = one("mps-fallback", build(APPLE_ARM64, **keywords))
    assert finding.status == "skipped"
    assert "ops probe" in finding.title


def test_a_missing_op_without_the_fallback_is_an_error_with_the_automatic_fix():
    facts = on_mps([missing("linalg.solve"), native("conv2d")])
    finding = one("mps-fallback", facts)
    assert finding.status == "error"
    assert finding.title == ("1 lesson op is missing on MPS and %s is not set: lesson 1's %s will fail with "
                             "NotImplementedError" % (VARIABLE, SOLVE_WHY))
    assert finding.fix.automatic == "mps-fallback"
    assert "dl-doctor fix --yes" in commands(finding)
    assert "export %s=1" % VARIABLE in commands(finding)
    assert "before torch is imported" in finding.fix.text
    assert "linalg.solve: " + NOT_IMPLEMENTED in finding.detail


PREFIX = "/opt/course"
STATE = PREFIX + "/conda-meta/state"
ACTIVATE = PREFIX + "/etc/conda/activate.d/course.sh"
ZSHRC = "/home/learner/.zshrc"
KERNEL = "/home/learner/Library/Jupyter/kernels/course/kernel.json"


def preset(kind, path, value="0", line=None):
    return {"notebook": {"fallback_presets": [{"kind": kind, "path": path, "line": line, "value": value}]}}


def kernelspec(fallback=None, no_site=False, prefix=PREFIX):
    return {"notebook": {"kernelspecs": [{"name": "course", "path": KERNEL, "display_name": "Course",
                                          "argv0": prefix + "/bin/python", "prefix": prefix, "env": [],
                                          "fallback_variable": fallback, "no_site": no_site, "error": None}]}}


def with_notebook(facts_layers, notebook):
    """Facts whose notebook probe answered ``notebook`` (its other fields empty)."""
    answer = {"prefix": PREFIX, "kernelspecs": [], "fallback_presets": []}
    answer.update(notebook)
    return build(*facts_layers, outcomes={"notebook": ok_outcome("notebook", answer)})


def mps_layers(fallback):
    return [APPLE_ARM64, {"python": {"prefix": PREFIX}},
            {"ops": {"device": "mps", "torch": "2.14.1", "fallback_variable": fallback,
                     "ops": [missing("linalg.solve"), native("conv2d")]}}]


# (id, value the ops child saw, notebook answer, where (in title and detail), words of the change, command)
PRESET_CASES = [
    ("conda-env-vars", "0", preset("conda-env-vars", STATE)["notebook"], "conda env vars of /opt/course",
     "conda deactivate", "conda env config vars set %s=1 -p /opt/course" % VARIABLE),
    ("conda-activate-script", "0", preset("conda-activate-script", ACTIVATE, line=3)["notebook"],
     "the conda activation script %s:3" % ACTIVATE, "change that line to `export %s=1`" % VARIABLE, None),
    ("shell-profile", "0", preset("shell-profile", ZSHRC, line=12)["notebook"], "the shell profile %s:12" % ZSHRC,
     "open a new terminal", None),
    ("unknown-origin", "0", {}, "the environment this Python started with", "a shell profile", None),
    # The terminal has nothing set, but the notebook kernel gets a 0 from its kernelspec.
    ("kernelspec-env", None, kernelspec(fallback="0")["notebook"], "kernelspec course (%s)" % KERNEL,
     "set \"%s\": \"1\" in its \"env\"" % VARIABLE, None),
    ("kernelspec-no-site", None, kernelspec(no_site=True)["notebook"], "-S in the argv of kernelspec course",
     "remove -S", None),
]


@pytest.mark.parametrize("seen, notebook, where, change, command", [case[1:] for case in PRESET_CASES],
                         ids=[case[0] for case in PRESET_CASES])
def test_a_fallback_kept_off_before_python_starts_gets_no_automatic_fix_but_where_to_change_it(
        seen, notebook, where, change, command):
    finding = one("mps-fallback", with_notebook(mps_layers(seen), notebook))
    assert finding.status == "error"
    assert finding.fix.automatic is None  # the .pth hook uses setdefault and needs site: it would not work
    assert "dl-doctor fix --yes" not in commands(finding)
    assert where in finding.detail and where in finding.fix.text
    assert change in finding.fix.text
    if seen is not None:
        assert "is '0' (set by %s" % where in finding.title
    if command:
        assert command in commands(finding)


@pytest.mark.parametrize("notebook", [
    preset("shell-profile", ZSHRC, value="1")["notebook"],        # a profile that turns it on is no obstacle
    kernelspec(fallback="0", prefix="/opt/other")["notebook"],     # another environment's kernel
], ids=["profile-sets-1", "other-environment-kernel"])
def test_presets_that_do_not_keep_this_environment_off_leave_the_automatic_fix(notebook):
    finding = one("mps-fallback", with_notebook(mps_layers(None), notebook))
    assert finding.fix.automatic == "mps-fallback"


def test_several_missing_ops_are_counted_and_each_listed():
    facts = on_mps([missing("linalg.solve"), native("conv2d"), missing("grid_sample", why=GRID_WHY)])
    finding = one("mps-fallback", facts)
    assert finding.status == "error"
    assert finding.title.startswith("2 lesson ops are missing on MPS and %s is not set: " % VARIABLE)
    # The first missing op is the one named.
    assert "lesson 1's %s will fail" % SOLVE_WHY in finding.title
    assert "linalg.solve:" in finding.detail and "grid_sample:" in finding.detail
    assert "conv2d" not in finding.detail


# (id, the learner's lesson, the op's lessons, the lesson the title names)
LESSON_CASES = [
    ("tagged-with-the-lesson", 2, (1, 2), 2),
    ("tagged-with-a-later-lesson-only", 1, (4, 8), 4),
    ("not-tagged-with-the-lesson", 8, (1, 2), 1),
    ("no-lessons-recorded", 4, (), 4),
]


@pytest.mark.parametrize("lesson, op_lessons, named", [case[1:] for case in LESSON_CASES],
                         ids=[case[0] for case in LESSON_CASES])
def test_the_lesson_named_is_the_learners_when_the_op_is_used_there(lesson, op_lessons, named):
    finding = one("mps-fallback", on_mps([missing("linalg.solve", lessons=op_lessons)], lesson=lesson))
    assert finding.status == "error"
    assert "lesson %d's %s" % (named, SOLVE_WHY) in finding.title


@pytest.mark.parametrize("records, title", [
    ([rescued("linalg.solve"), native("conv2d")], "fallback on: 1 lesson op runs on the CPU, slower: linalg.solve"),
    ([rescued("linalg.solve"), rescued("grid_sample", why=GRID_WHY), native("conv2d")],
     "fallback on: 2 lesson ops run on the CPU, slower: linalg.solve, grid_sample"),
], ids=["one", "two"])
def test_ops_the_fallback_rescues_are_info(records, title):
    finding = one("mps-fallback", on_mps(records, fallback="1"))
    assert finding.status == "info"
    assert finding.title == title
    assert FALLS_BACK in finding.detail
    assert finding.fix is None


def test_a_missing_op_outweighs_a_rescued_one():
    finding = one("mps-fallback", on_mps([rescued("grid_sample", why=GRID_WHY), missing("linalg.solve")]))
    assert finding.status == "error"
    assert "1 lesson op is missing" in finding.title


@pytest.mark.parametrize("fallback, title", [
    (None, "every lesson op runs natively on MPS"),
    ("0", "every lesson op runs natively on MPS"),
    ("1", "every lesson op runs natively on MPS (fallback on, unused)"),
    ("true", "every lesson op runs natively on MPS"),  # not an integer: not on (mps-fallback-variable says so)
], ids=["unset", "zero", "one", "not-an-integer"])
def test_all_native_is_ok(fallback, title):
    finding = one("mps-fallback", on_mps([native("linalg.solve"), native("conv2d")], fallback=fallback))
    assert finding.status == "ok"
    assert finding.title == title


@pytest.mark.parametrize("op_class", ["crashed", "wrong", "dtype-unsupported", "error"])
def test_ops_the_fallback_cannot_help_are_left_to_device_ops_without_claiming_they_run(op_class):
    # The fallback only rescues ops MPS lacks (MPSFallback.mm registers it for missing MPS kernels); device-ops
    # reports these, and mps-fallback must not contradict it by saying every op runs natively.
    broken = op_record("bernoulli_.int64", (4,), "fastai mask_tensor", op_class=op_class, evidence="it broke")
    facts = on_mps([native("conv2d"), broken])
    finding = one("mps-fallback", facts)
    assert finding.status == "ok"
    assert "every lesson op runs natively" not in finding.title
    assert "no lesson op is missing on MPS" in finding.title
    assert one("device-ops", facts).status in ("error", "warning")


# --- mps-fallback-late ------------------------------------------------------------------------------

# (id, process answer, status, words in the title)
LATE_CASES = [
    ("torch-not-imported", {"torch_imported": False, "fallback_now": "1", "fallback_at_start": None}, "skipped",
     "torch is not imported in this process"),
    ("unchanged-unset", {"torch_imported": True, "fallback_now": None, "fallback_at_start": None}, "ok",
     "%s is as it was when this process started" % VARIABLE),
    ("unchanged-set", {"torch_imported": True, "fallback_now": "1", "fallback_at_start": "1"}, "ok",
     "%s is as it was when this process started" % VARIABLE),
    ("set-after-start", {"torch_imported": True, "fallback_now": "1", "fallback_at_start": None}, "warning",
     "%s is '1' now but torch was already imported: it takes effect only after a restart" % VARIABLE),
    ("changed-after-start", {"torch_imported": True, "fallback_now": "1", "fallback_at_start": "0"}, "warning",
     "%s is '1' now but torch was already imported" % VARIABLE),
    ("unset-after-start", {"torch_imported": True, "fallback_now": None, "fallback_at_start": "1"}, "warning",
     "%s is unset now but torch was already imported" % VARIABLE),
    ("start-unknown-set-now", {"torch_imported": True, "initial_environment_known": False, "fallback_now": "1",
                               "fallback_at_start": None}, "warning",
     "%s is '1' now but torch was already imported" % VARIABLE),
    ("start-unknown-unset", {"torch_imported": True, "initial_environment_known": False, "fallback_now": None,
                             "fallback_at_start": None}, "ok", "%s is not set in this process" % VARIABLE),
]


@pytest.mark.parametrize("process, status, title", [case[1:] for case in LATE_CASES],
                         ids=[case[0] for case in LATE_CASES])
def test_mps_fallback_late(process, status, title):
    finding = one("mps-fallback-late", build(process=process))
    assert finding.status == status
    assert title in finding.title
    if status == "warning":
        assert "Restart the kernel" in finding.fix.text
        assert "before the first import of torch" in finding.fix.text


@pytest.mark.parametrize("process, at_start", [
    ({"fallback_now": "1", "fallback_at_start": "0"}, "At start: '0'; now: '1'."),
    ({"fallback_now": "1", "fallback_at_start": None}, "At start: None; now: '1'."),
    ({"fallback_now": "1", "initial_environment_known": False}, "At start: unknown; now: '1'."),
], ids=["known-value", "known-unset", "unknown"])
def test_mps_fallback_late_says_what_it_was_at_start(process, at_start):
    finding = one("mps-fallback-late", build(process=dict(process, torch_imported=True)))
    assert finding.status == "warning"
    assert at_start in finding.detail


def test_mps_fallback_late_needs_the_process_probe():
    finding = one("mps-fallback-late", build(outcomes={"process": skipped_outcome("process", "not in a kernel")}))
    assert finding.status == "skipped"
    assert "not in a kernel" in words(finding)


@pytest.mark.parametrize("fallback", ["1", "2"])
def test_a_missing_op_with_the_fallback_already_on_is_not_sent_back_to_the_fallback(fallback):
    finding = one("mps-fallback", on_mps([missing("linalg.solve"), native("conv2d")], fallback=fallback))
    assert finding.status == "error"
    assert "although %s=%s: the fallback does not cover it" % (VARIABLE, fallback) in finding.title
    assert finding.fix.automatic is None and "Update torch" in finding.fix.text


def test_no_op_ran_on_mps_is_skipped():
    assert one("mps-fallback", on_mps([])).status == "skipped"
