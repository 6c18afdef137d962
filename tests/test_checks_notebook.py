"""checks/notebook.py (kernel-interpreter, jupyter-on-path, dataloader-workers, notebook-frontend) and checks/widgets.py
(widgets-versions, widgets-frontend, widgets-fileupload), table-driven over the notebook probe's answer and the
installed distributions."""

import pytest

from checkrun import commands, findings, one, words
from doctor.answers.notebook import Kernelspec, UnreadableKernelspec, WidgetFrontend
from factories import PYTHON, SITE, answer, failed_outcome, make_facts, ok_outcome, record, saved_ok_outcome

NOTEBOOK_CHECKS = ("kernel-interpreter", "jupyter-on-path", "dataloader-workers", "notebook-frontend",
                   "widgets-versions", "widgets-frontend", "widgets-fileupload")

COURSE_DATA = "/opt/course/share/jupyter"
USER_DATA = "/home/learner/.local/share/jupyter"
OTHER_PIP = {"path": "/usr/bin/pip", "prefix": "/usr", "site": None}
MY_SPEC = record(Kernelspec, name="course", path="/home/learner/.local/share/jupyter/kernels/course/kernel.json",
                 display_name="Python (course)", argv0=PYTHON, prefix="/opt/course")
OTHER_SPEC = record(Kernelspec, name="base", path="/usr/share/jupyter/kernels/base/kernel.json",
                    display_name="Python 3 (base)", argv0="/usr/bin/python3", prefix="/usr")
BUILTIN_SPEC = record(Kernelspec, name="python3", path="/usr/share/jupyter/kernels/python3/kernel.json",
                      display_name="Python 3 (ipykernel)", argv0="python")
BROKEN_SPEC = record(UnreadableKernelspec, name="broken", path="/usr/share/jupyter/kernels/broken/kernel.json",
                     error="Expecting value: line 1 column 1 (char 0)")
SERVER = {"pid": 31337, "version": "2.14.2", "root_dir": "/home/learner", "prefix": "/opt/course"}
NOTHING_REACHES = "no Jupyter reaches this interpreter"
WITH_IPYKERNEL = {"ipykernel": "6.29.5"}
NO_JUPYTER = {"jupyter_core": False, "ipykernel": False, "jupyterlab": False, "notebook": False}
KERNEL_ONLY = dict(NO_JUPYTER, jupyter_core=True, ipykernel=True)
# A key the answer lacks, as in facts an older dl-doctor saved before the probe read it.
LEFT_OUT = object()


def lab(version, folder=COURSE_DATA):
    return record(WidgetFrontend, kind="labextension", folder=folder, version=version)


def nbextension(folder=COURSE_DATA):
    return record(WidgetFrontend, kind="nbextension", folder=folder)


def notebook_answer(**changes):
    """The notebook probe's answer on the healthy course machine: pip, JupyterLab and a kernelspec of this env,
    the widgets 8 front end in the env's data folder, no server and no front-end markers."""
    return answer("notebook", {
        "prefix": "/opt/course",
        "python_on_path": {"path": PYTHON, "prefix": "/opt/course"},
        "pip_on_path": {"path": "/opt/course/bin/pip", "prefix": "/opt/course"},
        "data_dirs": [USER_DATA, COURSE_DATA, "/usr/local/share/jupyter", "/usr/share/jupyter"],
        "kernelspecs": [MY_SPEC],
        "jupyter_on_path": {"path": "/opt/course/bin/jupyter", "prefix": "/opt/course"},
        "jupyter_modules": {"jupyter_core": True, "ipykernel": True, "jupyterlab": True, "notebook": False},
        "widget_frontends": [lab("5.0.13")],
    }, **changes)


def facts_for(notebook=None, **keywords):
    """make_facts with the notebook probe answering ``notebook`` (changes to the healthy answer; LEFT_OUT drops a
    key, as in saved facts); pass notebook=False for a run where the probe was never asked."""
    if notebook is not False:
        changes = dict(notebook or {})
        left_out = [key for key, value in changes.items() if value is LEFT_OUT]
        data = notebook_answer(**{key: value for key, value in changes.items() if key not in left_out})
        if left_out:
            saved = {key: value for key, value in data.items() if key not in left_out}
            keywords["outcomes"] = {"notebook": saved_ok_outcome("notebook", saved)}
        else:
            keywords["outcomes"] = {"notebook": ok_outcome("notebook", data)}
    return make_facts(**keywords)


def check_case(check_id, case):
    """Run one table row and assert the things a user reads; returns the finding."""
    notebook, keywords, status, expected, absent = case
    finding = one(check_id, facts_for(notebook, **keywords))
    assert not finding.crashed, finding.detail
    assert finding.status == status, words(finding)
    text = words(finding)
    for word in expected:
        assert word in text, (word, text)
    for word in absent:
        assert word not in text, (word, text)
    return finding


def table(cases):
    return pytest.mark.parametrize("case", [case[1:] for case in cases], ids=[case[0] for case in cases])


# (id, notebook answer changes or False for no probe, make_facts keywords, status, words present, words absent)
KERNEL_CASES = [
    ("pip-same-prefix", {}, {}, "ok",
     ["pip and Jupyter reach /opt/course (kernel 'course', JupyterLab installed here)"], ["installs into"]),
    ("pip-of-another-env", {"pip_on_path": OTHER_PIP}, {}, "warning",
     ["`pip` on PATH (/usr/bin/pip) installs into /usr, not into /opt/course"], []),
    ("pip-site-matches-this-env", {"pip_on_path": {"path": "/opt/course/bin/pip", "prefix": None, "site": SITE}}, {},
     "ok", ["reach /opt/course"], ["installs into"]),
    ("pip-site-elsewhere", {"pip_on_path": {"path": "/usr/local/bin/pip", "prefix": None,
                                            "site": "/usr/lib/python3/dist-packages"}}, {},
     "warning", ["/usr/local/bin/pip", "installs into /usr/lib/python3/dist-packages, not into /opt/course"], []),
    ("no-pip-on-path", {"pip_on_path": {"path": None, "prefix": None, "site": None}}, {}, "ok",
     ["reach /opt/course"], ["installs into"]),
    ("pip-of-unknown-env", {"pip_on_path": {"path": "/usr/local/bin/pip", "prefix": None, "site": None}}, {}, "ok",
     ["reach /opt/course"], ["installs into"]),
    ("spec-of-this-env-among-others", {"kernelspecs": [OTHER_SPEC, MY_SPEC], "jupyter_modules": NO_JUPYTER}, {},
     "ok", ["reach /opt/course (kernel 'course')", "kernel 'course' runs /opt/course/bin/python",
            "kernel 'base' runs /usr/bin/python3"], [NOTHING_REACHES]),
    ("only-other-env-specs", {"kernelspecs": [OTHER_SPEC], "jupyter_modules": KERNEL_ONLY}, {}, "warning",
     [NOTHING_REACHES + ": no kernelspec runs it and jupyterlab is not installed here",
      "kernel 'base' runs /usr/bin/python3"], []),
    ("builtin-spec-of-a-jupyter-installed-here", {"kernelspecs": [OTHER_SPEC, BUILTIN_SPEC]}, {}, "ok",
     ["reach /opt/course (JupyterLab installed here)", "kernel 'python3' runs python"], [NOTHING_REACHES]),
    ("builtin-spec-of-another-jupyter", {"kernelspecs": [OTHER_SPEC, BUILTIN_SPEC], "jupyter_modules": KERNEL_ONLY},
     {}, "warning", [NOTHING_REACHES], []),
    ("classic-notebook-installed-here", {"kernelspecs": [], "jupyter_modules": {"jupyterlab": False, "notebook": True}},
     {}, "ok", ["reach /opt/course (Jupyter Notebook installed here)"], [NOTHING_REACHES]),
    ("nothing-jupyter-anywhere", {"kernelspecs": [], "jupyter_modules": NO_JUPYTER}, {}, "warning",
     [NOTHING_REACHES + ": no kernelspec runs it and jupyterlab and ipykernel are not installed here"], []),
    ("jupyter-here-without-ipykernel", {"kernelspecs": [], "jupyter_modules": {"ipykernel": False}}, {}, "warning",
     [NOTHING_REACHES + ": no kernelspec runs it and ipykernel is not installed here"], []),
    ("unreadable-spec-only", {"kernelspecs": [BROKEN_SPEC], "jupyter_modules": NO_JUPYTER}, {}, "warning",
     [NOTHING_REACHES], []),
    ("vscode-starts-an-interpreter-with-ipykernel", {"kernelspecs": [], "jupyter_modules": KERNEL_ONLY,
                                                     "front_end_markers": ["vscode"]}, {}, "ok",
     ["reach /opt/course (VS Code)"], [NOTHING_REACHES]),
    ("vscode-without-ipykernel", {"kernelspecs": [], "jupyter_modules": NO_JUPYTER, "front_end_markers": ["vscode"]},
     {}, "warning", [NOTHING_REACHES], []),
    ("colab-runs-the-notebook-here", {"kernelspecs": [], "jupyter_modules": NO_JUPYTER, "colab_importable": True}, {},
     "ok", ["reach /opt/course (the hosted notebook)"], [NOTHING_REACHES]),
    ("saved-facts-read-the-distributions", {"kernelspecs": [], "jupyter_modules": LEFT_OUT},
     {"distributions": {"ipykernel": "7.4.0", "jupyterlab": "4.6.0"}}, "ok", ["JupyterLab installed here"], []),
    ("saved-facts-without-jupyter", {"kernelspecs": [], "jupyter_modules": LEFT_OUT},
     {"distributions": WITH_IPYKERNEL},
     "warning", [NOTHING_REACHES + ": no kernelspec runs it and jupyterlab is not installed here"], []),
    ("jupyter-on-path-of-another-env", {"jupyter_on_path": {"path": "/usr/bin/jupyter", "prefix": "/usr"}}, {}, "ok",
     ["`jupyter` on PATH (/usr/bin/jupyter) is /usr: `jupyter lab` in a terminal starts that environment's"], []),
    ("pip-and-kernel-both-wrong",
     {"pip_on_path": OTHER_PIP, "kernelspecs": [OTHER_SPEC], "jupyter_modules": NO_JUPYTER}, {}, "warning",
     ["installs into /usr", NOTHING_REACHES], []),
    ("notebook-probe-never-asked", False, {}, "skipped", ["notebook"], []),
    ("notebook-probe-crashed", False, {"outcomes": {"notebook": failed_outcome("notebook")}}, "skipped",
     ["notebook", "crashed"], []),
]


@table(KERNEL_CASES)
def test_kernel_interpreter(case):
    check_case("kernel-interpreter", case)


OTHER_JUPYTER = {"path": "/usr/bin/jupyter", "prefix": "/usr"}
REGISTER = "-m ipykernel install --user --name course"
JUPYTER_CASES = [
    ("this-environments-jupyter", {}, {}, "ok", ["`jupyter` on PATH is this environment's (/opt/course/bin/jupyter)"],
     []),
    ("another-environments-jupyter", {"jupyter_on_path": OTHER_JUPYTER}, {}, "warning",
     ["`jupyter` on PATH starts /usr's Jupyter, not this environment's", "/usr/bin/jupyter belongs to /usr",
      "It offers this environment as kernel 'course'", PYTHON + " -m jupyterlab"],
     [PYTHON + " -m jupyter lab", REGISTER]),
    ("another-jupyter-and-no-kernel-for-this-one",
     {"jupyter_on_path": OTHER_JUPYTER, "kernelspecs": [OTHER_SPEC]}, {}, "warning",
     ["starts /usr's Jupyter", PYTHON + " -m jupyterlab"], ["It offers this environment"]),
    ("another-jupyter-and-no-jupyterlab-here",
     {"jupyter_on_path": OTHER_JUPYTER, "jupyter_modules": KERNEL_ONLY}, {}, "warning",
     ["Install JupyterLab here", "pip install jupyterlab", REGISTER], []),
    ("a-symlinked-jupyter-of-this-environment", {"jupyter_on_path": {"path": "/home/learner/bin/jupyter",
                                                                      "prefix": "/opt/course/"}}, {}, "ok",
     ["is this environment's"], []),
    ("no-jupyter-on-path", {"jupyter_on_path": {"path": None, "prefix": None}}, {}, "ok",
     ["no `jupyter` command on PATH"], []),
    ("owner-unknown", {"jupyter_on_path": {"path": "/opt/tools/jupyter", "prefix": None}}, {}, "info",
     ["/opt/tools/jupyter", "cannot tell"], []),
    ("saved-before-the-probe-looked", {"jupyter_on_path": LEFT_OUT}, {}, "skipped", ["saved before"], []),
    ("notebook-probe-never-asked", False, {}, "skipped", ["notebook"], []),
]


@table(JUPYTER_CASES)
def test_jupyter_on_path(case):
    check_case("jupyter-on-path", case)


REGISTER = PYTHON + " -m ipykernel install --user --name course --display-name 'Python (course)'"


@pytest.mark.parametrize("notebook, fixes", [
    ({"pip_on_path": OTHER_PIP}, [REGISTER]),
    ({"kernelspecs": [OTHER_SPEC], "jupyter_modules": NO_JUPYTER},
     [PYTHON + " -m pip install jupyterlab ipykernel", REGISTER]),
    ({"kernelspecs": [], "jupyter_modules": KERNEL_ONLY}, [PYTHON + " -m pip install jupyterlab", REGISTER]),
], ids=["pip-of-another-env", "nothing-reaches", "no-front-end-here"])
def test_kernel_interpreter_warning_fixes_with_this_interpreter(notebook, fixes):
    finding = one("kernel-interpreter", facts_for(notebook))
    assert finding.status == "warning"
    assert list(commands(finding)) == fixes
    # A template for the learner's own packages is words, never a command to paste as it is.
    assert all("NAME" not in command for command in commands(finding))


def test_kernel_interpreter_title_is_the_pip_problem_when_both_are_wrong():
    finding = one("kernel-interpreter", facts_for({"pip_on_path": OTHER_PIP, "kernelspecs": [OTHER_SPEC],
                                                   "jupyter_modules": NO_JUPYTER}))
    assert finding.title.startswith("`pip` on PATH")
    assert NOTHING_REACHES in finding.detail
    assert list(commands(finding)) == [PYTHON + " -m pip install jupyterlab ipykernel", REGISTER]
    assert "`%s -m pip install NAME`" % PYTHON in finding.fix.text


DATALOADER_CASES = [
    ("fork", None, {"python": {"multiprocessing_start_method": "fork"}}, "ok", ["fork"], ["num_workers"]),
    ("spawn", None, {"python": {"multiprocessing_start_method": "spawn"}}, "info",
     ["by spawn", "num_workers=0", ".py file"], []),
    ("forkserver", None, {"python": {"multiprocessing_start_method": "forkserver"}}, "info",
     ["by forkserver", "num_workers=0", ".py file"], []),
    ("unknown", None, {"python": {"multiprocessing_start_method": None}}, "skipped", ["unknown"], []),
    ("needs-no-notebook-probe", False, {}, "ok", ["fork"], []),
]


@table(DATALOADER_CASES)
def test_dataloader_workers(case):
    check_case("dataloader-workers", case)


RENDERER = "(its own widget renderer)"
FRONTEND_CASES = [
    ("vscode", {"front_end_markers": ["vscode"]}, {}, "info", ["vscode " + RENDERER], ["no notebook front end"]),
    ("colab-marker", {"front_end_markers": ["colab"]}, {}, "info", ["colab " + RENDERER], []),
    ("kaggle", {"front_end_markers": ["kaggle"]}, {}, "info", ["kaggle " + RENDERER], []),
    ("colab-importable", {"colab_importable": True}, {}, "info", ["colab " + RENDERER], ["no notebook front end"]),
    ("running-server", {"servers": [SERVER]}, {}, "info", ["Jupyter server 2.14.2 (pid 31337)"],
     ["no notebook front end", RENDERER]),
    ("vscode-and-server", {"front_end_markers": ["vscode"], "servers": [SERVER]}, {}, "info",
     ["vscode " + RENDERER, "Jupyter server 2.14.2 (pid 31337)"], []),
    ("nothing-running", {}, {}, "info", ["no notebook front end is running"], [RENDERER, "Jupyter server"]),
    ("notebook-probe-never-asked", False, {}, "skipped", ["notebook"], []),
]


@table(FRONTEND_CASES)
def test_notebook_frontend(case):
    check_case("notebook-frontend", case)


def test_notebook_frontend_names_colab_once_when_marked_and_importable():
    finding = one("notebook-frontend", facts_for({"front_end_markers": ["colab"], "colab_importable": True}))
    assert finding.title.count("colab") == 1


WIDGETS_3_4 = {"jupyterlab-widgets": "3.0.17", "widgetsnbextension": "4.0.16"}
WIDGETS_1_3 = {"jupyterlab-widgets": "1.1.11", "widgetsnbextension": "3.6.10"}
VERSIONS_CASES = [
    ("8-with-3-and-4", None, {"distributions": WIDGETS_3_4}, "ok", ["ipywidgets 8.1.9"], []),
    ("8-with-jupyterlab-widgets-1", None, {"distributions": {"jupyterlab-widgets": "1.1.11"}}, "error",
     ["ipywidgets 8.1.9", "jupyterlab_widgets 1.1.11 (needs 3.x)"], ["widgetsnbextension 4.0.16"]),
    ("8-with-widgetsnbextension-3", None, {"distributions": {"widgetsnbextension": "3.6.10"}}, "error",
     ["widgetsnbextension 3.6.10 (needs 4.x)"], ["jupyterlab_widgets 3.0.17"]),
    ("7-with-3-and-4", None, {"distributions": dict(WIDGETS_3_4, ipywidgets="7.8.5")}, "error",
     ["ipywidgets 7.8.5", "jupyterlab_widgets 3.0.17 (needs 1.x)", "widgetsnbextension 4.0.16 (needs 3.x)"], []),
    ("7-with-1-and-3", None, {"distributions": dict(WIDGETS_1_3, ipywidgets="7.8.5")}, "ok", ["ipywidgets 7.8.5"], []),
    ("8-companions-absent", None, {"distributions": {"jupyterlab-widgets": None, "widgetsnbextension": None}},
     "ok", ["ipywidgets 8.1.9"], []),
    ("ipywidgets-missing", None, {"distributions": {"ipywidgets": None}}, "skipped", ["not installed"], []),
    ("ipywidgets-9", None, {"distributions": {"ipywidgets": "9.0.0"}}, "info", ["9.0.0", "no pairing rule"], []),
    ("needs-no-notebook-probe", False, {}, "ok", ["ipywidgets 8.1.9"], []),
]


@table(VERSIONS_CASES)
def test_widgets_versions(case):
    check_case("widgets-versions", case)


@pytest.mark.parametrize("distributions, pins", [
    ({"jupyterlab-widgets": "1.1.11"}, ["ipywidgets==8.*", "jupyterlab_widgets==3.*", "widgetsnbextension==4.*"]),
    (dict(WIDGETS_3_4, ipywidgets="7.7.5"), ["ipywidgets==7.*", "jupyterlab_widgets==1.*", "widgetsnbextension==3.*"]),
], ids=["8-pins-3-and-4", "7-pins-1-and-3"])
def test_widgets_versions_fix_pins_the_matching_set(distributions, pins):
    finding = one("widgets-versions", facts_for(None, distributions=distributions))
    assert finding.status == "error"
    [command] = commands(finding)
    assert command.startswith(PYTHON + " -m pip install ")
    for pin in pins:
        assert pin in command
    assert "restart" in finding.fix.text


LAB_4 = {"jupyterlab": {"version": "4.2.5"}}
FRONTEND_WIDGET_CASES = [
    ("8-with-manager-5", {}, {}, "ok", ["5.0.13 in " + COURSE_DATA], []),
    ("8-with-manager-3", {"widget_frontends": [lab("3.6.8")]}, {}, "error",
     ["ipywidgets 8.1.9 needs jupyterlab-manager 5.x", "the front end has 3.6.8", "3.6.8 in " + COURSE_DATA,
      "jupyterlab_widgets==3.*"], []),
    ("8-with-user-manager-3-shadowing-5", {"widget_frontends": [lab("3.6.8", USER_DATA), lab("5.0.13")]}, {},
     "error", ["needs jupyterlab-manager 5.x", "3.6.8 in " + USER_DATA, "5.0.13 in " + COURSE_DATA], []),
    ("no-labextension", {"widget_frontends": []}, {}, "warning",
     ["no @jupyter-widgets/jupyterlab-manager front end found", "searched: " + USER_DATA + ", " + COURSE_DATA,
      "/usr/share/jupyter", "jupyterlab_widgets==3.*"], []),
    ("only-classic-nbextension", {"widget_frontends": [nbextension()]}, {}, "warning",
     ["no @jupyter-widgets/jupyterlab-manager front end found", "searched: "], []),
    ("7.6-with-jupyterlab-4", {"widget_frontends": [lab("3.6.8")]},
     {"distributions": dict(WIDGETS_1_3, ipywidgets="7.6.5", **LAB_4)}, "error",
     ["ipywidgets 7.6.5 cannot render in JupyterLab 4 / Notebook 7", "ipywidgets>=8"], []),
    ("7.8-with-jupyterlab-4-and-manager-3", {"widget_frontends": [lab("3.6.8")]},
     {"distributions": dict(WIDGETS_1_3, ipywidgets="7.8.5", **LAB_4)}, "ok", ["3.6.8 in " + COURSE_DATA],
     ["cannot render"]),
    ("7.6-with-jupyterlab-3", {"widget_frontends": [lab("3.6.8")]},
     {"distributions": dict(WIDGETS_1_3, ipywidgets="7.6.5", jupyterlab="3.6.8")}, "ok", ["3.6.8"],
     ["cannot render"]),
    ("7-with-manager-5", {}, {"distributions": dict(WIDGETS_1_3, ipywidgets="7.8.5")}, "error",
     ["needs jupyterlab-manager 3.x", "the front end has 5.0.13", "jupyterlab_widgets==1.*"], []),
    ("npm-prerelease-version", {"widget_frontends": [lab("5.0.0-rc.1")]}, {}, "ok", ["5.0.0-rc.1"], []),
    ("npm-version-not-pep-440", {"widget_frontends": [lab("3.0.0-next.0")]}, {}, "error",
     ["needs jupyterlab-manager 5.x", "the front end has 3.0.0-next.0"], []),
    ("unreadable-package-json", {"widget_frontends": [lab(None)]}, {}, "ok", [COURSE_DATA], []),
    ("ipywidgets-missing", {}, {"distributions": {"ipywidgets": None}}, "skipped", ["not installed"], []),
    ("notebook-probe-never-asked", False, {}, "skipped", ["notebook"], []),
]


@table(FRONTEND_WIDGET_CASES)
def test_widgets_frontend(case):
    check_case("widgets-frontend", case)


FILEUPLOAD_CASES = [
    ("8", None, {}, "info", ["`uploader.value[0].content.tobytes()`", "uploader.data[0]"], []),
    ("7", None, {"distributions": dict(WIDGETS_1_3, ipywidgets="7.8.5")}, "skipped", ["not installed"], []),
    ("missing", None, {"distributions": {"ipywidgets": None}}, "skipped", ["not installed"], []),
]


@table(FILEUPLOAD_CASES)
def test_widgets_fileupload(case):
    check_case("widgets-fileupload", case)


ALL_CASES = (KERNEL_CASES + JUPYTER_CASES + DATALOADER_CASES + FRONTEND_CASES + VERSIONS_CASES
             + FRONTEND_WIDGET_CASES + FILEUPLOAD_CASES)


@pytest.mark.parametrize("check_id", NOTEBOOK_CHECKS)
@pytest.mark.parametrize("notebook, keywords", [case[1:3] for case in ALL_CASES], ids=[case[0] for case in ALL_CASES])
def test_no_notebook_check_crashes_on_any_case(check_id, notebook, keywords):
    [finding] = findings(check_id, facts_for(notebook, **keywords))
    assert not finding.crashed, finding.detail
    assert finding.id == check_id


def test_a_python_on_path_from_another_environment_is_named_in_the_evidence():
    finding = one("kernel-interpreter", facts_for({"python_on_path": {"path": "/usr/bin/python3", "prefix": "/usr"}}))
    assert finding.status == "ok"
    assert "`python` on PATH (/usr/bin/python3) is /usr: `python -m pip install` in a terminal goes there" in \
        finding.detail
