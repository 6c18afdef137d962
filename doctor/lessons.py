"""Lesson profiles for fast.ai's Practical Deep Learning course: what each lesson imports and which
library calls its notebooks make.

Profiles are data: the ``imports`` probe runs the statements and looks up the calls (``lesson-imports``,
``lesson-api-drift`` judge the results). Required statements are what the lesson's notebooks cannot run
without; optional ones serve a part of the lesson (image search, deployment, a visualisation, Kaggle
downloads) that a learner can skip. Each call names the notebook it comes from (fastai/course22 unless
said otherwise) and, for each name or keyword a library has since renamed or removed, the pin that keeps
the course's code working and the edit to the new spelling.
"""

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


# Module names that differ from the distribution that provides them.
DISTRIBUTION_FOR_MODULE = {
    "PIL": "pillow", "sklearn": "scikit-learn", "cv2": "opencv-python", "yaml": "pyyaml",
    "skimage": "scikit-image", "fasthtml": "python-fasthtml", "IPython": "ipython",
}

@dataclass(frozen=True)
class Change:
    """What became of a name or keyword a lesson uses: the edit to make (None when nothing replaces it),
    the pin under which the course's spelling still works, and where that comes from."""

    edit: Optional[str]
    pin: str
    source: str


@dataclass(frozen=True)
class LessonCall:
    """A call a lesson's notebook makes: ``target`` is looked up in ``module`` attribute by attribute
    (``DDGS.images``), and ``keywords`` are checked against its signature. ``changes`` maps a keyword, or
    "" for the name itself, to what became of it. ``status`` is how a mismatch is reported: an error for
    the lesson's main path, a warning for a part that can be skipped, info for older copies of a notebook."""

    code: str
    notebook: str
    module: str
    distribution: str
    target: str
    keywords: Tuple[str, ...] = ()
    changes: Tuple[Tuple[str, Change], ...] = ()
    status: str = "error"
    # How a title names the call's culprit, when not the code before its parenthesis.
    name: str = ""

    @property
    def spelled(self) -> str:
        return self.name or self.code.split("(")[0]

    def change(self, name: str) -> Optional[Change]:
        return dict(self.changes).get(name)

    def to_argument(self) -> Dict[str, object]:
        """What the probe needs to look the call up."""
        return {"code": self.code, "module": self.module, "distribution": self.distribution, "target": self.target,
                "keywords": list(self.keywords)}


@dataclass(frozen=True)
class LessonProfile:
    number: int
    title: str
    required: Tuple[str, ...]
    optional: Tuple[str, ...]
    calls: Tuple[LessonCall, ...] = ()

    def packages(self) -> Tuple[str, ...]:
        """The top-level modules the statements import, required first."""
        return tuple(dict.fromkeys(statement_package(s) for s in self.required + self.optional))


def statement_package(statement: str) -> str:
    """The top-level package an import statement names: ``from fastai.vision.all import *`` -> fastai."""
    words = statement.split()
    return words[1].split(".")[0] if len(words) > 1 else ""


COURSE22 = "fastai/course22 "

# Lesson 1: image search. The notebook called ddg_images until course22 commit be555458 (2024-01, PRs #107,
# #109); duckduckgo_search 3.x kept it only as a deprecated shim (duckduckgo_search/compat.py) and 4.0 dropped
# it. The package has since been renamed ddgs (course22 issues #84, #112, #126, PR #131).
_SEARCH_CALLS = (
    LessonCall("DDGS().images(keywords, max_results=max_images)",
               COURSE22 + "00-is-it-a-bird-creating-a-model-from-your-own-data.ipynb",
               "ddgs", "ddgs", "DDGS.images", ("max_results",), status="warning"),
    LessonCall("DDGS().images(keywords, max_results=max_images)",
               COURSE22 + "00-is-it-a-bird-creating-a-model-from-your-own-data.ipynb",
               "duckduckgo_search", "duckduckgo_search", "DDGS.images", ("max_results",), status="warning"),
    LessonCall("ddg_images(term, max_results=max_images)",
               COURSE22 + "00-is-it-a-bird-creating-a-model-from-your-own-data.ipynb (copies before 2024-01)",
               "duckduckgo_search", "duckduckgo_search", "ddg_images", ("max_results",),
               changes=(("", Change("from ddgs import DDGS; DDGS().images(term, max_results=max_images)",
                                    "duckduckgo_search<4",
                                    "deedy5/duckduckgo_search compat.py (3.x only); fastai/course22 PR #107")),),
               status="info"),
)

# Lesson 2: the Gradio app.
_GRADIO_4 = "gradio 4.0 removed gr.inputs and gr.outputs (gradio-app/gradio#7472: pin gradio==3.50)"
_DEPLOY_CALLS = (
    LessonCall("gr.inputs.Image(shape=(192, 192))", "the lesson's Gradio app (course.fast.ai lesson 2, app.py)",
               "gradio", "gradio", "inputs.Image", ("shape",),
               changes=(("", Change("gr.Image(height=192, width=192)", "gradio<4", _GRADIO_4)),
                        ("shape", Change("height=192, width=192", "gradio<4", _GRADIO_4))),
               status="warning"),
    LessonCall("gr.outputs.Label()", "the lesson's Gradio app (course.fast.ai lesson 2, app.py)",
               "gradio", "gradio", "outputs.Label",
               changes=(("", Change("gr.Label()", "gradio<4", _GRADIO_4)),), status="warning"),
    LessonCall("gr.Interface(fn=classify_image, inputs=image, outputs=label, examples=examples)",
               "the lesson's Gradio app (course.fast.ai lesson 2, app.py)",
               "gradio", "gradio", "Interface", ("fn", "inputs", "outputs", "examples"), status="warning"),
    # fastbook's `uploader.data` (ipywidgets 8 removed FileUpload.data) is widgets-fileupload's, for every lesson.
)

# Lesson 4: the Hugging Face Trainer (slides/nlp-intro.ipynb is the repository's copy of the lesson's Kaggle
# notebook "Getting started with NLP for absolute beginners").
_NLP = COURSE22 + "slides/nlp-intro.ipynb"
_NLP_CALLS = (
    LessonCall("Dataset.from_pandas(df)", _NLP, "datasets", "datasets", "Dataset.from_pandas"),
    LessonCall("AutoTokenizer.from_pretrained(model_nm)", _NLP, "transformers", "transformers",
               "AutoTokenizer.from_pretrained"),
    LessonCall("TrainingArguments('outputs', learning_rate=lr, warmup_ratio=0.1, lr_scheduler_type='cosine', "
               "fp16=True, evaluation_strategy='epoch', per_device_train_batch_size=bs, "
               "per_device_eval_batch_size=bs*2, num_train_epochs=epochs, weight_decay=0.01, report_to='none')",
               _NLP, "transformers", "transformers", "TrainingArguments",
               ("learning_rate", "warmup_ratio", "lr_scheduler_type", "fp16", "evaluation_strategy",
                "per_device_train_batch_size", "per_device_eval_batch_size", "num_train_epochs", "weight_decay",
                "report_to"),
               changes=(
                   # Deprecated in 4.41, announced for removal in 4.46 (huggingface/transformers#30190).
                   ("evaluation_strategy", Change("eval_strategy='epoch'", "transformers<4.46",
                                                  "huggingface/transformers#30190")),
                   # Deprecated in 5.0 for a fractional warmup_steps, removed in 5.2 (transformers#41326).
                   ("warmup_ratio", Change("warmup_steps=0.1", "transformers<5.2",
                                           "huggingface/transformers#41326")),
               )),
    LessonCall("AutoModelForSequenceClassification.from_pretrained(model_nm, num_labels=1)", _NLP,
               "transformers", "transformers", "AutoModelForSequenceClassification.from_pretrained"),
    LessonCall("Trainer(model, args, train_dataset=dds['train'], eval_dataset=dds['test'], tokenizer=tokz, "
               "compute_metrics=corr_d)", _NLP, "transformers", "transformers", "Trainer",
               ("train_dataset", "eval_dataset", "tokenizer", "compute_metrics"),
               changes=(
                   # Deprecated in 4.46 (transformers#32385), removed in 5.0 (transformers#41128).
                   ("tokenizer", Change("processing_class=tokz", "transformers<5",
                                        "huggingface/transformers#32385, #41128")),
               )),
)

# Lessons 6 and 7: the "Road to the top" notebooks set up the competition with fastkaggle.
_FASTKAGGLE_CALLS = (
    LessonCall("setup_comp(comp, install='fastai \"timm>=0.6.2.dev0\"')",
               COURSE22 + "08-first-steps-road-to-the-top-part-1.ipynb", "fastkaggle", "fastkaggle", "setup_comp",
               ("install",), status="warning"),
)

LESSONS: Dict[int, LessonProfile] = {
    profile.number: profile
    for profile in (
        # 00-is-it-a-bird..., 01-jupyter-notebook-101
        LessonProfile(
            1, "Getting started: an image classifier",
            required=("from fastai.vision.all import *",),
            optional=("import ddgs", "from fastdownload import download_url"),
            calls=_SEARCH_CALLS,
        ),
        # 02-saving-a-basic-fastai-model, the Gradio app, fastbook chapter 2
        LessonProfile(
            2, "Deployment: the image cleaner and a web app",
            required=("from fastai.vision.all import *", "import ipywidgets", "from fastai.vision.widgets import *"),
            optional=("import gradio",),
            calls=_DEPLOY_CALLS,
        ),
        # 03-which-image-models-are-best (plotly.express), 04-how-does-a-neural-net-really-work
        LessonProfile(
            3, "Neural net foundations",
            required=("import torch", "import numpy", "import pandas", "import matplotlib.pyplot"),
            optional=("import ipywidgets", "from fastai.basics import *", "import plotly.express"),
        ),
        # slides/nlp-intro.ipynb (the Kaggle notebook; deberta-v3's tokenizer needs sentencepiece)
        LessonProfile(
            4, "Natural language: Hugging Face transformers",
            required=("import transformers", "import datasets", "import pandas", "import numpy"),
            optional=("import sentencepiece", "import kaggle", "import sklearn"),
            calls=_NLP_CALLS,
        ),
        # 05-linear-model-and-neural-net-from-scratch (sympy), 06-why-you-should-use-a-framework
        LessonProfile(
            5, "From-scratch model: tabular data",
            required=("import torch", "import numpy", "import pandas", "from fastai.tabular.all import *"),
            optional=("import kaggle", "import sympy"),
        ),
        # 07-how-random-forests-really-work (seaborn, graphviz), 08/09 road to the top (fastkaggle, timm)
        LessonProfile(
            6, "Random forests",
            required=("import sklearn", "import pandas", "import numpy", "from fastai.tabular.all import *"),
            optional=("import dtreeviz", "import kaggle", "import seaborn", "import graphviz", "import fastkaggle",
                      "import timm"),
            calls=_FASTKAGGLE_CALLS,
        ),
        # 10-scaling-up-road-to-the-top-part-3 (fastkaggle, timm), collaborative filtering
        LessonProfile(
            7, "Collaborative filtering",
            required=("from fastai.collab import *", "from fastai.tabular.all import *"),
            optional=("import kaggle", "import fastkaggle", "import timm"),
            calls=_FASTKAGGLE_CALLS,
        ),
        LessonProfile(
            8, "Convolutions",
            required=("from fastai.vision.all import *",),
            optional=("import kaggle",),
        ),
    )
}


def course_distributions() -> Dict[str, Tuple[int, ...]]:
    """Every distribution a lesson imports or calls into, with the lessons that use it."""
    from_modules = {"sklearn": "scikit-learn", "PIL": "pillow"}
    found: Dict[str, Tuple[int, ...]] = {}
    for number, profile in sorted(LESSONS.items()):
        names = [from_modules.get(m, m) for m in profile.packages()] + [c.distribution for c in profile.calls]
        for name in dict.fromkeys(names):
            found[name] = found.get(name, ()) + (number,)
    return found


DEFAULT_LESSON = 1
