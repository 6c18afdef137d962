"""Redaction (doctor/redact.py): what a shared report must not carry, and what it must leave alone.

``Redactor`` is tested table-driven with explicit home, user, host and secrets; then through
``Report.shareable`` into every shareable format; then end to end: ``check --quick`` in each format,
with a secret in the environment, redacted by default and kept under ``--no-redact``.
"""

import json
import os
import secrets
import sys

import pytest

from conftest import run_cli
from doctor.findings import error, fix, warning
from doctor.redact import Redactor, looks_secret, redactor_for
from doctor.render.html import render_html_page
from doctor.render.json_report import render_json
from doctor.render.junit import render_junit
from doctor.render.markdown import render_markdown
from doctor.report import Report
from factories import make_facts

UUID = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
HF_TOKEN = "hf_abcdefghij123"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# A user named with a word ("root") on a host named with a word ("vm").
WORDS = Redactor(home="/home/root", user="root", host="vm",
                 secrets=(("AWS_SECRET_ACCESS_KEY", AWS_SECRET), ("HF_TOKEN", HF_TOKEN)))
# A CI runner: names that cannot be words, so they are redacted as whole tokens anywhere.
RUNNER = Redactor(home="/home/runner-7f3a", user="runner-7f3a", host="ci-box-12", secrets=())


@pytest.mark.parametrize("text, expected", [
    # The home folder becomes ~, as a whole path prefix only.
    ("/home/root/x", "~/x"),
    ("/home/root", "~"),
    ('"/home/root/.cache/torch"', '"~/.cache/torch"'),
    ("(/home/root)", "(~)"),
    ("PATH=/home/root/bin:/usr/bin", "PATH=~/bin:/usr/bin"),
    ("/home/rootless/x", "/home/rootless/x"),
    ("/data/home/root/x", "/data/home/<user>/x"),
    # A user named like a word: the folder of a home or around "@", never a word in prose nor another folder.
    ("the root cause is a CPU wheel", "the root cause is a CPU wheel"),
    ("Root Cause", "Root Cause"),
    ("rooted, chroot, rootfs", "rooted, chroot, rootfs"),
    ("/srv/root/data", "/srv/root/data"),
    ("/Users/root/Library", "/Users/<user>/Library"),
    ("C:\\Users\\root\\AppData", "C:\\Users\\<user>\\AppData"),
    ("root@vm", "<user>@<host>"),
    ("ssh root@vm:22", "ssh <user>@<host>:22"),
    ("git@vm", "git@<host>"),
    ("root:x:0:0", "root:x:0:0"),
    # A host named like a word: after "@" only (a whole value under an identity key: the document test).
    ("the vm is slow", "the vm is slow"),
    ("/srv/vm/x", "/srv/vm/x"),
    ("vm", "vm"),
    ("root", "root"),
    # Secret values wherever they appear.
    ("HF_TOKEN=" + HF_TOKEN, "HF_TOKEN=<secret:HF_TOKEN>"),
    ("Authorization: Bearer %s." % HF_TOKEN, "Authorization: Bearer <secret:HF_TOKEN>."),
    ("aws says %s is wrong" % AWS_SECRET, "aws says <secret:AWS_SECRET_ACCESS_KEY> is wrong"),
    # Command-line options named like secrets (the command lines of processes on a GPU), and no others.
    ("python train.py --hf-token=hf_abc123 --epochs 3", "python train.py --hf-token=<secret:--hf-token> --epochs 3"),
    ("fit.py --api-key 'a b c' --lr 1", "fit.py --api-key <secret:--api-key> --lr 1"),
    ("jupyter lab --ServerApp.token=abc123", "jupyter lab --ServerApp.token=<secret:--ServerApp.token>"),
    ("--tokenizer bert --max-len 5", "--tokenizer bert --max-len 5"),
    ("--auth-token --verbose", "--auth-token --verbose"),
    # GPU and MIG UUIDs.
    ("GPU-" + UUID, "GPU-<uuid>"),
    ("GPU 0: NVIDIA H100 (UUID: GPU-%s)" % UUID.upper(), "GPU 0: NVIDIA H100 (UUID: GPU-<uuid>)"),
    ("MIG-" + UUID, "MIG-<uuid>"),
    ("GPU-1234", "GPU-1234"),
    ("", ""),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None)
def test_redactor_with_word_names(text, expected):
    assert WORDS.text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("job ran as runner-7f3a today", "job ran as <user> today"),
    ("runner-7f3a", "<user>"),
    ("runner-7f3a@ci-box-12", "<user>@<host>"),
    ("owner: runner-7f3a.", "owner: <user>."),
    ("runner-7f3a-old", "runner-7f3a-old"),
    ("xrunner-7f3a", "xrunner-7f3a"),
    ("runner-7f3ab", "runner-7f3ab"),
    ("/home/runner-7f3a/work", "~/work"),
    ("/opt/runner-7f3a/work", "/opt/<user>/work"),
    ("built on ci-box-12.", "built on <host>."),
    ("ci-box-123", "ci-box-123"),
])
def test_redactor_with_names_that_cannot_be_words(text, expected):
    assert RUNNER.text(text) == expected


# Users named like the folders of every Unix tree (#14 §14): only their home, an address or an identity value.
PATH_WORDS = [
    ("lib", "/usr/lib/python3.11/site-packages/torch", "/usr/lib/python3.11/site-packages/torch"),
    ("lib", "/home/lib/venv/bin/python", "~/venv/bin/python"),
    ("lib", "/opt/conda/lib/libcudart.so", "/opt/conda/lib/libcudart.so"),
    ("lib", "ssh lib@box", "ssh <user>@box"),
    ("bin", "/usr/bin/python3 and /bin/sh", "/usr/bin/python3 and /bin/sh"),
    ("bin", "/home/bin/.local/bin/dl-doctor", "~/.local/bin/dl-doctor"),
    ("data", "--data /data/pets, /mnt/data/x", "--data /data/pets, /mnt/data/x"),
    ("data", "C:\\Users\\data\\venv", "C:\\Users\\<user>\\venv"),
    ("src", "/workspace/src/train.py", "/workspace/src/train.py"),
    ("test", "pytest tests/test_x.py::test /tmp/test/x", "pytest tests/test_x.py::test /tmp/test/x"),
    ("test", "/Users/test/course", "/Users/<user>/course"),
]


@pytest.mark.parametrize("user, text, expected", PATH_WORDS)
def test_a_user_named_like_a_folder_leaves_other_folders_alone(user, text, expected):
    redactor = Redactor(home="/home/%s" % user, user=user, host="vm", secrets=())
    assert redactor.text(text) == expected


def test_a_user_beside_this_machines_home_is_redacted_but_a_root_home_makes_no_folder_a_home():
    beside = Redactor(home="/data/staff/lib", user="lib", host="box", secrets=())
    assert beside.text("/data/staff/lib2/x /data/staff/lib /usr/lib") == "/data/staff/lib2/x ~ /usr/lib"
    assert beside.text("/mnt/data/staff/lib/x") == "/mnt/data/staff/<user>/x"
    root = Redactor(home="/lib", user="lib", host="box", secrets=())
    assert root.text("/lib/x /usr/lib/y") == "~/x /usr/lib/y"


def test_an_identity_value_is_redacted_only_under_an_identity_key():
    redactor = Redactor(home="/home/data", user="data", host="lib", secrets=())
    document = {"USER": "data", "LOGNAME": "data", "hostname": "lib", "top_level": ["lib", "data"], "folder": "data"}
    assert redactor.document(document) == {"USER": "<user>", "LOGNAME": "<user>", "hostname": "<host>",
                                           "top_level": ["lib", "data"], "folder": "data"}


def test_host_name_that_starts_with_the_user_name_is_the_host():
    redactor = Redactor(home=None, user="runner-7f3a", host="runner-7f3a.local", secrets=())
    assert redactor.text("connected to runner-7f3a.local") == "connected to <host>"


def test_document_redacts_every_string_key_and_value_and_hides_secret_keys():
    document = {
        "python": {"executable": "/home/root/venv/bin/python", "cwd": "/home/root",
                   "environment_variables": {"HF_TOKEN": "short", "GITHUB_TOKEN": "", "AWS_SECRET_ACCESS_KEY": "x",
                                             "CUDA_VISIBLE_DEVICES": "GPU-" + UUID}},
        "/home/root/notes": ["/home/root/a", {"uuid": "GPU-" + UUID}],
        "packages": [{"name": "tokenizers", "version": "0.21.0"}],
        "tokenizers": "0.21.0",
        "count": 3, "ok": True, "nothing": None, "ratio": 0.5,
    }
    assert WORDS.document(document) == {
        "python": {"executable": "~/venv/bin/python", "cwd": "~",
                   "environment_variables": {"HF_TOKEN": "<secret:HF_TOKEN>", "GITHUB_TOKEN": "",
                                             "AWS_SECRET_ACCESS_KEY": "<secret:AWS_SECRET_ACCESS_KEY>",
                                             "CUDA_VISIBLE_DEVICES": "GPU-<uuid>"}},
        "~/notes": ["~/a", {"uuid": "GPU-<uuid>"}],
        "packages": [{"name": "tokenizers", "version": "0.21.0"}],
        "tokenizers": "0.21.0",
        "count": 3, "ok": True, "nothing": None, "ratio": 0.5,
    }


@pytest.mark.parametrize("name, secret", [
    ("HF_TOKEN", True), ("GITHUB_TOKEN", True), ("HUGGING_FACE_HUB_TOKEN", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("AWS_ACCESS_KEY_ID", True), ("OPENAI_API_KEY", True), ("WANDB_APIKEY", True), ("PGPASSWORD", True),
    ("DB_PASSWD", True), ("SSH_PASSPHRASE", True), ("GH_AUTH", True), ("GOOGLE_APPLICATION_CREDENTIALS", True),
    ("KAGGLE_KEY", True), ("TOKENIZERS_PARALLELISM", False),
    ("PATH", False), ("HOME", False), ("tokenizers", False), ("AUTHOR", False), ("KEYBOARD_LAYOUT", False),
    ("CUDA_VISIBLE_DEVICES", False), ("PYTORCH_ENABLE_MPS_FALLBACK", False), ("hf_token", False),
])
def test_which_variable_names_look_secret(name, secret):
    assert looks_secret(name) is secret


def test_tokenizers_parallelism_is_not_a_secret():
    assert looks_secret("TOKENIZERS_PARALLELISM") is False
    assert WORDS.document({"TOKENIZERS_PARALLELISM": "false"}) == {"TOKENIZERS_PARALLELISM": "false"}


def test_this_machines_redactor_takes_long_enough_secret_values_longest_first():
    environ = {"A_TOKEN": "abcdef", "B_TOKEN": "abcdef123456", "GH_TOKEN": "abc", "PATH": "/usr/local/bin",
               "TOKENIZERS_PARALLELISM": "false"}
    redactor = Redactor.for_this_machine(environ)
    assert redactor.secrets == (("B_TOKEN", "abcdef123456"), ("A_TOKEN", "abcdef"))
    assert redactor.text("x abcdef123456 y abcdef z abc") == "x <secret:B_TOKEN> y <secret:A_TOKEN> z abc"
    home = os.path.expanduser("~")
    assert redactor.home == (None if home in ("", "/") else home)
    assert redactor_for(False, environ) is None


# A course machine whose report carries every kind of identity.
SECRET_FACTS = dict(
    python={"executable": "/home/root/venv/bin/python", "cwd": "/home/root/course",
            "environment_variables": {"HF_TOKEN": HF_TOKEN, "CUDA_VISIBLE_DEVICES": "GPU-" + UUID}},
    hardware={"nvidia": {"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-" + UUID,
                                   "compute_capability": "9.0", "memory_total_mb": 81559}]}},
)


def identity_report():
    findings = [
        error("torch fails to import from /home/root/venv", "OSError: %s rejected on root@vm (GPU-%s)"
              % (HF_TOKEN, UUID), fix("reinstall it", "/home/root/venv/bin/python -m pip install torch"))
        .stamped("torch-import", "torch"),
        warning("the root cause is the CPU wheel").stamped("torch-build", "devices"),
    ]
    return Report(findings=findings, facts=make_facts(**SECRET_FACTS), timings={})


@pytest.mark.parametrize("render", [render_json, render_markdown, render_junit, render_html_page],
                         ids=["json", "markdown", "junit", "html"])
def test_every_shareable_format_of_a_redacted_report_drops_identities(render):
    report = identity_report()
    unredacted = render(report)
    shared = render(report.shareable(WORDS))
    for identity in ("/home/root", HF_TOKEN, UUID, "root@vm"):
        assert identity in unredacted
        assert identity not in shared
    assert "~/venv/bin/python" in shared
    assert "the root cause is the CPU wheel" in shared
    assert "GPU-&lt;uuid&gt;" in shared or "GPU-<uuid>" in shared


def test_shareable_report_is_marked_and_leaves_the_original_alone():
    report = identity_report()
    shared = report.shareable(WORDS)
    assert report.shareable(None) is report
    assert shared.redacted is True and report.redacted is False
    document = shared.to_dict()
    assert document["redacted"] is True
    assert document["environment"]["python_executable"] == "~/venv/bin/python"
    assert document["facts"]["probes"]["python"]["data"]["environment_variables"] == {
        "HF_TOKEN": "<secret:HF_TOKEN>", "CUDA_VISIBLE_DEVICES": "GPU-<uuid>"}
    assert document["facts"]["probes"]["hardware"]["data"]["nvidia"]["gpus"][0]["uuid"] == "GPU-<uuid>"
    assert document["findings"][0]["detail"] == "OSError: <secret:HF_TOKEN> rejected on <user>@<host> (GPU-<uuid>)"
    assert document["findings"][0]["fix"]["commands"] == ["~/venv/bin/python -m pip install torch"]
    assert report.to_dict()["environment"]["python_executable"] == "/home/root/venv/bin/python"


# End to end: the real CLI on this machine. The report names this interpreter, which is under the home folder
# on most machines (pyenv, a venv, conda); where it is not, the home folder may not appear at all.
HOME = os.path.expanduser("~")
HOME_IN_REPORTS = HOME not in ("", "/") and sys.executable.startswith(HOME + os.sep)
needs_home = pytest.mark.skipif(not HOME_IN_REPORTS, reason="this interpreter is not under the home folder")
TOKEN = "hf_" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    """``check --quick`` in each shareable format, with a token in HF_TOKEN that also leaks into a recorded
    variable (CONDA_DEFAULT_ENV), redacted by default; and the same under --no-redact; and text."""
    folder = tmp_path_factory.mktemp("redact")
    env = dict(os.environ, HF_TOKEN=TOKEN, CONDA_DEFAULT_ENV=TOKEN)
    runs = {}
    for name, options in (("json", ["--format", "json"]), ("json-no-redact", ["--format", "json", "--no-redact"]),
                          ("markdown", ["--format", "markdown"]), ("junit", ["--format", "junit"]),
                          ("html", ["--format", "html"]),
                          ("markdown-no-redact", ["--format", "markdown", "--no-redact"]),
                          ("junit-no-redact", ["--format", "junit", "--no-redact"]),
                          ("html-no-redact", ["--format", "html", "--no-redact"]), ("terminal", [])):
        runs[name] = run_cli("check", "--quick", *options, env=env, cwd=str(folder))
        assert runs[name].returncode in (0, 1), runs[name].stderr
    output = folder / "report.txt"
    runs["text-file"] = run_cli("check", "--quick", "--format", "text", "--output", str(output), env=env,
                                cwd=str(folder))
    runs["text-file"].file_text = output.read_text(encoding="utf-8")
    return runs


def test_json_report_hides_a_secret_variables_value_wherever_it_appears(quick_runs):
    redacted = json.loads(quick_runs["json"].stdout)
    kept = json.loads(quick_runs["json-no-redact"].stdout)
    variables = redacted["facts"]["probes"]["python"]["data"]["environment_variables"]
    assert variables["CONDA_DEFAULT_ENV"] == "<secret:HF_TOKEN>"
    assert TOKEN not in quick_runs["json"].stdout
    assert kept["facts"]["probes"]["python"]["data"]["environment_variables"]["CONDA_DEFAULT_ENV"] == TOKEN
    assert redacted["redacted"] is True and kept["redacted"] is False


@needs_home
def test_json_report_is_redacted_by_default_and_kept_under_no_redact(quick_runs):
    redacted, kept = quick_runs["json"].stdout, quick_runs["json-no-redact"].stdout
    assert HOME not in redacted
    assert json.loads(redacted)["environment"]["python_executable"] == "~" + sys.executable[len(HOME):]
    assert json.loads(kept)["environment"]["python_executable"] == sys.executable


@needs_home
@pytest.mark.parametrize("name", ["markdown", "junit", "html"])
def test_other_shareable_formats_are_redacted(quick_runs, name):
    kept, output = quick_runs[name + "-no-redact"].stdout, quick_runs[name].stdout
    if HOME + os.sep not in kept:
        pytest.skip("this machine's %s report names nothing under the home folder" % name)
    assert HOME + os.sep not in output
    assert "~" + os.sep in output
    assert TOKEN not in output


@needs_home
def test_piped_text_and_a_text_file_are_redacted(quick_runs):
    assert HOME + os.sep not in quick_runs["terminal"].stdout
    written = quick_runs["text-file"]
    assert "report written to" in written.stdout
    assert HOME + os.sep not in written.file_text
    assert "~" + sys.executable[len(HOME):] in written.file_text


# Text on a terminal and text that leaves it (#14 §13), on saved facts whose interpreter is under a made-up home.
LEARNER_HOME = "/home/learner-test"
LEARNER_PYTHON = LEARNER_HOME + "/venv/bin/python"


@pytest.fixture
def learner_facts(tmp_path):
    path = tmp_path / "facts.json"
    facts = make_facts(python={"executable": LEARNER_PYTHON, "prefix": LEARNER_HOME + "/venv"})
    path.write_text(json.dumps(facts.to_dict()))
    return str(path)


def run_on_terminal(*arguments, env):
    """``python -m doctor`` with its standard output on a pseudo-terminal, as a learner runs it."""
    import pty
    import subprocess

    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "doctor", *arguments], stdout=follower,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=120)
        process.stderr.close()
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize("options, kept", [([], False), (["--no-redact"], True)], ids=["piped", "no-redact"])
def test_text_piped_or_redirected_is_redacted_unless_no_redact(learner_facts, options, kept):
    completed = run_cli("check", "--facts", learner_facts, *options, env=dict(os.environ, HOME=LEARNER_HOME))
    assert completed.returncode in (0, 1), completed.stderr
    assert (LEARNER_PYTHON in completed.stdout) is kept
    assert ("~/venv/bin/python" in completed.stdout) is not kept


def test_text_on_a_terminal_keeps_real_paths(learner_facts):
    shown = run_on_terminal("check", "--facts", learner_facts, env=dict(os.environ, HOME=LEARNER_HOME))
    assert LEARNER_PYTHON in shown and "~/venv" not in shown
