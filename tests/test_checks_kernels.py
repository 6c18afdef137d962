"""checks/kernels.py: kernelspec-interpreter (a kernelspec whose interpreter is gone, and its automatic fix) and
stale-modules (a kernel that still runs what it imported before ``%pip install``), from recorded facts; and
stale-modules in a real kernel: a venv's ipykernel imports a tiny local package, ``%pip install`` puts a newer
version of it on disk (offline, from a local folder), ``%doctor`` says the kernel still runs the old one, and
after a restart the same check is ok. The real kernelspec fix is in tests/test_kernelspec_fix.py."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from checkrun import commands, one
from doctor.answers.notebook import Kernelspec, UnreadableKernelspec
from doctor.fixes import FixRefused
from doctor.fixes.kernelspec import plan_kernelspec
from conftest import make_venv
from factories import PYTHON, SITE, answer, make_facts, ok_outcome, record
from wheels import build_wheel

GONE = record(Kernelspec, name="fastai", path="/home/learner/.local/share/jupyter/kernels/fastai/kernel.json",
              display_name="fastai (old venv)", argv0="/home/learner/old-venv/bin/python", argv0_found=False)
OTHER = record(Kernelspec, name="base", path="/usr/share/jupyter/kernels/base/kernel.json",
               display_name="Python 3 (base)", argv0="/usr/bin/python3", prefix="/usr", argv0_found=True)
BUILTIN = record(Kernelspec, name="python3", path="/usr/share/jupyter/kernels/python3/kernel.json",
                 display_name="Python 3 (ipykernel)", argv0="python")
BROKEN = record(UnreadableKernelspec, name="broken", path="/usr/share/jupyter/kernels/broken/kernel.json",
                error="Expecting value: line 1 column 1 (char 0)")


def with_kernelspecs(*specs, **notebook):
    return make_facts(outcomes={"notebook": ok_outcome("notebook", answer(
        "notebook", prefix="/opt/course", kernelspecs=list(specs), **notebook))})


# --- kernelspec-interpreter ---------------------------------------------------------------------------------

def test_a_kernelspec_whose_interpreter_is_gone_names_it_and_offers_the_automatic_fix():
    finding = one("kernelspec-interpreter", with_kernelspecs(GONE, OTHER))
    assert finding.status == "warning"
    assert finding.title == ("Kernel 'fastai' runs /home/learner/old-venv/bin/python, which does not exist: the "
                             "kernel dies as it starts")
    assert finding.fix.automatic == "kernelspec"
    assert commands(finding) == ("%s -m ipykernel install --user --name fastai" % PYTHON,)
    assert GONE["path"] in finding.detail and OTHER["path"] not in finding.detail


@pytest.mark.parametrize("specs", [(), (OTHER,), (BUILTIN,), (BROKEN,), (OTHER, BUILTIN, BROKEN)])
def test_kernelspecs_of_other_existing_environments_are_left_alone(specs):
    # Another environment's working kernel is someone's; a bare "python" is resolved through PATH at start.
    assert one("kernelspec-interpreter", with_kernelspecs(*specs)).status == "ok"


def test_the_fix_plan_refuses_without_ipykernel_here():
    facts = with_kernelspecs(GONE, jupyter_modules={"jupyter_core": True, "ipykernel": False, "jupyterlab": False,
                                                    "notebook": False})
    with pytest.raises(FixRefused, match="ipykernel is not installed"):
        plan_kernelspec(facts)


def test_the_fix_plan_refuses_when_nothing_is_broken():
    with pytest.raises(FixRefused, match="no kernelspec names a missing interpreter"):
        plan_kernelspec(with_kernelspecs(OTHER))


def test_the_fix_plan_offers_ipykernel_install_where_the_kernelspec_is_not_the_learners(tmp_path):
    spec = tmp_path / "kernels" / "fastai" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text('{"argv": ["/gone/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]}')
    (tmp_path / "env").mkdir()
    notebook = answer("notebook", prefix=str(tmp_path / "env"), kernelspecs=[dict(GONE, path=str(spec))],
                      jupyter_modules={"jupyter_core": True, "ipykernel": True, "jupyterlab": True, "notebook": False})
    facts = make_facts(python={"prefix": str(tmp_path / "env")},
                       outcomes={"notebook": ok_outcome("notebook", notebook)})
    # Root may write anywhere: a folder of another user's is what it must not change.
    as_root = os.getuid() == 0
    if as_root:
        os.chown(str(spec.parent), 65534, 65534)
    else:
        spec.parent.chmod(0o555)
    try:
        with pytest.raises(FixRefused, match="(belongs to another user|is read-only for this user); register this "
                                             "interpreter under the same name instead: .* -m ipykernel install "
                                             "--user --name fastai"):
            plan_kernelspec(facts)
    finally:
        if as_root:
            os.chown(str(spec.parent), 0, 0)
        else:
            spec.parent.chmod(0o755)


# --- stale-modules ------------------------------------------------------------------------------------------

def kernel(*modules, prefix="/opt/course", kernel=True):
    return {"kernel": kernel, "prefix": prefix,
            "imported_modules": [{"name": name, "version": version, "file": "%s/%s/__init__.py" % (SITE, name)}
                                 for name, version in modules]}


@pytest.mark.parametrize("process, status", [
    (kernel(("fastai", "2.8.12"), ("torch", "2.14.1")), "ok"),
    (kernel(("fastai", "2.8.12"), ("regex", "2.5.148")), "ok"),  # not a course package: its __version__ is its own
    (kernel(("fastai", "2.8.12.0")), "ok"),  # the same version, spelled otherwise
    (kernel(("torchvision", "0.29.1+cu130")), "ok"),  # metadata without the local tag
    (kernel(("fastai", "2.8.12.dev0")), "warning"),
    (kernel(("fastai", "2.7.19")), "warning"),
    (kernel(("fastai", "2.7.19"), kernel=False), "skipped"),  # dl-doctor check in a terminal: no kernel to restart
    (kernel(("fastai", "2.7.19"), prefix="/usr"), "skipped"),  # %doctor --python for another environment
])
def test_stale_modules(process, status):
    assert one("stale-modules", make_facts(process=process)).status == status


def test_a_stale_module_names_both_versions_and_how_to_restart():
    finding = one("stale-modules", make_facts(process=kernel(("fastai", "2.7.19"), ("numpy", "1.26.4"))))
    assert finding.title == ("This kernel still runs fastai 2.7.19; fastai 2.8.12 is installed now (and 1 more): "
                             "restart the kernel")
    assert "numpy 1.26.4 imported from %s/numpy/__init__.py; installed: numpy 2.4.6" % SITE in finding.detail
    assert "Runtime > Restart session on Colab; Kernel > Restart Kernel in Jupyter" in finding.fix.text


def test_a_module_whose_distribution_has_another_import_name_is_matched_by_top_level():
    facts = make_facts(process=kernel(("PIL", "12.0.0")),
                       distributions={"pillow": {"version": "13.0.0", "top_level": ["PIL"]}})
    assert one("stale-modules", facts).title.startswith("This kernel still runs PIL 12.0.0; pillow 13.0.0")


# --- stale-modules in a real kernel ---------------------------------------------------------------------------

POSIX_VENV = pytest.mark.skipif(os.name != "posix", reason="venv layout as on Linux and macOS")
# fastkaggle is a course distribution (lesson 8's notebooks); the wheels here are tiny stand-ins for it.
PACKAGE = "fastkaggle"
STALE = ("shown = %doctor --quick\n"
         "print(json.dumps([(f.status, f.title) for f in shown.report.findings if f.id == 'stale-modules']))")


def wheel(folder, version):
    return build_wheel(folder, PACKAGE, version, files={"%s/__init__.py" % PACKAGE: "__version__ = %r\n" % version})


@pytest.fixture(scope="module")
def kernel_venv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stale")
    wheels = folder / "wheels"
    wheel(wheels, "0.0.1")
    wheel(wheels, "0.0.2")
    python = make_venv(folder / "venv", system_site_packages=True)
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull,
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
    subprocess.run([str(python), "-m", "pip", "install", "-q", "%s==0.0.1" % PACKAGE], check=True, timeout=300,
                   env=dict(os.environ, **offline), capture_output=True)
    spec = folder / "data" / "kernels" / "stale" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                "display_name": "stale", "language": "python", "env": offline}))
    return folder


def run(folder, monkeypatch, cells):
    for name, sub in (("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"),
                      ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        monkeypatch.setenv(name, str(folder / sub))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=300, kernel_name="stale", resources={"metadata": {"path": str(folder)}}).execute()
    return ["".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            for cell in notebook.cells]


@pytest.mark.slow
@POSIX_VENV
def test_pip_install_in_a_running_kernel_is_stale_until_a_restart(kernel_venv, monkeypatch):
    printed = run(kernel_venv, monkeypatch, [
        "import json, %s\nprint(%s.__version__)" % (PACKAGE, PACKAGE),
        "%%pip install -q %s==0.0.2" % PACKAGE,
        "%load_ext doctor",
        STALE,
    ])
    assert printed[0].strip() == "0.0.1"
    assert json.loads(printed[3].strip().splitlines()[-1]) == [
        ["warning", "This kernel still runs %s 0.0.1; %s 0.0.2 is installed now: restart the kernel"
         % (PACKAGE, PACKAGE)]]

    # A new kernel (what a restart gives) imports what is installed.
    restarted = run(kernel_venv, monkeypatch, ["import json, %s" % PACKAGE, "%load_ext doctor", STALE])
    status, title = json.loads(restarted[2].strip().splitlines()[-1])[0]
    assert status == "ok", title


@pytest.mark.slow
@POSIX_VENV
def test_the_kernel_ran_the_venv(kernel_venv, monkeypatch):
    printed = run(kernel_venv, monkeypatch, ["import sys\nprint(sys.prefix)"])
    assert printed[0].strip() == str(kernel_venv / "venv")
    assert sys.prefix != printed[0].strip()
