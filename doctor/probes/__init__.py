"""Probes: what dl-doctor asks of the target interpreter, each in a child process of its own.

A probe gathers facts and never judges them. The engine knows a probe only by its ``ProbeSpec``:
a name, the program text, a timeout, and whether ``--quick`` still runs it (quick probes read metadata
and never import torch).
"""

from dataclasses import dataclass
from importlib import resources
from typing import Tuple


@dataclass(frozen=True)
class ProbeSpec:
    name: str
    program: str
    timeout_s: float
    quick: bool
    summary: str


def _program(module: str) -> str:
    body = resources.files("doctor.probes.programs").joinpath(module + ".py").read_text(encoding="utf-8")
    return program_from_source(body)


def program_from_source(body: str) -> str:
    """Wrap a ``collect(arguments)`` body in the prelude, as the built-in probes are wrapped."""
    prelude = resources.files("doctor.probes.programs").joinpath("prelude.py").read_text(encoding="utf-8")
    return prelude + "\n" + body + "\n_doctor_run(collect)\n"


def builtin_probes() -> Tuple[ProbeSpec, ...]:
    return (
        ProbeSpec("python", _program("python_env"), 20.0, True, "the interpreter, its environment, module origins"),
        ProbeSpec("packages", _program("packages"), 30.0, True, "installed distributions' metadata"),
        ProbeSpec("hardware", _program("hardware"), 30.0, True, "GPUs from the driver (NVML, nvidia-smi)"),
        ProbeSpec("torch", _program("torch_build"), 120.0, False, "torch's build and devices"),
        ProbeSpec("imports", _program("imports"), 180.0, False, "the lesson's import statements"),
    )
