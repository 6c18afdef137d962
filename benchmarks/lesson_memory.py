"""Memory one training step of each lesson's default batch takes: the figures behind LESSON_BATCHES in
checks/memory.py (its ``fixed_mib`` and ``batch_mib``).

No GPU is needed: the step runs on the CPU under torch's MemTracker (torch/distributed/_tools/mem_tracker.py), which
follows every tensor storage by kind (parameters, gradients, optimizer state, activations, temporaries) and keeps
the peak. The model is the lesson's (fastai's create_vision_model / create_timm_model, untrained weights: the same
shapes), the optimizer Adam with fastai's in-place zero_grad (gradients stay allocated), the batch the lesson's size.
A lesson trained with ``.to_fp16()`` runs under bfloat16 autocast here, which stores the same 2-byte activations as
float16 autocast on CUDA. What CUDA adds on a GPU (context, cuDNN and cuBLAS workspaces) is CUDA_ALLOWANCE_MIB in
checks/memory.py, not measured here.

Run: python benchmarks/lesson_memory.py [LESSON ...]   (lessons 6 and 7 need timm)
"""

import argparse
import contextlib

import torch
from torch.distributed._tools.mem_tracker import MemTracker

from doctor.checks.memory import LESSON_BATCHES

MIB = 2 ** 20


def lesson_model(batch):
    from fastai.vision.all import create_timm_model, create_vision_model
    import torchvision
    if hasattr(torchvision.models, batch.model):
        return create_vision_model(getattr(torchvision.models, batch.model), batch.classes, pretrained=False)
    return create_timm_model(batch.model, batch.classes, pretrained=False)[0]


def measure(batch):
    """Peak bytes of one training step by kind, with the optimizer state already made (as from the second step)."""
    model = lesson_model(batch).train()
    optimizer = torch.optim.Adam(model.parameters())
    images = torch.randn(batch.batch_size, 3, *batch.image)
    labels = torch.randint(0, batch.classes, (batch.batch_size,))
    precision = (torch.autocast("cpu", dtype=torch.bfloat16) if batch.mixed_precision
                 else contextlib.nullcontext())

    def step():
        with precision:
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    step()
    tracker = MemTracker()
    tracker.track_external(model, optimizer, images, labels)
    with tracker:
        step()
    peak = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]
    return {str(kind).rsplit(".", 1)[-1]: value for kind, value in peak.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=int, default=sorted(LESSON_BATCHES))
    torch.manual_seed(0)
    for lesson in parser.parse_args().lessons:
        batch = LESSON_BATCHES[lesson]
        peak = measure(batch)
        fixed = peak["PARAM"] + peak["BUFFER"] + peak["GRAD"] + peak["OPT"]
        print("lesson %d %s bs=%d %dx%d%s: fixed_mib=%d batch_mib=%d (peak %d MiB: %s)" % (
            lesson, batch.model, batch.batch_size, batch.image[0], batch.image[1],
            " fp16" if batch.mixed_precision else "", round(fixed / MIB), round((peak["Total"] - fixed) / MIB),
            round(peak["Total"] / MIB),
            ", ".join("%s %d" % (kind.lower(), round(value / MIB)) for kind, value in peak.items() if kind != "Total")))


if __name__ == "__main__":
    main()
