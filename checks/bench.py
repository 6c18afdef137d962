"""The benchmark fine-tune's verdicts (doctor/bench.py runs it): it ran, on usable data, computing what the
CPU computes, learning, exporting a learner that predicts the same, and at what speed, with the reason
(data or compute) and the advice that fits the platform."""

from doctor.results.bench import efficiency, lesson_one_estimate_s
from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

ACCURACY_BAR = 0.9  # on the synthetic set, which a correct environment learns to 100%
PREDICTION_TOLERANCE = 1e-4
FASTAI_FLOOR = 0.85  # fastai fit images/s against the raw loop's (issue #4)
NOT_RUN = "the benchmark did not run (dl-doctor bench, or dl-doctor check --bench)"


def _data(facts):
    return facts.data("bench") or {}


def _stage_reached(facts, key):
    data = _data(facts)
    if key in data:
        return data[key], None
    outcome = facts.outcome("bench")
    if outcome is None or outcome.status == "skipped":
        return None, NOT_RUN
    return None, "the benchmark stopped before this (see bench-run)"


@check("bench-run", "The benchmark fine-tune ran to the end",
       reads=('bench',), topic="bench", suites=("check", "bench"))
def bench_run(facts):
    outcome = facts.outcome("bench")
    if outcome is None or outcome.status == "skipped":
        yield skipped(NOT_RUN)
        return
    if not outcome.ok:
        yield error("the benchmark did not finish: %s" % outcome.reason, detail=outcome.stderr_tail.strip())
        return
    data = outcome.data
    stage = data.get("stage")
    if stage == "import":
        failure = data.get("error") or {}
        yield error("fastai does not import in the benchmark: %s: %s" % (failure.get("type"), failure.get("message")),
                    detail=failure.get("traceback", ""), fix=fix("See lesson-imports in dl-doctor check."))
    elif stage == "data":
        counts = data.get("data") or {}
        yield error("too few readable images: %d in %d class(es)" % (counts.get("images", 0),
                                                                    len(counts.get("classes", []))))
    elif stage == "budget":
        yield warning(
            "the budget of %g s is too small here: training needs about %.0f s, %.0f s were left"
            % (data["budget_s"], data["learning_estimate_s"], data["budget_left_s"]),
            fix=fix("Give it more time:",
                    "dl-doctor bench --budget %d" % (data["budget_s"] + data["learning_estimate_s"])),
        )
    elif stage == "done":
        phases = data.get("phases") or {}
        yield ok("lesson 1's path ran end to end on %s in %.0f s, %s" % (
            data["device"], max(phases.values() or [0]),
            "from ImageNet weights in the local torch hub cache" if data.get("weights") == "imagenet" else
            "from random weights (none in the local torch hub cache; nothing is downloaded)"),
            detail="phases (s since start): " + ", ".join("%s %.1f" % item for item in phases.items()))
    else:
        yield error("the benchmark stopped at stage %r" % stage)


@check("bench-data", "The benchmark's images are readable (--data: the learner's own folder)", needs=("bench",),
       topic="bench", suites=("check", "bench"))
def bench_data(facts):
    data, reason = _stage_reached(facts, "data")
    if data is None:
        yield skipped(reason)
        return
    bad = data.get("bad_files") or []
    where = "synthetic images" if data.get("synthetic") else "images in %s" % data.get("path")
    if bad:
        yield warning("%d unreadable image%s skipped" % (len(bad), "" if len(bad) == 1 else "s"),
                      detail="\n".join("%s: %s" % (item["path"], item["error"]) for item in bad),
                      fix=fix("Delete or re-download them (fastai's verify_images finds them too)."))
        return
    yield ok("%d %s in %d classes" % (data.get("images", 0), where, len(data.get("classes", []))))


@check("bench-numerics", "resnet18's forward and backward on the device match float64 on the CPU", needs=("bench",),
       topic="bench", suites=("check", "bench"))
def bench_numerics(facts):
    numerics, reason = _stage_reached(facts, "numerics")
    if numerics is None:
        yield skipped(reason)
        return
    device = _data(facts).get("device")
    figures = "logits %.1e (tolerance %.0e), gradients %.1e (tolerance %.0e)" % (
        numerics["logits_error"], numerics["logits_tolerance"], numerics["gradient_error"],
        numerics["gradient_tolerance"])
    if numerics["logits_error"] > numerics["logits_tolerance"] or \
            numerics["gradient_error"] > numerics["gradient_tolerance"]:
        yield error("resnet18 computes differently on %s than on the CPU: %s" % (device, figures),
                    detail="A wrong kernel shows here before it shows as poor accuracy.",
                    fix=fix("Run dl-doctor ops --device %s to find the op; update torch." % device))
        return
    yield ok("resnet18 on %s matches float64 on the CPU: %s" % (device, figures))


@check("bench-learning", "Training loss falls and, on the synthetic set, validation accuracy reaches the bar",
       needs=("bench",), topic="bench", suites=("check", "bench"))
def bench_learning(facts):
    learning, reason = _stage_reached(facts, "learning")
    if learning is None:
        yield skipped(reason)
        return
    losses = learning["epoch_train_losses"]
    accuracy = learning["accuracy"]
    falls = len(losses) >= 2 and losses[-1] < losses[0]
    synthetic = (_data(facts).get("data") or {}).get("synthetic")
    detail = "training loss per epoch: %s" % ", ".join("%.3g" % loss for loss in losses)
    if not falls:
        yield error("training loss did not fall (%s)" % detail.split(": ")[1], detail=detail,
                    fix=fix("Check bench-numerics and dl-doctor ops: a wrong kernel stops learning."))
    elif synthetic and accuracy < ACCURACY_BAR:
        yield error("validation accuracy %.0f%% on the synthetic set, below the %.0f%% a working setup reaches"
                    % (100 * accuracy, 100 * ACCURACY_BAR), detail=detail)
    else:
        yield ok("it learns: loss %.3g -> %.3g, validation accuracy %.0f%%%s" % (
            losses[0], losses[-1], 100 * accuracy, "" if synthetic else " on your images"), detail=detail)


@check("bench-export", "export -> load_learner -> predict agrees with the learner in memory", needs=("bench",),
       topic="bench", suites=("check", "bench"))
def bench_export(facts):
    exported, reason = _stage_reached(facts, "export")
    if exported is None:
        yield skipped(reason)
        return
    if not exported["agree"] or exported["max_probability_difference"] > PREDICTION_TOLERANCE:
        yield error("the exported learner predicts differently (max probability difference %.2g)"
                    % exported["max_probability_difference"],
                    fix=fix("Export and load with the same fastai and torch versions; see dl-doctor check."))
        return
    yield ok("the exported learner (%.0f MB) predicts the same on %d images" % (
        exported["bytes"] / 1e6, exported["items"]))


def _duration(seconds):
    return "%.0f s" % seconds if seconds < 90 else "%.1f min" % (seconds / 60)


def _workers_advice(data):
    # Under spawn (macOS, Windows) DataLoader workers cannot unpickle functions defined in a notebook
    # (Python's multiprocessing docs, "Contexts and start methods"); under fork (Linux) they can.
    if data.get("platform", "").startswith("linux"):
        return ("num_workers=%d (one per core) lets data loading overlap training in scripts and notebooks"
                % (data.get("cpu_count") or 1))
    return ("with num_workers > 0, move labelling functions out of the notebook into a .py module: workers "
            "start by spawn here and cannot load functions defined in the notebook")


@check("bench-speed", "Where the time goes: data pipeline, raw training step, fastai's loop", needs=("bench",),
       topic="bench", suites=("check", "bench"))
def bench_speed(facts):
    data = _data(facts)
    speed = data.get("speed")
    if not speed:
        yield skipped(_stage_reached(facts, "speed")[1])
        return
    raw, pipeline, fit = speed["raw_images_per_second"], speed["data_images_per_second"], speed.get(
        "fit_images_per_second")
    size, device = data["size"], data["device"]
    data_bound = pipeline < raw
    ratio = fit / raw if fit else None
    lines = ["data pipeline alone: %.0f images/s" % pipeline,
             "raw PyTorch step (fastai's model, Adam, batch %d, %d px): %.0f images/s" % (data["batch"], size, raw),
             "matmul: %.0f GFLOP/s; the raw step uses %.0f%% of it" % (speed["matmul_gflops"],
                                                                     100 * (efficiency(data) or 0))]
    if fit:
        serial = 1.0 / (1.0 / raw + 1.0 / pipeline)
        lines.append("fastai fit: %.0f images/s = %.2fx the raw step (%.2fx what data loading in the same "
                     "process leaves)" % (fit, ratio, fit / serial))
        if ratio < FASTAI_FLOOR:
            lines.append("fastai is below %.2fx the raw step: with num_workers=0, loading and augmenting each "
                         "batch (%.0f%% of the time at these rates) does not overlap training, and fastai's "
                         "optimiser steps parameters in Python" % (FASTAI_FLOOR, 100 * raw / (raw + pipeline)))
    estimate = lesson_one_estimate_s(data)
    if estimate:
        lines.append("lesson 1's fine_tune(3) (~350 images at 192 px) would take about %s here" % _duration(estimate))
    lines.append(("data-bound: " if data_bound else "compute-bound: ") + _workers_advice(data))
    title = "%s on %s: %s %.0f images/s at %d px%s" % (
        "data-bound" if data_bound else "compute-bound", device,
        "fastai trains" if fit else "a raw training step runs", fit or raw, size,
        "; lesson 1 takes about %s" % _duration(estimate) if estimate else "")
    if data_bound and device != "cpu":
        yield warning(title, detail="\n".join(lines),
                      fix=fix("The GPU waits for data: " + _workers_advice(data) + "."))
        return
    yield info(title, detail="\n".join(lines))


@check("bench-device-vs-cpu", "The device trains faster than the CPU on the same work", needs=("bench",),
       topic="bench", suites=("check", "bench"))
def bench_device_vs_cpu(facts):
    data = _data(facts)
    speed = data.get("speed") or {}
    if data.get("device") == "cpu":
        yield skipped("the benchmark ran on the CPU")
        return
    if not speed.get("cpu_raw_images_per_second"):
        # It ran but stopped before the speed phase (fastai's import, too few images): say so, not "did not run".
        yield skipped(_stage_reached(facts, "speed")[1] or "the benchmark did not time the CPU")
        return
    ratio = speed["raw_images_per_second"] / speed["cpu_raw_images_per_second"]
    if ratio < 1:
        yield warning("%s trains %.2fx as fast as the CPU here: slower" % (data["device"], ratio),
                      fix=fix("Train on the CPU (default_device(False) in fastai), or update torch and the OS."))
        return
    yield ok("%s trains %.1fx as fast as the CPU" % (data["device"], ratio))
