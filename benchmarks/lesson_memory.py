"""Memory one training step of each lesson's default batch takes: the figures behind LESSON_BATCHES in
checks/memory.py (its ``fixed_mib`` and ``batch_mib``).

No GPU is needed: the step runs on the CPU under torch's MemTracker (torch/distributed/_tools/mem_tracker.py), which
follows every tensor storage by kind (parameters, gradients, optimizer state, activations, temporaries) and keeps
the peak. The model is the lesson's (fastai's create_vision_model / create_timm_model, untrained weights: the same
shapes), the optimizer Adam with fastai's in-place zero_grad (gradients stay allocated), the batch the lesson's size.
A lesson trained with ``.to_fp16()`` runs under bfloat16 autocast here, which stores the same 2-byte activations as
float16 autocast on CUDA. What CUDA adds on a GPU (context, cuDNN and cuBLAS workspaces) is CUDA_ALLOWANCE_MIB in
checks/memory.py, not measured here.

Lesson 4 trains under Hugging Face's Trainer: DebertaV2ForSequenceClassification built from deberta-v3-small's
config (untrained: no weights are downloaded), AdamW as the Trainer's default optimizer, a batch of token ids padded
to ``sequence_length`` (the Trainer's DataCollatorWithPadding pads to the longest row of each batch), the Trainer's
``fp16=True`` as bfloat16 autocast. It runs where transformers is importable and is left out, with a note, elsewhere;
transformers need not be in the course environment:

    pip install --target /tmp/nlplib transformers
    PYTHONPATH=/tmp/nlplib python benchmarks/lesson_memory.py 4

Run: python benchmarks/lesson_memory.py [LESSON ...]   (lessons 6 and 7 need timm, lesson 4 transformers)
"""

import argparse
import contextlib
import importlib.util

import torch
from torch.distributed._tools.mem_tracker import MemTracker

from doctor.checks.memory import LESSON_BATCHES, TrainerBatch

MIB = 2 ** 20


def lesson_model(batch):
    from fastai.vision.all import create_timm_model, create_vision_model
    import torchvision
    if hasattr(torchvision.models, batch.model):
        return create_vision_model(getattr(torchvision.models, batch.model), batch.classes, pretrained=False)
    return create_timm_model(batch.model, batch.classes, pretrained=False)[0]


def vision_step(batch):
    """The model, optimizer and one training step of a fastai vision lesson, as Learner.fit runs it."""
    model = lesson_model(batch).train()
    optimizer = torch.optim.Adam(model.parameters())
    images = torch.randn(batch.batch_size, 3, *batch.image)
    labels = torch.randint(0, batch.classes, (batch.batch_size,))

    def step():
        with _precision(batch):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)

    return step, (model, optimizer, images, labels)


# microsoft/deberta-v3-small: its model card gives 6 layers, hidden size 768 and the 128k vocabulary; the rest is the
# config.json of fine-tunes whose _name_or_path is microsoft/deberta-v3-small (huggingface.co/habedi/
# deberta-v3-small-kaggle-mlm), as deberta-v3-base's own config.json has it bar the 12 layers.
DEBERTA_V3_SMALL = dict(
    vocab_size=128100, hidden_size=768, num_hidden_layers=6, num_attention_heads=12, intermediate_size=3072,
    hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512,
    type_vocab_size=0, layer_norm_eps=1e-7, relative_attention=True, max_relative_positions=-1, position_buckets=256,
    norm_rel_ebd="layer_norm", share_att_key=True, pos_att_type=["p2c", "c2p"], position_biased_input=False,
    pooler_hidden_size=768, pooler_dropout=0, pooler_hidden_act="gelu", pad_token_id=0,
)


def trainer_step(batch):
    """The model, optimizer and one training step as lesson 4's Trainer runs it: num_labels=1 makes the model a
    regression (MSE loss on a float label), AdamW with the notebook's weight_decay=0.01. The Trainer's
    model.zero_grad() frees the gradients under torch 2 (set_to_none) and zeroes them in place under torch 1, the
    notebook's; they are kept here, so that fixed_mib holds them for the small batches a fix suggests (at bs=128
    the figure is then their 541 MiB above torch 2's peak)."""
    from transformers import DebertaV2Config, DebertaV2ForSequenceClassification
    model = DebertaV2ForSequenceClassification(DebertaV2Config(num_labels=1, **DEBERTA_V3_SMALL)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=8e-5, weight_decay=0.01)
    tokens = torch.randint(1, DEBERTA_V3_SMALL["vocab_size"], (batch.batch_size, batch.sequence_length))
    attention = torch.ones_like(tokens)
    labels = torch.rand(batch.batch_size)

    def step():
        with _precision(batch):
            loss = model(input_ids=tokens, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        model.zero_grad(set_to_none=False)

    return step, (model, optimizer, tokens, attention, labels)


def _precision(batch):
    return torch.autocast("cpu", dtype=torch.bfloat16) if batch.mixed_precision else contextlib.nullcontext()


def measure(batch):
    """Peak bytes of one training step by kind, with the optimizer state already made (as from the second step)."""
    step, tensors = trainer_step(batch) if isinstance(batch, TrainerBatch) else vision_step(batch)
    step()
    tracker = MemTracker()
    tracker.track_external(*tensors)
    with tracker:
        step()
    peak = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]
    return {str(kind).rsplit(".", 1)[-1]: value for kind, value in peak.items()}


def _shape(batch):
    if isinstance(batch, TrainerBatch):
        return "%d tokens" % batch.sequence_length
    return "%dx%d" % batch.image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", type=int, default=sorted(LESSON_BATCHES))
    torch.manual_seed(0)
    for lesson in parser.parse_args().lessons:
        batch = LESSON_BATCHES[lesson]
        if isinstance(batch, TrainerBatch) and importlib.util.find_spec("transformers") is None:
            print("lesson %d left out: transformers is not importable (see this script's docstring)" % lesson)
            continue
        peak = measure(batch)
        fixed = peak["PARAM"] + peak["BUFFER"] + peak["GRAD"] + peak["OPT"]
        print("lesson %d %s bs=%d %s%s: fixed_mib=%d batch_mib=%d (peak %d MiB: %s)" % (
            lesson, batch.model, batch.batch_size, _shape(batch),
            " fp16" if batch.mixed_precision else "", round(fixed / MIB), round((peak["Total"] - fixed) / MIB),
            round(peak["Total"] / MIB),
            ", ".join("%s %d" % (kind.lower(), round(value / MIB)) for kind, value in peak.items() if kind != "Total")))

if __name__ == "__main__":
    main()
