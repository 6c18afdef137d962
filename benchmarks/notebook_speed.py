"""%doctor's speed inside a real kernel against `dl-doctor check` from a terminal, measured in one run.

Targets (issue #5): `%doctor --quick` returns in under 1 s; the full `%doctor` costs no more than
`dl-doctor check` from a terminal.

Run: python benchmarks/notebook_speed.py [--repeat N]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import nbformat
from nbclient import NotebookClient

TIMED = ("import json, time\n"
         "started = time.perf_counter()\n"
         "get_ipython().run_line_magic('doctor', %r)\n"
         "print(json.dumps(time.perf_counter() - started))")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    cells = ["%load_ext doctor"] + [TIMED % options for options in ["--quick", ""] * repeat]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=900, kernel_name="python3").execute()
    seconds = [json.loads(next(o["text"] for o in cell.outputs if o.get("output_type") == "stream").split()[-1])
               for cell in notebook.cells[1:]]
    quick, full = statistics.median(seconds[0::2]), statistics.median(seconds[1::2])
    terminal = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "doctor", "check"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        terminal.append(time.perf_counter() - started)
    check = statistics.median(terminal)
    print("median of %d runs, Python %s" % (repeat, sys.version.split()[0]))
    print("%%doctor --quick in a kernel   %6.2f s  (< 1 s)" % quick)
    print("%%doctor in a kernel           %6.2f s" % full)
    print("dl-doctor check in a terminal %6.2f s  (%%doctor / check = %.2f, <= 1)" % (check, full / check))
    met = quick < 1.0 and full <= check
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
