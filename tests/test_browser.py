"""End to end in a real browser: JupyterLab on 127.0.0.1 with a token, Debian's Chromium driven headless by
Playwright, a notebook running `%doctor widgets`. In a working setup the probe reports that widgets render;
in a server environment without the widgets front end, the doctor names the missing extension."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from conftest import make_venv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)")]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "dl-doctor-test-token"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Lab:
    """A JupyterLab server of one interpreter, with its own config, data, runtime and IPython folders."""

    def __init__(self, python, folder):
        self.port, self.root = free_port(), folder / "root"
        self.root.mkdir()
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            env[name] = str(folder / name.lower())
        # `-m jupyterlab`, not `-m jupyter lab`: the latter execs whichever jupyter-lab is first on PATH,
        # which may belong to another environment (measured: a venv's server ran the base one's).
        self.process = subprocess.Popen(
            [str(python), "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", "--port=%d" % self.port,
             "--IdentityProvider.token=" + TOKEN, "--ServerApp.port_retries=0", "--allow-root",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.root_dir=" + str(self.root)],
            env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "wb"), stdin=subprocess.DEVNULL)
        self.wait_until_up(folder / "server.log")

    def wait_until_up(self, log):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/api/status?token=%s" % (self.port, TOKEN), timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("JupyterLab did not start: " + log.read_text())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_probe_page(lab, timeout_s=120):
    """Open a notebook that runs %doctor widgets, run it, and return the page text once a verdict shows."""
    from playwright.sync_api import sync_playwright

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%load_ext doctor"),
                                               nbformat.v4.new_code_cell("%%doctor widgets --timeout %d" % timeout_s)])
    # Named, so that JupyterLab starts the kernel instead of asking which one.
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(lab.root / "probe.ipynb"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.goto("http://127.0.0.1:%d/lab/tree/probe.ipynb?token=%s&reset" % (lab.port, TOKEN))
            page.wait_for_function(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                " && w.sessionContext.session.kernel.connectionStatus === 'connected'; }", timeout=120000)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function(
                "() => document.body.innerText.includes('widgets render in this front end')"
                " || document.body.innerText.includes('the widget did not render')", timeout=(timeout_s + 90) * 1000)
            return page.inner_text("body")
        finally:
            browser.close()


def test_widget_probe_reports_rendered_in_jupyterlab(tmp_path):
    lab = Lab(Path(sys.executable), tmp_path)
    try:
        text = run_probe_page(lab)
    finally:
        lab.stop()
    assert "dl-doctor: widgets render in this front end" in text
    assert "HeadlessChrome" in text


def test_server_without_the_widgets_front_end_gets_the_diagnosis(tmp_path):
    # The server's environment sees this one's packages but has no widget front-end extensions in its own
    # data folder (anywidget's front end alone would still draw the probe: measured).
    python = make_venv(tmp_path / "server-env", system_site_packages=True)
    lab = Lab(python, tmp_path)
    try:
        text = run_probe_page(lab, timeout_s=8)
    finally:
        lab.stop()
    assert "dl-doctor: the widget did not render within 8 s." in text
    assert "widgets-frontend" in text and "no @jupyter-widgets/jupyterlab-manager front end found" in text
