"""Fact fixtures: ``make_facts(**overrides)`` builds the Facts of a healthy course machine (Linux,
Python 3.11, a CUDA build of torch 2.14.1 on one H100, fastai 2.8.12) and lets a test change only
what it is about.

Every answer built here (``make_facts``, ``ok_outcome``, ``answer``, ``record``) is checked against its
declaration in doctor/answers (``shape_errors``): a key the probe does not send, a typo or a wrong type fails the
test at once instead of testing a shape no probe gives. Keys a test leaves out take their declared defaults, so
a test names only what it is about. ``saved_ok_outcome`` is the exception: an answer as an older report loads."""

import copy
from functools import lru_cache
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union, get_args, get_origin

import jsonschema

from doctor.answers import ANSWERS
from doctor.answers.json_schema import facts_schema, type_schema
from doctor.answers.ops import DeadOp, MeasuredOp
from doctor.answers.shapes import blank, closest_variant, complete
from doctor.facts import Facts, assemble_facts, saved_outcome
from doctor.outcome import ProbeOutcome, skipped_outcome

PYTHON = "/opt/course/bin/python"
SITE = "/opt/course/lib/python3.11/site-packages"

_DISTRIBUTIONS = {
    "torch": ("2.14.1", ["filelock", "typing-extensions>=4.10.0", "numpy; extra == \"opt\""], ">=3.10"),
    "torchvision": ("0.29.1", ["numpy", "torch>=2.14.0", "pillow!=8.3.*,>=5.3.0"], ">=3.10"),
    "fastai": ("2.8.12", ["torch<3,>=1.10", "torchvision>=0.11", "fastcore>=2.2.22", "pillow>=9.0.0",
                          "pip; extra == \"dev\""], ">=3.10"),
    "fastcore": ("2.2.41", ["packaging"], ">=3.10"),
    "numpy": ("2.4.6", [], ">=3.11"),
    "pillow": ("13.0.0", [], ">=3.10"),
    "ipywidgets": ("8.1.9", ["jupyterlab_widgets~=3.0.15", "widgetsnbextension~=4.0.14"], ">=3.7"),
    "jupyterlab-widgets": ("3.0.17", [], ">=3.7"),
    "widgetsnbextension": ("4.0.16", [], ">=3.7"),
    "filelock": ("4.3.1", [], None),
    "typing-extensions": ("4.16.0", [], None),
    "packaging": ("26.2", [], None),
}

_MARKERS = {
    "implementation_name": "cpython", "implementation_version": "3.11.7", "os_name": "posix",
    "platform_machine": "x86_64", "platform_release": "6.1.0", "platform_system": "Linux",
    "platform_version": "#1 SMP", "python_full_version": "3.11.7", "platform_python_implementation": "CPython",
    "python_version": "3.11", "sys_platform": "linux",
}


def _default_data() -> Dict[str, Dict[str, Any]]:
    return {
        "python": {
            "executable": PYTHON, "version": [3, 11, 7], "version_string": "3.11.7", "implementation": "CPython",
            "pointer_bits": 64, "prefix": "/opt/course", "base_prefix": "/usr", "virtualenv": True,
            "conda": False, "externally_managed": False, "stdlib": "/usr/lib/python3.11",
            "site_packages": [SITE], "user_site": None, "sys_path": ["/home/learner", SITE],
            "cwd": "/home/learner", "marker_environment": dict(_MARKERS), "environment_variables": {},
            "apple": None, "multiprocessing_start_method": "fork", "cpu_count": 8, "usable_cpus": 8,
            "shared_memory": {"path": "/dev/shm", "total_bytes": 16 * 2 ** 30, "free_bytes": 16 * 2 ** 30},
            "module_origins": {
                "torch": {"found": True, "origin": SITE + "/torch/__init__.py", "locations": [SITE + "/torch"],
                          "error": None},
                "numpy": {"found": True, "origin": SITE + "/numpy/__init__.py", "locations": [SITE + "/numpy"],
                          "error": None},
            },
            "added_path_entries": {}, "stdlib_names_in_working_folder": {},
            "proc_version": "Linux version 6.1.0 (gcc 12.2.0) #1 SMP Debian 6.1.0",
            "libcuda_files": [{"path": "/usr/lib/x86_64-linux-gnu/libcuda.so.1",
                               "resolves_to": "/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05"}],
            "windows_long_paths": None,
            "shell_environment": {"shell": None, "powershell_user_modules": False},
        },
        "packages": {
            "distributions": [
                {"name": name, "version": version, "requires": requires, "requires_python": requires_python,
                 "location": SITE, "editable": False, "top_level": [name.replace("-", "_")]}
                for name, (version, requires, requires_python) in _DISTRIBUTIONS.items()
            ],
            "broken": [],
            "version_modules": {
                "torch": {"__version__": "2.14.1+cu130", "cuda": "13.0", "hip": None, "xpu": None},
                "torchvision": {"__version__": "0.29.1+cu130"},
            },
            "antialias_users": {"fastai": []},
            # None: checks use the copy of torch 2.14.1's table in checks/cuda_releases.py.
            "torch_release_capabilities": None,
        },
        "installs": {
            "deep": False, "hashing": "python", "time_allowance_s": 20.0,
            "verified": [{"name": name, "version": version, "hashed": 10, "sized": 2}
                         for name, (version, _, _) in _DISTRIBUTIONS.items()],
            "problems": [], "unfinished": [], "conda_prefix": None, "conda_packages": [], "python_distributions": [],
            "openmp": [{"runtime": "libgomp", "path": SITE + "/torch/lib/libgomp.so.1", "owner": "torch",
                        "installer": "pip"}],
        },
        "hardware": {
            "nvidia": {"source": "nvml", "driver_version": "580.95.05", "error": None, "gpus": [
                {"index": 0, "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-1234", "compute_capability": "9.0",
                 "memory_total_mb": 81559, "memory_free_mb": 80986, "processes": []}]},
            "cpu_model": "x86", "machine": "x86_64", "system": "Linux",
        },
        "torch": {
            "importable": True, "import_seconds": 1.5, "file": SITE + "/torch/__init__.py",
            "version": "2.14.1+cu130", "cuda_version": "13.0", "hip_version": None, "xpu_version": None,
            "debug": False, "num_threads": 8,
            "cuda": {"available": True, "available_error": None, "device_count": 1,
                     "arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"], "arch_list_error": None,
                     "devices": [{"index": 0, "name": "NVIDIA H100 80GB HBM3", "capability": [9, 0],
                                  "total_memory_mb": 81559, "free_memory_mb": 80986}],
                     "cudnn_available": True, "cudnn_error": None, "cudnn_version": 92400},
            "mps": {"built": False, "available": False, "error": None},
            "xpu": {"available": False, "device_count": 0, "error": None},
            "distributed": {"available": True, "error": None, "gloo": True, "nccl": True, "mpi": False},
        },
        "ops": {
            "kind": "start", "device": "cuda", "requested": "auto", "simulated": False, "available": True,
            "torch": "2.14.1+cu130", "fallback_variable": None, "import_seconds": 1.5, "catalog": "lesson",
            "catalog_error": None, "python": "3.11.7", "os": "Linux", "machine": "x86_64", "restarts": 0,
            "ops": [op_record("linalg.solve", (1, 2), "fastai aug_transforms warp (find_coeffs)"),
                    op_record("grid_sample", (1, 2, 8), "fastai affine and warp augmentations"),
                    op_record("conv2d", (1, 2, 8), "every convolutional layer of resnet"),
                    op_record("bernoulli_.int64", (4,), "fastai mask_tensor (dropout masks on integer tensors)")],
        },
        "process": {"pid": 4242, "prefix": "/opt/course", "torch_imported": False, "fallback_now": None,
                    "initial_environment_known": True, "fallback_at_start": None, "kernel": False, "no_site": False,
                    "imported_modules": []},
        "imports": {
            "statements": [
                {"statement": "from fastai.vision.all import *", "required": True, "ok": True, "seconds": 4.0,
                 "error": None},
                {"statement": "import ddgs", "required": False, "ok": True, "seconds": 0.1, "error": None},
            ],
            "fastai_default_device": "cuda:0", "fastai_default_device_error": None,
            "stdlib_modules_imported": ["json", "os", "random", "subprocess", "sys", "typing"],
        },
    }


def deep_merge(base: Dict[str, Any], changes: Mapping[str, Any]) -> Dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def op_record(name, lessons, why, op_class="native", evidence="max abs error 1e-07", **extra):
    """One op's record as doctor.ops leaves it in the facts: measured, or (with ``status``) the op the child
    crashed or hung in."""
    common = {"op": name, "lessons": list(lessons), "why": why, "class": op_class, "evidence": evidence}
    if "status" in extra:
        return record(DeadOp, **common, **extra)
    measured = {"dtype": "float32", "max_abs_error": 1e-7, "within_tolerance": True, "seconds": 0.001,
                "tolerance": [1e-3, 1e-4]}
    return record(MeasuredOp, **dict(measured, **common, **extra))


@lru_cache(maxsize=None)
def _validator(declared: Any) -> jsonschema.Draft202012Validator:
    schema = dict(type_schema(declared), **{"$defs": facts_schema()["$defs"]})
    return jsonschema.Draft202012Validator(schema)


def shape_errors(declared: Any, value: Any) -> List[str]:
    """How ``value`` differs from a declared answer or record: one line per problem, none when it fits. An answer of
    several shapes is held against the shape it is closest to."""
    if get_origin(declared) is Union:
        declared = closest_variant(get_args(declared), value) or declared
    return list(_messages(_validator(declared).iter_errors(value)))


def _messages(errors) -> Iterator[str]:
    for error in errors:
        yield "%s: %s" % ("/".join(str(part) for part in error.absolute_path) or "(top)", error.message[:300])
        yield from _messages(error.context)


def checked(declared: Any, value: Any, label: str) -> Any:
    """``value`` with the keys it leaves out at their declared defaults (``blank``), once the rest fits the
    declaration; else the test fails naming the first misfit (an undeclared key, a typo, a wrong type)."""
    completed = complete(declared, value, blank)
    problems = shape_errors(declared, completed)
    if problems:
        raise AssertionError("%s does not fit its declaration in doctor/answers: %s" % (label, "; ".join(problems)))
    return completed


def record(declared: Any, **values: Any) -> Dict[str, Any]:
    """A record of a declared type (a TypedDict of doctor/answers): ``values``, the other keys at their defaults."""
    return checked(declared, values, declared.__name__)


def answer(probe: str, changes: Optional[Mapping[str, Any]] = None, **values: Any) -> Dict[str, Any]:
    """A probe's whole answer: the healthy machine's (``make_facts``'s defaults) or the declared defaults, deep-merged
    with ``changes`` and then ``values``; checked against the declaration."""
    base = _default_data().get(probe)
    data = deep_merge(deep_merge(base if base is not None else blank(ANSWERS[probe]), changes or {}), values)
    return checked(ANSWERS[probe], data, "the %s answer" % probe)


def ok_outcome(name: str, data: Dict[str, Any]) -> ProbeOutcome:
    """A probe that answered ``data``: checked against the probe's declaration, left-out keys at their defaults."""
    if name in ANSWERS:
        data = checked(ANSWERS[name], data, "the %s answer" % name)
    return ProbeOutcome(name, "ok", data, None, "", 0.1, 20000, 0)


def saved_ok_outcome(name: str, data: Dict[str, Any]) -> ProbeOutcome:
    """A probe's answer as it loads from a report an older dl-doctor saved (doctor.facts.saved_outcome): the declared
    keys it lacks come back as None or empty. Not checked: a saved answer is evidence, not a fixture."""
    return saved_outcome(name, ProbeOutcome(name, "ok", data, None, "", 0.1, 20000, 0).to_dict())


def failed_outcome(name: str, status: str = "crashed", reason: Optional[str] = None, stderr: str = "") -> ProbeOutcome:
    return ProbeOutcome(name, status, None, reason or "probe %s crashed with SIGSEGV" % name, stderr, 0.1, None, -11)


def make_facts(
    *,
    python: Optional[Mapping[str, Any]] = None,
    packages: Optional[Mapping[str, Any]] = None,
    hardware: Optional[Mapping[str, Any]] = None,
    installs: Optional[Mapping[str, Any]] = None,
    torch: Optional[Mapping[str, Any]] = None,
    imports: Optional[Mapping[str, Any]] = None,
    ops: Optional[Mapping[str, Any]] = None,
    process: Optional[Mapping[str, Any]] = None,
    distributions: Optional[Mapping[str, Any]] = None,
    outcomes: Optional[Mapping[str, ProbeOutcome]] = None,
    quick: bool = False,
    lesson: int = 1,
) -> Facts:
    """Healthy defaults, with each probe's answer deep-merged with the matching keyword.

    ``distributions`` edits the installed set: ``{"numpy": "1.26.4"}`` sets a version, ``{"fastai": None}``
    uninstalls, ``{"x": {"version": "1", "requires": [...]}}`` adds or replaces a whole record.
    ``outcomes`` replaces probe outcomes outright (a crash, a timeout); ``quick`` skips torch and imports.
    """
    data = _default_data()
    for name, change in (("python", python), ("packages", packages), ("hardware", hardware), ("installs", installs),
                         ("torch", torch), ("imports", imports), ("ops", ops), ("process", process)):
        if change:
            data[name] = deep_merge(data[name], change)
    if distributions:
        records = {record["name"]: record for record in data["packages"]["distributions"]}
        for name, change in distributions.items():
            if change is None:
                records.pop(name, None)
            elif isinstance(change, str):
                records[name] = dict(records.get(name) or _record(name), version=change)
            else:
                records[name] = dict(records.get(name) or _record(name), **change)
        data["packages"]["distributions"] = list(records.values())
    probes = {name: ok_outcome(name, given) for name, given in data.items()}
    if quick:
        for name in ("torch", "imports", "ops"):
            probes[name] = skipped_outcome(name, "not run with --quick")
    probes.update(outcomes or {})
    return assemble_facts(PYTHON, "/home/learner", quick, lesson, probes)


def _record(name: str) -> Dict[str, Any]:
    return {"name": name, "version": "1.0", "requires": [], "requires_python": None, "location": SITE,
            "editable": False, "top_level": [name]}
