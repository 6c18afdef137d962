"""Speed of `dl-doctor matrix` over 200 reports, against floors measured in the same run.

Target (issue #6): `dl-doctor matrix` over 200 reports <= 1 s on this machine. The floors: starting the
doctor at all (`dl-doctor --version`) and parsing the same 200 files with json.load in a fresh Python,
the least any reader of them must do.

The 200 reports are one real `dl-doctor check --format json` report (full: with the ops it probed),
copied under 200 labels with findings and ops varied so that rows differ between legs.

Run: python benchmarks/matrix_speed.py [--reports N] [--repeat N]
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

PARSE_ONLY = "import json, sys\nfor path in sys.argv[1:]:\n    json.load(open(path))"


def wall(command, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        completed = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        if completed.returncode not in (0, 1):
            raise SystemExit("%s failed: %s" % (command[:4], completed.stderr.decode()[-500:]))
    return statistics.median(times)


def write_reports(folder, count):
    source = os.path.join(folder, "source.json")
    subprocess.run([sys.executable, "-m", "doctor", "check", "--format", "json", "--output", source],
                   stdout=subprocess.DEVNULL, check=False)
    with open(source) as handle:
        report = json.load(handle)
    generator = random.Random(0)
    paths = []
    for index in range(count):
        leg = json.loads(json.dumps(report))
        leg["label"] = "leg %03d %s py3.%d" % (index, generator.choice(["Linux", "macOS", "Windows"]),
                                                 generator.choice([9, 10, 11, 12]))
        for finding in leg["findings"]:
            if generator.random() < 0.05:
                finding["status"] = generator.choice(["error", "warning"])
        for record in ((leg["facts"]["probes"].get("ops") or {}).get("data") or {}).get("ops", []):
            if generator.random() < 0.05:
                record["class"] = generator.choice(["unsupported", "fallback", "crashed"])
        path = os.path.join(folder, "leg-%03d.json" % index)
        with open(path, "w") as handle:
            json.dump(leg, handle)
        paths.append(path)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    arguments = parser.parse_args()
    doctor = [sys.executable, "-m", "doctor"]
    with tempfile.TemporaryDirectory() as folder:
        paths = write_reports(folder, arguments.reports)
        megabytes = sum(os.path.getsize(path) for path in paths) / 1e6
        startup = wall(doctor + ["--version"], arguments.repeat)
        parse = wall([sys.executable, "-c", PARSE_ONLY] + paths, arguments.repeat)
        rows = [("dl-doctor --version (floor)", startup), ("json.load of every report (floor)", parse)]
        for fmt in ("markdown", "html", "json"):
            output = os.path.join(folder, "matrix." + fmt)
            rows.append(("dl-doctor matrix --format %s" % fmt,
                         wall(doctor + ["matrix", "--format", fmt, "--output", output] + paths, arguments.repeat)))
    print("%d reports (%.0f MB), %d core(s), Python %s, median of %d runs"
          % (arguments.reports, megabytes, os.cpu_count(), sys.version.split()[0], arguments.repeat))
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print("%-*s  %6.2f s  %5.2fx json.load" % (width, name, seconds, seconds / parse))
    slowest = max(seconds for name, seconds in rows if name.startswith("dl-doctor matrix"))
    print("slowest matrix %.2f s: %s" % (slowest, "target met (<= 1 s)" if slowest <= 1.0 else "TARGET MISSED (> 1 s)"))
    return 0 if slowest <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
