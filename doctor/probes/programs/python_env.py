# Probe "python": the target interpreter itself, its environment, and where key modules would come from.
# Old-interpreter syntax on purpose (see prelude.py).
import glob
import importlib.machinery
import multiprocessing
import os
import sys
import platform
import site
import struct
import sysconfig

ctypes = None
if sys.platform == "darwin":  # only _sysctl uses it, and only on macOS
    try:
        import ctypes
        import ctypes.util
    except ImportError:  # an interpreter built without libffi
        pass
try:
    import winreg
except ImportError:  # not Windows
    winreg = None

ENVIRONMENT_VARIABLES = (
    "PYTORCH_ENABLE_MPS_FALLBACK",
    "PYTORCH_MPS_HIGH_WATERMARK_RATIO",
    "CUDA_VISIBLE_DEVICES",
    "HSA_OVERRIDE_GFX_VERSION",
    "LD_LIBRARY_PATH",
    "DYLD_LIBRARY_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    # torch/serialization.py load(): force weights_only on or off for every torch.load
    "TORCH_FORCE_WEIGHTS_ONLY_LOAD",
    "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",
)


def _marker_environment():
    # The PEP 508 marker variables, computed as packaging.markers.default_environment() does.
    implementation = sys.implementation
    info = implementation.version
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": implementation.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def _sysctl(name, width="c_int"):
    # Asked in this process (not via the sysctl command) because proc_translated describes the caller.
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        value = getattr(ctypes, width)(0)
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if libc.sysctlbyname(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
            return None
        return value.value
    except Exception:
        return None


def _macos_version():
    # sw_vers, not platform.mac_ver(): Pythons built with an old SDK report 10.16 (python/cpython#135675).
    return _doctor_command_output(["sw_vers", "-productVersion"], 5) or platform.mac_ver()[0] or None


def _apple():
    if sys.platform != "darwin":
        return None
    translated = _sysctl("sysctl.proc_translated")
    arm64 = _sysctl("hw.optional.arm64")
    return {
        "macos_version": _macos_version(),
        "rosetta_translated": None if translated is None else bool(translated),
        "arm64_hardware": None if arm64 is None else bool(arm64),
        # Unified memory, shared by the CPU and the GPU: the most MPS can ever use.
        "memory_bytes": _sysctl("hw.memsize", "c_uint64"),
    }


def _shared_memory():
    # Where torch's DataLoader workers put the batches they hand over (file_descriptor sharing on Linux).
    try:
        stats = os.statvfs("/dev/shm")
    except OSError:
        return None
    return {"path": "/dev/shm", "total_bytes": stats.f_blocks * stats.f_frsize,
            "free_bytes": stats.f_bavail * stats.f_frsize}


def _usable_cpus():
    # fastcore's num_cpus(), which sets fastai's number of DataLoader workers: the CPUs this process may run on.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def _module_origin(name):
    spec, error = _doctor_find_spec(name)
    if spec is None:
        return {"found": False, "origin": None, "locations": [], "error": error}
    locations = list(spec.submodule_search_locations or [])
    origin = spec.origin if spec.origin not in (None, "namespace") else None
    return {"found": True, "origin": origin, "locations": locations, "error": None}


def _site_packages():
    paths = []
    try:
        paths.extend(site.getsitepackages())
    except AttributeError:
        pass
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path and path not in paths:
            paths.append(path)
    return paths


# Where the Linux loader finds libcuda: the WSL driver folder first (NVIDIA CUDA on WSL user guide: do not install a
# Linux NVIDIA driver inside WSL, libcuda comes from /usr/lib/wsl/lib), then the distribution's library folders.
LIBCUDA_FOLDERS = ("/usr/lib/wsl/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
                   "/usr/lib", "/usr/local/lib", "/usr/local/cuda/lib64", "/usr/local/nvidia/lib64")


def _proc_version():
    try:
        with open("/proc/version") as handle:
            return handle.read().strip()
    except (OSError, ValueError):
        return None


def _libcuda_files():
    """libcuda.so* in the loader's usual folders (listed, not loaded: loading it would start the driver)."""
    found = []
    for folder in LIBCUDA_FOLDERS:
        for path in sorted(glob.glob(os.path.join(folder, "libcuda.so*"))):
            found.append({"path": path, "resolves_to": os.path.realpath(path)})
    return found


def _windows_long_paths():
    """HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem LongPathsEnabled (Microsoft Learn, "Maximum Path Length
    Limitation"); None where it is absent or unreadable."""
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\FileSystem") as key:
            return int(winreg.QueryValueEx(key, "LongPathsEnabled")[0])
    except Exception:
        return None


def _shell_environment():
    """What tells which shell started this process. PowerShell adds the user's module folder
    ($HOME\\Documents\\[Windows]PowerShell\\Modules) to PSModulePath each time it starts (Microsoft Learn,
    about_PSModulePath); outside PowerShell the variable holds only the machine's folders. ComSpec is set for every
    Windows process, so it tells nothing; Git Bash, MSYS2 and Cygwin set SHELL."""
    home = os.path.normcase(os.path.expanduser("~"))
    folders = [os.path.normcase(p) for p in os.environ.get("PSModulePath", "").split(os.pathsep) if p]
    return {"shell": os.environ.get("SHELL"),
            "powershell_user_modules": any(p.startswith(home) and "powershell" in p for p in folders)}


def _stdlib_names_in_working_folder():
    """Standard-library module names that a file or package in the working folder answers to (json.py, typing/,
    random.cpython-311-x86_64-linux-gnu.so): with the folder first on sys.path, as in a notebook, ``import json``
    finds that one. A folder without __init__.py is only a namespace portion and loses to the real module."""
    folder = os.getcwd()
    found = {}
    for name in _doctor_stdlib_module_names():
        if name in sys.builtin_module_names:
            continue  # found by the built-in importer before any folder is looked at
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, [folder])
        except Exception:
            continue
        if spec is not None and spec.origin not in (None, "namespace"):
            locations = list(spec.submodule_search_locations or [])
            found[name] = locations[0] if locations else spec.origin
    return found


def _added_path_entries():
    """The sys.path entries that PYTHONPATH or a .pth file in a site folder put there, and which one did.

    site.addpackage reads each .pth line that is neither blank, a comment nor an ``import`` line as a folder
    relative to the site folder, and adds it when it exists (CPython Lib/site.py)."""
    sources = {}
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry:
            sources.setdefault(os.path.abspath(entry), {"source": "PYTHONPATH", "pth_file": None})
    user_site = getattr(site, "USER_SITE", None) if getattr(site, "ENABLE_USER_SITE", False) else None
    for folder in _site_packages() + ([user_site] if user_site else []):
        try:
            names = sorted(name for name in os.listdir(folder) if name.endswith(".pth"))
        except OSError:
            continue
        for name in names:
            pth_file = os.path.join(folder, name)
            try:
                with open(pth_file, "r") as handle:
                    lines = handle.read().splitlines()
            except (OSError, ValueError):
                continue
            for line in lines:
                if not line.strip() or line.startswith("#") or line.startswith(("import ", "import\t")):
                    continue
                entry = os.path.abspath(os.path.join(folder, line.rstrip()))
                sources.setdefault(entry, {"source": "pth", "pth_file": pth_file})
    on_path = set(os.path.abspath(entry or os.curdir) for entry in sys.path)
    return dict((entry, source) for entry, source in sources.items() if entry in on_path)


def _start_method():
    try:
        return multiprocessing.get_start_method(allow_none=False)
    except Exception:
        return None


def collect(arguments):
    stdlib = sysconfig.get_paths().get("stdlib")
    base_prefix = getattr(sys, "base_prefix", getattr(sys, "real_prefix", sys.prefix))
    conda_meta = os.path.isdir(os.path.join(sys.prefix, "conda-meta"))
    return {
        "executable": sys.executable,
        "version": list(sys.version_info[:3]),
        "version_string": sys.version,
        "implementation": platform.python_implementation(),
        "pointer_bits": 8 * struct.calcsize("P"),
        "prefix": sys.prefix,
        "base_prefix": base_prefix,
        "virtualenv": sys.prefix != base_prefix,
        "conda": conda_meta,
        # PEP 668: pip refuses to install into such an interpreter ("externally-managed-environment").
        "externally_managed": bool(stdlib) and os.path.isfile(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
        and sys.prefix == base_prefix,
        "stdlib": stdlib,
        "site_packages": _site_packages(),
        "user_site": getattr(site, "USER_SITE", None) if getattr(site, "ENABLE_USER_SITE", False) else None,
        "sys_path": [entry if entry else os.getcwd() for entry in sys.path],
        "cwd": os.getcwd(),
        "marker_environment": _marker_environment(),
        "environment_variables": dict(
            (name, os.environ[name]) for name in ENVIRONMENT_VARIABLES if name in os.environ
        ),
        "apple": _apple(),
        "multiprocessing_start_method": _start_method(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "shared_memory": _shared_memory() if sys.platform.startswith("linux") else None,
        "module_origins": dict((name, _module_origin(name)) for name in arguments.get("modules", [])),
        "added_path_entries": _added_path_entries(),
        "stdlib_names_in_working_folder": _stdlib_names_in_working_folder(),
        "proc_version": _proc_version() if sys.platform.startswith("linux") else None,
        "libcuda_files": _libcuda_files() if sys.platform.startswith("linux") else [],
        "windows_long_paths": _windows_long_paths() if os.name == "nt" else None,
        "shell_environment": _shell_environment(),
    }
