"""Facts about the process dl-doctor itself runs in, for when that process is a notebook kernel.

A module stays in ``sys.modules`` until the process ends: after ``%pip install`` of a new version, the kernel keeps
running the version it imported first (googlecolab/colabtools#5197). The version and file of each imported
top-level module, set beside the installed metadata, show what only a restart brings in.

``PYTORCH_ENABLE_MPS_FALLBACK`` is read once, when torch loads (aten/src/ATen/mps/MPSFallback.mm): what matters is
whether torch is already imported here and whether the variable changed since the process started. Reading
``sys.modules`` and the environment imports nothing and changes nothing.
"""

import ctypes
import os
import struct
import sys
from typing import Any, Dict, List, Optional

FALLBACK_VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"


def _initial_environment_linux() -> Optional[Dict[str, str]]:
    try:
        with open("/proc/self/environ", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode("utf-8", "replace"): value.decode("utf-8", "replace") for key, value in pairs}


def _initial_environment_macos() -> Optional[Dict[str, str]]:
    # sysctl KERN_PROCARGS2 returns argc, the executable path, the arguments and then the environment
    # the process was started with (xnu bsd/kern/kern_sysctl.c, sysctl_procargsx).
    try:
        libc = ctypes.CDLL("/usr/lib/libc.dylib")
        ctl_kern, kern_procargs2 = 1, 49
        mib = (ctypes.c_int * 3)(ctl_kern, kern_procargs2, os.getpid())
        size = ctypes.c_size_t(0)
        if libc.sysctl(mib, 3, None, ctypes.byref(size), None, 0) != 0:
            return None
        buffer = ctypes.create_string_buffer(size.value)
        if libc.sysctl(mib, 3, buffer, ctypes.byref(size), None, 0) != 0:
            return None
    except (OSError, AttributeError):
        return None
    raw = buffer.raw[: size.value]
    argc = struct.unpack("i", raw[:4])[0]
    parts = [part for part in raw[4:].split(b"\0") if part]
    environment = parts[1 + argc:]  # the executable path, then argc arguments
    pairs = (item.split(b"=", 1) for item in environment if b"=" in item)
    return {key.decode("utf-8", "replace"): value.decode("utf-8", "replace") for key, value in pairs}


def _imported_modules() -> List[Dict[str, Optional[str]]]:
    """Every imported top-level module that says its version: name, ``__version__`` and ``__file__``."""
    found = []
    for name, module in list(sys.modules.items()):
        if "." in name or name.startswith("_"):
            continue
        # The module's own namespace, not getattr: a module-level __getattr__ (PEP 562) may import or warn.
        namespace = getattr(module, "__dict__", None) or {}
        version = namespace.get("__version__")
        if not isinstance(version, str):
            continue
        where = namespace.get("__file__")
        found.append({"name": name, "version": version, "file": where if isinstance(where, str) else None})
    return sorted(found, key=lambda entry: str(entry["name"]))


def describe_this_process() -> Dict[str, Any]:
    initial = _initial_environment_macos() if sys.platform == "darwin" else _initial_environment_linux()
    return {
        "pid": os.getpid(),
        "prefix": sys.prefix,
        "torch_imported": "torch" in sys.modules,
        "fallback_now": os.environ.get(FALLBACK_VARIABLE),
        "initial_environment_known": initial is not None,
        "fallback_at_start": (initial or {}).get(FALLBACK_VARIABLE),
        # In a notebook kernel this process is the learner's: started with -S, it skips site-packages hooks.
        "kernel": "ipykernel" in sys.modules,
        "no_site": bool(sys.flags.no_site),
        "imported_modules": _imported_modules(),
    }
