"""The installs probe for real: a venv with a tiny local wheel installed by pip, then broken by hand (one installed
file edited, one deleted), checked by `dl-doctor check`, repaired by pasting the printed command; and a conda
prefix fabricated in tmp_path (conda-meta records, dist-info folders, OpenMP libraries) read by the real probe."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from wheels import build_wheel, make_venv_with_pip, offline_pip_environment, pip

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="venv layout as on Linux and macOS")]

# fastcore is in the course stack, so a plain check (not only --deep) verifies it.
FILES = {
    "fastcore/__init__.py": "VALUE = 1\n",
    "fastcore/basics.py": "def answer():\n    return 42\n",
    "fastcore/data.txt": "abcd\n",
}


def check(python, cwd, *options):
    completed = run_cli("check", "--python", str(python), "--format", "json", *options, cwd=str(cwd))
    assert "Traceback" not in completed.stderr, completed.stderr
    return {f["id"]: f for f in json.loads(completed.stdout)["findings"]}


def site_packages(python):
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.strip())


@pytest.fixture
def installed(tmp_path):
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "fastcore", "9.9.0", files=FILES)
    python = make_venv_with_pip(tmp_path / "venv")
    completed = pip(python, ["install", "fastcore==9.9.0"], wheels)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return python, wheels, site_packages(python)


def test_an_edited_and_a_deleted_file_are_named_and_the_printed_reinstall_repairs_both(installed, tmp_path):
    python, wheels, site = installed
    (site / "fastcore" / "basics.py").write_text("def answer():\n    return 41  # edited by hand\n")
    (site / "fastcore" / "__init__.py").unlink()

    quick = check(python, tmp_path, "--only", "install-records", "--quick")["install-records"]
    assert "fastcore 9.9.0 (1 missing, 1 changed)" in quick["title"]  # the edit changed the file's size
    finding = check(python, tmp_path, "--only", "install-records")["install-records"]
    assert finding["status"] == "error"
    assert "fastcore 9.9.0 (1 missing, 1 changed)" in finding["title"]
    assert "missing: fastcore/__init__.py" in finding["detail"]
    assert "changed: fastcore/basics.py" in finding["detail"]
    (command,) = finding["fix"]["commands"]
    assert shlex.split(command) == [str(python), "-m", "pip", "install", "--force-reinstall", "--no-deps",
                                    "fastcore==9.9.0"]

    completed = subprocess.run(shlex.split(command), env=offline_pip_environment(wheels), capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (site / "fastcore" / "__init__.py").read_text() == FILES["fastcore/__init__.py"]
    after = check(python, tmp_path, "--only", "install-records")["install-records"]
    assert after["status"] == "ok", after


def test_a_same_size_edit_outside_python_sources_takes_deep(installed, tmp_path):
    python, _, site = installed
    (site / "fastcore" / "data.txt").write_text("abce\n")  # same size: only a hash tells

    quick = check(python, tmp_path, "--only", "install-records", "--quick")["install-records"]
    assert quick["status"] == "ok"
    assert "every file by size" in quick["detail"]
    plain = check(python, tmp_path, "--only", "install-records")["install-records"]
    assert plain["status"] == "ok"
    assert "Python sources by hash, other files by size" in plain["detail"]
    deep = check(python, tmp_path, "--only", "install-records", "--deep")["install-records"]
    assert deep["status"] == "warning"
    assert "changed: fastcore/data.txt" in deep["detail"]
    assert "every distribution, every file by hash" in deep["detail"]


def test_deep_cannot_rehash_saved_facts(tmp_path):
    saved = tmp_path / "report.json"
    saved.write_text("{}")
    completed = run_cli("check", "--facts", str(saved), "--deep", cwd=str(tmp_path))
    assert completed.returncode == 2
    assert "--deep" in completed.stderr and "Traceback" not in completed.stderr


def _conda_record(prefix, name, version, channel, files):
    record = {"name": name, "version": version, "build": "0", "channel": channel, "files": files}
    (prefix / "conda-meta" / ("%s-%s-0.json" % (name, version))).write_text(json.dumps(record))
    for path in files:
        (prefix / path).parent.mkdir(parents=True, exist_ok=True)
        (prefix / path).touch()


def _dist_info(site, name, version, installer, record=""):
    folder = site / ("%s-%s.dist-info" % (name, version))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version))
    (folder / "INSTALLER").write_text(installer + "\n")
    (folder / "RECORD").write_text(record)
    return folder


def test_a_fabricated_conda_prefix_read_by_the_real_probe(tmp_path):
    """conda-meta as conda writes it (one JSON per package, its "files" relative to the prefix): torch from the
    frozen pytorch channel, numpy installed by conda and again by pip, Intel's OpenMP from conda beside LLVM's from
    a pip wheel."""
    prefix = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=300)
    python = prefix / "bin" / "python"
    site = site_packages(python)
    relative_site = site.relative_to(prefix).as_posix()
    (prefix / "conda-meta").mkdir()
    _conda_record(prefix, "pytorch", "2.5.1", "https://conda.anaconda.org/pytorch/linux-64",
                  [relative_site + "/torch-2.5.1.dist-info/METADATA", relative_site + "/torch/__init__.py"])
    # No INSTALLER saying conda, and a RECORD that no longer matches: conda's record claims the folder all the same.
    _dist_info(site, "torch", "2.5.1", "", record="torch/__init__.py,sha256=AAAA,5\n")
    _conda_record(prefix, "numpy", "1.26.4", "https://conda.anaconda.org/conda-forge/linux-64",
                  [relative_site + "/numpy-1.26.4.dist-info/METADATA"])
    _dist_info(site, "numpy", "1.26.4", "conda")
    _dist_info(site, "numpy", "2.1.0", "pip")
    _conda_record(prefix, "intel-openmp", "2024.2.1", "https://repo.anaconda.com/pkgs/main/linux-64",
                  ["lib/libiomp5.so"])
    (site / "fakeomp" / ".libs").mkdir(parents=True)
    (site / "fakeomp" / ".libs" / "libomp-1a2b3c.so.5").touch()
    _dist_info(site, "fakeomp", "1.0", "pip", record="fakeomp/.libs/libomp-1a2b3c.so.5,,\n")

    findings = check(python, tmp_path, "--only",
                     "conda-pytorch-channel,conda-pip-mixed,openmp-runtimes,install-records")
    assert findings["install-records"]["status"] == "ok", findings["install-records"]
    assert "torch" not in findings["install-records"]["detail"]
    channel = findings["conda-pytorch-channel"]
    assert channel["status"] == "warning"
    assert "pytorch 2.5.1 from the pytorch conda channel" in channel["title"]
    assert any(command.startswith("conda remove -p %s pytorch" % prefix) for command in channel["fix"]["commands"])
    mixed = findings["conda-pip-mixed"]
    assert mixed["status"] == "warning"
    assert mixed["title"] == "installed by both conda and pip: numpy"
    assert "numpy 2.1.0 installed by pip" in mixed["detail"]
    assert mixed["fix"]["commands"][-1] == "conda install -p %s --force-reinstall numpy=1.26.4" % prefix
    openmp = findings["openmp-runtimes"]
    assert openmp["status"] == "warning"
    assert "intel-openmp (conda)" in openmp["title"] and "fakeomp (pip)" in openmp["title"]
    assert str(prefix / "lib" / "libiomp5.so") in openmp["detail"]
