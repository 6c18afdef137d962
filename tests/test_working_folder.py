"""The learner's working folder, for real (issue #14 §5-8): a json.py or random.py there, a fastai.py, a doctor.py
or packaging/ next to where dl-doctor runs, a shadow that PYTHONPATH or a .pth file brings. Real child processes
in temporary folders."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_venv
from doctor.collect import probe_arguments, probe_environment
from doctor.probes import builtin_probes, programs
from doctor.probes.runner import run_probes

BUILTIN = {spec.name: spec for spec in builtin_probes()}
DL_DOCTOR = shutil.which("dl-doctor", path=os.path.dirname(sys.executable))


def _poison(folder: Path, names):
    """A module for each name that fails as soon as it is imported, so any use of it shows."""
    for name in names:
        (folder / (name + ".py")).write_text("raise ImportError('the learner\\'s own %s.py was imported')\n" % name)


def test_a_file_named_like_any_stdlib_module_breaks_no_metadata_or_hardware_probe(tmp_path):
    _poison(tmp_path, [name for name in sys.stdlib_module_names if name != "__future__"])
    outcomes = run_probes([BUILTIN["metadata"], BUILTIN["hardware"]], sys.executable, str(tmp_path),
                          probe_environment(), probe_arguments(1))
    broken = {name: outcome.reason or outcome.stderr_tail for name, outcome in outcomes.items() if not outcome.ok}
    assert not broken
    found = outcomes["python"].data["stdlib_names_in_working_folder"]
    assert found["json"] == str(tmp_path / "json.py")
    assert "sys" not in found  # built into the interpreter: no folder can shadow it


def test_probe_programs_import_the_standard_library_at_module_level():
    """An import inside a function runs after the prelude has put the working folder back on sys.path, where a
    learner's email.py or glob.py would answer it; at module level the folder is off sys.path."""
    lazy = []
    for path in sorted(Path(programs.__file__).parent.glob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                else:
                    continue
                lazy += ["%s:%d imports %s" % (path.name, node.lineno, name) for name in names
                         if name.split(".")[0] in sys.stdlib_module_names
                         and name.split(".")[0] not in sys.builtin_module_names]
    assert not sorted(set(lazy))


def _check(folder, *only, env=None):
    result = subprocess.run([DL_DOCTOR, "check", "--only", ",".join(only), "--format", "json"], cwd=folder,
                            env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert result.returncode in (0, 1), result.stderr
    return {finding["id"]: finding for finding in json.loads(result.stdout)["findings"]}


def _commands(finding):
    return (finding.get("fix") or {}).get("commands") or []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["json", "random"])
def test_a_stdlib_shadow_in_the_working_folder_is_named_and_torch_is_not_blamed(tmp_path, name):
    (tmp_path / (name + ".py")).write_text("# my notes\nlearning_rate = 0.01\n")
    found = _check(tmp_path, "stdlib-shadowed", "torch-import")
    shadow = found["stdlib-shadowed"]
    assert shadow["status"] == "error"
    assert shadow["title"].startswith("%s shadows the standard library's %s" % (tmp_path / (name + ".py"), name))
    assert any(command.startswith("mv ") and str(tmp_path / (name + ".py")) in command for command in _commands(shadow))
    torch = found["torch-import"]
    assert not any("--force-reinstall" in command for command in _commands(torch))
    if torch["status"] != "ok":
        assert "shadows the standard library's %s" % name in torch["title"]


@pytest.mark.slow
def test_a_fastai_py_in_the_working_folder_is_blamed_for_the_missing_fastai_vision(tmp_path):
    (tmp_path / "fastai.py").write_text("learning_rate = 0.01\n")
    lesson = _check(tmp_path, "lesson-imports")["lesson-imports"]
    assert lesson["status"] == "error"
    assert "%s shadows the installed fastai" % (tmp_path / "fastai.py") in lesson["title"]
    assert not any("--force-reinstall" in command for command in _commands(lesson))


@pytest.mark.slow
def test_a_fastai_py_that_pythonpath_brings_is_blamed_and_the_fix_is_pythonpath(tmp_path):
    """A PYTHONPATH folder with some other distribution's metadata in it (pip install --target) is no home of
    fastai: its fastai.py is a shadow, which `import fastai.vision` meets as "'fastai' is not a package"."""
    folder = tmp_path / "lib"
    (folder / "notes-1.0.dist-info").mkdir(parents=True)
    (folder / "notes-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: notes\nVersion: 1.0\n")
    (folder / "fastai.py").write_text("learning_rate = 0.01\n")
    work = tmp_path / "work"
    work.mkdir()
    found = _check(work, "lesson-imports", "shadowed-modules", env=dict(os.environ, PYTHONPATH=str(folder)))
    for check_id in ("lesson-imports", "shadowed-modules"):
        finding = found[check_id]
        assert finding["status"] == "error"
        assert "%s shadows the installed fastai" % (folder / "fastai.py") in finding["title"]
        assert "PYTHONPATH" in finding["fix"]["text"]
        assert not any("--force-reinstall" in command or command.startswith("mv ") for command in _commands(finding))


def test_the_python_probe_says_which_sys_path_entries_pythonpath_and_a_pth_file_added(tmp_path):
    python = make_venv(tmp_path / "venv")
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    from_pth, from_variable = tmp_path / "from_pth", tmp_path / "from_variable"
    from_pth.mkdir()
    from_variable.mkdir()
    (site / "course.pth").write_text("# course code\n%s\nimport os\n" % from_pth)
    env = dict(probe_environment(), PYTHONPATH=str(from_variable))
    python_facts = run_probes([BUILTIN["metadata"]], str(python), str(tmp_path), env, probe_arguments(1))["python"]
    assert python_facts.ok, python_facts.reason
    added = python_facts.data["added_path_entries"]
    assert added[str(from_pth)] == {"source": "pth", "pth_file": str(site / "course.pth")}
    assert added[str(from_variable)] == {"source": "PYTHONPATH", "pth_file": None}


@pytest.fixture
def hostile_folder(tmp_path):
    """A folder whose doctor.py and packaging/ end the process with exit 7 when imported."""
    (tmp_path / "doctor.py").write_text("import sys\nsys.exit(7)\n")
    (tmp_path / "packaging").mkdir()
    (tmp_path / "packaging" / "__init__.py").write_text("import sys\nsys.exit(7)\n")
    return tmp_path


def test_the_dl_doctor_command_ignores_the_folders_doctor_py_and_packaging(hostile_folder):
    result = subprocess.run([DL_DOCTOR, "list"], cwd=hostile_folder, capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "stdlib-shadowed" in result.stdout


def test_python_m_doctor_ignores_the_folders_packaging(hostile_folder):
    """`dl-doctor list` reads version requirements with packaging: the folder's packaging/ would end it."""
    (hostile_folder / "doctor.py").unlink()
    result = subprocess.run([sys.executable, "-m", "doctor", "list"], cwd=hostile_folder, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "stdlib-shadowed" in result.stdout


def test_python_m_doctor_runs_the_folders_doctor_py_as_the_readme_warns(hostile_folder):
    """Python finds the module before dl-doctor's code can run; the README's entry points say so."""
    result = subprocess.run([sys.executable, "-m", "doctor", "--version"], cwd=hostile_folder, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 7
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "a `doctor.py` of your own" in readme
