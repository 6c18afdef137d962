"""The ``packages`` probe's answer (probes/programs/packages.py): every installed distribution's metadata."""

from typing import Any, Dict, List, Optional, TypedDict


class InstalledDistribution(TypedDict):
    name: str
    version: str
    requires: List[str]
    requires_python: Optional[str]
    location: str
    editable: bool
    top_level: List[str]


class BrokenDistribution(TypedDict):
    """Metadata that could not be read, or has no Name or Version."""

    path: str
    error: str


class PackagesAnswer(TypedDict):
    distributions: List[InstalledDistribution]
    broken: List[BrokenDistribution]
    # torch/version.py and torchvision/version.py: their literal assignments (``__version__``, ``cuda``, ...),
    # None when the file could not be parsed.
    version_modules: Dict[str, Optional[Dict[str, Any]]]
    # fastai/fastbook source files that still use Image.ANTIALIAS.
    antialias_users: Dict[str, List[str]]
    # torch's PYTORCH_RELEASES_CODE_CC: CUDA version -> host arch -> compute capabilities; None when absent.
    torch_release_capabilities: Optional[Dict[str, Dict[str, List[int]]]]
