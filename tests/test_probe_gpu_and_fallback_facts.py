"""The metadata probes, run for real in child processes, for the facts the GPU and MPS-fallback advice needs:
torch's own CUDA release table (PYTORCH_RELEASES_CODE_CC, read from torch/cuda/__init__.py without importing
torch), and where PYTORCH_ENABLE_MPS_FALLBACK is set before Python starts (conda env vars, activate.d, shell
profiles, a kernelspec's env and -S)."""

import ast
import json
import os
import subprocess
import sys
from importlib import metadata

import pytest

from doctor.collect import probe_arguments, probe_environment
from doctor.probes import builtin_probes
from doctor.probes.runner import run_probes

METADATA = {spec.name: spec for spec in builtin_probes()}["metadata"]
VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"


def member(name, cwd, python=sys.executable, **environment):
    env = dict(probe_environment(), **environment)
    outcome = run_probes([METADATA], python, str(cwd), env, probe_arguments(1))[name]
    assert outcome.ok, outcome.reason
    return outcome.data


def installed_release_table():
    """PYTORCH_RELEASES_CODE_CC as the installed torch's source spells it, parsed here independently."""
    path = metadata.distribution("torch").locate_file("torch/cuda/__init__.py")
    for node in ast.parse(open(str(path), "rb").read()).body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "PYTORCH_RELEASES_CODE_CC":
            return ast.literal_eval(node.value)
    return None


@pytest.mark.skipif(installed_release_table() is None, reason="the installed torch has no PYTORCH_RELEASES_CODE_CC")
def test_the_packages_probe_reads_the_installed_torchs_release_table(tmp_path):
    data = member("packages", tmp_path)
    expected = {cuda: {arch: sorted(codes) for arch, codes in by_arch.items()}
                for cuda, by_arch in installed_release_table().items()}
    assert data["torch_release_capabilities"] == expected
    assert 61 not in data["torch_release_capabilities"]["12.6"]["x86_64"]  # sm_60 code serves 6.1, no sm_61
    assert 120 in data["torch_release_capabilities"]["13.0"]["x86_64"]


def fake_torch(site, cuda_init):
    """A torch distribution on a PYTHONPATH folder: its metadata and a torch/cuda/__init__.py."""
    info = site / "torch-2.5.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.5.1\n")
    (info / "RECORD").write_text("torch/cuda/__init__.py,,\n")
    (site / "torch" / "cuda").mkdir(parents=True)
    (site / "torch" / "cuda" / "__init__.py").write_text(cuda_init)


@pytest.mark.parametrize("cuda_init, expected", [
    ("import torch\n\ndef get_arch_list():\n    return []\n", None),
    ("PYTORCH_RELEASES_CODE_CC = {'12.4': {'x86_64': {90, 50, 86}}}\n", {"12.4": {"x86_64": [50, 86, 90]}}),
    ("PYTORCH_RELEASES_CODE_CC = make_table()\n", None),
    ("def broken(:\n", None),
], ids=["without-the-table", "plain-assignment", "not-a-literal", "unparsable"])
def test_the_packages_probe_reads_a_torch_without_the_table_as_none(tmp_path, cuda_init, expected):
    site = tmp_path / "site"
    fake_torch(site, cuda_init)
    data = member("packages", tmp_path, PYTHONPATH=str(site))
    torch = [d for d in data["distributions"] if d["name"] == "torch"]
    assert torch[0]["version"] == "2.5.1"  # the fake one is the torch examined
    assert data["torch_release_capabilities"] == expected


# --- where the fallback variable is set before Python starts ------------------------------------------

@pytest.fixture
def course_env(tmp_path):
    """A real (bare) virtual environment standing in for the learner's conda environment."""
    prefix = tmp_path / "course"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    return prefix


def test_the_notebook_probe_finds_every_place_that_presets_the_fallback(tmp_path, course_env):
    (course_env / "conda-meta").mkdir()
    (course_env / "conda-meta" / "state").write_text(json.dumps({"env_vars": {VARIABLE: "0", "OTHER": "x"}}))
    activate = course_env / "etc" / "conda" / "activate.d"
    activate.mkdir(parents=True)
    (activate / "course.sh").write_text("#!/bin/sh\n# export %s=1\nexport %s=0\n" % (VARIABLE, VARIABLE))
    home = tmp_path / "home"
    home.mkdir()
    (home / ".zshrc").write_text("alias ll='ls -l'\necho $%s\n%s=\"0\"; export %s\n" % (VARIABLE, VARIABLE, VARIABLE))
    kernels = tmp_path / "jupyter"
    (kernels / "kernels" / "course").mkdir(parents=True)
    python = str(course_env / "bin" / "python")
    (kernels / "kernels" / "course" / "kernel.json").write_text(json.dumps({
        "argv": [python, "-IS", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Course", "env": {VARIABLE: "0", "SECRET_TOKEN": "not recorded"}}))
    data = member("notebook", tmp_path, python=python, HOME=str(home), JUPYTER_PATH=str(kernels),
                  JUPYTER_DATA_DIR=str(tmp_path / "nothing"))
    presets = sorted((p["kind"], os.path.basename(p["path"]), p["line"], p["value"]) for p in data["fallback_presets"])
    assert presets == [("conda-activate-script", "course.sh", 3, "0"), ("conda-env-vars", "state", None, "0"),
                       ("shell-profile", ".zshrc", 3, "0")]
    (spec,) = [s for s in data["kernelspecs"] if s["name"] == "course"]
    assert spec["fallback_variable"] == "0"
    assert spec["no_site"] is True
    assert spec["prefix"] == str(course_env)
    assert "not recorded" not in json.dumps(data)  # only this variable's value is kept


def test_the_notebook_probe_finds_nothing_where_nothing_presets_it(tmp_path, course_env):
    home = tmp_path / "home"
    home.mkdir()
    data = member("notebook", tmp_path, python=str(course_env / "bin" / "python"), HOME=str(home),
                  JUPYTER_PATH=str(tmp_path / "none"), JUPYTER_DATA_DIR=str(tmp_path / "nothing"))
    assert data["fallback_presets"] == []


def test_a_fifo_profile_and_an_odd_conda_state_neither_hang_nor_break_the_notebook_probe(tmp_path, course_env):
    (course_env / "conda-meta").mkdir()
    (course_env / "conda-meta" / "state").write_text(json.dumps({"env_vars": "%s=0" % VARIABLE}))
    home = tmp_path / "home"
    home.mkdir()
    os.mkfifo(str(home / ".bashrc"))  # nothing ever writes to it: opening it would block
    data = member("notebook", tmp_path, python=str(course_env / "bin" / "python"), HOME=str(home),
                  JUPYTER_PATH=str(tmp_path / "none"), JUPYTER_DATA_DIR=str(tmp_path / "nothing"))
    assert data["fallback_presets"] == []


@pytest.mark.parametrize("argv, no_site", [
    (["-S", "-m", "ipykernel_launcher"], True),
    (["-Es", "-m", "ipykernel_launcher"], False),
    (["-X", "frozen_modules=off", "-m", "ipykernel_launcher"], False),
    (["-X", "utf8", "-S", "-m", "ipykernel_launcher"], True),
    (["-Wignore", "-m", "ipykernel_launcher", "-S"], False),
    (["-m", "ipykernel_launcher", "-S"], False),
], ids=["S", "E-and-s", "X-value", "X-value-then-S", "W-value", "after-m"])
def test_the_kernelspec_argv_is_read_as_python_reads_its_options(tmp_path, argv, no_site):
    kernels = tmp_path / "jupyter"
    (kernels / "kernels" / "k").mkdir(parents=True)
    (kernels / "kernels" / "k" / "kernel.json").write_text(json.dumps({"argv": [sys.executable] + argv,
                                                                       "display_name": "K"}))
    data = member("notebook", tmp_path, JUPYTER_PATH=str(kernels))
    (spec,) = [s for s in data["kernelspecs"] if s["name"] == "k"]
    assert spec["no_site"] is no_site
