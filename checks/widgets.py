"""Jupyter widgets: the kernel's ipywidgets and the front end's extension must agree, or the image cleaner
shows "Error displaying widget", "Loading widget..." or plain `HBox(...)` text (fastbook#667; the ipywidgets 8
migration guide)."""

from packaging.version import Version

from doctor.findings import error, fix, info, ok, skipped, warning
from doctor.registry import check

from .commands import install_fix

# ipywidgets major -> (jupyterlab_widgets major, widgetsnbextension major, jupyterlab-manager labextension
# major), from the wheels' metadata (ipywidgets 8.1's Requires-Dist).
COMPANIONS = {8: (3, 4, 5), 7: (1, 3, 3)}
# ipywidgets 7 works in JupyterLab 4 and Notebook 7 only from 7.8 (fastbook#667; ipywidgets 7.8.0 changelog).
FIRST_7_FOR_LAB_4 = Version("7.8")


def _npm_major(version):
    """The major of an npm (semver) version such as "5.0.13" or "3.0.0-next.0", which PEP 440 may not parse."""
    head = str(version or "").split(".")[0].strip().lstrip("v")
    return int(head) if head.isdigit() else None


def _major(facts, name):
    dist = facts.distribution(name)
    return dist.parsed_version.major if dist and dist.parsed_version else None


@check("widgets-versions", "ipywidgets, jupyterlab_widgets and widgetsnbextension are of matching majors",
       needs=("packages",), topic="widgets", suites=("check", "widgets"))
def widgets_versions(facts):
    widgets = facts.distribution("ipywidgets")
    if widgets is None or widgets.parsed_version is None:
        yield skipped("ipywidgets is not installed")
        return
    wanted = COMPANIONS.get(widgets.parsed_version.major)
    if wanted is None:
        yield info("ipywidgets %s: no pairing rule known for this major" % widgets.version)
        return
    problems = []
    for name, major in (("jupyterlab_widgets", wanted[0]), ("widgetsnbextension", wanted[1])):
        found = _major(facts, name)
        if found is not None and found != major:
            problems.append("%s %s (needs %d.x)" % (name, facts.distribution(name).version, major))
    if problems:
        yield error(
            "ipywidgets %s with %s" % (widgets.version, ", ".join(problems)),
            fix=install_fix(facts, "Install the matching set, then restart the Jupyter server and reload the page:",
                            "ipywidgets==%d.*" % widgets.parsed_version.major,
                            "jupyterlab_widgets==%d.*" % wanted[0], "widgetsnbextension==%d.*" % wanted[1]),
        )
        return
    yield ok("ipywidgets %s with matching companions" % widgets.version)


@check("widgets-frontend", "The widget front-end extension the notebook page needs is installed",
       needs=("packages", "notebook"), topic="widgets", suites=("check", "widgets"))
def widgets_frontend(facts):
    widgets = facts.distribution("ipywidgets")
    if widgets is None or widgets.parsed_version is None:
        yield skipped("ipywidgets is not installed")
        return
    notebook = facts.data("notebook")
    labs = [f for f in notebook.get("widget_frontends") or [] if f["kind"] == "labextension"]
    folders = "searched: %s" % ", ".join(notebook.get("data_dirs") or [])
    major = widgets.parsed_version.major
    wanted = COMPANIONS.get(major, (None, None, None))[2]
    lab = _major(facts, "jupyterlab")
    if major == 7 and lab is not None and lab >= 4 and widgets.parsed_version < FIRST_7_FOR_LAB_4:
        yield error("ipywidgets %s cannot render in JupyterLab 4 / Notebook 7" % widgets.version,
                    fix=install_fix(facts, "Upgrade to ipywidgets 8 (or 7.8+), then restart the server and reload "
                                    "the page:", "ipywidgets>=8"))
        return
    if not labs:
        yield warning(
            "no @jupyter-widgets/jupyterlab-manager front end found: widgets would show as text or "
            "\"Error displaying widget\"",
            detail=folders + "\nThe front end lives in the Jupyter server's environment, which may not be "
                             "this one; VS Code and Colab bring their own.",
            fix=fix("In the environment that runs `jupyter lab`, install the matching front end, then restart "
                    "it and reload the page:", "python -m pip install 'jupyterlab_widgets==%s.*'" % (
                        COMPANIONS.get(major, (3,))[0])),
        )
        return
    versions = ["%s in %s" % (f["version"] or "unknown version", f["folder"]) for f in labs]
    mismatched = [f for f in labs if wanted and _npm_major(f.get("version")) not in (None, wanted)]
    if mismatched:
        yield error(
            "ipywidgets %s needs jupyterlab-manager %d.x, the front end has %s" % (
                widgets.version, wanted, mismatched[0]["version"]),
            detail="\n".join(versions),
            fix=fix("Align the majors in the server's environment, restart the server and reload the page:",
                    "python -m pip install 'jupyterlab_widgets==%d.*'" % COMPANIONS[major][0]),
        )
        return
    yield ok("widget front end %s" % "; ".join(versions))


@check("widgets-fileupload", "Notebooks written for ipywidgets 7 read FileUpload the old way", needs=("packages",),
       topic="widgets", suites=("check", "widgets"))
def widgets_fileupload(facts):
    major = _major(facts, "ipywidgets")
    if major is None or major < 8:
        yield skipped("ipywidgets 8 is not installed")
        return
    # ipywidgets 8 changed FileUpload.value to a tuple of dicts (ipywidgets 8 migration guide).
    yield info("ipywidgets 8: fastbook's `uploader.data[0]` fails; use `uploader.value[0].content.tobytes()`")
