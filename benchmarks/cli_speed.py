"""Start-up of the `dl-doctor` command line against a floor measured in the same run.

The parser is built from light modules only and a command's module is imported when the command runs
(issue #13), so `dl-doctor --version` should cost little more than starting Python:
  - `python -m doctor --version` wall, against `python -c pass` (the floor);
  - the number of doctor modules it loads, and `import doctor.cli`'s cumulative import time.

Run: python benchmarks/cli_speed.py [--repeat N]
"""

import argparse
import re
import subprocess
import sys

from timing import walls

VERSION = [sys.executable, "-m", "doctor", "--version"]
LOADED = ("import runpy, sys; sys.argv = ['dl-doctor', '--version']\n"
          "try:\n    runpy.run_module('doctor', run_name='__main__')\nexcept SystemExit:\n    pass\n"
          "sys.stderr.write('LOADED %d' % len([m for m in sys.modules if m == 'doctor' or m.startswith('doctor.')]))")


def doctor_modules_loaded():
    completed = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True)
    return int(completed.stderr.rsplit("LOADED ", 1)[1])


def cli_import_us():
    """``import doctor.cli``'s cumulative time in microseconds, as ``python -X importtime`` reports it."""
    completed = subprocess.run([sys.executable, "-X", "importtime", "-c", "import doctor.cli"],
                               capture_output=True, text=True)
    found = re.search(r"\|\s*(\d+)\s*\|\s*doctor\.cli\s*$", completed.stderr, re.MULTILINE)
    return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    repeat = parser.parse_args().repeat

    walls([VERSION], 1)  # warm the file cache
    floor, version = walls([[sys.executable, "-c", "pass"], VERSION], repeat)
    imported = sorted(cli_import_us() for _ in range(5))[2]
    rows = [
        ("python -c pass (floor)", "%.3f s" % floor, ""),
        ("dl-doctor --version", "%.3f s" % version, "%.2fx floor, +%.3f s" % (version / floor, version - floor)),
        ("import doctor.cli (cumulative)", "%.3f s" % (imported / 1e6), ""),
        ("doctor modules loaded by --version", "%d" % doctor_modules_loaded(), ""),
    ]
    width = max(len(row[0]) for row in rows)
    for name, figure, ratio in rows:
        print("%-*s  %9s  %s" % (width, name, figure, ratio))


if __name__ == "__main__":
    main()
