"""%doctor in a real Jupyter kernel (ipykernel driven by nbclient): the report as HTML and text, bad options,
the widget probe's diagnosis when no front end draws it, and the extension outside IPython."""

import os
import re
import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

CELLS = [
    "%load_ext doctor",
    "%doctor --quick",
    "%doctor",
    "%doctor --frobnicate",
    "%doctor --lesson 9",
    "%doctor widgets --timeout 2",
    # Until the probe's thread has sent its verdict, however slow the machine: no fixed sleep to outlast it.
    "import asyncio, threading\n"
    "while any(thread.name == 'dl-doctor-widget-probe' for thread in threading.enumerate()):\n"
    "    await asyncio.sleep(0.1)",
    "%doctor --quick --fix",
    # The collection the magic timed covers the probes it ran (it once said "in 0.0 s" after a 7 s run).
    "shown = %doctor --quick\n"
    "timings = shown.report.timings\n"
    "print('covers its probes:', timings['collect_s'] >= max(timings['probes_s'].values()))",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook.cells


def outputs(cell, key):
    found = []
    for output in cell.outputs:
        if output.get("output_type") == "stream":
            found.append(output.get("text", "") if key == "stream" else "")
        else:
            found.append((output.get("data") or {}).get(key, ""))
    return "".join(found)


def test_quick_report_renders_as_html_and_text(executed):
    cell = executed[1]
    assert 'class="dl-doctor-report"' in outputs(cell, "text/html")
    assert "python-version" in outputs(cell, "text/html")
    assert "python-version: Python" in outputs(cell, "text/plain")


def test_text_and_html_say_the_same_summary(executed):
    text = outputs(executed[1], "text/plain")
    summary = text.strip().splitlines()[-1]
    assert re.match(r"^\d+ \w+", summary) and re.search(r" in \d+\.\d s$", summary), summary
    assert "<div><i>%s</i></div>" % summary in outputs(executed[1], "text/html")


def test_the_summary_counts_the_time_spent_collecting(executed):
    assert outputs(executed[8], "stream").strip() == "covers its probes: True"


def test_full_report_imports_the_lesson_stack_in_a_child(executed):
    html = outputs(executed[2], "text/html")
    for check_id in ("torch-import", "lesson-imports", "device-ops", "kernel-interpreter", "widgets-frontend"):
        assert check_id in html


def test_bad_options_print_the_usage_line_without_a_traceback(executed):
    for cell, words in ((executed[3], "unrecognized arguments: --frobnicate"),
                        (executed[4], "lesson 9 does not exist")):
        text = outputs(cell, "stream")
        assert words in text and "usage: %doctor" in text
        assert not any(output.get("output_type") == "error" for output in cell.outputs)


def test_widget_probe_without_a_front_end_ends_in_a_diagnosis_not_a_hang(executed):
    html = outputs(executed[5], "text/html")
    assert "dl-doctor: the widget did not render within 2 s." in html


def test_fix_shows_the_report_then_what_it_did(executed):
    cell = executed[7]
    assert 'class="dl-doctor-report"' in outputs(cell, "text/html")
    assert "Nothing to fix." in outputs(cell, "text/html") or "run these yourself" in outputs(cell, "text/html")
    assert not any(output.get("output_type") == "error" for output in cell.outputs)


@pytest.mark.parametrize("program", [
    "from doctor.notebook.magic import doctor_magic; doctor_magic('')",
    "import doctor; doctor.load_ipython_extension(None)",
], ids=["magic", "extension"])
def test_outside_ipython_says_where_it_runs(program):
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(program)], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0
    assert completed.stdout.strip() == ("dl-doctor: %doctor runs inside IPython or Jupyter (load it with "
                                        "%load_ext doctor); in a terminal, run: dl-doctor check")


FIX_IN_KERNEL = textwrap.dedent("""
    import os, sys
    {prelude}
    from doctor.fixes.mps_fallback import set_in_this_process
    print(set_in_this_process())
    print(os.environ.get("PYTORCH_ENABLE_MPS_FALLBACK"))
""")


@pytest.mark.parametrize("prelude, said, value", [
    ("", "PYTORCH_ENABLE_MPS_FALLBACK=1 set in this kernel (torch is not imported yet)", "1"),
    ("import torch", "takes effect after a restart of the kernel", "None"),
], ids=["before-torch", "after-torch"])
def test_fix_in_the_kernel_sets_the_variable_only_while_it_can_still_work(prelude, said, value):
    env = {key: val for key, val in os.environ.items() if key != "PYTORCH_ENABLE_MPS_FALLBACK"}
    completed = subprocess.run([sys.executable, "-c", FIX_IN_KERNEL.format(prelude=prelude)], capture_output=True,
                               text=True, timeout=300, env=env)
    lines = completed.stdout.strip().splitlines()
    assert said in lines[0] and lines[1] == value
