"""jupyter-on-path for real: a `jupyter` script first on PATH, written the ways installers write them, and a real
`dl-doctor check --only jupyter-on-path` run that names the environment it belongs to."""

import json
import os
import shlex
import sys

import pytest

from conftest import make_venv, run_cli

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX console scripts")


def _script(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def shebang(python):
    return "#!%s\nimport sys\n" % python


def pip_long_path_launcher(python):
    """What pip writes when the interpreter's path is long or has spaces (distlib's _build_shebang)."""
    return "#!/bin/sh\n'''exec' \"%s\" \"$0\" \"$@\"\n' '''\nimport sys\n" % python


def env_shebang(python):
    return "#!/usr/bin/env %s\nimport sys\n" % os.path.basename(str(python))


def jupyter_finding(tmp_path, bin_folder, extra_path=()):
    path = os.pathsep.join([str(bin_folder), *map(str, extra_path), os.environ.get("PATH", "")])
    completed = run_cli("check", "--only", "jupyter-on-path", "--format", "json", cwd=str(tmp_path),
                        env=dict(os.environ, PATH=path))
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    [finding] = [f for f in report["findings"] if f["id"] == "jupyter-on-path"]
    return finding, report["facts"]["probes"]["notebook"]["data"]["jupyter_on_path"]


@pytest.fixture(scope="module")
def other_environment(tmp_path_factory):
    """Another real environment."""
    folder = tmp_path_factory.mktemp("other-env") / "course-tools"
    return folder, make_venv(folder)


@pytest.fixture(scope="module")
def spaced_environment(tmp_path_factory):
    """Another real environment whose path has a space in it: pip then writes the /bin/sh launcher."""
    folder = tmp_path_factory.mktemp("other env") / "course tools"
    return folder, make_venv(folder)


@pytest.mark.parametrize("launcher, environment", [(shebang, "other_environment"),
                                                   (pip_long_path_launcher, "other_environment"),
                                                   (pip_long_path_launcher, "spaced_environment"),
                                                   (env_shebang, "other_environment")])
def test_a_jupyter_of_another_environment_is_named_with_its_environment(tmp_path, request, launcher, environment):
    folder, python = request.getfixturevalue(environment)
    bin_folder = tmp_path / "bin"
    _script(bin_folder / "jupyter", launcher(python))
    # `#!/usr/bin/env python` finds the other environment's interpreter first on PATH, as an activated one would.
    finding, fact = jupyter_finding(tmp_path, bin_folder, extra_path=[python.parent])
    assert fact["prefix"] == str(folder)
    assert finding["status"] == "warning"
    assert "starts %s's Jupyter" % folder in finding["title"]
    # JupyterLab is installed where the tests run: start that one by its interpreter, not by PATH.
    assert finding["fix"]["commands"] == ["%s -m jupyterlab" % shlex.quote(sys.executable)]


def test_a_symlink_to_another_environments_jupyter_is_followed(tmp_path, other_environment):
    """pipx and Homebrew put a symlink in a shared bin folder; the script it points at names the environment."""
    folder, python = other_environment
    real = _script(folder / "bin" / "jupyter", shebang(python))
    shared_bin = tmp_path / "shared-bin"
    shared_bin.mkdir()
    (shared_bin / "jupyter").symlink_to(real)
    finding, fact = jupyter_finding(tmp_path, shared_bin)
    assert fact["prefix"] == str(folder)
    assert finding["status"] == "warning"


def test_this_environments_own_jupyter_is_ok(tmp_path):
    bin_folder = tmp_path / "bin"
    _script(bin_folder / "jupyter", shebang(sys.executable))
    finding, fact = jupyter_finding(tmp_path, bin_folder)
    assert os.path.realpath(fact["prefix"]) == os.path.realpath(sys.prefix)
    assert finding["status"] == "ok"
