"""The ``kernelspec`` fix for real: a Jupyter data folder whose kernel.json names an interpreter that is gone, the
real probes finding it, the plan applied, a real kernel started from the rewritten kernelspec running the
examined venv, and undo restoring kernel.json byte for byte.

The first test drives the fixes framework's public functions (apply_plan, Journal.undo); the second does the same
through ``dl-doctor fix`` as a learner would."""

import json
import os
import subprocess
import sys

import pytest

from conftest import make_venv, run_cli
from doctor.facts import Facts
from doctor.fixes import Journal, apply_plan
from doctor.fixes.kernelspec import plan_kernelspec

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="venv layout as on Linux and macOS")]

# As a learner's editor might have left it: two-space indent, keys in its order, no final newline.
ORIGINAL = ('{\n  "display_name": "Python (old course)",\n  "language": "python",\n  "argv": [\n    "%s",\n'
            '    "-m",\n    "ipykernel_launcher",\n    "-f",\n    "{connection_file}"\n  ],\n'
            '  "metadata": {"debugger": true}\n}')


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kernelspec")
    python = make_venv(folder / "venv", system_site_packages=True)
    spec = folder / "data" / "kernels" / "oldcourse" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_bytes((ORIGINAL % (folder / "deleted-venv" / "bin" / "python")).encode())
    env = dict(os.environ, JUPYTER_DATA_DIR=str(folder / "data"), JUPYTER_CONFIG_DIR=str(folder / "config"),
               JUPYTER_RUNTIME_DIR=str(folder / "runtime"), IPYTHONDIR=str(folder / "ipython"), JUPYTER_PATH="")
    return folder, python, spec, env


def check(setting):
    folder, python, _, env = setting
    completed = run_cli("check", "--python", str(python), "--only", "kernelspec-interpreter", "--format", "json",
                        "--no-redact", cwd=str(folder), env=env)
    report = json.loads(completed.stdout)
    finding = [f for f in report["findings"] if f["id"] == "kernelspec-interpreter"][0]
    return finding, Facts.from_dict(report["facts"])


def kernel_prefix(setting):
    """sys.prefix inside a real kernel that jupyter_client starts from the kernelspec named oldcourse."""
    folder, _, _, env = setting
    program = ("from jupyter_client.manager import start_new_kernel\n"
               "km, kc = start_new_kernel(kernel_name='oldcourse', startup_timeout=60)\n"
               "try:\n"
               "    out = []\n"
               "    kc.execute_interactive('import sys; print(sys.prefix)', timeout=60,\n"
               "                           output_hook=lambda m: out.append(m['content'].get('text', '')))\n"
               "    print(''.join(out).strip())\n"
               "finally:\n"
               "    kc.stop_channels(); km.shutdown_kernel(now=True)\n")
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env,
                               cwd=str(folder), timeout=120)
    return completed.stdout.strip().splitlines()[-1] if completed.returncode == 0 else completed.stderr


def test_the_gone_interpreter_is_found_fixed_so_a_real_kernel_starts_and_undone_byte_for_byte(setting):
    folder, python, spec, _ = setting
    original = spec.read_bytes()
    finding, facts = check(setting)
    assert finding["status"] == "warning"
    assert finding["title"].startswith("Kernel 'oldcourse' runs %s" % (folder / "deleted-venv" / "bin" / "python"))
    assert finding["fix"]["automatic"] == "kernelspec"
    assert finding["fix"]["commands"] == ["%s -m ipykernel install --user --name oldcourse" % python]

    plan = plan_kernelspec(facts)
    assert [write.path for write in plan.writes] == [str(spec)]
    assert [applied.changed for applied in apply_plan(plan)] == [True]
    rewritten = json.loads(spec.read_text())
    assert rewritten["argv"] == [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert rewritten["display_name"] == "Python (old course)" and rewritten["metadata"] == {"debugger": True}
    assert check(setting)[0]["status"] == "ok"
    assert kernel_prefix(setting) == str(python.parent.parent)
    # Applying twice equals applying once.
    assert [applied.changed for applied in apply_plan(plan)] == [False]

    assert Journal(plan.prefix).undo() == ["restored %s" % spec]
    assert spec.read_bytes() == original


def test_dl_doctor_fix_rewrites_the_kernelspec_and_fix_undo_restores_it(setting):
    folder, python, spec, env = setting
    original = spec.read_bytes()

    def fix(*arguments):
        return run_cli("fix", "--python", str(python), *arguments, cwd=str(folder), env=env)

    dry = fix("kernelspec")
    assert "would write %s" % spec in dry.stdout, dry.stdout + dry.stderr
    assert spec.read_bytes() == original
    applied = fix("kernelspec", "--yes")
    assert "kernelspec: wrote %s" % spec in applied.stdout, applied.stdout + applied.stderr
    assert "kernelspec: fixed" in applied.stdout
    assert json.loads(spec.read_text())["argv"][0] == str(python)
    undone = fix("--undo")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert spec.read_bytes() == original
