"""`dl-doctor dist`'s speed target, measured in one run.

Target (issue #7): `dl-doctor dist` with 2 gloo workers, the fastai run included, <= 30 s wall on a 2-core CPU.
The floor it is compared with, measured here in the same run: one interpreter importing torch, then fastai's
distributed module with accelerate (every worker pays that once, side by side with the others). Prints the
all_reduce bandwidth table the run measured.

Run: python benchmarks/dist_speed.py
"""

import json
import os
import subprocess
import sys
import time

TARGET_S = 30.0
IMPORTS = "import torch, torch.distributed, accelerate, fastai.distributed"


def seconds_of(command):
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, completed


def main():
    floor, _ = seconds_of([sys.executable, "-c", IMPORTS])
    wall, completed = seconds_of([sys.executable, "-m", "doctor", "dist", "--backend", "gloo", "--nproc", "2",
                                  "--format", "json"])
    report = json.loads(completed.stdout)
    data = report["facts"]["probes"]["dist"]["data"]
    findings = {finding["id"]: finding for finding in report["findings"]}
    fastai = data["results"]["fastai"]["0"]
    print("%d core(s), Python %s" % (os.cpu_count(), sys.version.split()[0]))
    print("floor: one interpreter importing torch, accelerate and fastai.distributed  %5.1f s" % floor)
    print("dl-doctor dist --backend gloo --nproc 2 (fastai included)                 %5.1f s wall = %.1fx the floor"
          "  (<= %g s)" % (wall, wall / floor, TARGET_S))
    print("  of which the workers: %.1f s; fastai in rank 0: import %.1f s, data-parallel fit %.1f s"
          % (data["wall_s"], fastai["import_seconds"], fastai["fit_seconds"]))
    print("  verdicts: %s" % ", ".join("%s %s" % (key, finding["status"]) for key, finding in sorted(findings.items())))
    print()
    print("%-8s %6s %12s %13s %13s" % ("size", "calls", "time (µs)", "algbw (GB/s)", "busbw (GB/s)"))
    for row in data["results"]["bandwidth"]["0"]["rows"]:
        size = row["bytes"]
        label = "%d MiB" % (size >> 20) if size >= 1 << 20 else "%d KiB" % (size >> 10)
        print("%-8s %6d %12.1f %13.3f %13.3f" % (label, row["calls"], row["time_us"], row["algbw_gbps"],
                                                  row["busbw_gbps"]))
    met = wall <= TARGET_S
    print("wall-time target met" if met else "WALL-TIME TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
