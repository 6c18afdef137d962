"""Speed of `dl-doctor learner` against a floor measured in the same run.

Targets (issue #12):
  - `dl-doctor learner export.pkl` on a resnet export (resnet34, random weights) <= 1.2x the wall time of
    `python -c "from fastai.vision.all import *"` (resolving the names imports the libraries the export names);
  - reading the pickle itself (doctor.learner_export.read_export, in this process) < 0.2 s.

The export is made here with the installed fastai: torchvision's resnet34 with weights=None (nothing is
downloaded), on a tiny synthetic image folder in a temporary directory.

Run: python benchmarks/learner_speed.py [--repeat N]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

from timing import walls

FASTAI_IMPORT = "from fastai.vision.all import *"
MAKE_EXPORT = textwrap.dedent("""
    import sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    from fastai.vision.all import *
    import numpy as np
    from PIL import Image
    from torchvision.models import resnet34
    root = Path(sys.argv[1])
    for i in range(8):
        Image.fromarray((np.random.rand(32, 32, 3) * 255).astype("uint8")).save(root / ("%s_%d.png" % (
            "cat" if i % 2 else "dog", i)))
    def is_cat(name): return name.startswith("cat")
    dls = ImageDataLoaders.from_name_func(root, get_image_files(root), valid_pct=0.25, seed=0, label_func=is_cat,
                                          item_tfms=Resize(32), bs=2, num_workers=0)
    # pretrained=False: fastai calls resnet34(weights=None) (fastai/vision/learner.py create_vision_model).
    learn = vision_learner(dls, resnet34, pretrained=False, metrics=error_rate)
    learn.export(root / "export.pkl")
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    from doctor.learner_export import read_export

    with tempfile.TemporaryDirectory(prefix="dl-doctor-learner-bench-") as folder:
        subprocess.run([sys.executable, "-c", MAKE_EXPORT, folder], check=True, stdin=subprocess.DEVNULL)
        export = os.path.join(folder, "export.pkl")
        size_mb = os.path.getsize(export) / 2 ** 20
        reads = []
        for _ in range(5):
            started = time.perf_counter()
            contents = read_export(export)
            reads.append(time.perf_counter() - started)
        floor, learner = walls([[sys.executable, "-c", FASTAI_IMPORT],
                                [sys.executable, "-m", "doctor", "learner", export, "--format", "json"]],
                               arguments.repeat)
    read_s = statistics.median(reads)
    print("export: resnet34 (random weights), %.1f MB, pickle %d kB, %d opcodes, %d globals"
          % (size_mb, contents.pickle_bytes // 1024, contents.opcodes, len(contents.references)))
    print("read the pickle (in process, median of 5): %.3f s   target < 0.2 s   %s"
          % (read_s, "ok" if read_s < 0.2 else "SLOW"))
    print("floor `python -c \"%s\"`: %.2f s (median of %d)" % (FASTAI_IMPORT, floor, arguments.repeat))
    print("dl-doctor learner: %.2f s   ratio %.2fx   target <= 1.2x   %s"
          % (learner, learner / floor, "ok" if learner <= 1.2 * floor else "SLOW"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
