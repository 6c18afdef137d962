# Probe "notebook": what a notebook kernel of this interpreter would live with: the python and pip on
# PATH and which environments they belong to, the Jupyter kernelspecs, the running Jupyter servers, the
# widget front-end extensions in every Jupyter data folder, the markers of VS Code, Colab and Kaggle, and
# where PYTORCH_ENABLE_MPS_FALLBACK is set before Python starts (conda env vars, activate.d, shell profiles).
import glob
import json
import os
import re
import shutil
import sys

FRONT_END_MARKERS = (
    ("vscode", ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI")),
    ("colab", ("COLAB_RELEASE_TAG", "COLAB_GPU", "COLAB_BACKEND_VERSION")),
    ("kaggle", ("KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_URL_BASE")),
    ("jupyterhub", ("JUPYTERHUB_API_URL",)),
)
LAB_MANAGER = os.path.join("labextensions", "@jupyter-widgets", "jupyterlab-manager", "package.json")
CLASSIC_WIDGETS = os.path.join("nbextensions", "jupyter-js-widgets")
FALLBACK_VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
# export X=0, X=0, setenv X 0 (csh), set -gx X 0 (fish).
FALLBACK_ASSIGNMENT = re.compile(r"(?<![$\w])PYTORCH_ENABLE_MPS_FALLBACK(?:=|\s+)[\"']?([^\"'\s;]+)")
SHELL_PROFILES = (".zshenv", ".zprofile", ".zshrc", ".bash_profile", ".bashrc", ".profile",
                  os.path.join(".config", "fish", "config.fish"))
JUPYTER_MODULES = ("jupyter_core", "ipykernel", "jupyterlab", "notebook")


def _prefix_of_python(path):
    """The environment an interpreter belongs to, without starting it where the file tells."""
    if path is None:
        return None
    parent = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.isfile(os.path.join(parent, "pyvenv.cfg")):
        return parent
    try:
        with open(path, "rb") as handle:
            is_script = handle.read(2) == b"#!"
    except OSError:
        return None
    if is_script:
        # A shim (pyenv, asdf): only running it tells which Python it picks.
        return _doctor_command_output([path, "-c", "import sys; sys.stdout.write(sys.prefix)"], 15)
    return os.path.dirname(os.path.dirname(os.path.realpath(path)))


def _script_interpreter(path):
    """The Python a console script runs: its shebang line; pip's launcher for long paths or paths with spaces is
    "#!/bin/sh" and then an exec line naming it (pip/_vendor/distlib/scripts.py, _build_shebang); "#!/usr/bin/env
    python3" names it through PATH. None for a binary launcher (Windows .exe) or a file that names no Python."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024).decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    words = head[0][2:].split()
    if words and words[0] == "/bin/sh" and len(head) > 1:
        found = re.search(r"exec' (\"[^\"]+\"|\S+)", head[1])
        words = [found.group(1).strip('"')] if found else []
    if len(words) > 1 and os.path.basename(words[0]) == "env":
        words = [shutil.which(words[1]) or words[1]]
    interpreter = words[0] if words else None
    if interpreter and "python" in os.path.basename(interpreter) and os.path.isfile(interpreter):
        return interpreter
    return None


def _script_prefix(path):
    """The environment a console script belongs to: its interpreter's, else the folder it sits in (a script lives
    in its environment's bin, Scripts on Windows; a symlink, as pipx and Homebrew make, is followed)."""
    interpreter = _script_interpreter(path)
    if interpreter:
        return _prefix_of_python(interpreter)
    folder = os.path.dirname(os.path.realpath(path))
    return os.path.dirname(folder) if os.path.basename(folder) in ("bin", "Scripts") else None


def _pip_on_path():
    path = shutil.which("pip")
    if path is None:
        return {"path": None, "prefix": None, "site": None}
    if _script_interpreter(path):
        return {"path": path, "prefix": _script_prefix(path), "site": None}
    version = _doctor_command_output([path, "--version"], 15) or ""
    found = re.search(r" from (.+?)[/\\]pip \(python", version)
    return {"path": path, "prefix": None, "site": found.group(1) if found else None}


def _jupyter_data_dirs():
    try:
        from jupyter_core.paths import jupyter_path
        return list(jupyter_path())
    except Exception:
        # jupyter_core's order when it is not installed here: user, environment, system.
        home = os.path.expanduser("~")
        user = os.environ.get("JUPYTER_DATA_DIR") or (
            os.path.join(home, "Library", "Jupyter") if sys.platform == "darwin" else
            os.path.join(os.environ.get("APPDATA", home), "jupyter") if os.name == "nt" else
            os.path.join(os.environ.get("XDG_DATA_HOME", os.path.join(home, ".local", "share")), "jupyter"))
        extra = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
        return extra + [user, os.path.join(sys.prefix, "share", "jupyter"), "/usr/local/share/jupyter",
                        "/usr/share/jupyter"]


def _runtime_dir():
    try:
        from jupyter_core.paths import jupyter_runtime_dir
        return jupyter_runtime_dir()
    except Exception:
        return os.environ.get("JUPYTER_RUNTIME_DIR")


def _running_servers():
    folder = _runtime_dir()
    servers = []
    for path in sorted(glob.glob(os.path.join(folder or "", "jpserver-*.json"))):
        try:
            with open(path) as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            continue
        pid = info.get("pid")
        servers.append({"pid": pid, "version": info.get("version"), "root_dir": info.get("root_dir"),
                        "prefix": _prefix_of_python(_server_interpreter(pid))})
    return servers


def _server_interpreter(pid):
    """The interpreter a server was started with, as named (a venv's bin/python, not the file it links to)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            first = handle.read().split(b"\0")[0].decode("utf-8", "replace")
    except (OSError, TypeError):
        return None
    return first if os.path.isabs(first) and "python" in os.path.basename(first) else None


def _kernelspecs(data_dirs):
    specs = []
    seen = set()
    for folder in data_dirs:
        for path in sorted(glob.glob(os.path.join(folder, "kernels", "*", "kernel.json"))):
            name = os.path.basename(os.path.dirname(path))
            if name in seen:
                continue
            seen.add(name)
            try:
                with open(path) as handle:
                    spec = json.load(handle)
            except (OSError, ValueError) as exc:
                specs.append({"name": name, "path": path, "error": str(exc)})
                continue
            argv = spec.get("argv") or [None]
            env = spec.get("env") or {}
            specs.append({"name": name, "path": path, "display_name": spec.get("display_name"),
                          "argv0": argv[0], "prefix": _prefix_of_python(argv[0]) if argv[0] and argv[0] != "python"
                          else None, "env": sorted(env.keys()), "fallback_variable": env.get(FALLBACK_VARIABLE),
                          "no_site": _no_site(argv[1:]), "argv0_found": _interpreter_found(argv[0]),
                          "error": None})
    return specs


def _interpreter_found(argv0):
    """Whether a kernelspec's interpreter exists; None for a bare name, which PATH resolves when the kernel starts."""
    if not isinstance(argv0, str) or not os.path.isabs(argv0):
        return None
    return os.path.isfile(argv0)


def _no_site(arguments):
    """Whether interpreter options before the script or -m/-c include -S (alone or grouped, as in -IS)."""
    takes_value = False
    for argument in arguments:
        if takes_value:
            takes_value = False
            continue
        if not isinstance(argument, str) or not argument.startswith("-") or argument.startswith("--"):
            return False
        for position, letter in enumerate(argument[1:], 1):
            if letter == "S":
                return True
            if letter in "mc":
                return False
            if letter in "WX":
                # -W and -X take the rest of the word, or else the next word, as their value.
                takes_value = position == len(argument) - 1
                break
    return False


def _assignment(line):
    """The value a shell line gives the variable (export/setenv/fish set), or None."""
    if line.lstrip().startswith("#"):
        return None
    found = FALLBACK_ASSIGNMENT.search(line)
    return found.group(1) if found else None


def _assignments_in(path, kind):
    if not os.path.isfile(path):
        return []  # a FIFO or device under that name would block the read
    try:
        with open(path, "rb") as handle:
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except (OSError, ValueError):
        return []
    found = []
    for number, line in enumerate(lines, 1):
        value = _assignment(line)
        if value is not None:
            found.append({"kind": kind, "path": path, "line": number, "value": value})
    return found


def _conda_env_vars(prefix):
    # `conda env config vars set` writes {"env_vars": {...}} to conda-meta/state; conda activate exports them.
    path = os.path.join(prefix, "conda-meta", "state")
    try:
        with open(path) as handle:
            variables = json.load(handle).get("env_vars") or {}
    except (OSError, ValueError, AttributeError):
        return []
    if not isinstance(variables, dict) or FALLBACK_VARIABLE not in variables:
        return []
    return [{"kind": "conda-env-vars", "path": path, "line": None, "value": str(variables[FALLBACK_VARIABLE])}]


def _fallback_presets():
    """Every place that sets PYTORCH_ENABLE_MPS_FALLBACK before Python starts: this environment's conda env vars
    and activate.d scripts, and the shell profiles in the home folder."""
    found = _conda_env_vars(sys.prefix)
    for path in sorted(glob.glob(os.path.join(sys.prefix, "etc", "conda", "activate.d", "*"))):
        found += _assignments_in(path, "conda-activate-script")
    home = os.path.expanduser("~")
    for name in SHELL_PROFILES:
        found += _assignments_in(os.path.join(home, name), "shell-profile")
    return found


def _widget_frontends(data_dirs):
    found = []
    for folder in data_dirs:
        manager = os.path.join(folder, LAB_MANAGER)
        if os.path.isfile(manager):
            try:
                with open(manager) as handle:
                    version = json.load(handle).get("version")
            except (OSError, ValueError):
                version = None
            found.append({"kind": "labextension", "folder": folder, "version": version})
        if os.path.isdir(os.path.join(folder, CLASSIC_WIDGETS)):
            found.append({"kind": "nbextension", "folder": folder, "version": None})
    return found


def _jupyter_on_path():
    path = shutil.which("jupyter")
    return {"path": path, "prefix": _script_prefix(path) if path else None}


def _jupyter_modules():
    """Which of Jupyter's parts this interpreter can import (found, not imported): with ipykernel and a
    front end here, the front end's own kernel runs this interpreter."""
    return dict((name, _doctor_module_found(name)) for name in JUPYTER_MODULES)


def collect(arguments):
    servers = _running_servers()
    data_dirs = _jupyter_data_dirs()
    # A server started from another environment reads its own data folder: look there too.
    server_dirs = [os.path.join(s["prefix"], "share", "jupyter") for s in servers if s.get("prefix")]
    searched = data_dirs + [d for d in server_dirs if d not in data_dirs]
    python = shutil.which("python") or shutil.which("python3")
    return {
        "prefix": sys.prefix,
        "python_on_path": {"path": python, "prefix": _prefix_of_python(python)},
        "pip_on_path": _pip_on_path(),
        "data_dirs": searched,
        "kernelspecs": _kernelspecs(data_dirs),
        "jupyter_on_path": _jupyter_on_path(),
        "jupyter_modules": _jupyter_modules(),
        "servers": servers,
        "widget_frontends": _widget_frontends(searched),
        "front_end_markers": [name for name, variables in FRONT_END_MARKERS
                              if any(v in os.environ for v in variables)],
        "colab_importable": _colab(),
        "fallback_presets": _fallback_presets(),
    }


def _colab():
    return _doctor_module_found("google.colab")
