"""Memory the lesson's default batch needs: on the GPU (and who else holds it), in Apple's unified memory, and in
/dev/shm, where DataLoader workers hand their batches over.

LESSON_BATCHES is the data: each lesson's default training batch as the course's notebooks make it, and the memory
one training step of it takes, measured by benchmarks/lesson_memory.py (peak parameters, gradients, Adam(W) state,
activations and temporaries of one step, on the CPU under torch's MemTracker).
"""

import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from doctor.findings import fix, info, ok, skipped, warning
from doctor.registry import check

MIB = 2 ** 20
GIB = 2 ** 30

# What CUDA takes beside the tensors the step measures: the CUDA context alone showed as 781 MB in nvidia-smi
# (pytorch#34323; "some context needs to be created on GPU", torch.cuda.memory_allocated's docs), then cuDNN's and
# cuBLAS's workspaces and the caching allocator's rounding to its blocks.
CUDA_ALLOWANCE_MIB = 1024

# fastai's DataLoader: num_workers=None becomes min(16, defaults.cpus) (fastai/data/core.py TfmdDL), defaults.cpus is
# len(os.sched_getaffinity(0)) (fastcore/basics.py num_cpus), and each worker keeps prefetch_factor=2 batches in
# flight (fastai/data/load.py _FakeLoader, as torch's DataLoader default).
MAX_WORKERS = 16
PREFETCH_FACTOR = 2
# Docker gives a container --shm-size=64m (64 MiB) of /dev/shm unless told otherwise, or --ipc=host (docker run
# reference, "--shm-size").
DOCKER_DEFAULT_SHM = 64 * 2 ** 20

# torch/include/ATen/mps/MPSAllocator.h, on m_high_watermark_ratio.
WATERMARK_VARIABLE = "PYTORCH_MPS_HIGH_WATERMARK_RATIO"
TORCH_WATERMARK_WARNING = "0. : disables high watermark limit (may cause system failure if system-wide OOM occurs)"

APPLE_SMALL_MEMORY = 8 * GIB


class MeasuredStep:
    """One training step measured at the lesson's batch: ``fixed_mib`` (parameters, buffers, gradients, optimizer
    state) and ``batch_mib`` (activations and temporaries at ``batch_size``)."""

    batch_size: int
    fixed_mib: int
    batch_mib: int

    def step_mib(self, batch_size: Optional[int] = None) -> float:
        """One training step at ``batch_size`` (the lesson's by default); activations grow with the batch."""
        return self.fixed_mib + self.batch_mib * (batch_size or self.batch_size) / self.batch_size

    def gpu_mib(self, batch_size: Optional[int] = None) -> float:
        return self.step_mib(batch_size) + CUDA_ALLOWANCE_MIB


@dataclass(frozen=True)
class LessonBatch(MeasuredStep):
    """A lesson's default training batch: the model as the notebook passes it to vision_learner, the images the model
    sees (after batch_tfms) and those a DataLoader worker sends (uint8, after item_tfms), and what one training step
    of it takes: ``fixed_mib`` (parameters, buffers, gradients, Adam state) and ``batch_mib`` (activations and
    temporaries at ``batch_size``)."""

    notebook: str
    code: str
    model: str
    classes: int
    batch_size: int
    image: Tuple[int, int]
    item: Tuple[int, int]
    mixed_precision: bool
    fixed_mib: int
    batch_mib: int

    guide = "https://docs.fast.ai/callback.fp16.html"

    def worker_batch_bytes(self) -> int:
        """One batch as a worker hands it over: uint8 images (fastai converts them to float on the device, in
        IntToFloatTensor, a batch transform) and an int64 label each."""
        return self.batch_size * (3 * self.item[0] * self.item[1] + 8)

    def described(self) -> str:
        return "%s, %d images of %dx%d%s" % (self.model, self.batch_size, self.image[0], self.image[1],
                                              ", mixed precision" if self.mixed_precision else "")


@dataclass(frozen=True)
class TrainerBatch(MeasuredStep):
    """A lesson's default training batch under Hugging Face's Trainer: rows of token ids padded to the longest of the
    batch (the Trainer's DataCollatorWithPadding), ``sequence_length`` the padded length measured. The Trainer loads
    them in the notebook's own process (TrainingArguments' dataloader_num_workers is 0), so no /dev/shm."""

    notebook: str
    code: str
    model: str
    batch_size: int
    sequence_length: int
    mixed_precision: bool
    fixed_mib: int
    batch_mib: int

    guide = "https://huggingface.co/docs/transformers/perf_train_gpu_one"

    def described(self) -> str:
        return "%s, %d texts of up to %d tokens%s" % (self.model, self.batch_size, self.sequence_length,
                                                      ", mixed precision" if self.mixed_precision else "")


_COURSE22 = "fastai/course22 "

# Figures: python benchmarks/lesson_memory.py (torch 2.14.1, fastai 2.8.12, timm 1.0.31 for lessons 6 and 7).
LESSON_BATCHES: Dict[int, Union[LessonBatch, TrainerBatch]] = {
    1: LessonBatch(_COURSE22 + "00-is-it-a-bird-creating-a-model-from-your-own-data.ipynb",
                   "DataBlock(..., item_tfms=[Resize(192, method='squish')]).dataloaders(path); "
                   "vision_learner(dls, resnet18)",
                   "resnet18", 2, 64, (192, 192), (192, 192), False, 179, 1008),
    2: LessonBatch(_COURSE22 + "02-saving-a-basic-fastai-model.ipynb",
                   "ImageDataLoaders.from_name_func(..., item_tfms=Resize(192)); vision_learner(dls, resnet18)",
                   "resnet18", 2, 64, (192, 192), (192, 192), False, 179, 1008),
    # slides/nlp-intro.ipynb is the repository's copy of the lesson's Kaggle notebook "Getting started with NLP for
    # absolute beginners"; its tok_func neither truncates nor pads, so the Trainer's collator pads each batch to its
    # longest "TEXT1: A47; TEXT2: ...; ANC1: ..." row. 48 tokens is an estimate of the longest (about 16 for the
    # template, [CLS] and [SEP], the rest for a long target and anchor), not a count: deberta-v3's tokenizer needs
    # its spm.model, which could not be downloaded. Figure: PYTHONPATH=/tmp/nlplib python
    # benchmarks/lesson_memory.py 4 (transformers 5.25.0); batch_mib measured 2,839 at 32 tokens, 4,537 at 64.
    4: TrainerBatch(_COURSE22 + "slides/nlp-intro.ipynb",
                    "bs = 128; TrainingArguments('outputs', ..., fp16=True, per_device_train_batch_size=bs, ...); "
                    "AutoModelForSequenceClassification.from_pretrained('microsoft/deberta-v3-small', num_labels=1)",
                    "deberta-v3-small", 128, 48, True, 2165, 3674),
    6: LessonBatch(_COURSE22 + "08-first-steps-road-to-the-top-part-1.ipynb",
                   "ImageDataLoaders.from_folder(..., item_tfms=Resize(480, method='squish'), "
                   "batch_tfms=aug_transforms(size=128, min_scale=0.75)); vision_learner(dls, 'resnet26d').to_fp16()",
                   "resnet26d", 10, 64, (128, 128), (480, 480), True, 245, 703),
    7: LessonBatch(_COURSE22 + "10-scaling-up-road-to-the-top-part-3.ipynb",
                   "train('convnext_small_in22k', 128, accum=1): bs=64, item_tfms=Resize(480, method='squish'), "
                   "vision_learner(dls, arch).to_fp16()",
                   "convnext_small_in22k", 10, 64, (128, 128), (480, 480), True, 767, 1878),
}


def _gib(mib: float) -> str:
    return "%.1f GiB" % (mib / 1024)


def _lesson_batch(facts) -> Optional[MeasuredStep]:
    return LESSON_BATCHES.get(facts.lesson)


def _smaller_batch(batch: MeasuredStep, available_mib: float, needed) -> Optional[int]:
    """The largest power-of-two batch below the lesson's whose step ``needed(bs)`` fits ``available_mib``."""
    size = batch.batch_size // 2
    while size >= 1:
        if needed(size) <= available_mib:
            return size
        size //= 2
    return None


def _batch_fix(batch: MeasuredStep, smaller: Optional[int], lesson: int, cuda: bool = True):
    if smaller is None:
        return fix("Free the GPU first: restart this kernel if an earlier run filled it, shut down the other processes "
                   "gpu-processes names; or train where the GPU has more memory.")
    if isinstance(batch, TrainerBatch):
        return _trainer_batch_fix(batch, smaller, lesson, cuda)
    loader = ".dataloaders(path, bs=%d)" % smaller
    precision = ("it already trains in mixed precision (.to_fp16())" if batch.mixed_precision
                 else "learn = vision_learner(dls, %s, metrics=error_rate).to_fp16()" % batch.model)
    if not cuda:
        # fastai's MixedPrecision callback autocasts for CUDA only (fastai/callback/fp16.py before_fit).
        return fix("Pass a smaller batch to the DataLoaders (lesson %d's notebook uses bs=%d), and close other "
                   "applications while training." % (lesson, batch.batch_size), loader)
    if batch.mixed_precision:
        return fix("Pass a smaller batch to the DataLoaders (lesson %d's notebook uses bs=%d); %s. Restart the "
                   "kernel first if an earlier run already filled the memory." % (lesson, batch.batch_size, precision),
                   loader)
    return fix("Pass a smaller batch to the DataLoaders (lesson %d's notebook uses bs=%d), and train in mixed "
               "precision, which about halves the activations. Restart the kernel first if an earlier run already "
               "filled the memory." % (lesson, batch.batch_size), loader, precision)


def _trainer_batch_fix(batch: TrainerBatch, smaller: int, lesson: int, cuda: bool):
    """The notebook's ``bs`` is TrainingArguments' per_device_train_batch_size; gradient_accumulation_steps keeps the
    batch each optimizer step sees (and so the notebook's learning rate) at the lesson's."""
    steps = batch.batch_size // smaller
    text = ("Train on a smaller batch: lesson %d's notebook sets bs = %d, which TrainingArguments takes as "
            "per_device_train_batch_size (and bs*2 for evaluation); gradient_accumulation_steps=%d keeps the batch "
            "each optimizer step sees at %d." % (lesson, batch.batch_size, steps, batch.batch_size))
    if cuda:
        text += (" It already trains in mixed precision (fp16=True). Restart the kernel first if an earlier run "
                 "already filled the memory.")
    else:
        text += " Close other applications while training."
    return fix(text, "bs = %d" % smaller,
               "args = TrainingArguments('outputs', ..., per_device_train_batch_size=bs, "
               "gradient_accumulation_steps=%d)" % steps)


def _visible_gpu(nvidia_gpus: Sequence[Mapping[str, Any]], visible: Optional[str]) -> Optional[Mapping[str, Any]]:
    """The GPU CUDA numbers 0, which fastai trains on: the first CUDA_VISIBLE_DEVICES names (an index or a UUID
    prefix, CUDA C Programming Guide, "CUDA Environment Variables"), else index 0. NVML numbers GPUs regardless."""
    if not nvidia_gpus:
        return None
    first = (visible or "").split(",")[0].strip()
    if not first:
        return nvidia_gpus[0]
    for gpu in nvidia_gpus:
        if (first.isdigit() and gpu.get("index") == int(first)) or (
                not first.isdigit() and str(gpu.get("uuid") or "").startswith(first)):
            return gpu
    return None


def _lesson_gpu(facts) -> Optional[Dict[str, Any]]:
    """The lesson's GPU: its name, total and free MiB and the processes on it, from the driver, else from torch's
    mem_get_info (where neither pynvml nor nvidia-smi answered)."""
    hardware = facts.data("hardware") or {}
    variables = (facts.data("python") or {}).get("environment_variables") or {}
    nvml = _visible_gpu((hardware.get("nvidia") or {}).get("gpus") or [], variables.get("CUDA_VISIBLE_DEVICES"))
    cuda = ((facts.data("torch") or {}).get("cuda") or {})
    device = next((d for d in cuda.get("devices") or [] if d.get("free_memory_mb") is not None), None)
    if nvml is None and device is None:
        return None
    nvml = nvml or {}
    if nvml.get("memory_free_mb") is not None or device is None:
        free = nvml.get("memory_free_mb")
        if free is not None:
            # dl-doctor's torch probe may hold memory on the GPU while the driver is asked: it is not the lesson's.
            free += sum(p.get("used_memory_mb") or 0 for p in _own_probes(facts, nvml.get("processes") or []))
        return {"name": nvml.get("name") or "GPU", "total_mb": nvml.get("memory_total_mb"),
                "free_mb": free, "processes": nvml.get("processes")}
    return {"name": device.get("name") or "GPU", "total_mb": device.get("total_memory_mb"),
            "free_mb": device.get("free_memory_mb"), "processes": nvml.get("processes")}


def _own_probes(facts, processes: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """dl-doctor's own probe children (the torch probe uses the GPU while the hardware probe asks the driver)."""
    this_pid = (facts.data("process") or {}).get("pid")
    return [p for p in processes if this_pid is not None and p.get("parent_pid") == this_pid]


@check("gpu-memory", "The lesson's GPU has the memory its default batch needs",
       needs=("hardware",), reads=("torch", "python"), topic="memory")
def gpu_memory(facts):
    gpu = _lesson_gpu(facts)
    if gpu is None:
        yield skipped("no NVIDIA GPU: the driver lists none")
        return
    total, free = gpu["total_mb"], gpu["free_mb"]
    if total is None or free is None:
        yield info("%s: the driver did not say how much memory it has free" % gpu["name"])
        return
    held = "%s free of %s" % (_gib(free), _gib(total))
    batch = _lesson_batch(facts)
    if batch is None:
        yield ok("%s: %s (lesson %d trains no model whose memory dl-doctor has measured)"
                 % (gpu["name"], held, facts.lesson))
        return
    needed = batch.gpu_mib()
    detail = ("Lesson %d: %s (%s). One training step measured %d MiB (benchmarks/lesson_memory.py), plus %d MiB "
              "for the CUDA context and workspaces." % (facts.lesson, batch.code, batch.notebook,
                                                         batch.step_mib(), CUDA_ALLOWANCE_MIB))
    if free >= needed:
        yield ok("%s: %s; lesson %d's default batch needs about %s" % (gpu["name"], held, facts.lesson,
                                                                      _gib(needed)), detail=detail)
        return
    smaller = _smaller_batch(batch, free, batch.gpu_mib)
    where = ("the GPU has only %s in all" % _gib(total) if total < needed
             else "the rest is in use (gpu-processes names the processes that hold it)")
    yield warning(
        "%s: %s, but lesson %d's default batch (%s) needs about %s: CUDA out of memory"
        % (gpu["name"], held, facts.lesson, batch.described(), _gib(needed)),
        detail=detail + " " + where[0].upper() + where[1:] + "."
        + ("" if smaller else " Even a batch of 1 would not fit in what is free: the model, its gradients and the "
                              "optimizer state alone take %d MiB." % batch.fixed_mib),
        fix=_batch_fix(batch, smaller, facts.lesson),
        links=(batch.guide,),
    )


def _kind_of_process(command: Optional[str]) -> str:
    text = command or ""
    if "ipykernel" in text:
        return "notebook kernel"
    if re.search(r"\bpython[0-9.]*\b", text):
        return "Python process"
    return "process"


@check("gpu-processes", "No other process holds memory on the lesson's GPU",
       needs=("hardware",), reads=("process", "python", "torch"), topic="memory")
def gpu_processes(facts):
    gpu = _lesson_gpu(facts)
    if gpu is None:
        yield skipped("no NVIDIA GPU: the driver lists none")
        return
    processes = gpu["processes"]
    if processes is None:
        yield info("%s: the driver would not list the processes that use it" % gpu["name"])
        return
    this_pid = (facts.data("process") or {}).get("pid")
    # The process running dl-doctor (in a notebook, the learner's own kernel) is not another one either.
    probes = _own_probes(facts, processes)
    others = [p for p in processes if p.get("pid") != this_pid and p not in probes]
    own = [p for p in processes if p.get("pid") == this_pid]
    if not others:
        held = " (this process holds %s)" % _gib(own[0].get("used_memory_mb") or 0) if own else ""
        yield ok("no other process holds memory on %s%s" % (gpu["name"], held))
        return
    lines = [_describe_process(p) for p in others]
    total_held = sum(p.get("used_memory_mb") or 0 for p in others)
    batch = _lesson_batch(facts)
    crowded = batch is not None and gpu["free_mb"] is not None and gpu["free_mb"] < batch.gpu_mib()
    largest = max(others, key=lambda p: p.get("used_memory_mb") or 0)
    culprit = "%s (PID %d)" % (_kind_of_process(largest.get("command")), largest["pid"])
    title = "another %s holds %s on %s" % (culprit, _held(largest), gpu["name"])
    if len(others) > 1:
        title = "%d other processes hold %s on %s, the largest a %s" % (len(others), _gib(total_held), gpu["name"],
                                                                       culprit)
    advice = ("Shut down what you no longer need: a notebook kernel from Jupyter's Running tab (or Kernel > Shut Down "
              "Kernel), a program by ending it. dl-doctor never stops them itself.")
    status = warning if crowded else info
    yield status(title + (": shut it down" if len(others) == 1 else ": shut down those you do not need")
                 + (", lesson %d's batch does not fit beside %s" % (facts.lesson, "it" if len(others) == 1 else "them")
                    if crowded else ""),
                 detail="\n".join(lines) + "\nPIDs as the driver reports them (in a container, the host's).",
                 fix=fix(advice))


def _held(process: Mapping[str, Any]) -> str:
    used = process.get("used_memory_mb")
    return "memory (the driver does not say how much)" if used is None else _gib(used)


def _describe_process(process: Mapping[str, Any]) -> str:
    return "PID %d (a %s) holds %s: %s" % (process["pid"], _kind_of_process(process.get("command")), _held(process),
                                           process.get("command") or "command not readable from here")


def _apple(facts) -> Optional[Mapping[str, Any]]:
    return (facts.data("python") or {}).get("apple")


@check("apple-memory", "On a Mac, unified memory leaves room for the lesson's default batch",
       needs=("python",), reads=("torch",), topic="memory")
def apple_memory(facts):
    apple = _apple(facts)
    if apple is None:
        yield skipped("not macOS")
        return
    memory = apple.get("memory_bytes")
    if memory is None:
        yield info("macOS did not say how much memory this Mac has (sysctl hw.memsize)")
        return
    batch = _lesson_batch(facts)
    needs = "" if batch is None else "; lesson %d's default batch needs about %s for one step" % (
        facts.lesson, _gib(batch.step_mib()))
    if memory > APPLE_SMALL_MEMORY:
        yield ok("%s of unified memory%s" % (_gib(memory / MIB), needs))
        return
    # torch's MPS allocator stops at 1.7 times Metal's recommendedMaxWorkingSetSize (default_high_watermark_ratio,
    # ATen/mps/MPSAllocator.h), memory that macOS, the browser and the notebook also live in.
    detail = ("The CPU and the GPU share these %s with macOS, the browser and the notebook; past what is free, macOS "
              "swaps and training crawls, then torch stops with \"MPS backend out of memory\"." % _gib(memory / MIB))
    if batch is None:
        yield warning("%s of unified memory: train with smaller batches than the course's" % _gib(memory / MIB),
                      detail=detail,
                      fix=fix("Pass a smaller batch to the DataLoaders (bs=32 instead of fastai's 64), and close other "
                          "applications while training.", ".dataloaders(path, bs=32)"))
        return
    yield warning("%s of unified memory%s: a smaller batch avoids 'MPS backend out of memory'"
                  % (_gib(memory / MIB), needs), detail=detail + " " + batch.code + ".",
                  fix=_batch_fix(batch, batch.batch_size // 2, facts.lesson, cuda=False))


@check("mps-memory-limit", "PYTORCH_MPS_HIGH_WATERMARK_RATIO does not switch off MPS's memory limit",
       needs=("python",), topic="memory")
def mps_memory_limit(facts):
    python = facts.data("python") or {}
    value = (python.get("environment_variables") or {}).get(WATERMARK_VARIABLE)
    if (python.get("marker_environment") or {}).get("sys_platform") != "darwin":
        yield skipped("not macOS: %s matters only to MPS" % WATERMARK_VARIABLE)
        return
    if value is None:
        yield ok("%s is not set: MPS keeps torch's memory limit" % WATERMARK_VARIABLE)
        return
    try:
        ratio = float(value)
    except ValueError:
        yield warning("%s=%r is not a number" % (WATERMARK_VARIABLE, value),
                      detail="torch reads it as a ratio of the memory Metal recommends (0 to 2; 1.7 by default).",
                      fix=fix("Unset it:", "unset %s" % WATERMARK_VARIABLE))
        return
    if ratio > 0:
        yield ok("%s=%s: MPS may use %s times the memory Metal recommends" % (WATERMARK_VARIABLE, value, value))
        return
    yield warning(
        "%s=%s switches off MPS's memory limit: a batch too big can freeze the whole Mac" % (WATERMARK_VARIABLE, value),
        # torch's out-of-memory error itself suggests the 0.0 (pytorch#96814, #152351: "Use PYTORCH_MPS_HIGH_
        # WATERMARK_RATIO=0.0 to disable upper limit for memory allocations (may cause system failure)").
        detail="torch's own comment on the setting (ATen/mps/MPSAllocator.h): \"%s\". torch's \"MPS backend out of "
               "memory\" error suggests this value, but a smaller batch is the fix: with the limit on, the lesson "
               "stops with an error instead of the Mac freezing." % TORCH_WATERMARK_WARNING,
        fix=fix("Unset it (and remove it from your shell profile or the kernelspec's env), then pass a smaller batch "
                "if the lesson runs out of memory:", "unset %s" % WATERMARK_VARIABLE),
    )


def shm_workers(usable_cpus: int) -> int:
    return min(MAX_WORKERS, max(usable_cpus, 1))


@check("shared-memory", "/dev/shm holds the batches fastai's DataLoader workers hand over",
       needs=("python",), topic="memory")
def shared_memory(facts):
    python = facts.data("python") or {}
    shm = python.get("shared_memory")
    if (python.get("marker_environment") or {}).get("sys_platform") != "linux":
        # fastai/data/load.py DataLoader: num_workers becomes 0 on macOS (and on Windows in a notebook).
        yield skipped("not Linux: fastai's DataLoader hands batches over without /dev/shm here")
        return
    if shm is None:
        yield info("/dev/shm could not be read: DataLoader workers need it to hand batches over")
        return
    batch = _lesson_batch(facts)
    if batch is None:
        yield skipped("lesson %d loads no image batches dl-doctor has measured" % facts.lesson)
        return
    if isinstance(batch, TrainerBatch):
        yield skipped("lesson %d's Trainer loads its batches in the notebook's own process (dataloader_num_workers=0):"
                      " nothing goes through /dev/shm" % facts.lesson)
        return
    workers = shm_workers(python.get("usable_cpus") or python.get("cpu_count") or 1)
    needed = workers * PREFETCH_FACTOR * batch.worker_batch_bytes()
    free, total = shm["free_bytes"], shm["total_bytes"]
    sizes = "%s free of %s" % (_size(free), _size(total))
    detail = ("fastai starts %d DataLoader workers here (min(16, %d usable CPUs)); each keeps %d batches in flight, "
              "%s each (%d uint8 images of %dx%d, as lesson %d sends them before IntToFloatTensor): %s in /dev/shm."
              % (workers, python.get("usable_cpus") or python.get("cpu_count") or 1, PREFETCH_FACTOR,
                 _size(batch.worker_batch_bytes()), batch.batch_size, batch.item[0], batch.item[1],
                 facts.lesson, _size(needed)))
    if needed <= free:
        yield ok("/dev/shm: %s; lesson %d's %d workers need about %s" % (sizes, facts.lesson, workers,
                                                                        _size(needed)), detail=detail)
        return
    docker = " (Docker's default)" if total <= DOCKER_DEFAULT_SHM else ""
    yield warning(
        "/dev/shm has %s%s but lesson %d's %d DataLoader workers need about %s: "
        "'unable to allocate shared memory'" % (sizes, docker, facts.lesson, workers, _size(needed)),
        detail=detail + " PyTorch's DataLoader then fails with \"RuntimeError: unable to allocate shared memory(shm)"
        " ... No space left on device\" or \"DataLoader worker ... is killed by signal: Bus error\" (pytorch#5040).",
        fix=fix("In a container, start it with more shared memory (or the host's); or load without workers in the "
                "notebook (slower):", "docker run --shm-size=8g ...", "docker run --ipc=host ...",
                ".dataloaders(path, num_workers=0)", choice=True),
        links=("https://github.com/pytorch/pytorch/issues/5040",),
    )


def _size(size: float) -> str:
    return "%d MiB" % round(size / MIB) if size < GIB else _gib(size / MIB)
