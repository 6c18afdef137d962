"""checks/lesson.py (lesson-imports, lesson-optional-imports) and checks/import_errors.py
(explain_import_error: the root cause behind a failed import)."""

import pytest

from checkrun import build, commands, import_error, one, words
from doctor.checks.import_errors import explain_import_error
from factories import SITE, failed_outcome

PIP = "/opt/course/bin/python -m pip install "
CU130 = "https://download.pytorch.org/whl/cu130"
VISION = "from fastai.vision.all import *"


def _origin(module, origin, locations=()):
    return {"python": {"module_origins": {module: {"found": True, "origin": origin, "locations": list(locations),
                                                   "error": None}}}}


def _traceback(*files, last=""):
    frames = "".join('  File "%s", line 1, in <module>\n' % path for path in files)
    return "Traceback (most recent call last):\n%s%s\n" % (frames, last)


NUMPY_1X = ("A module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.4.6 as it may crash. To support both "
            "1.x and 2.x\nversions of NumPy, modules must be compiled with NumPy 2.0.")
PYPI_TORCH = {"torch": {"version": "2.14.1", "cuda_version": "13.0"},
              "packages": {"version_modules": {"torch": {"__version__": "2.14.1"}}}}

# (id, make_facts layers, error record, words in the cause, [words every one of which is in one fix command])
EXPLAIN_CASES = [
    ("local-fastai-py",
     [_origin("fastai", "/home/learner/fastai.py")],
     import_error("ModuleNotFoundError", "No module named 'fastai.vision'; 'fastai' is not a package",
                  traceback=_traceback("<string>", "/home/learner/fastai.py"),
                  files=["<string>", "/home/learner/fastai.py"]),
     "/home/learner/fastai.py shadows the installed fastai", None),
    ("local-torch-folder",
     [_origin("torch", "/home/learner/torch/__init__.py", ["/home/learner/torch"])],
     import_error("AttributeError", "module 'torch' has no attribute 'Tensor'",
                  files=["<string>", SITE + "/fastai/imports.py", "/home/learner/torch/__init__.py"]),
     "/home/learner/torch shadows the installed torch", None),
    ("shadow-named-only-in-the-traceback-text",
     [_origin("numpy", "/home/learner/numpy.py")],
     import_error("AttributeError", "module 'numpy' has no attribute 'ndarray'",
                  traceback=_traceback(SITE + "/torch/__init__.py", "/home/learner/numpy.py"), files=["<string>"]),
     "/home/learner/numpy.py shadows", None),
    ("circular-import-without-a-known-file", [],
     import_error("ImportError", "cannot import name 'nn' from partially initialized module 'torch' (most likely "
                                 "due to a circular import) (/home/learner/project/torch/__init__.py)"),
     "a local file shadows an installed package", None),
    ("unrelated-shadow-not-blamed",
     [_origin("pandas", "/home/learner/pandas.py")],
     import_error("ModuleNotFoundError", "No module named 'ddgs'"),
     "ddgs is not installed", ["ddgs"]),
    ("torchvision-nms",
     [], import_error("RuntimeError", "operator torchvision::nms does not exist"),
     "torchvision does not match the installed torch",
     ["torch==2.14.1", "torchvision==0.29.*", "--index-url " + CU130]),
    ("torchvision-custom-ops",
     [], import_error("ImportError", "Couldn't load custom C++ ops. This can happen if your PyTorch and "
                                     "torchvision versions are incompatible"),
     "torchvision does not match", ["torch==2.14.1", "torchvision==0.29.*"]),
    ("numpy-1x-extension",
     [], import_error("ImportError", "numpy.core.multiarray failed to import",
                      traceback=_traceback(SITE + "/pandas/__init__.py", last=NUMPY_1X)),
     "compiled for NumPy 1.x but NumPy 2.4.6 is installed", ["numpy<2"]),
    ("numpy-array-api",
     [], import_error("ImportError", "_ARRAY_API not found"),
     "compiled for NumPy 1.x", ["numpy<2"]),
    ("missing-sklearn",
     [], import_error("ModuleNotFoundError", "No module named 'sklearn'"),
     "scikit-learn is not installed in /opt/course/bin/python", [PIP + "scikit-learn"]),
    ("missing-cv2",
     [], import_error("ModuleNotFoundError", "No module named 'cv2'"),
     "opencv-python is not installed", [PIP + "opencv-python"]),
    ("missing-pil",
     [{"distributions": {"pillow": None}}], import_error("ModuleNotFoundError", "No module named 'PIL'"),
     "pillow is not installed", [PIP + "'pillow!=8.3.*'"]),
    ("missing-fastai",
     [{"distributions": {"fastai": None}}], import_error("ModuleNotFoundError", "No module named 'fastai'"),
     "fastai is not installed", [PIP + "fastai"]),
    ("missing-submodule-of-uninstalled-package",
     [{"distributions": {"fastai": None}}], import_error("ModuleNotFoundError", "No module named 'fastai.vision'"),
     "fastai is not installed", [PIP + "fastai"]),
    ("incomplete-fastai",
     [], import_error("ModuleNotFoundError", "No module named 'fastai.vision.all'"),
     "fastai is installed but has no module fastai.vision.all", ["--force-reinstall fastai"]),
    ("incomplete-pillow",
     [], import_error("ModuleNotFoundError", "No module named 'PIL._imaging'"),
     "PIL is installed but has no module PIL._imaging", ["--force-reinstall pillow"]),
    ("cannot-import-name",
     [], import_error("ImportError", "cannot import name 'patch_to' from 'fastcore.basics' "
                                     "(%s/fastcore/basics.py)" % SITE),
     "fastcore.basics has no patch_to", ["--upgrade fastcore fastai"]),
    ("cannot-import-name-from-pil",
     [], import_error("ImportError", "cannot import name 'Resampling' from 'PIL.Image'"),
     "PIL.Image has no Resampling", ["--upgrade pillow fastai"]),
    ("undefined-symbol",
     [], import_error("ImportError", "%s/torchvision/_C.so: undefined symbol: _ZN3c1017RegisterOperators" % SITE),
     "a compiled library failed to load", ["--force-reinstall 'torch<3' torchvision"]),
    ("dll-load-failed",
     [], import_error("OSError", "[WinError 126] DLL load failed while importing _C: The specified module could "
                                 "not be found."),
     "a compiled library failed to load", ["--force-reinstall 'torch<3' torchvision"]),
    ("missing-shared-object",
     [], import_error("OSError", "libcudnn_graph.so.9: cannot open shared object file: No such file or directory"),
     "a compiled library failed to load", ["--force-reinstall 'torch<3' torchvision"]),
    ("unknown",
     [], import_error("RuntimeError", "CUDA initialization failed\nmore text"),
     "RuntimeError: CUDA initialization failed", None),
]


@pytest.mark.parametrize("layers, record, cause, command_words", [case[1:] for case in EXPLAIN_CASES],
                         ids=[case[0] for case in EXPLAIN_CASES])
def test_explain_import_error(layers, record, cause, command_words):
    explanation = explain_import_error(build(*layers), record)
    assert cause in explanation.cause
    assert "more text" not in explanation.cause
    fix_commands = explanation.fix.commands if explanation.fix else ()
    if command_words is None:
        assert fix_commands == ()
    else:
        assert any(all(word in command for word in command_words) for command in fix_commands), fix_commands
        assert all(command.startswith(PIP) for command in fix_commands)


def test_shadowing_fix_says_rename_and_restart():
    explanation = explain_import_error(
        build(_origin("fastai", "/home/learner/fastai.py")),
        import_error("AttributeError", "module 'fastai' has no attribute 'vision'",
                     files=["/home/learner/fastai.py"]))
    assert "Rename" in explanation.fix.text and "restart the kernel" in explanation.fix.text


def test_missing_module_fix_mentions_percent_pip_for_notebooks():
    explanation = explain_import_error(build(), import_error("ModuleNotFoundError", "No module named 'sklearn'"))
    assert "%pip install scikit-learn" in explanation.fix.text


def test_nms_fix_without_local_tag_uses_the_default_index():
    explanation = explain_import_error(build(PYPI_TORCH),
                                       import_error("RuntimeError", "operator torchvision::nms does not exist"))
    assert explanation.fix.commands == (PIP + "torch==2.14.1 'torchvision==0.29.*'",)


# --- lesson-imports -------------------------------------------------------------------------------

def _statement(statement, required=True, error=None, seconds=1.0):
    return {"statement": statement, "required": required, "ok": error is None, "seconds": seconds, "error": error}


def _statements(*statements):
    return {"imports": {"statements": list(statements)}}


NMS = import_error("RuntimeError", "operator torchvision::nms does not exist",
                   traceback=_traceback("<string>", SITE + "/torchvision/extension.py",
                                        last="RuntimeError: operator torchvision::nms does not exist"))
NO_DDGS = import_error("ModuleNotFoundError", "No module named 'ddgs'")

LESSON_IMPORTS_CASES = [
    ("lesson-1-works", [], {}, "ok", ["lesson 1 (Getting started: an image classifier) imports work (4.0 s)"]),
    ("lesson-2-works", [_statements(_statement(VISION, seconds=3.0), _statement("import ipywidgets", seconds=0.5),
                                    _statement("import gradio", required=False, error=import_error(
                                        "ModuleNotFoundError", "No module named 'gradio'")))],
     {"lesson": 2}, "ok", ["lesson 2 (Deployment", "imports work (3.5 s)"]),
    ("unknown-lesson-number", [], {"lesson": 99}, "ok", ["lesson 99 imports work"]),
    ("optional-failure-does-not-count",
     [_statements(_statement(VISION), _statement("import ddgs", required=False, error=NO_DDGS))], {}, "ok",
     ["imports work"]),
    ("torchvision-mismatch", [_statements(_statement(VISION, error=NMS))], {}, "error",
     ["`from fastai.vision.all import *` fails: torchvision does not match the installed torch"]),
    ("fastai-missing",
     [{"distributions": {"fastai": None}},
      _statements(_statement(VISION, error=import_error("ModuleNotFoundError", "No module named 'fastai'")))],
     {}, "error", ["fails: fastai is not installed"]),
    ("quick", [], {"quick": True}, "skipped", ["lesson 1 (Getting started", "not run with --quick"]),
    ("probe-hung", [{"outcomes": {"imports": failed_outcome("imports", "timeout",
                                                            "probe imports timed out after 300 s")}}], {},
     "error", ["importing the lesson 1", "does not finish", "timed out after 300 s"]),
    ("probe-crashed", [{"outcomes": {"imports": failed_outcome("imports")}}], {}, "error",
     ["does not finish", "SIGSEGV"]),
]


@pytest.mark.parametrize("layers, keywords, status, expected", [case[1:] for case in LESSON_IMPORTS_CASES],
                         ids=[case[0] for case in LESSON_IMPORTS_CASES])
def test_lesson_imports(layers, keywords, status, expected):
    finding = one("lesson-imports", build(*layers, **keywords))
    assert finding.status == status
    for word in expected:
        assert word in finding.title


def test_lesson_import_failure_shows_the_traceback_and_the_causes_fix():
    finding = one("lesson-imports", build(_statements(_statement(VISION, error=NMS))))
    assert "torchvision/extension.py" in finding.detail
    (command,) = commands(finding)
    assert command == PIP + "torch==2.14.1 'torchvision==0.29.*' --index-url " + CU130


def test_lesson_import_reports_the_first_failure_and_lists_the_others():
    statements = _statements(
        _statement(VISION, error=NMS),
        _statement("import ipywidgets", error=import_error("ModuleNotFoundError", "No module named 'ipywidgets'")),
        _statement("from fastai.vision.widgets import *", error=NMS))
    finding = one("lesson-imports", build(statements, lesson=2))
    assert finding.title.startswith("`from fastai.vision.all import *` fails")
    assert "also fails: import ipywidgets" in finding.detail
    assert "also fails: from fastai.vision.widgets import *" in finding.detail


def test_lesson_import_that_hangs_says_how_to_find_where():
    finding = one("lesson-imports", build(outcomes={"imports": failed_outcome(
        "imports", "timeout", "probe imports timed out after 300 s", stderr="still importing fastai.vision")}))
    assert "faulthandler" in finding.fix.text
    assert "still importing fastai.vision" in finding.detail


# --- lesson-optional-imports ----------------------------------------------------------------------

OPTIONAL_CASES = [
    ("all-work", [], {}, "ok", "all 1 optional imports work"),
    ("none-declared", [_statements(_statement(VISION))], {}, "ok", "no optional imports"),
    ("required-failure-is-not-optional", [_statements(_statement(VISION, error=NMS),
                                                      _statement("import ddgs", required=False))], {}, "ok",
     "all 1 optional imports work"),
    ("one-fails", [_statements(_statement(VISION), _statement("import ddgs", required=False, error=NO_DDGS))], {},
     "info", "1 optional import is not installed: `import ddgs`"),
    ("installed-but-broken", [_statements(_statement(VISION), _statement("import ddgs", required=False, error=NMS))],
     {}, "warning", "1 optional import fails: `import ddgs`"),
    ("absent-and-broken", [_statements(
        _statement(VISION), _statement("import gradio", required=False, error=NMS),
        _statement("import ddgs", required=False, error=NO_DDGS))], {},
     "warning", "1 optional import fails: `import gradio`"),
    ("two-fail", [_statements(
        _statement(VISION), _statement("import ddgs", required=False, error=NO_DDGS),
        _statement("from fastdownload import download_url", required=False,
                   error=import_error("ModuleNotFoundError", "No module named 'fastdownload'")))], {},
     "info", "2 optional imports are not installed: `import ddgs`, `from fastdownload import download_url`"),
    ("quick", [], {"quick": True}, "skipped", "imports did not run"),
    ("probe-crashed", [{"outcomes": {"imports": failed_outcome("imports")}}], {}, "skipped", "imports did not run"),
]


@pytest.mark.parametrize("layers, keywords, status, expected", [case[1:] for case in OPTIONAL_CASES],
                         ids=[case[0] for case in OPTIONAL_CASES])
def test_lesson_optional_imports(layers, keywords, status, expected):
    finding = one("lesson-optional-imports", build(*layers, **keywords))
    assert finding.status == status
    assert expected in finding.title


def test_optional_failures_list_each_cause_and_install_command():
    statements = _statements(
        _statement(VISION), _statement("import ddgs", required=False, error=NO_DDGS),
        _statement("from fastdownload import download_url", required=False,
                   error=import_error("ModuleNotFoundError", "No module named 'fastdownload'")))
    finding = one("lesson-optional-imports", build(statements))
    assert "import ddgs: ddgs is not installed" in finding.detail
    assert commands(finding) == (PIP + "ddgs fastdownload",)


def test_optional_failure_without_a_known_cause_has_no_fix():
    statements = _statements(_statement(VISION), _statement(
        "import gradio", required=False, error=import_error("RuntimeError", "gradio needs a display")))
    finding = one("lesson-optional-imports", build(statements, lesson=2))
    assert finding.status == "warning"
    assert finding.fix is None
    assert "RuntimeError: gradio needs a display" in words(finding)
