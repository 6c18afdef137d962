"""Notebook kernels: whether `pip` and `jupyter` on PATH belong to this interpreter's environment and a notebook can
run it, how DataLoader workers start here, and which front end shows the notebook (VS Code renders widgets itself:
vscode-jupyter#8552)."""

import os

from doctor.findings import fix, info, ok, skipped, warning
from doctor.registry import check

from .commands import command_line, pip_install, target_python


def _same(prefix, other):
    return bool(prefix and other) and os.path.realpath(prefix) == os.path.realpath(other)


def _site_of(facts):
    return (facts.data("python") or {}).get("site_packages") or []


def _jupyter_here(facts, notebook):
    """Which of Jupyter's parts this interpreter has: the probe's answer, or the installed distributions for
    facts saved before the probe asked."""
    modules = notebook.get("jupyter_modules")
    if modules is not None:
        return {name for name, found in modules.items() if found}
    return {name for name in ("jupyter_core", "ipykernel", "jupyterlab", "notebook")
            if facts.distribution(name) is not None}


def _ways_in(facts, notebook):
    """How a notebook reaches this interpreter: a kernelspec whose argv[0] runs it, or ipykernel's built-in
    kernel of a Jupyter installed here (a server started from here runs its "python" kernel with its own
    interpreter); VS Code starts an interpreter that has ipykernel itself, and Colab and Kaggle run the notebook on
    this very interpreter."""
    prefix = notebook["prefix"]
    here = _jupyter_here(facts, notebook)
    ways = ["kernel %r" % spec["name"] for spec in notebook.get("kernelspecs") or []
            if _same(prefix, spec.get("prefix"))]
    if "ipykernel" in here and here & {"jupyterlab", "notebook"}:
        ways.append("Jupyter%s installed here" % ("Lab" if "jupyterlab" in here else " Notebook"))
    markers = set(notebook.get("front_end_markers") or [])
    if "vscode" in markers and "ipykernel" in here:
        ways.append("VS Code")
    if markers & {"colab", "kaggle"} or notebook.get("colab_importable"):
        ways.append("the hosted notebook")
    return ways


def _pip_problem(facts, notebook):
    prefix = notebook["prefix"]
    pip = notebook["pip_on_path"]
    pip_prefix_matches = _same(prefix, pip.get("prefix")) or (
        pip.get("site") is not None and any(_same(pip["site"], site) for site in _site_of(facts)))
    if pip.get("path") and not pip_prefix_matches and (pip.get("prefix") or pip.get("site")):
        return "`pip` on PATH (%s) installs into %s, not into %s" % (
            pip["path"], pip.get("prefix") or pip.get("site"), prefix)
    return None


def _notes(notebook):
    prefix = notebook["prefix"]
    notes = []
    for tool, consequence in (("python", "`python -m pip install` in a terminal goes there"),
                              ("jupyter", "`jupyter lab` in a terminal starts that environment's Jupyter")):
        on_path = notebook.get("%s_on_path" % tool) or {}
        if on_path.get("prefix") and not _same(prefix, on_path["prefix"]):
            notes.append("`%s` on PATH (%s) is %s: %s" % (tool, on_path.get("path"), on_path["prefix"], consequence))
    return notes + ["kernel %r runs %s" % (s["name"], s.get("argv0")) for s in notebook.get("kernelspecs") or []]


def _missing_parts(here):
    """What this interpreter lacks to start a notebook itself: a front end and ipykernel."""
    missing = [] if here & {"jupyterlab", "notebook"} else ["jupyterlab"]
    return missing + ([] if "ipykernel" in here else ["ipykernel"])


def _register_kernel(facts):
    return command_line(facts, target_python(facts), "-m", "ipykernel", "install", "--user", "--name", "course",
                        "--display-name", "Python (course)")


def _kernel_fix(facts, pip_problem, missing):
    """Commands spelled for this interpreter: its own pip (when the pip on PATH installs elsewhere), Jupyter's
    missing parts (when no notebook reaches it), and a kernelspec, so that any Jupyter here offers it."""
    python = target_python(facts)
    texts, commands = [], []
    if pip_problem:
        texts.append("Install with this interpreter's pip, `%s` (in a notebook: `%%pip install NAME`, which always "
                     "targets the kernel)." % command_line(facts, python, "-m", "pip", "install", "NAME"))
    if missing:
        texts.append("Give this interpreter Jupyter (start it with %s)."
                     % command_line(facts, python, "-m", "jupyterlab"))
        commands.append(pip_install(facts, *missing))
    texts.append("Register it as a kernel, so that every Jupyter on this machine offers it:")
    commands.append(_register_kernel(facts))
    return fix(" ".join(texts), *commands)


@check("kernel-interpreter", "pip on PATH installs into this interpreter's environment and a notebook can run it",
       needs=("notebook", "python"), reads=('packages',), topic="notebook", suites=("check", "widgets"))
def kernel_interpreter(facts):
    notebook = facts.data("notebook")
    ways = _ways_in(facts, notebook)
    pip_problem = _pip_problem(facts, notebook)
    problems = [pip_problem] if pip_problem else []
    missing = [] if ways else _missing_parts(_jupyter_here(facts, notebook))
    if missing:
        problems.append("no Jupyter reaches this interpreter: no kernelspec runs it and %s %s not installed here"
                        % (" and ".join(missing), "is" if len(missing) == 1 else "are"))
    detail = "\n".join(problems + _notes(notebook))
    if problems:
        yield warning(problems[0], detail=detail, fix=_kernel_fix(facts, pip_problem, missing))
        return
    yield ok("pip and Jupyter reach %s (%s)" % (notebook["prefix"], ", ".join(ways)), detail=detail)


def _own_jupyter_fix(facts, notebook):
    """Start this environment's own JupyterLab by its interpreter: `python -m jupyter lab` would not do, as jupyter_core
    runs the `jupyter-lab` first on PATH and puts its own scripts folder last (jupyter_core/command.py,
    _path_with_self). Without JupyterLab here, install it, or let the other Jupyter offer this interpreter."""
    start = command_line(facts, target_python(facts), "-m", "jupyterlab")
    if "jupyterlab" in _jupyter_here(facts, notebook):
        return fix("Start this environment's own JupyterLab (or activate the environment first, so that its "
                   "`jupyter` comes first on PATH):", start)
    return fix("Install JupyterLab here and start it by this interpreter, or register this interpreter as a kernel "
               "and pick it in the other Jupyter:", pip_install(facts, "jupyterlab"), start, _register_kernel(facts),
               choice=True)


@check("jupyter-on-path", "The `jupyter` command first on PATH belongs to this environment",
       needs=("notebook",), reads=("python", "packages"), topic="notebook", suites=("check", "widgets"))
def jupyter_on_path(facts):
    notebook = facts.data("notebook")
    on_path = notebook["jupyter_on_path"]
    prefix = notebook["prefix"]
    if on_path is None:
        yield skipped("these facts were saved before dl-doctor looked at `jupyter` on PATH")
        return
    if not on_path["path"]:
        yield ok("no `jupyter` command on PATH starts another environment's Jupyter")
        return
    if not on_path["prefix"]:
        yield info("`jupyter` on PATH (%s) belongs to an environment dl-doctor cannot tell" % on_path["path"])
        return
    if _same(prefix, on_path["prefix"]):
        yield ok("`jupyter` on PATH is this environment's (%s)" % on_path["path"])
        return
    kernels = ["kernel %r" % spec["name"] for spec in notebook.get("kernelspecs") or []
               if _same(prefix, spec.get("prefix"))]
    detail = ["%s belongs to %s; this environment is %s." % (on_path["path"], on_path["prefix"], prefix),
              "`jupyter lab` (and `python -m jupyter lab`) start that Jupyter, whose default Python kernel runs %s's "
              "Python: the lesson's packages installed here are not there." % on_path["prefix"]]
    if kernels:
        detail.append("It offers this environment as %s: pick it for each notebook." % " or ".join(kernels))
    yield warning("`jupyter` on PATH starts %s's Jupyter, not this environment's" % on_path["prefix"],
                  detail="\n".join(detail), fix=_own_jupyter_fix(facts, notebook))


@check("dataloader-workers", "DataLoader workers can use functions defined in the notebook", needs=("python",),
       topic="notebook", suites=("check", "widgets"))
def dataloader_workers(facts):
    method = (facts.data("python") or {}).get("multiprocessing_start_method")
    if method is None:
        yield skipped("the start method is unknown")
        return
    if method == "fork":
        yield ok("workers start by fork: labelling functions defined in the notebook reach them")
        return
    # Under spawn or forkserver a worker re-imports __main__, where a notebook's functions do not exist:
    # "Can't get attribute 'is_cat' on <module '__main__'>" (pickle finds a function by its module; Python's
    # multiprocessing docs, "Contexts and start methods").
    yield info(
        "workers start by %s: functions defined in the notebook cannot reach DataLoader workers" % method,
        fix=fix("Keep num_workers=0 in the notebook (fastai does so on Windows), or move labelling functions "
                "such as is_cat into a .py file next to the notebook and import them."),
    )


@check("notebook-frontend", "Which front end shows the notebooks (VS Code, Colab and Kaggle render widgets "
       "themselves)", needs=("notebook",), topic="notebook", suites=("check", "widgets"))
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
