"""Real broken environments: temporary virtualenvs whose packages are real metadata and real module
files (written the way pip lays them out), examined with ``dl-doctor check --python`` in child processes."""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import install_fake_distribution, make_venv, process_alive, run_cli, site_packages, wait_for

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="venv layout and signals as on Linux and macOS")]


def check(python, *extra, cwd):
    completed = run_cli("check", "--python", str(python), "--format", "json", *extra, cwd=str(cwd))
    assert "Traceback" not in completed.stderr, completed.stderr
    report = json.loads(completed.stdout)
    return completed.returncode, {f["id"]: f for f in report["findings"]}, report


@pytest.fixture
def venv(tmp_path):
    python = make_venv(tmp_path / "venv")
    return python, site_packages(python)


def test_environment_with_nothing_installed(venv, tmp_path):
    python, _ = venv
    code, findings, report = check(python, cwd=tmp_path)
    assert code == 1
    assert findings["torch-import"]["status"] == "error"
    assert findings["torch-import"]["title"].startswith("torch is not installed")
    assert "-m pip install torch torchvision" in findings["torch-import"]["fix"]["commands"][0]
    assert str(python) in findings["torch-import"]["fix"]["commands"][0]
    assert findings["lesson-imports"]["status"] == "error"
    assert "fastai is not installed" in findings["lesson-imports"]["title"]
    assert "not installed: torch, torchvision, fastai" in findings["package-versions"]["title"]
    assert findings["python-environment"]["status"] == "ok"
    assert report["environment"]["python_executable"] == str(python)


def test_conflicting_requirement_matches_pip_check(venv, tmp_path):
    python, site = venv
    install_fake_distribution(site, "torch", "2.14.1", requires=["filelock"])
    install_fake_distribution(site, "filelock", "4.3.1")
    install_fake_distribution(site, "fastai", "2.8.12", requires=["torch<2.9,>=1.10", "fastcore>=2.2.22",
                                                                    'pytest; extra == "dev"'])
    install_fake_distribution(site, "course-notes", "1.0", requires=['colorama; sys_platform == "win32"'])
    _, findings, _ = check(python, "--quick", cwd=tmp_path)
    problem = findings["package-requirements"]
    assert problem["status"] == "error"
    assert "fastai 2.8.12 has requirement torch<2.9,>=1.10, but you have torch 2.14.1." in problem["detail"]
    assert "fastai 2.8.12 requires fastcore, which is not installed." in problem["detail"]
    assert "colorama" not in problem["detail"] and "pytest" not in problem["detail"]
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "check"],
                         capture_output=True, text=True, timeout=120)
    pip_lines = {line.strip() for line in pip.stdout.splitlines() if line.strip()}
    count, *described = problem["detail"].splitlines()
    assert count == "2 broken requirements in the course stack:"
    assert pip_lines == {line.strip() for line in described}


def test_local_file_shadowing_torch(tmp_path):
    notebook_folder = tmp_path / "lesson"
    notebook_folder.mkdir()
    (notebook_folder / "torch.py").write_text("print('my experiments')\n")
    code, findings, _ = check(sys.executable, cwd=notebook_folder)
    assert code == 1
    shadow = findings["shadowed-modules"]
    assert shadow["status"] == "error"
    assert str(notebook_folder / "torch.py") in shadow["detail"]
    shadow_words = "%s shadows the installed torch" % (notebook_folder / "torch.py")
    assert shadow_words in findings["torch-import"]["title"]
    assert shadow_words in findings["lesson-imports"]["title"]
    assert findings["shadowed-modules"]["title"] == shadow_words


def test_torch_that_crashes_on_import(venv, tmp_path):
    python, site = venv
    install_fake_distribution(site, "torch", "2.14.1", files={
        "torch/__init__.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        "torch/version.py": "__version__ = '2.14.1+cpu'\ncuda = None\nhip = None\n",
    })
    code, findings, report = check(python, cwd=tmp_path)
    assert code == 1
    assert findings["torch-import"]["status"] == "error"
    assert "crashed with SIGSEGV" in findings["torch-import"]["title"]
    assert report["facts"]["probes"]["torch"]["status"] == "crashed"
    # The metadata probes still answered; the build came from torch/version.py.
    assert report["environment"]["torch"] == "2.14.1+cpu"
    assert findings["torch-build"]["status"] == "warning"


def test_mismatched_torchvision_is_named_as_the_root_cause(venv, tmp_path):
    python, site = venv
    install_fake_distribution(site, "torch", "2.13.0", files={
        "torch/__init__.py": "__version__ = '2.13.0+cpu'\n",
        "torch/version.py": "__version__ = '2.13.0+cpu'\ncuda = None\nhip = None\n",
    })
    install_fake_distribution(site, "torchvision", "0.29.1", requires=["torch>=2.14.0"], files={
        "torchvision/__init__.py": "raise RuntimeError('operator torchvision::nms does not exist')\n",
        "torchvision/version.py": "__version__ = '0.29.1+cpu'\n",
    })
    install_fake_distribution(site, "fastai", "2.8.12", requires=["torchvision>=0.11"], files={
        "fastai/__init__.py": "",
        "fastai/vision/__init__.py": "",
        "fastai/vision/all.py": "import torchvision\n",
    })
    code, findings, _ = check(python, cwd=tmp_path)
    assert code == 1
    lesson = findings["lesson-imports"]
    assert lesson["title"] == ("`from fastai.vision.all import *` fails: torchvision does not match the "
                               "installed torch")
    assert "operator torchvision::nms does not exist" in lesson["detail"]
    assert findings["torchvision-pairing"]["status"] == "error"
    assert "it needs torchvision 0.28" in findings["torchvision-pairing"]["title"]
    assert "torchvision==0.28.*" in findings["torchvision-pairing"]["fix"]["commands"][0]


def test_ctrl_c_stops_cleanly_and_leaves_no_probe_behind(venv, tmp_path):
    python, site = venv
    pid_file = tmp_path / "hanging-import.pid"
    install_fake_distribution(site, "fastai", "2.8.12", files={
        "fastai/__init__.py": "",
        "fastai/vision/__init__.py": "",
        "fastai/vision/all.py": "import os, threading\nopen(%r, 'w').write(str(os.getpid()))\n"
                                "threading.Event().wait()\n" % str(pid_file),
    })
    doctor_process = subprocess.Popen(
        [sys.executable, "-m", "doctor", "check", "--python", str(python)], cwd=str(tmp_path),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    doctor_process.send_signal(signal.SIGINT)
    _, stderr = doctor_process.communicate(timeout=60)
    assert doctor_process.returncode == 130
    assert stderr.strip() == "dl-doctor: interrupted"
    wait_for(lambda: not process_alive(int(pid_file.read_text())))



def test_old_style_egg_info_files_are_read_like_pip_reads_them(venv, tmp_path):
    python, site = venv
    # Debian's system packages still ship single-file .egg-info metadata.
    (site / "legacy_tool-1.0-py3.11.egg-info").write_text("Metadata-Version: 1.1\nName: legacy-tool\nVersion: 1.0\n")
    install_fake_distribution(site, "course-notes", "1.0", requires=["legacy-tool>=2"])
    _, findings, _ = check(python, "--quick", cwd=tmp_path)
    problem = findings["package-requirements"]
    assert "unreadable metadata" not in problem["detail"]
    assert problem["title"] == "legacy-tool 1.0 is older than course-notes 1.0 needs (>=2)"
    assert problem["detail"].splitlines()[1:] == [
        "course-notes 1.0 has requirement legacy-tool>=2, but you have legacy-tool 1.0."]
