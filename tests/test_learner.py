"""`dl-doctor learner`: real exports made here with the installed fastai, crafted exports for other fastai
generations, OSes and Pythons (stand-in modules under the old names, saved with torch.save in a child), and
every kind of bad input. Asserts what a user sees: titles, exit codes, one line for bad input, no traceback."""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import pytest

from conftest import run_cli
from doctor.learner_export import MAX_OPCODES, ExportError, read_export, scan_pickle

# A real export with the installed fastai: a tiny model on 8 synthetic 16 px images, labelled by a function
# defined in __main__ (fastai >= 2.8.1 stores it by value, with cloudpickle).
_REAL_EXPORT = textwrap.dedent("""
    import sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    from fastai.vision.all import *
    import numpy as np
    from PIL import Image
    root = Path(sys.argv[1])
    for i in range(8):
        Image.fromarray((np.random.rand(16, 16, 3) * 255).astype("uint8")).save(root / ("%s_%d.png" % (
            "cat" if i % 2 else "dog", i)))
    def is_cat(name): return name.startswith("cat")
    dls = ImageDataLoaders.from_name_func(root, get_image_files(root), valid_pct=0.25, seed=0, label_func=is_cat,
                                          item_tfms=Resize(16), bs=2, num_workers=0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    Learner(dls, model, metrics=error_rate).export(root / "export.pkl")
""")

# Crafted exports: stand-in classes registered under the names other fastai generations, OSes and Pythons
# write, pickled by torch.save exactly as an export would name them. Nothing heavy is imported.
_CRAFTED = textwrap.dedent("""
    import pathlib, pickle, sys, types, torch
    folder = pathlib.Path(sys.argv[1])

    def standin(module_name, *names):
        module = types.ModuleType(module_name)
        for name in names:
            cls = type(name, (), {})
            cls.__module__, cls.__qualname__ = module_name, name
            setattr(module, name, cls)
        sys.modules[module_name] = module
        return module

    weights = {"0.weight": torch.zeros(2, 2)}
    old = standin("fastcore.transform", "Pipeline", "Transform")
    standin("fastcore.dispatch", "TypeDispatch")
    torch.save({"tfms": old.Pipeline(), "model": weights}, folder / "old_fastai.pkl")

    def is_cat(name): return name.startswith("cat")
    torch.save({"label_func": is_cat, "model": weights}, folder / "main_function.pkl", pickle_module=pickle)

    class Windows:
        def __reduce__(self): return (pathlib.WindowsPath, ("C:/course",))
    torch.save({"path": Windows(), "model": weights}, folder / "windows_path.pkl")

    local = standin("pathlib._local", "PosixPath")
    torch.save({"path": local.PosixPath(), "model": weights}, folder / "python313_path.pkl")

    import fasttransform.transform
    torch.save({"tfms": fasttransform.transform.Pipeline, "model": weights}, folder / "new_fastai.pkl")

    standin("learnerlib_gone", "Head")
    torch.save({"head": sys.modules["learnerlib_gone"].Head(), "model": weights}, folder / "missing_module.pkl")

    class Hostile:
        def __reduce__(self):
            import os
            return (os.system, ("touch %s" % (folder / "EXECUTED"),))
    torch.save({"x": Hostile()}, folder / "hostile.pkl")

    torch.save(weights, folder / "legacy.pkl", _use_new_zipfile_serialization=False)
""")


@pytest.fixture(scope="module")
def real_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real_export")
    completed = subprocess.run([sys.executable, "-c", _REAL_EXPORT, str(folder)], capture_output=True, text=True,
                               timeout=600)
    assert completed.returncode == 0, completed.stderr
    return folder / "export.pkl"


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crafted")
    completed = subprocess.run([sys.executable, "-c", _CRAFTED, str(folder)], capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    return folder


def learner_json(*arguments, env=None):
    completed = run_cli("learner", *arguments, "--format", "json", env=env)
    assert "Traceback" not in completed.stderr, completed.stderr
    report = json.loads(completed.stdout)
    return completed.returncode, {f["id"]: f for f in report["findings"]}


def names(export):
    return {(r.module, r.name) for r in read_export(str(export)).references}


# Reading without unpickling.

@pytest.mark.slow
def test_real_export_is_read_without_unpickling(real_export):
    contents = read_export(str(real_export))
    found = names(real_export)
    assert ("fastai.learner", "Learner") in found
    assert ("fasttransform.transform", "Pipeline") in found
    # Protocol 2 names Python 2's __builtin__; the unpickler maps it, and so does the reader.
    assert ("builtins", "getattr") in found and not any(m == "__builtin__" for m, _ in found)
    assert not any(m == "__main__" for m, _ in found)  # is_cat travels by value (cloudpickle)
    assert contents.archive == "export" and contents.tensors > 0 and contents.seconds < 1


def test_stack_global_follows_the_memo():
    import collections

    data = pickle.dumps([collections.OrderedDict, collections.OrderedDict, pickle.Pickler], protocol=4)
    _, _, references, _, _ = scan_pickle(data)
    assert {(r.module, r.name) for r in references} == {("collections", "OrderedDict"), ("_pickle", "Pickler")}


@pytest.mark.slow
def test_real_export_loads(real_export):
    completed = run_cli("learner", str(real_export))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "learner-unresolved-names: every module and name export.pkl imports resolves here" in completed.stdout
    assert "made by fastai >= 2.8" in completed.stdout


# Crafted exports: what would stop them loading here.

@pytest.mark.slow
def test_old_fastai_export_is_refused_by_this_fastai(crafted):
    code, found = learner_json(str(crafted / "old_fastai.pkl"))
    assert code == 1
    finding = found["learner-fastai-generation"]
    assert finding["status"] == "error"
    assert "old_fastai.pkl was made by fastai < 2.8, which fastai 2.8.12 here refuses" in finding["title"]
    (command,) = finding["fix"]["commands"]
    assert command.startswith(sys.executable + " -m pip install 'fastai<2.8' 'torch<2.7'")
    # The missing fastcore.transform is explained once, by the generation, not again as an unresolved name.
    assert found["learner-unresolved-names"]["status"] == "ok"


@pytest.mark.slow
def test_main_function_is_named(crafted):
    code, found = learner_json(str(crafted / "main_function.pkl"))
    assert code == 1
    finding = found["learner-main-functions"]
    assert finding["title"].startswith("main_function.pkl needs is_cat from the training notebook (__main__)")
    assert "before calling load_learner" in finding["fix"]["text"]
    assert "fastai >= 2.8.1" in finding["fix"]["text"]


@pytest.mark.slow
def test_windows_path_on_linux(crafted):
    code, found = learner_json(str(crafted / "windows_path.pkl"))
    assert code == 1
    assert "cannot instantiate 'WindowsPath' on your system" in found["learner-paths"]["title"]


@pytest.mark.slow
def test_python313_pathlib_local_on_older_python(crafted):
    code, found = learner_json(str(crafted / "python313_path.pkl"))
    assert code == (1 if sys.version_info < (3, 13) else 0)
    if sys.version_info < (3, 13):
        assert "exported with Python >= 3.13 (it names pathlib._local)" in found["learner-paths"]["title"]
        assert found["learner-unresolved-names"]["status"] == "ok"


@pytest.mark.slow
def test_missing_module_names_its_distribution(crafted):
    code, found = learner_json(str(crafted / "missing_module.pkl"))
    assert code == 1
    title = found["learner-unresolved-names"]["title"]
    assert "missing_module.pkl needs what this environment lacks: learnerlib_gone (learnerlib_gone, not installed)" \
        in title


@pytest.mark.slow
def test_nothing_in_the_file_is_executed(crafted):
    code, found = learner_json(str(crafted / "hostile.pkl"))
    assert not (crafted / "EXECUTED").exists()
    assert ("posix", "system") in names(crafted / "hostile.pkl")
    assert code == 0


@pytest.mark.slow
def test_torch_force_weights_only_load(crafted):
    env = dict(os.environ, TORCH_FORCE_WEIGHTS_ONLY_LOAD="1")
    code, found = learner_json(str(crafted / "windows_path.pkl"), env=env)
    finding = found["torch-weights-only-variable"]
    assert finding["status"] == "error"
    assert "Can not safely load weights when explicit pickle_module is specified" in finding["title"]


@pytest.mark.slow
def test_requirements_pins_decide_the_generation(crafted, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("fastai==2.7.12\ntorch\n")
    code, found = learner_json(str(crafted / "new_fastai.pkl"), "--requirements", str(requirements))
    assert code == 1
    finding = found["learner-fastai-generation"]
    assert "requirements.txt's fastai==2.7.12 cannot load it" in finding["title"]
    assert "fastai>=2.8.1" in finding["fix"]["text"]
    requirements.write_text("fastai>=2.8\n")
    code, found = learner_json(str(crafted / "old_fastai.pkl"), "--requirements", str(requirements))
    assert code == 1
    assert "installs a fastai that refuses it" in found["learner-fastai-generation"]["title"]
    assert "fastai<2.8" in found["learner-fastai-generation"]["fix"]["text"]


@pytest.mark.slow
@pytest.mark.parametrize("format", ["markdown", "junit", "html", "text"])
def test_every_format_names_the_culprit(crafted, format):
    completed = run_cli("learner", str(crafted / "main_function.pkl"), "--format", format)
    assert completed.returncode == 1, completed.stderr
    assert "needs is_cat from the training notebook" in completed.stdout


# Bad input: exit 2, one line, nothing executed, bounded.

def _zip_with(path, name, data):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(name, data)
    return path


def _bad_inputs(folder):
    (folder / "notes.txt").write_text("not a learner")
    (folder / "empty.pkl").write_bytes(b"")
    good = pickle.dumps({"a": 1}, protocol=2)
    return {
        "missing": (folder / "nope.pkl", "no such file"),
        "folder": (folder, "is a folder"),
        "text": (folder / "notes.txt", "not a zip file"),
        "empty": (folder / "empty.pkl", "empty file"),
        "no pickle": (_zip_with(folder / "nopickle.pkl", "export/other.bin", b"x"), "without a torch pickle"),
        "truncated": (_zip_with(folder / "truncated.pkl", "export/data.pkl", good[:-3]), "truncated"),
        "huge memo index": (_zip_with(folder / "memo.pkl", "export/data.pkl", b"\x80\x02j\xff\xff\xff\x7f."),
                            "never stored"),
        "nested": (_zip_with(folder / "nested.pkl", "export/data.pkl", b"\x80\x02" + b"(" * 1500000 + b"."),
                   "malformed"),
        "millions of opcodes": (_zip_with(folder / "many.pkl", "export/data.pkl",
                                          b"\x80\x02" + b"N0" * (MAX_OPCODES // 2 + 10) + b"N."), "opcodes"),
        "stack global on nothing": (_zip_with(folder / "sg.pkl", "export/data.pkl", b"\x80\x04N\x93."), "malformed"),
    }


@pytest.mark.parametrize("case", ["missing", "folder", "text", "empty", "no pickle", "truncated", "huge memo index",
                                  "nested", "millions of opcodes", "stack global on nothing"])
def test_bad_input_is_one_line_exit_2(tmp_path, case):
    path, words = _bad_inputs(tmp_path)[case]
    with pytest.raises(ExportError) as raised:
        read_export(str(path))
    assert words in str(raised.value) and "\n" not in str(raised.value)
    completed = run_cli("learner", str(path))
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dl-doctor: error: ") and words in lines[0], completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout


@pytest.mark.slow
def test_legacy_format_is_named(crafted):
    completed = run_cli("learner", str(crafted / "legacy.pkl"))
    assert completed.returncode == 2
    assert "torch's legacy format" in completed.stderr and len(completed.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_bad_requirements_file(crafted, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("fastai===\n")
    completed = run_cli("learner", str(crafted / "main_function.pkl"), "--requirements", str(requirements))
    assert completed.returncode == 2
    assert "line 1 is not a requirement" in completed.stderr


@pytest.mark.slow
def test_pip_compile_requirements_are_read(crafted, tmp_path):
    # pip-compile writes hashes on continuation lines; Spaces also pin VCS URLs.
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("fastai==2.7.19 \\\n    --hash=sha256:abc\n"
                            "git+https://github.com/fastai/fastbook@master\ntorch==2.6.0 --hash=sha256:def\n")
    completed = run_cli("learner", str(crafted / "main_function.pkl"), "--requirements", str(requirements),
                        "--format", "json")
    assert completed.returncode in (0, 1), completed.stderr
    assert "Traceback" not in completed.stderr


def test_a_damaged_compressed_pickle_is_one_line(tmp_path):
    path = tmp_path / "export.pkl"
    with zipfile.ZipFile(str(path), "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/data.pkl", pickle.dumps({"a": 1}, protocol=2) * 200)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"export/data.pkl") + len(b"export/data.pkl")  # the local header's name; data follows it
    raw[start + 10:start + 40] = b"\xff" * 30
    path.write_bytes(bytes(raw))
    completed = run_cli("learner", str(path))
    assert completed.returncode == 2
    assert len(completed.stderr.strip().splitlines()) == 1 and "Traceback" not in completed.stderr


@pytest.mark.slow
def test_check_learner_refuses_quick(crafted):
    completed = run_cli("check", "--quick", "--learner", str(crafted / "main_function.pkl"))
    assert completed.returncode == 2 and "cannot be combined" in completed.stderr


def test_doctor_magic_takes_learner():
    from doctor.notebook.magic import MagicUsageError, parse

    assert parse("--learner export.pkl").learner == "export.pkl"
    with pytest.raises(MagicUsageError):
        parse("--quick --learner export.pkl")


def test_torch_load_checks_run_in_every_check():
    completed = run_cli("list", "--format", "json")
    listed = completed.stdout
    assert "torch-weights-only-variable" in listed and "fastai-weights-only" in listed


@pytest.mark.slow
def test_the_weights_only_finding_quotes_what_load_learner_really_raises(real_export):
    """The finding's words are fastai's real failure, not a paraphrase: load the real export with the
    variable set, in a child, and compare."""
    env = dict(os.environ, TORCH_FORCE_WEIGHTS_ONLY_LOAD="1")
    loaded = subprocess.run([sys.executable, "-c", "from fastai.learner import load_learner; import sys; "
                             "load_learner(sys.argv[1])", str(real_export)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert loaded.returncode != 0
    raised = loaded.stderr.strip().splitlines()[-1]
    code, found = learner_json(str(real_export), env=env)
    assert code == 1
    assert raised.split(": ", 1)[1] in found["torch-weights-only-variable"]["title"]
