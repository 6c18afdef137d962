"""Lesson API drift (checks/drift.py, doctor/probes/programs/api_drift.py): the course's own calls looked up
in stand-in libraries with the same signatures, in a real probe child; table-driven checks over facts; and
one run against the real transformers when it is installed."""

import importlib.util
import os
import sys
import textwrap

import pytest

from checkrun import build, commands, findings, words
from doctor.collect import probe_arguments
from doctor.lessons import LESSONS
from doctor.probes import builtin_probes
from doctor.probes.runner import run_probes
from factories import ok_outcome

PIP = "/opt/course/bin/python -m pip install "


def _write(root, files):
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))


def _dist_info(name, version):
    return {"%s-%s.dist-info/METADATA" % (name, version): "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            % (name, version)}


# transformers 5 as lesson 4 meets it: TrainingArguments is a dataclass without evaluation_strategy and
# warmup_ratio; Trainer has processing_class and no tokenizer.
TRANSFORMERS_5 = {
    "transformers/__init__.py": """
        from dataclasses import dataclass

        @dataclass
        class TrainingArguments:
            output_dir: str = None
            learning_rate: float = 5e-5
            lr_scheduler_type: str = "linear"
            fp16: bool = False
            eval_strategy: str = "no"
            warmup_steps: float = 0
            per_device_train_batch_size: int = 8
            per_device_eval_batch_size: int = 8
            num_train_epochs: float = 3.0
            weight_decay: float = 0.0
            report_to: str = None

        class Trainer:
            def __init__(self, model=None, args=None, data_collator=None, train_dataset=None, eval_dataset=None,
                         processing_class=None, compute_metrics=None):
                pass

        class AutoTokenizer:
            @classmethod
            def from_pretrained(cls, name, *inputs, **kwargs):
                pass

        class AutoModelForSequenceClassification(AutoTokenizer):
            pass
    """,
    "transformers/dependency_versions_table.py": """
        deps = {
            "accelerate": "accelerate>=1.1.0",
            "torch": "torch>=2.2",
        }
    """,
    **_dist_info("transformers", "5.0.0"),
}

# transformers 4.46-4.57: tokenizer= still works through a renaming decorator (utils/deprecation.py).
TRANSFORMERS_4_46 = dict(TRANSFORMERS_5, **{
    "transformers/__init__.py": TRANSFORMERS_5["transformers/__init__.py"].replace(
        "class Trainer:\n            def __init__",
        "class Trainer:\n            @_renamed('tokenizer', 'processing_class')\n            def __init__").replace(
        "from dataclasses import dataclass", """from dataclasses import dataclass
        from functools import wraps

        def _renamed(old_name, new_name):
            def wrapper(func):
                @wraps(func)
        \x20       def wrapped_func(*args, **kwargs):
                    if old_name in kwargs:
                        kwargs[new_name] = kwargs.pop(old_name)
                    return func(*args, **kwargs)
                return wrapped_func
            return wrapper"""),
})

GRADIO_4 = {
    "gradio/__init__.py": """
        class Interface:
            def __init__(self, fn, inputs, outputs, examples=None, **kwargs):
                pass
    """,
    **_dist_info("gradio", "4.0.0"),
}

DDGS_9 = {
    "ddgs/__init__.py": """
        class DDGS:
            def images(self, query, region="us-en", max_results=None, **kwargs):
                return []
    """,
    **_dist_info("ddgs", "9.5.0"),
    # duckduckgo_search 4+: DDGS only, ddg_images gone.
    "duckduckgo_search/__init__.py": """
        class DDGS:
            def images(self, keywords, region="wt-wt", max_results=None):
                return []
    """,
    **_dist_info("duckduckgo_search", "6.3.0"),
}


def _lookup(tmp_path, lesson, files):
    """The imports probe's call records for a lesson, its statements left out (fastai is slow to import)."""
    _write(tmp_path, files)
    arguments = dict(probe_arguments(lesson))
    arguments["imports"] = dict(arguments["imports"], statements=[])
    spec = next(s for s in builtin_probes() if s.name == "imports")
    environment = dict(os.environ, PYTHONPATH=str(tmp_path), PYTHONDONTWRITEBYTECODE="1")
    outcome = run_probes([spec], sys.executable, str(tmp_path), environment, arguments)["imports"]
    assert outcome.ok, (outcome.reason, outcome.stderr_tail)
    return outcome.data["calls"]


def _facts(lesson, calls, **layers):
    return build({"imports": {"calls": calls}}, lesson=lesson, **layers)


def _by_target(calls):
    return {(c["module"], c["target"]): c for c in calls}


def test_transformers_5_stand_in_rejects_the_renamed_keywords(tmp_path):
    calls = _by_target(_lookup(tmp_path, 4, TRANSFORMERS_5))
    arguments = calls[("transformers", "TrainingArguments")]
    assert arguments["version"] == "5.0.0" and arguments["how"] == "dataclass fields"
    assert arguments["keywords"]["evaluation_strategy"] == "rejected"
    assert arguments["keywords"]["warmup_ratio"] == "rejected"
    assert arguments["keywords"]["fp16"] == "accepted"
    assert calls[("transformers", "Trainer")]["keywords"]["tokenizer"] == "rejected"
    assert calls[("datasets", "Dataset.from_pandas")]["installed"] is False

    found = findings("lesson-api-drift", _facts(4, list(calls.values())))
    titles = [f.title for f in found]
    assert titles == [
        "`TrainingArguments(warmup_ratio=..., evaluation_strategy=...)` fails: transformers 5.0.0 renamed them "
        "warmup_steps and eval_strategy",
        "`Trainer(tokenizer=...)` fails: transformers 5.0.0 renamed it processing_class",
    ]
    assert all(f.status == "error" for f in found)
    # Both ways out: the edit, and the pin that keeps every renamed keyword (the strictest one).
    assert "`evaluation_strategy=` -> `eval_strategy='epoch'`" in found[0].fix.text
    assert commands(found[0]) == (PIP + "'transformers<4.46'",)
    assert commands(found[1]) == (PIP + "'transformers<5'",)
    assert "slides/nlp-intro.ipynb" in found[0].detail


def test_a_renaming_decorator_is_deprecated_not_rejected(tmp_path):
    calls = _by_target(_lookup(tmp_path, 4, TRANSFORMERS_4_46))
    assert calls[("transformers", "Trainer")]["keywords"]["tokenizer"] == "deprecated"
    found = [f for f in findings("lesson-api-drift", _facts(4, list(calls.values()))) if "Trainer" in f.title]
    assert [(f.status, f.title) for f in found] == [
        ("info", "`Trainer(tokenizer=...)` works but is deprecated: a later transformers renames it")]


def test_gradio_4_and_the_image_search_packages(tmp_path):
    calls = _lookup(tmp_path, 2, GRADIO_4)
    found = findings("lesson-api-drift", _facts(2, calls))
    assert [(f.status, f.title) for f in found] == [
        ("warning", "`gr.inputs.Image` fails: gradio 4.0.0 has no gradio.inputs (now gr.Image(height=192, width=192))"),
        ("warning", "`gr.outputs.Label` fails: gradio 4.0.0 has no gradio.outputs (now gr.Label())"),
    ]
    assert commands(found[0]) == (PIP + "'gradio<4'",)

    calls = _lookup(tmp_path, 1, DDGS_9)
    states = {(c["module"], c["target"]): (c["missing"], c["keywords"]) for c in calls}
    assert states[("ddgs", "DDGS.images")] == (None, {"max_results": "accepted"})
    assert states[("duckduckgo_search", "ddg_images")][0] == "ddg_images"
    (finding,) = findings("lesson-api-drift", _facts(1, calls))
    assert finding.status == "info"
    assert finding.title == ("`ddg_images` fails: duckduckgo_search 6.3.0 has no duckduckgo_search.ddg_images "
                             "(now from ddgs import DDGS; DDGS().images(term, max_results=max_images))")


def test_accelerate_minimum_is_read_from_the_dependency_table(tmp_path):
    _write(tmp_path, TRANSFORMERS_5)
    spec = next(s for s in builtin_probes() if "course" in s.members)
    environment = dict(os.environ, PYTHONPATH=str(tmp_path))
    outcome = run_probes([spec], sys.executable, str(tmp_path), environment, probe_arguments(4))["course"]
    assert outcome.ok, outcome.reason
    table = outcome.data["tables"]["transformers"]
    assert table["entries"] == {"accelerate": "accelerate>=1.1.0"}

    course = {"course": ok_outcome("course", outcome.data)}
    base = {"distributions": {"transformers": "5.0.0"}, "outcomes": course}
    missing = findings("transformers-accelerate", build(base, lesson=4))
    assert [(f.status, f.title) for f in missing] == [
        ("error", "`Trainer(...)` fails: accelerate is not installed (transformers 5.0.0 needs accelerate>=1.1.0)")]
    assert commands(missing[0]) == (PIP + "'accelerate>=1.1.0'",)
    old = findings("transformers-accelerate", build(base, {"distributions": {"accelerate": "0.34.2"}}, lesson=4))
    assert old[0].status == "error" and "accelerate 0.34.2 is too old" in old[0].title
    good = findings("transformers-accelerate", build(base, {"distributions": {"accelerate": "1.15.0"}}, lesson=4))
    assert good[0].status == "ok"


# (name, lesson, call records or None for "no calls key", expected (status, title start))
def _record(module, target, code, version="5.0.0", **fields):
    record = {"code": code, "module": module, "target": target, "installed": True, "version": version,
              "import_error": None, "missing": None, "lookup_error": None, "keywords": {}, "how": "signature",
              "signature_error": None}
    record.update(fields)
    return record


_TRAINER = next(c for c in LESSONS[4].calls if c.target == "Trainer")
CHECK_CASES = [
    ("quick", 4, "quick", ("skipped", "lesson 4's library calls not checked: not run with --quick")),
    ("older-facts", 4, None, ("skipped", "lesson 4's library calls not checked: these facts have no call lookups")),
    ("no-calls-lesson", 5, [], ("skipped", "lesson 5 makes no library calls")),
    ("nothing-installed", 4, [dict(_record("transformers", "Trainer", _TRAINER.code), installed=False)],
     ("skipped", "none of lesson 4's libraries")),
    ("import-fails-elsewhere", 4, [_record("transformers", "Trainer", _TRAINER.code,
                                           import_error={"type": "ImportError", "message": "x"})],
     ("skipped", "none of lesson 4's libraries")),
    ("kwargs-take-anything", 4, [_record("transformers", "Trainer", _TRAINER.code,
                                         keywords={"tokenizer": "unknown", "train_dataset": "accepted"})],
     ("ok", "lesson 4's 1 library call match")),
    ("unknown-keyword-removed", 4, [_record("transformers", "Trainer", _TRAINER.code,
                                            keywords={"compute_metrics": "rejected"})],
     ("error", "`Trainer(compute_metrics=...)` fails: transformers 5.0.0 removed it")),
]


@pytest.mark.parametrize("name, lesson, calls, expected", CHECK_CASES, ids=[c[0] for c in CHECK_CASES])
def test_lesson_api_drift_over_facts(name, lesson, calls, expected):
    if calls == "quick":
        facts = build(lesson=lesson, quick=True)
    elif calls is None:
        facts = build(lesson=lesson)
    else:
        facts = _facts(lesson, calls)
    (finding,) = findings("lesson-api-drift", facts)
    assert (finding.status, finding.title[:len(expected[1])]) == expected, finding.title
    if name == "unknown-keyword-removed":
        assert "changelog" in words(finding) and commands(finding) == ()


def test_a_pin_that_would_break_a_dependent_is_not_printed():
    calls = [_record("transformers", "Trainer", _TRAINER.code, keywords={"tokenizer": "rejected"})]
    facts = _facts(4, calls, distributions={"peft": {"version": "1.0", "requires": ["transformers>=5.1"]}})
    (finding,) = findings("lesson-api-drift", facts)
    assert commands(finding) == ()
    assert "transformers<5 would break peft 1.0" in finding.fix.text


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed")
def test_against_the_real_transformers(tmp_path):
    """The installed transformers, looked up for real: every lesson-4 keyword gets a definite answer."""
    from importlib import metadata

    from packaging.version import Version
    arguments = dict(probe_arguments(4))
    arguments["imports"] = dict(arguments["imports"], statements=[])
    spec = next(s for s in builtin_probes() if s.name == "imports")
    outcome = run_probes([spec], sys.executable, str(tmp_path), dict(os.environ), arguments)["imports"]
    assert outcome.ok, outcome.reason
    calls = _by_target(outcome.data["calls"])
    keywords = calls[("transformers", "TrainingArguments")]["keywords"]
    assert set(keywords.values()) <= {"accepted", "rejected", "deprecated"}
    version = Version(metadata.version("transformers"))
    trainer = calls[("transformers", "Trainer")]["keywords"]["tokenizer"]
    assert trainer == ("rejected" if version >= Version("5") else "accepted" if version < Version("4.46")
                       else "deprecated")
    assert keywords["fp16"] == "accepted"
