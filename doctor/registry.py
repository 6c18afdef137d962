"""The check registry: ``@check`` gives a function a stable id and a summary; ``registered_checks``
loads dl-doctor's own ``checks`` package and returns every check.

The package is loaded by location, not by name: in a notebook the working directory comes first on
``sys.path``, and a learner's ``checks.py`` there must neither replace nor be run instead of ours.
"""

import importlib.util
import re
import sys
from dataclasses import dataclass
from importlib.machinery import PathFinder
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Tuple

from doctor.facts import Facts
from doctor.findings import Finding

CheckFunction = Callable[[Facts], Iterable[Finding]]

_ID_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CHECKS_DIRECTORY = Path(__file__).resolve().parent.parent / "checks"
_REGISTRY: Dict[str, "CheckSpec"] = {}
_own_checks_loaded = False


@dataclass(frozen=True)
class CheckSpec:
    id: str
    summary: str
    category: str
    needs: Tuple[str, ...]
    function: CheckFunction


def check(id: str, summary: str, needs: Tuple[str, ...] = ()) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check. ``needs`` names the probes without whose answer it cannot judge (``--quick``
    skips some probes; a check that needs one of them is reported as skipped)."""
    if not _ID_PATTERN.match(id):
        raise ValueError("check id %r is not kebab-case" % id)

    def register(function: CheckFunction) -> CheckFunction:
        category = function.__module__.rsplit(".", 1)[-1]
        existing = _REGISTRY.get(id)
        if existing is not None and existing.function.__qualname__ != function.__qualname__:
            raise ValueError("check id %r is registered twice" % id)
        _REGISTRY[id] = CheckSpec(id, summary, category, tuple(needs), function)
        return function

    return register


def _load_own_checks_package() -> None:
    global _own_checks_loaded
    if _own_checks_loaded:
        return
    spec = PathFinder.find_spec("checks", [str(_CHECKS_DIRECTORY.parent)])
    if spec is None or spec.origin is None:
        raise ImportError("dl-doctor's checks package is missing from %s" % _CHECKS_DIRECTORY.parent)
    loaded = sys.modules.get("checks")
    if loaded is not None and getattr(loaded, "__file__", None) == spec.origin:
        _own_checks_loaded = True
        return
    displaced = {name: module for name, module in sys.modules.items() if name == "checks" or name.startswith("checks.")}
    for name in displaced:
        del sys.modules[name]
    module = importlib.util.module_from_spec(spec)
    sys.modules["checks"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        if displaced:
            # Give the user's own "checks" back; ours stays reachable through the registry.
            for name in [name for name in sys.modules if name == "checks" or name.startswith("checks.")]:
                del sys.modules[name]
            sys.modules.update(displaced)
    _own_checks_loaded = True


def registered_checks() -> List[CheckSpec]:
    """Every check, sorted by category then id."""
    _load_own_checks_package()
    return sorted(_REGISTRY.values(), key=lambda spec: (spec.category, spec.id))
