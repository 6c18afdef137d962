"""Windows and WSL below the lesson: torch's DLLs that cannot load without the Visual C++ runtime, installs that
break on Windows' 260-character path limit, and a Linux NVIDIA driver inside WSL 2 that hides the Windows driver's
GPU. None of these machines exist where dl-doctor is tested: the rules are held by recorded facts
(tests/test_checks_windows.py)."""

import re

from doctor.findings import error, fix, ok, skipped, warning
from doctor.registry import check

from .commands import POWERSHELL, learner_shell, on_windows

# torch/__init__.py _load_dll_libraries: LoadLibraryExW fails and torch raises ctypes.WinError with
# ' Error loading "{dll}" or one of its dependencies.' appended; 126 is ERROR_MOD_NOT_FOUND (pytorch#129568).
_DLL_NOT_LOADED = re.compile(r'\[WinError 126\][^"]*Error loading "([^"]+)"')
# The URL torch prints when vcruntime140.dll / msvcp140.dll / vcruntime140_1.dll do not load (torch/__init__.py).
VC_REDIST_URL = "https://aka.ms/vs/17/release/vc_redist.x64.exe"
VC_REDIST_WINGET = "winget install --id Microsoft.VCRedist.2015+.x64 -e"
# torch 2.4.0's fbgemm.dll needed libomp140.x86_64.dll, which the redistributable does not ship (pytorch#131662;
# fixed in 2.4.1 by pytorch#130697).
LIBOMP_ISSUE = "https://github.com/pytorch/pytorch/issues/131662"
LIBOMP_RELEASE = "2.4.0"

# Windows' MAX_PATH: 260 characters with the drive and the final NUL (Microsoft Learn, "Maximum Path Length
# Limitation"); pip hints at it for an ENOENT on a longer name (pip/_internal/commands/install.py,
# create_os_error_message: "HINT: This error might have occurred since this system does not have Windows Long
# Path support enabled").
MAX_PATH = 260
# The longest file path inside site-packages of each distribution that has deep ones, measured in this project's
# venv (find DIST -type f): torch 2.14.1's CUTLASS headers, JupyterLab 4's galata assets.
LONGEST_INSIDE = {"torch": 119, "jupyterlab": 137}
LONG_PATHS_COMMAND = ('New-ItemProperty -Path "HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem" '
                      '-Name "LongPathsEnabled" -Value 1 -PropertyType DWORD -Force')
LONG_PATHS_DOCS = "https://pip.pypa.io/warnings/enable-long-paths"

WSL_DRIVER_FOLDER = "/usr/lib/wsl/lib"
# NVIDIA, CUDA on WSL User Guide: "users must not install any NVIDIA GPU Linux driver within WSL 2"; the Windows
# driver provides libcuda under /usr/lib/wsl/lib (microsoft/WSL#7056, #9254).
WSL_GUIDE = "https://docs.nvidia.com/cuda/wsl-user-guide/index.html"


def _torch_load_failure(facts):
    """The DLL that ``import torch`` could not load, from the torch probe's error, or None."""
    torch = facts.data("torch") or {}
    if torch.get("importable") is not False:
        return None
    message = (torch.get("error") or {}).get("message") or ""
    found = _DLL_NOT_LOADED.search(message)
    return found.group(1) if found else None


def _dll_name(path):
    return re.split(r"[\\/]", path)[-1]


@check("windows-dll", "torch's DLLs load on Windows (the Visual C++ x64 runtime is installed)",
       needs=("python",), reads=("torch",), topic="windows")
def windows_dll(facts):
    if not on_windows(facts):
        yield skipped("not Windows")
        return
    path = _torch_load_failure(facts)
    if path is None:
        yield ok("no DLL load failure in import torch")
        return
    name = _dll_name(path)
    text = ("Install the Microsoft Visual C++ 2015-2022 x64 redistributable (%s), then open a new terminal or restart "
            "the kernel." % VC_REDIST_URL)
    torch = facts.distribution("torch")
    if name.lower() == "fbgemm.dll" and torch is not None and torch.version.split("+")[0] == LIBOMP_RELEASE:
        text += (" torch %s's %s also needs libomp140.x86_64.dll, which the redistributable does not ship (%s): "
                 "upgrade torch to 2.4.1 or later." % (torch.version, name, LIBOMP_ISSUE))
    yield error("Windows cannot load %s, which import torch needs: the Visual C++ runtime is missing" % name,
                detail="import torch: [WinError 126] Error loading \"%s\" or one of its dependencies" % path,
                fix=fix(text, VC_REDIST_WINGET), links=(VC_REDIST_URL, "https://github.com/pytorch/pytorch/issues/129568"))


def _deepest_install_path(facts):
    """How long the longest installed file's path is (or would be) under this environment's site-packages."""
    site = ((facts.data("python") or {}).get("site_packages") or [""])[-1]
    inside = max(LONGEST_INSIDE.values())
    return len(site) + 1 + inside, site


@check("windows-long-paths", "Long paths are enabled on Windows, or the course's files fit in 260 characters",
       needs=("python",), topic="windows")
def windows_long_paths(facts):
    if not on_windows(facts):
        yield skipped("not Windows")
        return
    value = facts.data("python").get("windows_long_paths")
    if value == 1:
        yield ok("Windows long path support is on (LongPathsEnabled = 1)")
        return
    longest, site = _deepest_install_path(facts)
    state = "off (LongPathsEnabled = %s)" % value if value is not None else "off (LongPathsEnabled is not set)"
    detail = ("The deepest course files (torch's headers, JupyterLab's assets) lie %d characters below "
              "site-packages; under %s that makes %d characters, and Windows allows %d without long path support. "
              "pip then fails with an OSError and \"HINT: This error might have occurred since this system does not "
              "have Windows Long Path support enabled\"." % (max(LONGEST_INSIDE.values()), site, longest, MAX_PATH))
    advice = fix("Enable long paths once, in PowerShell run as administrator, then reinstall what failed:"
                 if learner_shell(facts) == POWERSHELL else
                 "Enable long paths once, in PowerShell run as administrator (Start menu > PowerShell > Run as "
                 "administrator), then reinstall what failed:", LONG_PATHS_COMMAND)
    if longest >= MAX_PATH:
        yield warning("Windows long path support is %s and this environment's deepest files need %d characters"
                      % (state, longest), detail=detail, fix=advice, links=(LONG_PATHS_DOCS,))
        return
    yield ok("Windows long path support is %s; this environment's deepest files need %d characters, within %d"
             % (state, longest, MAX_PATH), detail=detail)


def _wsl(python):
    # WSL 1 kernels say "Microsoft", WSL 2 kernels "microsoft-standard-WSL2".
    return "microsoft" in (python.get("proc_version") or "").lower()


@check("wsl-libcuda", "Inside WSL, libcuda comes from the Windows driver (/usr/lib/wsl/lib), not a Linux driver",
       needs=("python",), reads=("torch",), topic="windows")
def wsl_libcuda(facts):
    python = facts.data("python")
    if not _wsl(python):
        yield skipped("not WSL")
        return
    files = python.get("libcuda_files") or []
    shadowing = [f for f in files if not f["resolves_to"].startswith(WSL_DRIVER_FOLDER + "/")]
    if not shadowing:
        where = ", ".join(f["path"] for f in files) or "nowhere"
        if not files:
            yield warning("WSL without the Windows driver's libcuda: no libcuda.so in %s" % WSL_DRIVER_FOLDER,
                          detail="libcuda.so* found: %s" % where,
                          fix=fix("Install or update the NVIDIA driver on Windows (not inside WSL), then run "
                                  "`wsl --shutdown` in Windows and open WSL again."), links=(WSL_GUIDE,))
            return
        yield ok("WSL: libcuda comes from the Windows driver (%s)" % where)
        return
    names = ", ".join(f["path"] for f in shadowing)
    torch = facts.data("torch") or {}
    hidden = (torch.get("cuda") or {}).get("available") is False and torch.get("cuda_version")
    detail = "\n".join(["%s (%s)" % (f["path"], f["resolves_to"]) for f in shadowing] +
                       (["torch %s (CUDA %s) sees no GPU" % (torch.get("version"), torch.get("cuda_version"))]
                        if hidden else []))
    finding = error if hidden else warning
    yield finding("A Linux NVIDIA driver inside WSL shadows the Windows driver's libcuda: %s" % names,
                  detail=detail,
                  fix=fix("Remove the Linux driver from WSL: `dpkg -S` names the package that installed each file "
                          "(remove it with `sudo apt-get remove --purge` and that name; a driver from NVIDIA's .run "
                          "installer goes with `sudo nvidia-uninstall`); install CUDA toolkits with the "
                          "cuda-toolkit-* packages, never `cuda` or `cuda-drivers`. Then refresh the loader's cache "
                          "and restart WSL (`wsl --shutdown` in Windows):",
                          "dpkg -S %s" % " ".join(f["path"] for f in shadowing), "sudo ldconfig"),
                  links=(WSL_GUIDE,))
