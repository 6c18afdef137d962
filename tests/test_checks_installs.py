"""checks/installs.py (install-records, openmp-runtimes), checks/conda.py (conda-pytorch-channel, conda-pip-mixed)
and protobuf-tensorflow, table-driven from recorded installs answers; tests/test_record_real.py runs the probe for
real."""

import pytest

from checkrun import build, commands, one, without_probe, words
from factories import SITE, failed_outcome

PREFIX = "/home/learner/miniforge3/envs/fastai"
CONDA_SITE = "lib/python3.11/site-packages"


def _mismatch(name, version, missing=(), changed=(), missing_count=None, changed_count=None):
    return {"name": name, "version": version, "installer": "pip", "location": SITE,
            "missing": list(missing), "missing_count": len(missing) if missing_count is None else missing_count,
            "changed": list(changed), "changed_count": len(changed) if changed_count is None else changed_count}


INSTALL_RECORDS_CASES = [
    ("healthy", {}, {}, "ok", ["12 distributions match their RECORD", "Python sources by hash, other files by size",
                               "fastai 2.8.12"]),
    ("interrupted-install", {"problems": [_mismatch("fastai", "2.8.12", missing=["fastai/learner.py"])]}, {},
     "error", ["fastai 2.8.12 (1 missing, 0 changed)", "missing: fastai/learner.py",
               "/opt/course/bin/python -m pip install --force-reinstall --no-deps fastai==2.8.12"]),
    ("hand-edit-only", {"problems": [_mismatch("fastcore", "2.2.41", changed=["fastcore/basics.py"])]}, {},
     "warning", ["changed: fastcore/basics.py", "fastcore==2.2.41"]),
    ("long-lists-are-counted", {"problems": [_mismatch("torch", "2.14.1+cu130", missing=["torch/a.py"] * 20,
                                                       missing_count=3150)]}, {},
     "error", ["torch 2.14.1+cu130 (3150 missing", "... and 3130 more missing",
               "torch==2.14.1+cu130 --index-url https://download.pytorch.org/whl/cu130"]),
    ("local-tag-of-another-package-is-not-an-index", {"problems": [_mismatch("numpy", "2.4.6+local", missing=["x"])]},
     {}, "error", ["--no-deps numpy==2.4.6+local"]),
    ("windows-path-with-a-space", {"problems": [_mismatch("fastai", "2.8.12", missing=["fastai/learner.py"])]},
     {"executable": r"C:\Users\Ada Lovelace\course\Scripts\python.exe",
      "marker_environment": {"os_name": "nt", "sys_platform": "win32"}},
     "error", ['"C:\\Users\\Ada Lovelace\\course\\Scripts\\python.exe" -m pip install --force-reinstall']),
    ("windows-powershell", {"problems": [_mismatch("fastai", "2.8.12", missing=["fastai/learner.py"])]},
     {"executable": r"C:\Users\Ada Lovelace\course\Scripts\python.exe",
      "marker_environment": {"os_name": "nt", "sys_platform": "win32"},
      "shell_environment": {"powershell_user_modules": True}},
     "error", ["& 'C:\\Users\\Ada Lovelace\\course\\Scripts\\python.exe' -m pip install --force-reinstall"]),
    ("deep", {"deep": True, "hashing": "all", "time_allowance_s": 100.0}, {}, "ok",
     ["every distribution, every file by hash"]),
    ("quick", {"hashing": "none"}, {}, "ok", ["the course stack, every file by size (--quick hashes nothing"]),
    ("time-ran-out", {"unfinished": ["nvidia-cublas", "nvidia-cudnn-cu13"]}, {}, "info",
     ["2 not reached in 20 s: nvidia-cublas, nvidia-cudnn-cu13"]),
]


@pytest.mark.parametrize("installs, python, status, expected", [case[1:] for case in INSTALL_RECORDS_CASES],
                         ids=[case[0] for case in INSTALL_RECORDS_CASES])
def test_install_records(installs, python, status, expected):
    finding = one("install-records", build(installs=installs, python=python))
    assert finding.status == status
    for word in expected:
        assert word in words(finding)


def test_one_reinstall_per_broken_distribution():
    finding = one("install-records", build(installs={"problems": [
        _mismatch("fastai", "2.8.12", missing=["fastai/learner.py"]),
        _mismatch("pillow", "13.0.0", changed=["PIL/Image.py"])]}))
    assert [command.split()[-1] for command in commands(finding)] == ["fastai==2.8.12", "pillow==13.0.0"]


@pytest.mark.parametrize("check_id", ["install-records", "openmp-runtimes", "conda-pytorch-channel",
                                      "conda-pip-mixed"])
def test_installs_checks_skip_without_the_probe(check_id):
    assert one(check_id, build(outcomes={"installs": failed_outcome("installs")})).status == "skipped"
    assert one(check_id, without_probe(build(), "installs")).status == "skipped"


def _omp(runtime, path, owner, installer):
    return {"runtime": runtime, "path": path, "owner": owner, "installer": installer}


OPENMP_CASES = [
    ("pip-torch-alone", None, "ok", "only GNU OpenMP (libgomp) copies"),
    ("nothing", [], "ok", "no OpenMP runtime library installed"),
    ("gnu-copies-side-by-side", [_omp("libgomp", SITE + "/torch/lib/libgomp.so.1", "torch", "pip"),
                                 _omp("libgomp", SITE + "/scikit_learn.libs/libgomp-e985bcbb.so.1.0.0",
                                      "scikit-learn", "pip")], "ok", "which do not clash"),
    ("one-package-symlinks-are-one-copy", [_omp("libiomp5", PREFIX + "/lib/libiomp5.so", "intel-openmp", "conda"),
                                           _omp("libiomp5", PREFIX + "/lib/libiomp5.so.1", "intel-openmp", "conda")],
     "ok", "one Intel/LLVM OpenMP runtime"),
    ("conda-intel-and-pip-llvm", [_omp("libiomp5", PREFIX + "/lib/libiomp5.so", "intel-openmp", "conda"),
                                  _omp("libomp", SITE + "/torch/lib/libomp.so", "torch", "pip")],
     "warning", "2 copies of the Intel/LLVM OpenMP runtime: intel-openmp (conda), torch (pip)"),
    ("windows-two-libiomp5md", [_omp("libiomp5", PREFIX + r"\Library\bin\libiomp5md.dll", "intel-openmp", "conda"),
                                _omp("libiomp5", SITE + r"\torch\lib\libiomp5md.dll", "torch", "pip")],
     "warning", "OMP: Error #15: Initializing libiomp5md.dll, but found libiomp5md.dll already initialized"),
    ("macos-torch-and-sklearn-wheels", [_omp("libomp", SITE + "/torch/lib/libomp.dylib", "torch", "pip"),
                                        _omp("libomp", SITE + "/sklearn/.dylibs/libomp.dylib", "scikit-learn", "pip")],
     "warning", "scikit-learn (pip), torch (pip)"),
]


@pytest.mark.parametrize("openmp, status, expected", [case[1:] for case in OPENMP_CASES],
                         ids=[case[0] for case in OPENMP_CASES])
def test_openmp_runtimes(openmp, status, expected):
    facts = build() if openmp is None else build(installs={"openmp": openmp})
    finding = one("openmp-runtimes", facts)
    assert finding.status == status
    assert expected in words(finding)
    if status == "warning":
        assert "KMP_DUPLICATE_LIB_OK" in finding.fix.text


def _conda_package(name, version, channel, dist_infos=()):
    return {"name": name, "version": version, "build": "py311_0", "channel": channel,
            "dist_infos": list(dist_infos), "error": None}


def _python_dist(name, version, installer):
    return {"name": name, "version": version, "installer": installer,
            "path": "%s/%s-%s.dist-info" % (CONDA_SITE, name, version)}


PYTORCH_CHANNEL = "https://conda.anaconda.org/pytorch/linux-64"
CONDA_FORGE = "https://conda.anaconda.org/conda-forge/linux-64"
IN_CONDA = {"python": {"conda": True, "virtualenv": False, "prefix": PREFIX, "executable": PREFIX + "/bin/python"}}

CHANNEL_CASES = [
    ("frozen-channel", [_conda_package("pytorch", "2.5.1", PYTORCH_CHANNEL),
                        _conda_package("torchvision", "0.20.1", "pytorch"),
                        _conda_package("numpy", "2.1.3", CONDA_FORGE)], "warning",
     ["pytorch 2.5.1, torchvision 0.20.1 from the pytorch conda channel", "stopped at torch 2.5",
      "conda remove -p %s pytorch torchvision" % PREFIX, PREFIX + "/bin/python -m pip install"]),
    ("nightly-channel", [_conda_package("pytorch", "2.6.0.dev20241112", "https://conda.anaconda.org/pytorch-nightly/"
                                        "osx-arm64")], "warning", ["pytorch-nightly"]),
    ("conda-forge-pytorch", [_conda_package("pytorch", "2.9.1", CONDA_FORGE)], "ok", ["no package from the pytorch"]),
    ("pytorch-lightning-is-not-the-channel", [_conda_package("pytorch-lightning", "2.5.0", CONDA_FORGE)], "ok", []),
]


@pytest.mark.parametrize("packages, status, expected", [case[1:] for case in CHANNEL_CASES],
                         ids=[case[0] for case in CHANNEL_CASES])
def test_conda_pytorch_channel(packages, status, expected):
    finding = one("conda-pytorch-channel", build(IN_CONDA, installs={"conda_prefix": PREFIX,
                                                                     "conda_packages": packages}))
    assert finding.status == status
    for word in expected:
        assert word in words(finding) + "\n".join(finding.links)
    if status == "warning":
        assert "https://github.com/pytorch/pytorch/issues/138506" in finding.links


@pytest.mark.parametrize("check_id", ["conda-pytorch-channel", "conda-pip-mixed"])
def test_conda_checks_skip_outside_conda(check_id):
    finding = one(check_id, build())
    assert finding.status == "skipped"
    assert finding.title == "not a conda environment"


NUMPY_CONDA = _conda_package("numpy", "1.26.4", CONDA_FORGE, ["%s/numpy-1.26.4.dist-info" % CONDA_SITE])
TORCH_CONDA = _conda_package("pytorch", "2.5.1", PYTORCH_CHANNEL, ["%s/torch-2.5.1.dist-info" % CONDA_SITE])

MIXED_CASES = [
    ("only-conda", [NUMPY_CONDA], [_python_dist("numpy", "1.26.4", "conda")], "ok", []),
    ("pip-only-package-in-conda-env", [NUMPY_CONDA], [_python_dist("numpy", "1.26.4", "conda"),
                                                      _python_dist("fastai", "2.8.12", "pip")], "ok", []),
    ("pip-beside-conda", [NUMPY_CONDA], [_python_dist("numpy", "1.26.4", "conda"),
                                         _python_dist("numpy", "2.1.0", "pip")], "warning",
     ["installed by both conda and pip: numpy", "conda-meta records numpy 1.26.4",
      "numpy 2.1.0 installed by pip", PREFIX + "/bin/python -m pip uninstall -y numpy",
      "conda install -p %s --force-reinstall numpy=1.26.4" % PREFIX]),
    ("pip-replaced-condas-folder", [TORCH_CONDA], [_python_dist("torch", "2.14.1", "pip")], "warning",
     ["conda-meta records pytorch 2.5.1", "torch 2.14.1 installed by pip", "pytorch=2.5.1"]),
]


@pytest.mark.parametrize("packages, distributions, status, expected", [case[1:] for case in MIXED_CASES],
                         ids=[case[0] for case in MIXED_CASES])
def test_conda_pip_mixed(packages, distributions, status, expected):
    finding = one("conda-pip-mixed", build(IN_CONDA, installs={
        "conda_prefix": PREFIX, "conda_packages": packages, "python_distributions": distributions}))
    assert finding.status == status
    for word in expected:
        assert word in words(finding)


PROTOBUF_CASES = [
    ("no-tensorflow", {"protobuf": "6.31.1"}, "skipped", "TensorFlow is not installed"),
    ("kaggle-pair", {"tensorflow": "2.19.0", "protobuf": "6.31.1"}, "warning",
     "protobuf 6.31.1 with tensorflow 2.19.0: importing TensorFlow fails in MessageFactory"),
    ("tensorflow-cpu", {"tensorflow-cpu": "2.18.1", "protobuf": "6.30.0"}, "warning", "tensorflow-cpu 2.18.1"),
    ("pinned-below", {"tensorflow": "2.19.0", "protobuf": "5.29.4"}, "ok", "protobuf 5.29.4 with tensorflow 2.19.0"),
    ("with-transformers", {"tensorflow": "2.19.0", "protobuf": "6.33.5", "transformers": "4.57.1"}, "warning",
     "from transformers import Trainer"),
]


@pytest.mark.parametrize("distributions, status, expected", [case[1:] for case in PROTOBUF_CASES],
                         ids=[case[0] for case in PROTOBUF_CASES])
def test_protobuf_tensorflow(distributions, status, expected):
    finding = one("protobuf-tensorflow", build(distributions=distributions))
    assert finding.status == status
    assert expected in words(finding)
    if status == "warning":
        assert "AttributeError: 'MessageFactory' object has no attribute 'GetPrototype'" in finding.detail
        assert commands(finding) == ("/opt/course/bin/python -m pip install 'protobuf<6.30'",)


def test_protobuf_pin_says_so_when_tensorflow_needs_the_new_protobuf():
    facts = build(distributions={"tensorflow": {"version": "2.99.0", "requires": ["protobuf>=6.30"]},
                                 "protobuf": "6.31.1"})
    finding = one("protobuf-tensorflow", facts)
    assert not commands(finding)
    assert "would break tensorflow 2.99.0" in finding.fix.text
