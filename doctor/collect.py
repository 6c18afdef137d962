"""Collection: run the probes against a target interpreter and assemble the Facts.

The parent process never imports torch and never changes its own ``os.environ``: every probe gets
an explicit copy of the environment and runs in the target's working directory.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from doctor.bench import run_bench
from doctor.facts import Facts, assemble_facts
from doctor.host_process import describe_this_process
from doctor.lessons import LESSONS
from doctor.ops import run_torch_probe
from doctor.requests import BenchRequest, OpsRequest
from doctor.probes import ProbeSpec, builtin_probes
from doctor.outcome import OK, ProbeOutcome, skipped_outcome
from doctor.probes.runner import run_probes
from doctor.supervisor import killed_on_interrupt

# Modules a local file or folder most often shadows (fastbook#349: a notebook folder's torch.py).
SHADOWABLE_MODULES = (
    "torch", "torchvision", "fastai", "fastcore", "numpy", "PIL", "pandas", "ipywidgets", "matplotlib",
)


@dataclass(frozen=True)
class Target:
    """The interpreter to examine and the working directory its code would run in."""

    python: str = sys.executable
    # Read when a Target is made, not when this module was imported: a notebook may have changed folder since.
    cwd: str = field(default_factory=os.getcwd)


def probe_environment() -> Mapping[str, str]:
    environment = dict(os.environ)
    # Probes answer in UTF-8 whatever the locale, and must not litter __pycache__ folders.
    environment["PYTHONIOENCODING"] = "utf-8"
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    return environment


def probe_arguments(lesson: int, deep: bool = False, quick: bool = False) -> Mapping[str, Mapping[str, object]]:
    profile = LESSONS[lesson]
    statements = [{"statement": s, "required": True} for s in profile.required]
    statements += [{"statement": s, "required": False} for s in profile.optional]
    # Where the lesson's own packages would come from, so --quick judges a missing or shadowed one as a
    # full check does.
    modules = list(dict.fromkeys(SHADOWABLE_MODULES + profile.packages()))
    # The library calls the lesson's notebooks make, looked up in the imports child after the statements.
    calls = [call.to_argument() for call in profile.calls]
    # transformers' own minimum for accelerate (Trainer needs it), read from its dependency table.
    tables = {"transformers": ["accelerate"]} if "transformers" in profile.packages() else {}
    return {"python": {"modules": modules}, "imports": {"statements": statements, "calls": calls},
            "course": {"tables": tables}, "installs": {"deep": deep, "quick": quick}}


def collect_facts(
    target: Target,
    lesson: int,
    quick: bool = False,
    probes: Optional[Sequence[ProbeSpec]] = None,
    only: Optional[Sequence[str]] = None,
    bench: Optional[BenchRequest] = None,
    on_progress: Optional[Callable[[Dict[str, Any]], None]] = None,
    deep: bool = False,
) -> Facts:
    """Run every probe (only the metadata ones with ``quick``), concurrently; the torch probe also runs
    the lesson's op catalogue on the device the lessons would use. ``only`` names the probes to run
    (a re-check after a fix needs a few); the others are reported as skipped. ``bench`` also runs the
    benchmark fine-tune, after the probes so that its timings are not shared with them. ``deep`` verifies every
    installed distribution's files by hash, not only the course stack's Python sources."""
    specs = tuple(probes if probes is not None else builtin_probes())
    wanted = set(only) if only is not None else None
    to_run = [spec for spec in specs if (spec.quick or not quick)
              and (wanted is None or wanted & set(spec.members or (spec.name,)))]
    run_torch = not quick and (wanted is None or bool(wanted & {"torch", "ops"}))
    environment = probe_environment()
    # Children are killed before the pool waits for its threads, or an interrupt would wait on them.
    with ThreadPoolExecutor(max_workers=2) as pool, killed_on_interrupt() as children:
        probed = pool.submit(run_probes, to_run, target.python, target.cwd, environment,
                             probe_arguments(lesson, deep, quick), children)
        torch = None if not run_torch else pool.submit(run_torch_probe, target.python, target.cwd, environment,
                                               OpsRequest(lesson=lesson), children)
        outcomes = probed.result()
        if torch is not None:
            outcomes.update(torch.result())
        if bench is not None:
            outcomes["bench"] = run_bench(target.python, target.cwd, environment, bench, on_progress)
    reason = "not run with --quick" if quick else "not needed for this run"
    for name in ("torch", "ops"):
        outcomes.setdefault(name, skipped_outcome(name, reason))
    outcomes["process"] = ProbeOutcome("process", OK, describe_this_process(), None, "", 0.0, None, None)
    for spec in specs:
        for name in spec.members or (spec.name,):
            outcomes.setdefault(name, skipped_outcome(name, reason))
    return assemble_facts(target.python, target.cwd, quick, lesson, outcomes)
