"""checks/bench.py and doctor/bench.py's arithmetic: every verdict of the bench-* checks on the benchmark
child's answer (doctor/probes/programs/bench.py), from a healthy ``done`` run and variants of it."""

import copy

import pytest

from checkrun import commands, one, words
from doctor.results.bench import efficiency, lesson_one_estimate_s
from doctor.outcome import skipped_outcome
from factories import deep_merge, failed_outcome, make_facts, ok_outcome

BENCH_CHECKS = ("bench-run", "bench-data", "bench-numerics", "bench-learning", "bench-export", "bench-speed",
                "bench-device-vs-cpu")
# The checks that need the bench probe's answer: the engine skips them when it has none.
NEEDING_CHECKS = BENCH_CHECKS[1:]
DID_NOT_RUN = "the benchmark did not run (dl-doctor bench, or dl-doctor check --bench)"
STOPPED = "the benchmark stopped before this (see bench-run)"

# A healthy run on the CPU at the defaults: 320 synthetic images, resnet18 from random weights, 8 epochs.
DONE = {
    "stage": "done", "device": "cpu", "available": True, "available_devices": ["cpu"], "torch": "2.14.1+cpu",
    "platform": "linux", "cpu_count": 8, "import_seconds": 6.2, "size": 64, "batch": 32, "epochs": 8,
    "budget_s": 60.0,
    "phases": {"data": 0.4, "numerics": 1.3, "speed": 9.1, "training": 30.6, "export": 32.2},
    "data": {"path": "/tmp/dl-doctor-bench-abc123/images", "synthetic": True, "images": 320,
             "classes": ["blue", "red"], "bad_files": []},
    "numerics": {"logits_error": 2.1e-6, "gradient_error": 3.4e-4, "logits_tolerance": 1e-3,
                 "gradient_tolerance": 1e-2, "batch": 8, "size": 64},
    "weights": "random", "weights_path": None,
    "speed": {"matmul_gflops": 180.0, "forward_flops_per_image": 297142272, "raw_images_per_second": 150.0,
              "data_images_per_second": 1000.0, "fit_images_per_second": 130.0},
    "learning_estimate_s": 21.0,
    "learning": {"epoch_train_losses": [0.69, 0.45, 0.31, 0.2, 0.14, 0.1, 0.08, 0.06, 0.05], "valid_images": 64,
                 "accuracy": 1.0, "train_images": 256},
    "export": {"items": 4, "agree": True, "max_probability_difference": 0.0, "bytes": 46_900_000},
}

# The same run on an H100: the child also times the CPU there.
ON_CUDA = {"device": "cuda", "available_devices": ["cpu", "cuda"], "torch": "2.14.1+cu130",
           "speed": {"matmul_gflops": 50000.0, "raw_images_per_second": 6000.0, "data_images_per_second": 9000.0,
                     "fit_images_per_second": 5200.0, "cpu_raw_images_per_second": 150.0,
                     "cpu_matmul_gflops": 180.0}}

IMAGENET = {"weights": "imagenet", "weights_path": "/home/learner/.cache/torch/hub/checkpoints/resnet18-f37072fd.pth"}
LEARNERS_DATA = {"data": {"path": "/home/learner/birds", "synthetic": False, "images": 340,
                          "classes": ["bird", "forest"]}}


def answer(*changes, drop=(), base=None):
    """``base`` (DONE by default) with ``changes`` deep-merged in order, then the dotted keys in ``drop`` removed."""
    merged = copy.deepcopy(DONE if base is None else base)
    for change in changes:
        merged = deep_merge(merged, change)
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = merged
        for key in parents:
            node = node[key]
        del node[last]
    return merged


def bench_facts(data):
    return make_facts(outcomes={"bench": ok_outcome("bench", data)})


def verdict(check_id, data):
    return one(check_id, bench_facts(data))


# What the child answers when it stops early.
IMPORT_FAILED = {"stage": "import", "error": {
    "type": "ModuleNotFoundError", "message": "No module named 'fastai'",
    "traceback": "Traceback (most recent call last):\n  File \"<probe>\", line 212, in collect\n"
                 "ModuleNotFoundError: No module named 'fastai'\n"}}
TOO_FEW = answer({"stage": "data", "data": {"path": "/home/learner/birds", "synthetic": False, "images": 3,
                                            "classes": ["bird"], "bad_files": []},
                  "phases": {"data": 0.2}},
                 drop=("numerics", "weights", "weights_path", "speed", "learning_estimate_s", "learning", "export"))
OUT_OF_BUDGET = answer({"stage": "budget", "learning_estimate_s": 95.3, "budget_left_s": 48.2,
                        "phases": {"data": 0.4, "numerics": 1.3, "speed": 11.8}},
                       drop=("speed.fit_images_per_second", "learning", "export"))
DEVICE_MISSING = {key: DONE[key] for key in ("device", "available_devices", "torch", "platform", "cpu_count",
                                             "size", "batch", "epochs", "budget_s")}
DEVICE_MISSING.update(stage="started", device="mps", available=False, phases={})


# --- the benchmark did not run, or its child failed --------------------------------------------------------------

NOT_RUN_CASES = [
    pytest.param(None, "not run", id="never-asked"),
    pytest.param(skipped_outcome("bench", "not asked for: --bench runs it"), "not asked for: --bench runs it",
                 id="skipped"),
]


@pytest.mark.parametrize("outcome, reason", NOT_RUN_CASES)
def test_bench_run_without_the_benchmark_is_skipped_with_how_to_run_it(outcome, reason):
    finding = one("bench-run", make_facts(outcomes={"bench": outcome} if outcome else None))
    assert finding.status == "skipped"
    assert finding.title == DID_NOT_RUN


@pytest.mark.parametrize("check_id", NEEDING_CHECKS)
@pytest.mark.parametrize("outcome, reason", NOT_RUN_CASES)
def test_checks_that_need_the_benchmark_are_skipped_without_it(check_id, outcome, reason):
    finding = one(check_id, make_facts(outcomes={"bench": outcome} if outcome else None))
    assert finding.status == "skipped"
    assert "bench probe" in finding.title and reason in finding.title


FAILED_CASES = [
    pytest.param(failed_outcome("bench", "crashed", "probe bench crashed with SIGSEGV",
                                stderr="Fatal Python error: Segmentation fault\n"),
                 "probe bench crashed with SIGSEGV", "Segmentation fault", id="crashed"),
    pytest.param(failed_outcome("bench", "timeout", "probe bench did not finish within 240 s",
                                stderr="epoch 3\n"),
                 "probe bench did not finish within 240 s", "epoch 3", id="timed-out"),
]


@pytest.mark.parametrize("outcome, reason, stderr", FAILED_CASES)
def test_a_failed_child_is_a_bench_run_error_with_the_reason(outcome, reason, stderr):
    finding = one("bench-run", make_facts(outcomes={"bench": outcome}))
    assert finding.status == "error"
    assert finding.title == "the benchmark did not finish: " + reason
    assert stderr in finding.detail


@pytest.mark.parametrize("check_id", NEEDING_CHECKS)
@pytest.mark.parametrize("outcome, reason, stderr", FAILED_CASES)
def test_a_failed_child_skips_the_other_checks_naming_why(check_id, outcome, reason, stderr):
    finding = one(check_id, make_facts(outcomes={"bench": outcome}))
    assert finding.status == "skipped"
    assert reason in finding.title


# --- bench-run: the stage the child reached ---------------------------------------------------------------------

def test_fastai_that_does_not_import_is_an_error_naming_it():
    finding = verdict("bench-run", IMPORT_FAILED)
    assert finding.status == "error"
    assert finding.title == "fastai does not import in the benchmark: ModuleNotFoundError: No module named 'fastai'"
    assert "line 212, in collect" in finding.detail
    assert "lesson-imports" in finding.fix.text


def test_too_few_readable_images_is_an_error_with_the_counts():
    finding = verdict("bench-run", TOO_FEW)
    assert finding.status == "error"
    assert finding.title == "too few readable images: 3 in 1 class(es)"


def test_a_budget_too_small_is_a_warning_with_the_command_that_gives_enough():
    finding = verdict("bench-run", OUT_OF_BUDGET)
    assert finding.status == "warning"
    assert "budget of 60 s is too small" in finding.title
    assert "about 95 s" in finding.title and "48 s were left" in finding.title
    assert commands(finding) == ("dl-doctor bench --budget 155",)


def test_a_budget_suggestion_always_exceeds_the_old_budget_by_the_estimate():
    finding = verdict("bench-run", answer({"budget_s": 300.0, "learning_estimate_s": 412.7}, base=OUT_OF_BUDGET))
    assert commands(finding) == ("dl-doctor bench --budget 712",)


def test_an_unknown_stage_is_an_error_naming_it():
    finding = verdict("bench-run", DEVICE_MISSING)
    assert finding.status == "error"
    assert finding.title == "the benchmark stopped at stage 'started'"


@pytest.mark.parametrize("changes, device, weights", [
    pytest.param({}, "cpu", "from random weights (none in the local torch hub cache; nothing is downloaded)",
                 id="cpu-random"),
    pytest.param(IMAGENET, "cpu", "from ImageNet weights in the local torch hub cache", id="cpu-imagenet"),
    pytest.param(deep_merge(ON_CUDA, IMAGENET), "cuda", "from ImageNet weights in the local torch hub cache",
                 id="cuda-imagenet"),
])
def test_a_finished_run_is_ok_naming_device_time_and_weights(changes, device, weights):
    finding = verdict("bench-run", answer(changes))
    assert finding.status == "ok"
    assert finding.title == "lesson 1's path ran end to end on %s in 32 s, %s" % (device, weights)
    assert finding.detail == "phases (s since start): data 0.4, numerics 1.3, speed 9.1, training 30.6, export 32.2"


# --- checks after a child that stopped early ----------------------------------------------------------------------

@pytest.mark.parametrize("check_id", NEEDING_CHECKS)
def test_after_a_failed_import_the_other_checks_point_at_bench_run(check_id):
    finding = verdict(check_id, IMPORT_FAILED)
    assert finding.status == "skipped"
    assert finding.title == STOPPED


@pytest.mark.parametrize("check_id", ("bench-numerics", "bench-learning", "bench-export", "bench-speed"))
@pytest.mark.parametrize("data", [
    pytest.param(TOO_FEW, id="too-few-images"),
    pytest.param(answer(ON_CUDA, base=TOO_FEW, drop=("speed",)), id="too-few-images-on-cuda"),
])
def test_after_too_few_images_the_later_checks_point_at_bench_run(check_id, data):
    finding = verdict(check_id, data)
    assert finding.status == "skipped"
    assert finding.title == STOPPED


@pytest.mark.parametrize("check_id", ("bench-learning", "bench-export"))
def test_after_the_budget_ran_out_learning_and_export_point_at_bench_run(check_id):
    finding = verdict(check_id, OUT_OF_BUDGET)
    assert finding.status == "skipped"
    assert finding.title == STOPPED


# --- bench-data ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, title", [
    pytest.param(DONE, "320 synthetic images in 2 classes", id="synthetic"),
    pytest.param(answer(LEARNERS_DATA), "340 images in /home/learner/birds in 2 classes", id="learners-data"),
    pytest.param(TOO_FEW, "3 images in /home/learner/birds in 1 classes", id="too-few"),
])
def test_readable_images_are_ok_with_counts_and_where(data, title):
    finding = verdict("bench-data", data)
    assert finding.status == "ok"
    assert finding.title == title


BAD = [{"path": "/home/learner/birds/bird/0001.jpg", "error": "UnidentifiedImageError: cannot identify image file"},
       {"path": "/home/learner/birds/forest/0042.png", "error": "OSError: image file is truncated"}]


@pytest.mark.parametrize("bad, title", [
    pytest.param(BAD[:1], "1 unreadable image skipped", id="one"),
    pytest.param(BAD, "2 unreadable images skipped", id="two"),
])
def test_unreadable_images_are_a_warning_naming_each_file(bad, title):
    finding = verdict("bench-data", answer(LEARNERS_DATA, {"data": {"bad_files": bad}}))
    assert finding.status == "warning"
    assert finding.title == title
    for item in bad:
        assert "%s: %s" % (item["path"], item["error"]) in finding.detail.splitlines()
    assert "verify_images" in finding.fix.text


# --- bench-numerics -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("device", ("cpu", "cuda", "mps"))
@pytest.mark.parametrize("logits_error, gradient_error, agrees", [
    pytest.param(2.1e-6, 3.4e-4, True, id="well-within"),
    pytest.param(1e-3, 1e-2, True, id="at-both-tolerances"),
    pytest.param(1.2e-3, 3.4e-4, False, id="logits-beyond"),
    pytest.param(2.1e-6, 0.011, False, id="gradients-beyond"),
    pytest.param(0.8, 1.1, False, id="both-wrong"),
])
def test_numerics_against_the_tolerances(device, logits_error, gradient_error, agrees):
    data = answer({"device": device, "numerics": {"logits_error": logits_error, "gradient_error": gradient_error}})
    finding = verdict("bench-numerics", data)
    figures = "logits %.1e (tolerance 1e-03), gradients %.1e (tolerance 1e-02)" % (logits_error, gradient_error)
    if agrees:
        assert finding.status == "ok"
        assert finding.title == "resnet18 on %s matches float64 on the CPU: %s" % (device, figures)
    else:
        assert finding.status == "error"
        assert finding.title == "resnet18 computes differently on %s than on the CPU: %s" % (device, figures)
        assert "dl-doctor ops --device %s" % device in words(finding)


# --- bench-learning -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data_changes, losses, accuracy, status, phrase", [
    pytest.param({}, [0.69, 0.05], 1.0, "ok", "it learns: loss 0.69 -> 0.05, validation accuracy 100%",
                 id="synthetic-learns"),
    pytest.param({}, [0.69, 0.4], 0.9, "ok", "it learns: loss 0.69 -> 0.4, validation accuracy 90%",
                 id="synthetic-at-the-bar"),
    pytest.param({}, [0.69, 0.6], 0.5, "error",
                 "validation accuracy 50% on the synthetic set, below the 90% a working setup reaches",
                 id="synthetic-below-the-bar"),
    pytest.param({}, [0.69, 0.69], 1.0, "error", "training loss did not fall (0.69, 0.69)", id="flat"),
    pytest.param({}, [0.69, 0.7, 2.3], 0.5, "error", "training loss did not fall (0.69, 0.7, 2.3)", id="rising"),
    pytest.param({}, [0.69], 1.0, "error", "training loss did not fall (0.69)", id="one-epoch"),
    pytest.param(LEARNERS_DATA, [1.2, 0.8], 0.55, "ok",
                 "it learns: loss 1.2 -> 0.8, validation accuracy 55% on your images", id="learners-data-low"),
    pytest.param(LEARNERS_DATA, [1.2, 1.3], 0.95, "error", "training loss did not fall (1.2, 1.3)",
                 id="learners-data-not-falling"),
])
def test_learning(data_changes, losses, accuracy, status, phrase):
    data = answer(data_changes, {"learning": {"epoch_train_losses": losses, "accuracy": accuracy}})
    finding = verdict("bench-learning", data)
    assert finding.status == status
    assert finding.title.startswith(phrase), finding.title
    assert finding.detail == "training loss per epoch: " + ", ".join("%.3g" % loss for loss in losses)
    if status == "ok":
        assert ("on your images" in finding.title) is (data_changes is LEARNERS_DATA)
    if "did not fall" in phrase:
        assert "bench-numerics" in finding.fix.text and "dl-doctor ops" in finding.fix.text


# --- bench-export -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("agree, difference, status", [
    pytest.param(True, 0.0, "ok", id="identical"),
    pytest.param(True, 1e-4, "ok", id="at-the-tolerance"),
    pytest.param(True, 2e-4, "error", id="probabilities-differ"),
    pytest.param(False, 0.0, "error", id="labels-differ"),
    pytest.param(False, 0.62, "error", id="both"),
])
def test_export(agree, difference, status):
    finding = verdict("bench-export", answer({"export": {"agree": agree, "max_probability_difference": difference}}))
    assert finding.status == status
    if status == "ok":
        assert finding.title == "the exported learner (47 MB) predicts the same on 4 images"
    else:
        assert finding.title == "the exported learner predicts differently (max probability difference %.2g)" \
            % difference
        assert "same fastai and torch versions" in finding.fix.text


# --- bench-speed --------------------------------------------------------------------------------------------------

LINUX_ADVICE = "num_workers=8 (one per core) lets data loading overlap training"
SPAWN_ADVICE = "move labelling functions out of the notebook into a .py module"


@pytest.mark.parametrize("changes, status, title", [
    pytest.param({}, "info", "compute-bound on cpu: fastai trains 130 images/s at 64 px; lesson 1 takes about 84 s",
                 id="cpu-compute-bound"),
    pytest.param({"speed": {"data_images_per_second": 100.0}}, "info",
                 "data-bound on cpu: fastai trains 130 images/s at 64 px; lesson 1 takes about 84 s",
                 id="cpu-data-bound"),
    pytest.param(ON_CUDA, "info",
                 "compute-bound on cuda: fastai trains 5200 images/s at 64 px; lesson 1 takes about 2 s",
                 id="cuda-compute-bound"),
    pytest.param(deep_merge(ON_CUDA, {"speed": {"data_images_per_second": 900.0}}), "warning",
                 "data-bound on cuda: fastai trains 5200 images/s at 64 px; lesson 1 takes about 2 s",
                 id="cuda-data-bound"),
    pytest.param({"device": "mps", "platform": "darwin", "speed": {"data_images_per_second": 100.0}}, "warning",
                 "data-bound on mps: fastai trains 130 images/s at 64 px; lesson 1 takes about 84 s",
                 id="mps-data-bound"),
    pytest.param({"size": 192}, "info",
                 "compute-bound on cpu: fastai trains 130 images/s at 192 px; lesson 1 takes about 9 s",
                 id="at-lesson-one-size"),
])
def test_speed_verdict_and_title(changes, status, title):
    finding = verdict("bench-speed", answer(changes))
    assert finding.status == status
    assert finding.title == title
    bound = title.split(" on ")[0]
    assert (bound + ": ") in finding.detail.splitlines()[-1]
    if status == "warning":
        assert finding.fix.text.startswith("The GPU waits for data: ")


def test_speed_detail_lists_each_stage_and_the_matmul_share():
    lines = verdict("bench-speed", DONE).detail.splitlines()
    assert lines[0] == "data pipeline alone: 1000 images/s"
    assert lines[1] == "raw PyTorch step (fastai's model, Adam, batch 32, 64 px): 150 images/s"
    # 150 images/s x 3 x 297142272 FLOP over 180 GFLOP/s
    assert lines[2] == "matmul: 180 GFLOP/s; the raw step uses 74% of it"
    assert lines[3].startswith("fastai fit: 130 images/s = 0.87x the raw step (1.00x what data loading")
    assert lines[4] == "lesson 1's fine_tune(3) (~350 images at 192 px) would take about 84 s here"


@pytest.mark.parametrize("fit, explained", [
    pytest.param(130.0, False, id="0.87x"),
    pytest.param(127.5, False, id="exactly-0.85x"),
    pytest.param(126.0, True, id="0.84x"),
    pytest.param(100.0, True, id="0.67x"),
    pytest.param(30.0, True, id="0.2x"),
])
def test_fastai_well_below_the_raw_step_is_explained(fit, explained):
    finding = verdict("bench-speed", answer({"speed": {"fit_images_per_second": fit}}))
    reason = [line for line in finding.detail.splitlines() if line.startswith("fastai is below 0.85x the raw step")]
    if explained:
        assert len(reason) == 1
        # 150 raw against 1000 data images/s: loading takes 13% of the time
        assert "with num_workers=0" in reason[0] and "(13% of the time" in reason[0]
        assert "optimiser steps parameters in Python" in reason[0]
    else:
        assert reason == []


@pytest.mark.parametrize("platform, cpu_count, advice, absent", [
    pytest.param("linux", 8, LINUX_ADVICE, SPAWN_ADVICE, id="linux"),
    pytest.param("linux", 32, "num_workers=32 (one per core)", SPAWN_ADVICE, id="linux-32-cores"),
    pytest.param("linux", None, "num_workers=1 (one per core)", SPAWN_ADVICE, id="linux-cores-unknown"),
    pytest.param("darwin", 10, SPAWN_ADVICE, "one per core", id="macos"),
    pytest.param("win32", 8, SPAWN_ADVICE, "one per core", id="windows"),
])
@pytest.mark.parametrize("device", ("cpu", "cuda"))
def test_num_workers_advice_fits_the_platform(platform, cpu_count, advice, absent, device):
    changes = {"platform": platform, "cpu_count": cpu_count, "speed": {"data_images_per_second": 100.0}}
    finding = verdict("bench-speed", answer(ON_CUDA if device == "cuda" else {}, changes))
    assert advice in finding.detail and absent not in finding.detail
    if platform != "linux":
        assert "start by spawn" in finding.detail
    if device == "cuda":
        assert finding.status == "warning"
        assert advice in finding.fix.text and absent not in finding.fix.text
    else:
        assert finding.status == "info"


def test_without_a_fastai_fit_the_title_gives_the_raw_step():
    finding = verdict("bench-speed", OUT_OF_BUDGET)
    # lesson 1 from the raw step: 150 images/s at 64 px is 150/9 at 192 px; 4 x (280 + 70/3) images
    assert finding.title == ("compute-bound on cpu: a raw training step runs 150 images/s at 64 px; "
                             "lesson 1 takes about 73 s")
    assert "fastai fit" not in finding.detail
    assert "about 73 s here" in finding.detail


def test_a_fit_of_no_measured_time_reads_as_no_fit():
    finding = verdict("bench-speed", answer({"speed": {"fit_images_per_second": None}}))
    assert "a raw training step runs 150 images/s" in finding.title
    assert "fastai fit" not in finding.detail


# --- bench-device-vs-cpu ------------------------------------------------------------------------------------------

def test_device_vs_cpu_is_skipped_on_the_cpu():
    finding = verdict("bench-device-vs-cpu", DONE)
    assert finding.status == "skipped"
    assert finding.title == "the benchmark ran on the CPU"


@pytest.mark.parametrize("device, raw, cpu_raw, status, title", [
    pytest.param("cuda", 6000.0, 150.0, "ok", "cuda trains 40.0x as fast as the CPU", id="h100"),
    pytest.param("mps", 330.0, 150.0, "ok", "mps trains 2.2x as fast as the CPU", id="mps-faster"),
    pytest.param("mps", 150.0, 150.0, "ok", "mps trains 1.0x as fast as the CPU", id="even"),
    pytest.param("mps", 100.0, 150.0, "warning", "mps trains 0.67x as fast as the CPU here: slower",
                 id="mps-slower"),
    pytest.param("xpu", 15.0, 150.0, "warning", "xpu trains 0.10x as fast as the CPU here: slower",
                 id="xpu-much-slower"),
])
def test_device_against_the_cpu(device, raw, cpu_raw, status, title):
    data = answer(ON_CUDA, {"device": device, "speed": {"raw_images_per_second": raw,
                                                        "cpu_raw_images_per_second": cpu_raw}})
    finding = verdict("bench-device-vs-cpu", data)
    assert finding.status == status
    assert finding.title == title
    if status == "warning":
        assert "default_device(False)" in finding.fix.text


@pytest.mark.parametrize("data", [
    pytest.param(answer(ON_CUDA, base=TOO_FEW, drop=("speed",)), id="too-few-images-on-cuda"),
    pytest.param(IMPORT_FAILED, id="fastai-import-failed"),
])
def test_device_vs_cpu_after_an_early_stop_points_at_bench_run(data):
    finding = verdict("bench-device-vs-cpu", data)
    assert finding.status == "skipped"
    assert finding.title == STOPPED


def test_device_vs_cpu_with_the_budget_spent_still_compares():
    finding = verdict("bench-device-vs-cpu", answer(ON_CUDA, base=OUT_OF_BUDGET, drop=("speed.fit_images_per_second",)))
    assert finding.status == "ok"
    assert finding.title == "cuda trains 40.0x as fast as the CPU"


# --- a whole healthy run ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [pytest.param({}, id="cpu"), pytest.param(ON_CUDA, id="cuda")])
def test_a_healthy_run_has_no_warning_or_error(changes):
    statuses = {check_id: verdict(check_id, answer(changes)).status for check_id in BENCH_CHECKS}
    assert statuses["bench-run"] == "ok"
    assert not [check_id for check_id, status in statuses.items() if status in ("warning", "error")], statuses


# --- doctor/bench.py ----------------------------------------------------------------------------------------------

LESSON_ONE_IMAGES = 4 * (280 + 70 / 3.0)  # 4 epochs of 280 training images and 70 validation (a third the work)


@pytest.mark.parametrize("size, speed, seconds", [
    pytest.param(192, {"fit_images_per_second": 100.0, "raw_images_per_second": 500.0}, LESSON_ONE_IMAGES / 100,
                 id="fit-at-192"),
    pytest.param(96, {"fit_images_per_second": 100.0}, 4 * LESSON_ONE_IMAGES / 100, id="half-size-4x"),
    pytest.param(64, {"fit_images_per_second": 130.0}, 9 * LESSON_ONE_IMAGES / 130, id="third-size-9x"),
    pytest.param(384, {"fit_images_per_second": 100.0}, LESSON_ONE_IMAGES / 400, id="double-size-quarter"),
    pytest.param(192, {"raw_images_per_second": 200.0}, LESSON_ONE_IMAGES / 200, id="raw-without-fit"),
    pytest.param(192, {"fit_images_per_second": None, "raw_images_per_second": 200.0}, LESSON_ONE_IMAGES / 200,
                 id="raw-when-fit-none"),
])
def test_lesson_one_estimate_scales_with_the_image_area(size, speed, seconds):
    assert lesson_one_estimate_s({"size": size, "speed": speed}) == pytest.approx(seconds)


@pytest.mark.parametrize("data", [
    pytest.param({"size": 64}, id="no-speed"),
    pytest.param({"size": 64, "speed": None}, id="speed-none"),
    pytest.param({"size": 64, "speed": {}}, id="speed-empty"),
    pytest.param({"size": 64, "speed": {"fit_images_per_second": 0.0, "raw_images_per_second": 0.0}},
                 id="zero-rates"),
])
def test_lesson_one_estimate_without_a_rate_is_none(data):
    assert lesson_one_estimate_s(data) is None


@pytest.mark.parametrize("speed, expected", [
    pytest.param(DONE["speed"], 150 * 3 * 297142272 / 180e9, id="healthy-cpu"),
    pytest.param({"matmul_gflops": 1000.0, "forward_flops_per_image": 1e9, "raw_images_per_second": 100.0}, 0.3,
                 id="round-numbers"),
    pytest.param({"forward_flops_per_image": 1e9, "raw_images_per_second": 100.0}, None, id="no-matmul"),
    pytest.param({"matmul_gflops": 0.0, "forward_flops_per_image": 1e9, "raw_images_per_second": 100.0}, None,
                 id="zero-matmul"),
    pytest.param({"matmul_gflops": 1000.0, "forward_flops_per_image": 1e9}, None, id="no-raw-rate"),
])
def test_efficiency_is_the_raw_steps_share_of_matmul(speed, expected):
    measured = efficiency({"speed": speed})
    if expected is None:
        assert measured is None
    else:
        assert measured == pytest.approx(expected)


def test_efficiency_without_speed_is_none():
    assert efficiency({}) is None


def test_a_long_lesson_estimate_is_given_in_minutes():
    slow = answer({"speed": {"fit_images_per_second": 50.0}})
    finding = verdict("bench-speed", slow)
    assert finding.title.endswith("lesson 1 takes about 3.6 min")
