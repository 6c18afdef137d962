"""Each probe's answer, declared once: the shape of the ``data`` a probe outcome carries when it is ``ok``.

The declarations are TypedDicts, because an answer *is* a plain JSON object: it crosses the process boundary as
JSON, is saved in reports as JSON and is read by the checks as a dict, so a TypedDict describes it exactly with no
conversion on the way. A key a probe sends only in some runs is declared in a ``total=False`` part, with a comment
saying when; an answer that comes in several shapes is a Union of them.

From these declarations come the facts part of the JSON Schema (doctor/schemas/facts.schema.json, by
``doctor.answers.json_schema``), the test factories' checks, the contract test that runs every real probe, and
the completion of saved answers written before a key existed (``complete_answer``).
"""

from typing import Any, Dict, Mapping

from doctor.answers.bench import BenchAnswer
from doctor.answers.course import CourseAnswer
from doctor.answers.dist import DistAnswer
from doctor.answers.hardware import HardwareAnswer
from doctor.answers.imports import ImportsAnswer
from doctor.answers.installs import InstallsAnswer
from doctor.answers.learner import LearnerExport, LearnerNamesAnswer
from doctor.answers.notebook import NotebookAnswer
from doctor.answers.ops import OpsAnswer
from doctor.answers.packages import PackagesAnswer
from doctor.answers.process import ProcessAnswer
from doctor.answers.python import PythonAnswer
from doctor.answers.shapes import complete
from doctor.answers.torch import TorchAnswer

# Probe (outcome) name -> the declaration of its answer.
ANSWERS: Mapping[str, Any] = {
    "python": PythonAnswer,
    "packages": PackagesAnswer,
    "notebook": NotebookAnswer,
    "course": CourseAnswer,
    "hardware": HardwareAnswer,
    "imports": ImportsAnswer,
    "installs": InstallsAnswer,
    "torch": TorchAnswer,
    "ops": OpsAnswer,
    "process": ProcessAnswer,
    "bench": BenchAnswer,
    "dist": DistAnswer,
    "learner": LearnerExport,
    "learner-names": LearnerNamesAnswer,
}


def complete_answer(probe: str, data: Dict[str, Any]) -> Dict[str, Any]:
    """A saved answer with every declared key it lacks made explicit (see ``shapes.complete``); an answer of an
    undeclared probe is returned as it is."""
    declaration = ANSWERS.get(probe)
    return data if declaration is None else complete(declaration, data)
