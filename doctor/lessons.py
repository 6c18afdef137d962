"""Lesson profiles for fast.ai's Practical Deep Learning course: what each lesson imports.

Profiles are data: the ``imports`` probe runs the statements, ``lesson-imports`` judges the results.
Required statements are what the lesson's notebooks cannot run without; optional ones serve a part of
the lesson (image search, deployment, a visualisation) that a learner can skip.
"""

from dataclasses import dataclass
from typing import Dict, Tuple


@dataclass(frozen=True)
class LessonProfile:
    number: int
    title: str
    required: Tuple[str, ...]
    optional: Tuple[str, ...]

    def packages(self) -> Tuple[str, ...]:
        """The top-level modules the statements import, required first."""
        return tuple(dict.fromkeys(statement_package(s) for s in self.required + self.optional))


def statement_package(statement: str) -> str:
    """The top-level package an import statement names: ``from fastai.vision.all import *`` -> fastai."""
    words = statement.split()
    return words[1].split(".")[0] if len(words) > 1 else ""


LESSONS: Dict[int, LessonProfile] = {
    profile.number: profile
    for profile in (
        LessonProfile(
            1, "Getting started: an image classifier",
            required=("from fastai.vision.all import *",),
            optional=("import ddgs", "from fastdownload import download_url"),
        ),
        LessonProfile(
            2, "Deployment: the image cleaner and a web app",
            required=("from fastai.vision.all import *", "import ipywidgets", "from fastai.vision.widgets import *"),
            optional=("import gradio",),
        ),
        LessonProfile(
            3, "Neural net foundations",
            required=("import torch", "import numpy", "import pandas", "import matplotlib.pyplot"),
            optional=("import ipywidgets", "from fastai.basics import *"),
        ),
        LessonProfile(
            4, "Natural language: Hugging Face transformers",
            required=("import transformers", "import datasets", "import pandas", "import numpy"),
            optional=("import sentencepiece", "import kaggle"),
        ),
        LessonProfile(
            5, "From-scratch model: tabular data",
            required=("import torch", "import numpy", "import pandas", "from fastai.tabular.all import *"),
            optional=("import kaggle",),
        ),
        LessonProfile(
            6, "Random forests",
            required=("import sklearn", "import pandas", "import numpy", "from fastai.tabular.all import *"),
            optional=("import dtreeviz", "import kaggle"),
        ),
        LessonProfile(
            7, "Collaborative filtering",
            required=("from fastai.collab import *", "from fastai.tabular.all import *"),
            optional=("import kaggle",),
        ),
        LessonProfile(
            8, "Convolutions",
            required=("from fastai.vision.all import *",),
            optional=("import kaggle",),
        ),
    )
}

DEFAULT_LESSON = 1
