"""Speed and memory of `dl-doctor check` against floors measured in the same run.

Targets (issue #2, tightened by #11):
  - `dl-doctor check` wall <= 1.1x `python -c "from fastai.vision.all import *"` (the floor: the check
    has to do that import once; everything else must hide beside it);
  - `dl-doctor check --quick` <= 0.5 s, and no slower than `pip check`;
  - the doctor's own process < 60 MB peak RSS; no probe child > 1.1x the fastai import's peak RSS.

Run: python benchmarks/check_speed.py [--repeat N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

from timing import walls

FASTAI_IMPORT = "from fastai.vision.all import *"
PEAK_RSS = "import resource, sys; sys.stderr.write('PEAK %d' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def fastai_import_peak_kb():
    completed = subprocess.run([sys.executable, "-c", FASTAI_IMPORT + "\n" + PEAK_RSS],
                               capture_output=True, text=True)
    return int(completed.stderr.rsplit("PEAK ", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    doctor = [sys.executable, "-m", "doctor", "check"]

    walls([doctor], 1)  # warm the file cache once for everyone
    floor, full = walls([[sys.executable, "-c", FASTAI_IMPORT], doctor], repeat)
    quick, pip_check = walls([doctor + ["--quick"], [sys.executable, "-m", "pip", "check"]], repeat * 2)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "report.json")
        subprocess.run(doctor + ["--format", "json", "--output", path], stdout=subprocess.DEVNULL)
        with open(path) as handle:
            timings = json.load(handle)["timings"]
    own_mb = timings["doctor_peak_rss_kb"] / 1024
    probe_peaks = {name: kb for name, kb in timings["probe_peak_rss_kb"].items() if kb}
    fastai_peak = fastai_import_peak_kb()
    worst_probe = max(probe_peaks, key=probe_peaks.get)

    rows = [
        ("fastai import (floor)", "%.2f s" % floor, "", ""),
        ("dl-doctor check", "%.2f s" % full, "%.2fx floor" % (full / floor), "<= 1.1x"),
        ("pip check", "%.2f s" % pip_check, "", ""),
        ("dl-doctor check --quick", "%.2f s" % quick, "%.2fx pip check" % (quick / pip_check), "<= 0.5 s, <= 1x"),
        ("doctor process peak RSS", "%.1f MB" % own_mb, "", "< 60 MB"),
        ("fastai import peak RSS", "%.0f MB" % (fastai_peak / 1024), "", ""),
        ("largest probe peak RSS (%s)" % worst_probe, "%.0f MB" % (probe_peaks[worst_probe] / 1024),
         "%.2fx fastai import" % (probe_peaks[worst_probe] / fastai_peak), "<= 1.1x"),
    ]
    width = max(len(row[0]) for row in rows)
    print("%d core(s), Python %s, median of %d runs" % (os.cpu_count(), sys.version.split()[0], repeat))
    for name, figure, ratio, target in rows:
        print("%-*s  %9s  %-22s %s" % (width, name, figure, ratio, target))
    met = (full / floor <= 1.1 and quick <= 0.5 and quick <= pip_check and own_mb < 60
           and probe_peaks[worst_probe] <= 1.1 * fastai_peak)
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
