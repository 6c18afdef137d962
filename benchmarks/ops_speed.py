"""Speed of op probing against `import torch`, measured in the same run.

Targets (issue #3): the lesson catalogue on CPU adds <= 1.0 s beyond `import torch` in the probe child;
`--catalog all` on CPU finishes in <= 60 s; a crashing op costs at most one extra child start.

Run: python benchmarks/ops_speed.py [--repeat N]   (--catalog all needs the expecttest package)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

DOCTOR = [sys.executable, "-m", "doctor"]


def timed(command, env=None):
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    return time.perf_counter() - started, completed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat

    floors, lessons = [], []
    for _ in range(repeat):
        floors.append(timed([sys.executable, "-c", "import torch"])[0])
        lessons.append(timed(DOCTOR + ["ops", "--format", "json"])[0])
    floor, lesson = statistics.median(floors), statistics.median(lessons)
    count = len(json.loads(timed(DOCTOR + ["ops", "--format", "json"])[1].stdout)["ops"])

    every_seconds, every = timed(DOCTOR + ["ops", "--catalog", "all", "--format", "json"])
    every_count = len(json.loads(every.stdout)["ops"]) if every.returncode in (0, 1) else None

    crash_env = dict(os.environ, DL_DOCTOR_SIMULATE=json.dumps({"abort": ["aten::bernoulli_"]}))
    calm_env = dict(os.environ, DL_DOCTOR_SIMULATE=json.dumps({}))
    calm_seconds, _ = timed(DOCTOR + ["ops", "--format", "json"], env=calm_env)
    crash_seconds, crashed = timed(DOCTOR + ["ops", "--format", "json"], env=crash_env)
    restarts = json.loads(crashed.stdout)["restarts"]

    print("%d core(s), Python %s, median of %d runs" % (os.cpu_count(), sys.version.split()[0], repeat))
    print("import torch (floor)                 %6.2f s" % floor)
    print("dl-doctor ops (%d lesson ops)        %6.2f s  +%.2f s beyond the floor (<= 1.0 s, doctor start-up "
          "included)" % (count, lesson, lesson - floor))
    if every_count is None:
        print("dl-doctor ops --catalog all          not run: %s" % every.stderr.strip())
    else:
        print("dl-doctor ops --catalog all (%d ops) %6.2f s  (<= 60 s)" % (every_count, every_seconds))
    print("one op aborting the child            %6.2f s  vs %.2f s without: %d extra child start(s) (<= 1)"
          % (crash_seconds, calm_seconds, restarts))
    met = lesson - floor <= 1.0 and (every_count is None or every_seconds <= 60) and restarts <= 1
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
