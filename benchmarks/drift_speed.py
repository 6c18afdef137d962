"""What the lesson API drift lookup adds to `dl-doctor check --lesson N`, against the floor of importing the
same libraries in the same run.

Target (issue #12): the drift probe adds <= 0.3 s to `check --lesson 4` beyond importing transformers.
The lookup runs in the imports probe's child, after the lesson's statements, so a full check imports each
library once; this script measures the lookup on its own:
  - floor: a plain `python -c` that imports each module the lesson's calls name and resolves each name
    (`from transformers import TrainingArguments, Trainer`, as the notebook does);
  - drift: the imports probe (prelude, runner, answer channel) with no statements and the lesson's calls,
    which imports the same modules, resolves the same names and reads their signatures;
  - in-child: the probe's own time for the lookup when the libraries are already imported (the full-check
    case, where the lesson's statements came first).
Libraries that are not installed are left out of both (say which with the printed list).

Run: python benchmarks/drift_speed.py [--lesson 4] [--repeat 5]
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time

from doctor.collect import probe_arguments
from doctor.lessons import LESSONS
from doctor.probes import ProbeSpec, builtin_probes
from doctor.probes.runner import run_probes

BUDGET_S = 0.3


def floor_program(calls):
    lines = []
    for call in calls:
        lines.append("import importlib; _m = importlib.import_module(%r)" % call["module"])
        lines.append("_o = _m\nfor _p in %r.split('.'):\n    _o = getattr(_o, _p, None)" % call["target"])
    return "\n".join(lines)


def floor_seconds(calls):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", floor_program(calls)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def drift_seconds(spec, calls):
    arguments = {"imports": {"statements": [], "calls": calls}}
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    started = time.perf_counter()
    outcome = run_probes([spec], sys.executable, os.getcwd(), environment, arguments)["imports"]
    if not outcome.ok:
        raise SystemExit("the imports probe failed: %s\n%s" % (outcome.reason, outcome.stderr_tail))
    return time.perf_counter() - started


def in_child_seconds(calls):
    """The lookup alone, once the libraries are imported: the probe body run twice in one child."""
    spec = next(s for s in builtin_probes() if s.name == "imports")
    body = ("def collect(arguments):\n"
            "    _drift_check_calls(arguments['calls'])\n"
            "    started = time.time()\n"
            "    _drift_check_calls(arguments['calls'])\n"
            "    return {'seconds': time.time() - started}\n")
    # The imports program with its collect replaced (a later def wins), run the same way.
    source = spec.program.rsplit("_doctor_run(collect)", 1)[0]
    probe = ProbeSpec("drift-twice", source + "\n" + body + "\n_doctor_run(collect)\n", 300.0, False, "")
    outcome = run_probes([probe], sys.executable, os.getcwd(), dict(os.environ), {"drift-twice": {"calls": calls}},
                         [])["drift-twice"]
    if not outcome.ok:
        raise SystemExit("the in-child run failed: %s\n%s" % (outcome.reason, outcome.stderr_tail))
    return outcome.data["seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    calls = probe_arguments(options.lesson)["imports"]["calls"]
    installed = [c for c in calls if importlib.util.find_spec(c["module"].split(".")[0]) is not None]
    left_out = sorted({c["module"] for c in calls} - {c["module"] for c in installed})
    print("lesson %d (%s): %d calls, %d on installed libraries; not installed: %s" % (
        options.lesson, LESSONS[options.lesson].title, len(calls), len(installed), ", ".join(left_out) or "none"))
    if not installed:
        raise SystemExit("nothing to measure: install the lesson's libraries (lesson 4: transformers, datasets)")
    spec = next(s for s in builtin_probes() if s.name == "imports")
    floors, drifts = [], []
    for _ in range(options.repeat):  # interleaved, so drift in the machine's load hits both alike
        floors.append(floor_seconds(installed))
        drifts.append(drift_seconds(spec, installed))
    floor, drift = statistics.median(floors), statistics.median(drifts)
    added = drift - floor
    print("floor (import + resolve, python -c):   %.3f s (median of %d)" % (floor, options.repeat))
    print("drift probe (same imports + lookup):   %.3f s" % drift)
    print("added beyond importing the libraries:  %+.3f s  (budget %.1f s: %s)" % (
        added, BUDGET_S, "met" if added <= BUDGET_S else "NOT met"))
    print("lookup alone, libraries imported:      %.4f s (the full check's case: one child, imports shared)"
          % in_child_seconds(installed))


if __name__ == "__main__":
    main()
