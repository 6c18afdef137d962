"""Probes run for real in child processes: the built-in ones on this interpreter, and simulated
crashes, hangs, garbage and failures that must become outcomes, never exceptions."""

import os
import signal
import sys
import sysconfig
import textwrap
import threading
from importlib import metadata

import pytest

from conftest import process_alive, wait_for
from doctor.collect import Target, collect_facts, probe_arguments, probe_environment
from doctor.probes import ProbeSpec, builtin_probes, program_from_source
from doctor.probes.runner import run_probe, run_probes

BUILTIN = {spec.name: spec for spec in builtin_probes()}


def simulated(body, timeout_s=30.0, name="simulated"):
    return ProbeSpec(name, program_from_source(textwrap.dedent(body)), timeout_s, True, "a test probe")


def run(spec, cwd, arguments=None, python=sys.executable):
    return run_probe(spec, python, str(cwd), probe_environment(), arguments)


def metadata_member(name, cwd, python=sys.executable):
    """One member's outcome of the metadata bundle, run for real."""
    return run_probes([BUILTIN["metadata"]], python, str(cwd), probe_environment(), probe_arguments(1))[name]


def test_python_probe_describes_this_interpreter(tmp_path):
    outcome = metadata_member("python", tmp_path)
    assert outcome.ok, outcome.reason
    data = outcome.data
    assert data["version"] == list(sys.version_info[:3])
    assert os.path.realpath(data["executable"]) == os.path.realpath(sys.executable)
    assert data["cwd"] == str(tmp_path)
    assert data["marker_environment"]["python_version"] == "%d.%d" % sys.version_info[:2]
    assert data["module_origins"]["numpy"]["found"] is True


def test_python_probe_sees_the_working_directory_first_as_a_notebook_does(tmp_path):
    (tmp_path / "torch.py").write_text("raise SystemExit('the local torch.py was executed')\n")
    outcome = metadata_member("python", tmp_path)
    assert outcome.ok, outcome.reason
    assert outcome.data["module_origins"]["torch"]["origin"] == str(tmp_path / "torch.py")


def test_packages_probe_reads_versions_and_requirements_without_importing(tmp_path):
    outcome = metadata_member("packages", tmp_path)
    assert outcome.ok, outcome.reason
    found = {d["name"].lower(): d for d in outcome.data["distributions"]}
    assert found["packaging"]["version"] == metadata.version("packaging")
    assert sorted(found["fastai"]["requires"]) == sorted(metadata.requires("fastai"))
    assert found["fastai"]["requires_python"] == metadata.metadata("fastai")["Requires-Python"]
    torch_module = outcome.data["version_modules"]["torch"]
    assert torch_module["__version__"].startswith(metadata.version("torch"))


def test_packages_probe_reads_every_installed_distribution_as_importlib_does(tmp_path):
    """Requirements and Requires-Python agree with importlib.metadata for every distribution here, including
    those whose License header folds over lines of spaces (matplotlib, jupyter_server, ...), which end no header."""
    outcome = metadata_member("packages", tmp_path)
    site = sysconfig.get_paths()["purelib"]
    seen = set()
    for dist in metadata.distributions(path=[site]):
        name = dist.metadata["Name"]
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        found = next(d for d in outcome.data["distributions"] if d["name"] == name)
        assert sorted(found["requires"]) == sorted(dist.requires or []), name
        assert found["requires_python"] == dist.metadata["Requires-Python"], name


def test_hardware_probe_answers_without_a_gpu_or_nvidia_smi(tmp_path):
    outcome = run(BUILTIN["hardware"], tmp_path)
    assert outcome.ok, outcome.reason
    nvidia = outcome.data["nvidia"]
    assert isinstance(nvidia["gpus"], list)
    if not nvidia["gpus"]:
        assert nvidia["error"]


def test_probe_survives_library_output_on_stdout_from_python_and_from_c(tmp_path):
    spec = simulated("""
        def collect(arguments):
            print("chatter from a library")
            os.write(1, b"chatter written straight to fd 1\\n")
            return {"answer": 42}
    """)
    outcome = run(spec, tmp_path)
    assert outcome.ok, outcome.reason
    assert outcome.data == {"answer": 42}
    assert "chatter written straight to fd 1" in outcome.stderr_tail


def test_crash_becomes_an_outcome_with_the_signal(tmp_path):
    spec = simulated("""
        def collect(arguments):
            sys.stderr.write("about to fall over\\n")
            sys.stderr.flush()
            import signal
            os.kill(os.getpid(), signal.SIGSEGV)
    """)
    outcome = run(spec, tmp_path)
    assert outcome.status == "crashed"
    assert "SIGSEGV" in outcome.reason
    assert "about to fall over" in outcome.stderr_tail


def test_exception_becomes_a_failed_outcome_naming_the_error(tmp_path):
    outcome = run(simulated("def collect(arguments):\n    raise RuntimeError('boom in the probe')\n"), tmp_path)
    assert outcome.status == "failed"
    assert "RuntimeError: boom in the probe" in outcome.reason
    assert outcome.returncode == 1


def test_garbage_output_becomes_an_outcome(tmp_path):
    spec = ProbeSpec("garbage", "print('this is not json')", 30.0, True, "prints garbage")
    outcome = run(spec, tmp_path)
    assert outcome.status == "garbage"
    assert "this is not json" in outcome.reason


@pytest.mark.slow
def test_an_answer_flood_is_garbage_and_the_probe_is_stopped(tmp_path):
    spec = simulated("""
        def collect(arguments):
            while True:
                _doctor_progress({"filler": "y" * 65536})
    """)
    outcome = run(spec, tmp_path)
    assert outcome.status == "garbage"
    assert outcome.reason == "probe simulated sent more than 16 MiB of answers and was stopped"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")
def test_hang_is_killed_with_its_children_at_the_timeout(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    spec = simulated(
        """
        def collect(arguments):
            import subprocess, threading
            child = subprocess.Popen([sys.executable, "-c", "import threading; threading.Event().wait()"])
            with open(%r, "w") as handle:
                handle.write(str(child.pid))
            threading.Event().wait()
        """ % str(pid_file),
        timeout_s=15.0,
    )
    outcome = run(spec, tmp_path)
    assert outcome.status == "timeout"
    assert "did not finish within 15 s" in outcome.reason
    grandchild = int(pid_file.read_text())
    wait_for(lambda: not process_alive(grandchild))


@pytest.mark.skipif(os.name != "posix", reason="signals as on Linux and macOS")
def test_ctrl_c_while_probes_run_kills_them_before_the_pool_waits_for_its_threads(tmp_path):
    pid_file = tmp_path / "probe.pid"
    spec = simulated("""
        def collect(arguments):
            with open(%r, "w") as handle:
                handle.write(str(os.getpid()))
            import threading
            threading.Event().wait()
    """ % str(pid_file), timeout_s=86400.0)
    died = []

    def interrupt_and_watch():
        wait_for(lambda: pid_file.exists() and pid_file.read_text())
        pid = int(pid_file.read_text())
        os.kill(os.getpid(), signal.SIGINT)
        try:
            wait_for(lambda: not process_alive(pid))
            died.append(True)
        except AssertionError:
            died.append(False)
            os.killpg(pid, signal.SIGKILL)  # the probe outlived the interrupt: end it so that the test ends

    helper = threading.Thread(target=interrupt_and_watch)
    helper.start()
    with pytest.raises(KeyboardInterrupt):
        run_probes([spec], sys.executable, str(tmp_path), probe_environment(), {})
    helper.join()
    assert died == [True]


def test_missing_interpreter_is_an_outcome(tmp_path):
    outcome = metadata_member("python", tmp_path, python=str(tmp_path / "no-such-python"))
    assert outcome.status == "not-started"
    assert "could not start" in outcome.reason


def test_independent_probes_run_concurrently(tmp_path):
    # Each waits for the other's marker file: run one after the other, the first would time out.
    def waiter(mine, theirs):
        return simulated(
            """
            def collect(arguments):
                import time
                open(%r, "w").close()
                deadline = time.time() + 120
                while not os.path.exists(%r):
                    if time.time() > deadline:
                        raise RuntimeError("the other probe never started")
                    time.sleep(0.01)
                return {"met": True}
            """ % (str(tmp_path / mine), str(tmp_path / theirs)),
            name=mine, timeout_s=150.0,
        )

    outcomes = run_probes([waiter("a", "b"), waiter("b", "a")], sys.executable, str(tmp_path),
                          probe_environment(), {})
    assert {name: o.status for name, o in outcomes.items()} == {"a": "ok", "b": "ok"}


def test_quick_collection_runs_only_metadata_probes(tmp_path):
    facts = collect_facts(Target(python=sys.executable, cwd=str(tmp_path)), lesson=1, quick=True)
    assert facts.outcome("torch").status == "skipped"
    assert facts.outcome("imports").status == "skipped"
    assert all(facts.outcome(name).ok for name in ("python", "packages", "hardware"))
    # Without importing torch, the build still comes from torch/version.py.
    assert facts.derived.torch_build.source == "version.py"


def test_a_bundle_members_exception_is_its_own_failure(tmp_path):
    from doctor.probes.runner import split_bundle

    members = {"fine": "def collect(arguments):\n    return {'answer': 1}\n",
               "broken": "def collect(arguments):\n    raise LookupError('no such thing')\n"}
    body = "_DOCTOR_MEMBERS = %r\n" % members + open(
        os.path.join(os.path.dirname(__file__), os.pardir, "doctor", "probes", "programs", "bundle.py")).read()
    spec = ProbeSpec("pair", program_from_source(body), 30.0, True, "two members", members=("fine", "broken"))
    outcomes = split_bundle(spec, run(spec, tmp_path, {"fine": {}, "broken": {}}))
    assert outcomes["fine"].ok and outcomes["fine"].data == {"answer": 1}
    assert outcomes["broken"].status == "failed"
    assert outcomes["broken"].reason == "probe broken failed: LookupError: no such thing"


def test_a_crashed_bundle_fails_every_member_with_the_reason(tmp_path):
    from doctor.probes.runner import split_bundle

    spec = ProbeSpec("pair", program_from_source("def collect(arguments):\n    os.abort()\n"), 30.0, True,
                     "crashes", members=("first", "second"))
    outcomes = split_bundle(spec, run(spec, tmp_path))
    assert {o.status for o in outcomes.values()} == {"crashed"}
    assert outcomes["second"].reason == "probe second crashed with SIGABRT"


def test_bytes_on_fd_1_without_a_newline_before_the_answer_cannot_garble_it(tmp_path):
    # As a C library writes at import time, before the probe's answer: no trailing newline.
    spec = simulated("""
        os.write(1, b"\\x1b[1mbanner from C, no newline")
        os.write(2, b"\\x00\\xff on stderr too")

        def collect(arguments):
            os.write(1, b"more, still no newline")
            return {"answer": 42}
    """)
    outcome = run(spec, tmp_path)
    assert outcome.ok, outcome.reason
    assert outcome.data == {"answer": 42}


def test_a_bundle_member_that_sent_no_answer_is_garbage_not_ok_without_data(tmp_path):
    from doctor.probes.runner import split_bundle

    spec = ProbeSpec("pair", program_from_source("def collect(arguments):\n    return {'first': {'data': {}}}\n"),
                     30.0, True, "answers for one member only", members=("first", "second"))
    outcomes = split_bundle(spec, run(spec, tmp_path))
    assert outcomes["first"].ok and outcomes["first"].data == {}
    assert outcomes["second"].status == "garbage" and outcomes["second"].data is None


SHADOWING_STDLIB = ("json", "typing", "random", "subprocess", "traceback", "importlib", "os")


@pytest.fixture
def shadowing_folder(tmp_path):
    """A working folder whose modules shadow the standard library, each failing loudly when imported."""
    for name in SHADOWING_STDLIB:
        (tmp_path / (name + ".py")).write_text("raise RuntimeError('the learner\\'s own %s.py was imported')\n" % name)
    return tmp_path


def test_the_working_folders_json_py_does_not_break_the_probe_machinery(shadowing_folder):
    outcomes = run_probes([BUILTIN["metadata"], BUILTIN["hardware"]], sys.executable, str(shadowing_folder),
                          probe_environment(), probe_arguments(1))
    assert {name: outcome.status for name, outcome in outcomes.items()} == dict.fromkeys(outcomes, "ok")
    # The lesson's view is unchanged: the folder is first on sys.path again when collect runs.
    assert outcomes["python"].data["sys_path"][0] == str(shadowing_folder)


def test_the_lesson_code_still_sees_the_working_folder(shadowing_folder):
    (shadowing_folder / "lesson_helpers.py").write_text("VALUE = 7\n")
    spec = simulated("""
        def collect(arguments):
            import lesson_helpers
            return {"value": lesson_helpers.VALUE, "first": sys.path[0]}
    """)
    outcome = run(spec, shadowing_folder)
    assert outcome.ok, outcome.reason
    assert outcome.data == {"value": 7, "first": ""}


@pytest.mark.slow
def test_check_answers_normally_beside_a_learners_json_py(shadowing_folder):
    import json
    import subprocess

    console_script = os.path.join(os.path.dirname(sys.executable), "dl-doctor")
    for options in (["--quick"], []):
        report = shadowing_folder / "report.json"
        completed = subprocess.run([console_script, "check", *options, "--format", "json", "--output", str(report)],
                                   cwd=str(shadowing_folder), capture_output=True, text=True, timeout=600,
                                   stdin=subprocess.DEVNULL)
        assert completed.returncode in (0, 1), completed.stderr
        outcomes = json.loads(report.read_text())["facts"]["probes"]
        ran = {name: o["status"] for name, o in outcomes.items() if o["status"] != "skipped"}
        assert ran == dict.fromkeys(ran, "ok") and ("torch" in ran) == (options == []), options


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kilobytes, as on Linux")
def test_a_probe_writing_800_mib_to_stderr_keeps_the_doctors_memory_flat(tmp_path):
    import resource

    peak_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    spec = simulated("""
        def collect(arguments):
            chunk = b"e" * (1024 * 1024)
            for _ in range(800):
                os.write(2, chunk)
            return {"answer": 1}
    """, timeout_s=300.0)
    outcome = run(spec, tmp_path)
    assert outcome.ok and outcome.data == {"answer": 1}
    assert outcome.stderr_tail.endswith("eee")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kb < 64 * 1024


def test_garbled_torch_progress_records_are_left_out_never_an_ok_outcome_without_data():
    from doctor.ops import _Catalogue
    from doctor.outcome import ProbeOutcome
    from doctor.requests import OpsRequest

    cut_off = ProbeOutcome("torch", "crashed", None, "probe torch crashed with SIGKILL", "", 1.0, None, -9,
                           ({"kind": "torch", "facts": None}, {"kind": "result"}))
    catalogue = _Catalogue(OpsRequest())
    assert catalogue.absorb(cut_off) is False
    outcomes = catalogue.outcomes(cut_off, 1.0)
    assert {name: outcome.status for name, outcome in outcomes.items()} == {"torch": "crashed", "ops": "crashed"}


def test_a_dist_torch_description_without_facts_stays_the_childs_failure():
    from doctor.dist import _torch_outcome
    from doctor.outcome import ProbeOutcome

    cut_off = ProbeOutcome("torch", "crashed", None, "probe torch crashed with SIGKILL", "", 1.0, None, -9,
                           ({"kind": "torch", "facts": None},))
    assert _torch_outcome(cut_off) == cut_off
