"""Notebook kernels: whether `pip` and the kernelspecs reach this interpreter's environment, how DataLoader
workers start here, and which front end shows the notebook (knowledge.md #27, #29, #31)."""

import os

from checks.commands import target_python
from doctor.findings import fix, info, ok, skipped, warning
from doctor.registry import check


def _same(prefix, other):
    return bool(prefix and other) and os.path.realpath(prefix) == os.path.realpath(other)


def _site_of(facts):
    return (facts.data("python") or {}).get("site_packages") or []


@check("kernel-interpreter", "pip on PATH and the Jupyter kernelspecs reach this interpreter's environment",
       needs=("notebook", "python"))
def kernel_interpreter(facts):
    notebook = facts.data("notebook")
    prefix = notebook["prefix"]
    python = target_python(facts)
    pip = notebook["pip_on_path"]
    problems, notes = [], []
    pip_prefix_matches = _same(prefix, pip.get("prefix")) or (
        pip.get("site") is not None and any(_same(pip["site"], site) for site in _site_of(facts)))
    if pip.get("path") and not pip_prefix_matches and (pip.get("prefix") or pip.get("site")):
        problems.append("`pip` on PATH (%s) installs into %s, not into %s" % (
            pip["path"], pip.get("prefix") or pip.get("site"), prefix))
    on_path = notebook.get("python_on_path") or {}
    if on_path.get("prefix") and not _same(prefix, on_path["prefix"]):
        notes.append("`python` on PATH (%s) is %s: `python -m pip install` in a terminal goes there" % (
            on_path.get("path"), on_path["prefix"]))
    specs = notebook.get("kernelspecs") or []
    # argv[0] "python" means "the server's own interpreter" (ipykernel's built-in spec).
    mine = [s for s in specs if _same(prefix, s.get("prefix"))]
    elsewhere = [s for s in specs if s.get("prefix") and not _same(prefix, s.get("prefix"))]
    notes += ["kernel %r runs %s" % (s["name"], s.get("argv0")) for s in specs]
    has_ipykernel = facts.distribution("ipykernel") is not None
    if specs and not mine and has_ipykernel and elsewhere and not any(s.get("argv0") == "python" for s in specs):
        problems.append("no Jupyter kernelspec runs this interpreter; the notebook's kernel is another Python")
    detail = "\n".join(problems + notes)
    if problems:
        yield warning(
            problems[0],
            detail=detail,
            fix=fix("Install with this interpreter's pip (in a notebook: %pip install NAME, which always targets "
                    "the kernel), and register it as a kernel:", "%s -m pip install NAME" % python,
                    "%s -m ipykernel install --user --name course --display-name 'Python (course)'" % python),
        )
        return
    yield ok("pip and the kernelspecs reach %s" % prefix, detail=detail)


@check("dataloader-workers", "DataLoader workers can use functions defined in the notebook", needs=("python",))
def dataloader_workers(facts):
    method = (facts.data("python") or {}).get("multiprocessing_start_method")
    if method is None:
        yield skipped("the start method is unknown")
        return
    if method == "fork":
        yield ok("workers start by fork: labelling functions defined in the notebook reach them")
        return
    # Under spawn or forkserver a worker re-imports __main__, where a notebook's functions do not exist:
    # "Can't get attribute 'is_cat' on <module '__main__'>" (knowledge.md #31).
    yield info(
        "workers start by %s: functions defined in the notebook cannot reach DataLoader workers" % method,
        fix=fix("Keep num_workers=0 in the notebook (fastai does so on Windows), or move labelling functions "
                "such as is_cat into a .py file next to the notebook and import them."),
    )


@check("notebook-frontend", "Which front end shows the notebooks (VS Code, Colab and Kaggle render widgets "
       "themselves)", needs=("notebook",))
def notebook_frontend(facts):
    notebook = facts.data("notebook")
    markers = list(notebook.get("front_end_markers") or [])
    if notebook.get("colab_importable") and "colab" not in markers:
        markers.append("colab")
    servers = notebook.get("servers") or []
    parts = ["%s (its own widget renderer)" % name for name in markers if name != "jupyterhub"]
    parts += ["Jupyter server %s (pid %s)" % (s.get("version"), s.get("pid")) for s in servers]
    if not parts:
        yield info("no notebook front end is running for this interpreter now")
        return
    yield info("front end: %s" % "; ".join(parts))
