"""What resolver-aware fixes cost: the dependents index built with the facts, and constraining the install
commands that the checks print, on an environment of 250 distributions (issue #11: <= 50 ms added).

The environment is this interpreter's own (read by the real packages probe), padded with synthetic
distributions that require the real ones, and broken in three places so that the checks print pins.

Run: python benchmarks/resolver_speed.py [--repeat N]
"""

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from doctor.collect import Target, collect_facts  # noqa: E402
from doctor.engine import run_checks  # noqa: E402
from doctor.facts import RequirementGraph, assemble_facts, derive  # noqa: E402
from doctor.registry import registered_checks  # noqa: E402
from doctor.requirements import constrain  # noqa: E402

TARGET_DISTRIBUTIONS = 250
BUDGET_MS = 50.0


def padded_facts():
    facts = collect_facts(Target(), 1, quick=True)
    packages = dict(facts.data("packages"))
    real = list(packages["distributions"])
    names = [d["name"] for d in real]
    padding = [{"name": "synthetic-%03d" % index, "version": "1.0",
                "requires": ["%s>=0.1" % names[index % len(names)], "%s<99" % names[(index * 7) % len(names)]],
                "requires_python": None, "location": "", "editable": False, "top_level": []}
               for index in range(max(0, TARGET_DISTRIBUTIONS - len(real)))]
    # Three broken requirements, so that package-requirements constrains pins.
    padding += [{"name": "broken-%d" % index, "version": "1.0", "requires": ["%s>=999" % names[index]],
                 "requires_python": None, "location": "", "editable": False, "top_level": []} for index in range(3)]
    packages["distributions"] = real + padding
    probes = dict(facts.probes)
    probes["packages"] = replace(probes["packages"], data=packages)
    return assemble_facts(facts.python, facts.cwd, True, 1, probes), probes


def median_ms(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    repeat = parser.parse_args().repeat
    facts, probes = padded_facts()
    specs = registered_checks()
    findings, _ = run_checks(specs, facts)
    printed = [c for f in findings if f.fix for c in f.fix.commands if " -m pip install " in c]
    install_words = [command.split(" -m pip install ", 1)[1].split() for command in printed] or [["torch"]]

    derive_ms = median_ms(lambda: derive(probes), repeat)
    constrain_ms = median_ms(lambda: [constrain(facts, words) for words in install_words], repeat)
    checks_ms = median_ms(lambda: run_checks(specs, facts), repeat)
    markers = facts.data("python").get("marker_environment")
    index_ms = median_ms(lambda: RequirementGraph(facts.derived.distributions, markers).dependents("numpy"), repeat)
    print("%d distributions, %d pip commands printed, Python %s, median of %d"
          % (len(facts.derived.distributions), len(printed), sys.version.split()[0], repeat))
    print("derive facts (requirements read lazily)    %6.1f ms" % derive_ms)
    print("build the dependents index (first use)     %6.1f ms" % index_ms)
    print("constrain every printed install             %6.1f ms" % constrain_ms)
    print("run every check                             %6.1f ms" % checks_ms)
    added = index_ms + constrain_ms
    print("resolver-aware fixes add at most %.1f ms: %s (<= %.0f ms)"
          % (added, "target met" if added <= BUDGET_MS else "TARGET MISSED", BUDGET_MS))


if __name__ == "__main__":
    main()
