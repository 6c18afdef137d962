"""What the benchmark's measurements mean: the time lesson 1 would take here and how much of the device's speed
the training loop uses. Pure functions of the bench probe's answer."""

from typing import Any, Mapping, Optional


def lesson_one_estimate_s(data: Mapping[str, Any]) -> Optional[float]:
    """Seconds lesson 1's fine_tune(3) would take here: about 350 images at 192 px, 4 epochs, from the
    measured fastai throughput scaled by pixels (a convolution's work grows with the image's area)."""
    speed = data.get("speed") or {}
    rate = speed.get("fit_images_per_second") or speed.get("raw_images_per_second")
    if not rate:
        return None
    rate_at_192 = rate * (data["size"] / 192.0) ** 2
    train, valid = 280, 70
    # Validation runs forward only: about a third of a training step's work.
    return 4 * (train + valid / 3.0) / rate_at_192


def efficiency(data: Mapping[str, Any]) -> Optional[float]:
    """The raw loop's training FLOP/s over the device's matmul FLOP/s (training ~ 3x the forward pass)."""
    speed = data.get("speed") or {}
    if not speed.get("matmul_gflops") or not speed.get("raw_images_per_second"):
        return None
    model_flops = speed["raw_images_per_second"] * 3 * speed["forward_flops_per_image"]
    return model_flops / (speed["matmul_gflops"] * 1e9)
