# Part of probe "torch" (with op_catalog.py and ops.py): torch's build and the devices it can use.


def _cuda(torch):
    facts = {}
    facts["available"], facts["available_error"] = _doctor_attempt(torch.cuda.is_available)
    facts["device_count"], _ = _doctor_attempt(torch.cuda.device_count)
    # get_arch_list() reads the build's arch flags and answers without a GPU (torch/cuda/__init__.py).
    facts["arch_list"], facts["arch_list_error"] = _doctor_attempt(torch.cuda.get_arch_list)
    devices = []
    if facts["available"]:
        # Free memory of the device fastai trains on (fastai/torch_core.py default_device: current_device()) only:
        # mem_get_info makes a CUDA context on the device it asks, which costs time and memory on every other one.
        lesson_device, _ = _doctor_attempt(torch.cuda.current_device)
        for index in range(facts["device_count"] or 0):
            properties, error = _doctor_attempt(lambda index=index: torch.cuda.get_device_properties(index))
            if properties is None:
                devices.append({"index": index, "error": error})
                continue
            devices.append({
                "index": index,
                "name": properties.name,
                "capability": [properties.major, properties.minor],
                "total_memory_mb": int(properties.total_memory // (1024 * 1024)),
                "free_memory_mb": _free_memory_mb(torch, index) if index == lesson_device else None,
            })
    facts["devices"] = devices
    cudnn = torch.backends.cudnn
    facts["cudnn_available"], facts["cudnn_error"] = _doctor_attempt(cudnn.is_available)
    facts["cudnn_version"] = None
    if facts["cudnn_available"]:
        # Loads libcudnn: a wrong one on LD_LIBRARY_PATH fails here (torch/backends/cudnn/__init__.py version -> _init).
        facts["cudnn_version"], facts["cudnn_error"] = _doctor_attempt(cudnn.version)
    return facts


def _free_memory_mb(torch, index):
    free = _doctor_attempt(lambda: torch.cuda.mem_get_info(index))[0]
    return None if free is None else int(free[0] // (1024 * 1024))


def _mps(torch):
    backend = getattr(torch.backends, "mps", None)
    if backend is None:
        return {"built": False, "available": False, "error": None}
    built, error = _doctor_attempt(backend.is_built)
    available, available_error = _doctor_attempt(backend.is_available)
    return {"built": built, "available": available, "error": error or available_error}


def _xpu(torch):
    module = getattr(torch, "xpu", None)
    if module is None:
        return {"available": False, "device_count": 0}
    available, error = _doctor_attempt(module.is_available)
    count, _ = _doctor_attempt(module.device_count)
    return {"available": available, "device_count": count, "error": error}


def _distributed(torch):
    """Which torch.distributed backends this build has; answers without starting any process."""
    module = getattr(torch, "distributed", None)
    if module is None:
        return {"available": False, "gloo": False, "nccl": False, "mpi": False, "error": None}
    available, error = _doctor_attempt(module.is_available)
    facts = {"available": available, "error": error}
    for backend in ("gloo", "nccl", "mpi"):
        # The is_*_available functions exist only where torch.distributed is built in (torch/distributed/__init__.py).
        function = getattr(module, "is_%s_available" % backend, None) if available else None
        facts[backend], _ = _doctor_attempt(function) if function is not None else (False, None)
    return facts


def describe_torch(torch, import_seconds):
    """torch's build and devices, or why something named torch is not usable."""
    try:
        return _describe(torch, import_seconds)
    except Exception as exc:
        # Something named torch imported but is not torch as expected (a local torch.py, a broken install).
        error = _doctor_error(exc)
        error["files"].append(getattr(torch, "__file__", None) or "")
        return {"importable": False, "error": error, "import_seconds": import_seconds,
                "file": getattr(torch, "__file__", None)}


def _describe(torch, import_seconds):
    version = getattr(torch, "version", None)
    return {
        "importable": True,
        "import_seconds": import_seconds,
        "file": getattr(torch, "__file__", None),
        "version": getattr(torch, "__version__", None),
        "cuda_version": getattr(version, "cuda", None),
        "hip_version": getattr(version, "hip", None),
        "xpu_version": getattr(version, "xpu", None),
        "debug": getattr(version, "debug", None),
        "num_threads": torch.get_num_threads(),
        "cuda": _cuda(torch),
        "mps": _mps(torch),
        "xpu": _xpu(torch),
        "distributed": _distributed(torch),
    }
