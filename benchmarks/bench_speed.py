"""The benchmark fine-tune's own speed targets, measured in one run.

Targets (issue #4): default `dl-doctor bench` <= 60 s wall end to end on a 2-core CPU, imports included;
fastai fit images/s >= 0.85x the raw PyTorch loop's (same model, batch, size; the report says why when
not); the raw loop's efficiency against matmul throughput, also at 224 px (about 60% expected here).

Run: python benchmarks/bench_speed.py
"""

import json
import os
import subprocess
import sys
import time


def bench(*arguments):
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "doctor", "bench", "--format", "json", *arguments],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
    report = json.loads(completed.stdout)
    data = report["facts"]["probes"]["bench"]["data"]
    findings = {finding["id"]: finding for finding in report["findings"]}
    return time.perf_counter() - started, data, findings


def efficiency(speed):
    return speed["raw_images_per_second"] * 3 * speed["forward_flops_per_image"] / (speed["matmul_gflops"] * 1e9)


def main():
    wall, data, findings = bench()
    speed = data["speed"]
    ratio = speed["fit_images_per_second"] / speed["raw_images_per_second"]
    print("%d core(s), Python %s, device %s" % (os.cpu_count(), sys.version.split()[0], data["device"]))
    print("dl-doctor bench (default: %d px, %d epochs) %6.1f s wall  (<= 60 s)" % (data["size"], data["epochs"], wall))
    print("  data pipeline                 %7.0f images/s" % speed["data_images_per_second"])
    print("  raw PyTorch step              %7.0f images/s" % speed["raw_images_per_second"])
    print("  fastai fit                    %7.0f images/s = %.2fx raw  (>= 0.85x)" % (speed["fit_images_per_second"],
                                                                                    ratio))
    print("  matmul                        %7.0f GFLOP/s; raw loop efficiency %.0f%%" % (speed["matmul_gflops"],
                                                                                      100 * efficiency(speed)))
    print("  verdicts: %s" % ", ".join("%s %s" % (key, finding["status"]) for key, finding in sorted(findings.items())))
    if ratio < 0.85:
        reason = [line for line in findings["bench-speed"]["detail"].splitlines() if "below" in line]
        print("  why fastai is below 0.85x: %s" % (reason[0] if reason else "not stated"))
    large_wall, large, _ = bench("--size", "224", "--epochs", "1", "--budget", "400")
    print("dl-doctor bench --size 224 --epochs 1      %6.1f s wall; raw %.1f images/s, fastai %.1f images/s, "
          "raw loop efficiency %.0f%%" % (large_wall, large["speed"]["raw_images_per_second"],
                                           large["speed"]["fit_images_per_second"], 100 * efficiency(large["speed"])))
    met = wall <= 60
    print("wall-time target met" if met else "WALL-TIME TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
