"""The ``python`` probe's answer (probes/programs/python_env.py): the target interpreter and its environment."""

from typing import Dict, List, Optional, TypedDict


class MarkerEnvironment(TypedDict):
    """The PEP 508 marker variables, as packaging.markers.default_environment() computes them."""

    implementation_name: str
    implementation_version: str
    os_name: str
    platform_machine: str
    platform_release: str
    platform_system: str
    platform_version: str
    python_full_version: str
    platform_python_implementation: str
    python_version: str
    sys_platform: str


class Apple(TypedDict):
    """macOS only; None where a sysctl could not be read."""

    macos_version: Optional[str]
    rosetta_translated: Optional[bool]
    arm64_hardware: Optional[bool]
    # hw.memsize: unified memory, shared by the CPU and the GPU.
    memory_bytes: Optional[int]


class ModuleOrigin(TypedDict):
    """Where ``import NAME`` would come from (importlib.util.find_spec), without importing it."""

    found: bool
    origin: Optional[str]
    locations: List[str]
    error: Optional[str]


class LibraryFile(TypedDict):
    path: str
    resolves_to: str  # the file a symbolic link leads to (the path itself when it is no link)


class ShellEnvironment(TypedDict):
    """What tells which shell started the interpreter (commands are quoted for it)."""

    shell: Optional[str]  # $SHELL: set by POSIX shells, and by Git Bash, MSYS2 and Cygwin on Windows
    powershell_user_modules: bool  # PSModulePath holds the user's PowerShell module folder: PowerShell added it


class PathEntrySource(TypedDict):
    """What put a sys.path entry there: the PYTHONPATH variable, or a line of a .pth file in a site folder."""

    source: str  # "PYTHONPATH" | "pth"
    pth_file: Optional[str]


class SharedMemory(TypedDict):
    """statvfs of /dev/shm (Linux), where DataLoader workers put the batches they hand over."""

    path: str
    total_bytes: int
    free_bytes: int


class PythonAnswer(TypedDict):
    executable: Optional[str]
    version: List[int]
    version_string: str
    implementation: str
    pointer_bits: int
    prefix: str
    base_prefix: str
    virtualenv: bool
    conda: bool
    externally_managed: bool
    stdlib: Optional[str]
    site_packages: List[str]
    user_site: Optional[str]
    sys_path: List[str]
    cwd: str
    marker_environment: MarkerEnvironment
    # Only the variables probes/programs/python_env.py lists, and only those set.
    environment_variables: Dict[str, str]
    apple: Optional[Apple]
    multiprocessing_start_method: Optional[str]
    cpu_count: Optional[int]
    # len(os.sched_getaffinity(0)) where it exists (fastcore's num_cpus, which sets fastai's DataLoader workers).
    usable_cpus: Optional[int]
    shared_memory: Optional[SharedMemory]
    module_origins: Dict[str, ModuleOrigin]
    # sys.path entry (absolute) -> what added it; only the entries PYTHONPATH or a .pth file added.
    added_path_entries: Dict[str, PathEntrySource]
    # Standard-library module name -> the file or package in the working folder that ``import NAME`` finds there.
    stdlib_names_in_working_folder: Dict[str, str]
    # Linux: the kernel's /proc/version ("microsoft" in it: WSL) and every libcuda.so* in the loader's usual folders.
    proc_version: Optional[str]
    libcuda_files: List[LibraryFile]
    # Windows: the LongPathsEnabled registry value (None elsewhere, or where it is absent).
    windows_long_paths: Optional[int]
    shell_environment: ShellEnvironment
