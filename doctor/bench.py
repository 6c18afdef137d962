"""The benchmark fine-tune: lesson 1's path end to end on the learner's device, in one child process.

The engine owns the data: a private temporary folder (synthetic images, or the learner's ``--data``
checked here first) that is deleted when the run ends, fails or is interrupted. The child measures; the
``bench-*`` checks judge (checks/bench.py).
"""

import os
import shutil
import tempfile
from typing import Any, Callable, Dict, Mapping, Optional

from doctor.outcome import ProbeOutcome
from doctor.probes import bench_probe
from doctor.probes.runner import run_probe
from doctor.requests import BenchRequest

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MINIMUM_BUDGET_S = 15.0
# Importing fastai and torch in the child comes on top of the budget for the work itself.
IMPORT_ALLOWANCE_S = 180.0


class BenchInputError(ValueError):
    """A --data folder or an option the benchmark cannot work with: one line for the learner."""


def check_request(request: BenchRequest) -> None:
    if request.size < 32:
        raise BenchInputError("--size %d is too small for resnet18: use 32 or more" % request.size)
    if request.epochs < 1:
        raise BenchInputError("--epochs must be at least 1")
    if request.batch < 2:
        raise BenchInputError("--batch must be at least 2 (batch norm needs two images)")
    if request.budget_s < MINIMUM_BUDGET_S:
        raise BenchInputError("--budget %g s is too small: the benchmark needs at least %g s beyond its imports"
                              % (request.budget_s, MINIMUM_BUDGET_S))
    if request.data is not None:
        check_data_folder(request.data)


def check_data_folder(path: str) -> Dict[str, int]:
    """A folder with one sub-folder of images per class, at least two classes: {class: image count}."""
    if not os.path.exists(path):
        raise BenchInputError("--data %s: no such folder" % path)
    if not os.path.isdir(path):
        raise BenchInputError("--data %s: not a folder (it needs one sub-folder of images per class)" % path)
    counts = {}
    for entry in sorted(os.listdir(path)):
        folder = os.path.join(path, entry)
        if os.path.isdir(folder):
            images = [name for name in os.listdir(folder) if name.lower().endswith(IMAGE_SUFFIXES)]
            if images:
                counts[entry] = len(images)
    if not counts:
        raise BenchInputError("--data %s: no class sub-folders with images (%s)" % (path, ", ".join(IMAGE_SUFFIXES)))
    if len(counts) < 2:
        raise BenchInputError("--data %s: only one class (%s); a classifier needs at least two" % (path, *counts))
    if sum(counts.values()) < 4:
        raise BenchInputError("--data %s: %d images are too few to split into training and validation"
                              % (path, sum(counts.values())))
    return counts


def run_bench(
    python: str,
    cwd: str,
    env: Mapping[str, str],
    request: BenchRequest,
    on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> ProbeOutcome:
    folder = tempfile.mkdtemp(prefix="dl-doctor-bench-")
    try:
        arguments = {"folder": folder, "size": request.size, "epochs": request.epochs, "batch": request.batch,
                     "per_class": request.per_class, "budget_s": request.budget_s, "device": request.device,
                     "data": os.path.abspath(request.data) if request.data else None}
        spec = bench_probe(request.budget_s + IMPORT_ALLOWANCE_S)
        return run_probe(spec, python, cwd, env, arguments, on_progress=on_progress)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
