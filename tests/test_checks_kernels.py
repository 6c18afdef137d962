"""checks/kernels.py: kernelspec-interpreter (a kernelspec whose interpreter is gone, and its automatic fix) and
stale-modules (a kernel that still runs what it imported before ``%pip install``), from recorded facts."""

import pytest

from checkrun import commands, one
from doctor.answers.notebook import Kernelspec, UnreadableKernelspec
from doctor.fixes import FixRefused
from doctor.fixes.kernelspec import plan_kernelspec
from factories import PYTHON, SITE, answer, make_facts, ok_outcome, record

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
