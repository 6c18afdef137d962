"""Probes: what dl-doctor asks of the target interpreter, each in a child process of its own.

A probe gathers facts and never judges them. The engine knows a probe only by its ``ProbeSpec``:
a name, the program text, a timeout, and whether ``--quick`` still runs it (quick probes read metadata
and never import torch).
"""

from dataclasses import dataclass
from importlib import resources
from typing import Dict, Tuple


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    program: str
    timeout_s: float
    quick: bool
    summary: str
    # A bundle runs these member probes in one child; each still gets an outcome of its own.
    members: Tuple[str, ...] = ()


def _program(*modules: str) -> str:
    folder = resources.files("doctor.probes.programs")
    return program_from_source("\n".join(folder.joinpath(m + ".py").read_text(encoding="utf-8") for m in modules))


def program_from_source(body: str) -> str:
    """Wrap a ``collect(arguments)`` body in the prelude and the shared helpers, as the built-in probes are
    wrapped."""
    folder = resources.files("doctor.probes.programs")
    helpers = "\n".join(folder.joinpath(m + ".py").read_text(encoding="utf-8") for m in ("prelude", "shared"))
    return helpers + "\n" + body + "\n_doctor_run(collect)\n"


def _bundle(members: Dict[str, str]) -> str:
    folder = resources.files("doctor.probes.programs")
    sources = {name: folder.joinpath(module + ".py").read_text(encoding="utf-8") for name, module in members.items()}
    driver = folder.joinpath("bundle.py").read_text(encoding="utf-8")
    return program_from_source("_DOCTOR_MEMBERS = %r\n%s" % (sources, driver))


# The probes that only read files (no drivers, no imports of the course stack) share one child.
METADATA_MEMBERS = {
    "python": "python_env", "packages": "packages", "notebook": "notebook", "course": "course_tools",
}


def builtin_probes() -> Tuple[ProbeSpec, ...]:
    return (
        ProbeSpec("metadata", _bundle(METADATA_MEMBERS), 30.0, True,
                  "the interpreter and its environment, installed distributions, kernelspecs and widget front ends, "
                  "and what the course's packages need outside Python (Graphviz's dot, Kaggle credentials, "
                  "transformers' dependency table)",
                  members=tuple(METADATA_MEMBERS)),
        ProbeSpec("hardware", _program("hardware"), 30.0, True, "GPUs from the driver (NVML, nvidia-smi)"),
        # A child of its own: hashing installed files takes seconds (minutes with check --deep), and the rest of
        # the metadata must not wait for it; the program stops itself within its time allowance.
        ProbeSpec("installs", _program("installs"), 120.0, True,
                  "installed files against pip's RECORD and conda's records, and the OpenMP runtimes installed"),
        ProbeSpec("imports", _program("api_drift", "imports"), 180.0, False,
                  "the lesson's import statements and library calls"),
    )


def torch_probe(timeout_s: float = 300.0) -> ProbeSpec:
    """torch's build and devices, then the op catalogue on a device, in one child (one import of torch).

    ``doctor.ops`` runs it and restarts it after an op that crashes or hangs.
    """
    return ProbeSpec("torch", _program("op_catalog", "torch_facts", "devices", "ops"), timeout_s, False,
                     "torch's build and devices, and ops on the lesson device")


def mps_expectations_probe(timeout_s: float = 30.0) -> ProbeSpec:
    """The ops torch's own MPS tests expect to fail, read from the target's torch as data (torch is not imported),
    with the macOS version as the python probe reads it; see doctor.results.mps_expectations."""
    return ProbeSpec("mps-expectations", _program("python_env", "mps_expectations"), timeout_s, True,
                     "the ops torch's own MPS tests expect to fail, read from its common_mps.py")


def bench_probe(timeout_s: float) -> ProbeSpec:
    """Lesson 1's path end to end (data, numerics, speed, fine_tune, export), one child; see doctor.bench."""
    return ProbeSpec("bench", _program("devices", "bench"), timeout_s, False, "the benchmark fine-tune")


def dist_worker_probe() -> ProbeSpec:
    """One rank of ``dl-doctor dist``; doctor.dist starts one per worker and keeps the per-step deadlines itself."""
    return ProbeSpec("dist", _program("dist_worker"), 0.0, False, "a torch.distributed worker")


def learner_probes(timeout_s: float = 180.0) -> Tuple[ProbeSpec, ...]:
    """``dl-doctor learner``: the interpreter and its distributions (one child, metadata only), and the names an
    exported learner references, looked up in the target (another child, which imports the libraries named)."""
    return (
        ProbeSpec("learner-metadata", _bundle({"python": "python_env", "packages": "packages"}), 30.0, True,
                  "the interpreter, its environment and installed distributions", members=("python", "packages")),
        learner_names_probe(timeout_s),
    )


def learner_names_probe(timeout_s: float = 180.0) -> ProbeSpec:
    return ProbeSpec("learner-names", _program("learner_names"), timeout_s, False,
                     "the modules and names an exported learner references, looked up in the target")
