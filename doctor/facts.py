"""Facts: the typed, JSON-serialisable snapshot of one environment that every check reads.

``Facts`` holds the raw outcome of each probe (doctor/answers declares each answer's shape) and
the derived facts that several checks share, computed once here from those outcomes. Saved facts
(``--facts FILE``) reload to the same object, so checks re-run on them give the same findings.
"""

import re
from functools import lru_cache
from dataclasses import dataclass, field, replace
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from doctor.answers import complete_answer
from doctor.outcome import ProbeOutcome

FACTS_SCHEMA_VERSION = 1

# The packages whose requirement problems break a lesson; everything they need joins them.
LESSON_STACK_ROOTS = ("torch", "torchvision", "fastai", "fastcore", "ipywidgets", "numpy", "pillow")


def parse_version(text: str) -> Optional[Version]:
    """A PEP 440 version, or None for the odd strings some installs carry."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    requires: Tuple[str, ...]
    requires_python: Optional[str]
    location: str
    editable: bool
    top_level: Tuple[str, ...]

    @property
    def parsed_version(self) -> Optional[Version]:
        return parse_version(self.version)


@dataclass(frozen=True)
class TorchBuild:
    """Which torch build is installed, from its import when that ran, else from torch/version.py."""

    version: str
    flavour: str  # cpu | cuda | rocm | xpu | mps
    cuda_version: Optional[str]
    hip_version: Optional[str]
    source: str  # import | version.py | metadata

    @property
    def parsed_version(self) -> Optional[Version]:
        return parse_version(self.version)

    @property
    def local_tag(self) -> Optional[str]:
        version = self.parsed_version
        return version.local if version else None


@dataclass(frozen=True)
class Dependent:
    """An installed distribution's active requirement on another one."""

    distribution: Distribution
    requirement: Requirement

    @property
    def label(self) -> str:
        return "%s %s" % (self.distribution.name, self.distribution.version)


class RequirementGraph:
    """Each installed distribution's active requirements (markers evaluated for the target interpreter, extras
    left out, as pip check does) and who requires each name: what a pip command must not break.

    Worked out on first use and kept: most runs print no pip command and never need the reverse index."""

    def __init__(self, distributions: Mapping[str, Distribution], marker_environment) -> None:
        self._distributions = distributions
        self._environment = dict(marker_environment or {}, extra="")
        self._markers: Dict[str, bool] = {}
        self._active: Dict[str, List[Requirement]] = {}
        self._dependents: Optional[Dict[str, Tuple[Dependent, ...]]] = None

    def requirements(self, dist: Distribution) -> List[Requirement]:
        key = canonicalize_name(dist.name)
        if key not in self._active:
            self._active[key] = [r for r in _parsed_requirements(dist) if r.marker is None or self._applies(r)]
        return self._active[key]

    def dependents(self, name: str) -> Tuple[Dependent, ...]:
        if self._dependents is None:
            index: Dict[str, List[Dependent]] = {}
            for dist in self._distributions.values():
                for requirement in self.requirements(dist):
                    index.setdefault(canonicalize_name(requirement.name), []).append(Dependent(dist, requirement))
            self._dependents = {key: tuple(found) for key, found in index.items()}
        return self._dependents.get(canonicalize_name(name), ())

    def _applies(self, requirement: Requirement) -> bool:
        text = str(requirement.marker)
        if text not in self._markers:
            self._markers[text] = _marker_applies(requirement, self._environment)
        return self._markers[text]


@dataclass(frozen=True)
class Derived:
    distributions: Mapping[str, Distribution]
    # A cache worked out from the distributions and the marker environment, which the facts compare already.
    requirements: RequirementGraph = field(compare=False)
    torch_build: Optional[TorchBuild]
    torchvision_version: Optional[str]
    lesson_stack: FrozenSet[str]
    nvidia_gpus: Tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Facts:
    python: str
    cwd: str
    quick: bool
    lesson: int
    probes: Mapping[str, ProbeOutcome]
    derived: Derived = field(compare=False)

    def outcome(self, probe: str) -> Optional[ProbeOutcome]:
        return self.probes.get(probe)

    def data(self, probe: str) -> Optional[Dict[str, Any]]:
        """The probe's answer, or None when it did not run or did not finish."""
        outcome = self.probes.get(probe)
        return outcome.data if outcome is not None and outcome.ok else None

    def distribution(self, name: str) -> Optional[Distribution]:
        return self.derived.distributions.get(canonicalize_name(name))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "facts_schema_version": FACTS_SCHEMA_VERSION,
            "python": self.python,
            "cwd": self.cwd,
            "quick": self.quick,
            "lesson": self.lesson,
            "probes": {name: outcome.to_dict() for name, outcome in self.probes.items()},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Facts":
        """Rebuild from ``to_dict`` output; raises KeyError/TypeError/ValueError on a malformed mapping."""
        version = raw.get("facts_schema_version")
        if version != FACTS_SCHEMA_VERSION:
            raise ValueError("facts schema version %r is not %d" % (version, FACTS_SCHEMA_VERSION))
        probes = {str(name): saved_outcome(str(name), value) for name, value in dict(raw["probes"]).items()}
        return assemble_facts(str(raw["python"]), str(raw["cwd"]), bool(raw["quick"]), int(raw["lesson"]), probes)


def saved_outcome(name: str, raw: Mapping[str, Any]) -> ProbeOutcome:
    """A saved outcome; its answer, written by this or an older dl-doctor, gets every key declared since (see
    doctor.answers), so a check reading ``answer["key"]`` meets None or an empty value, never a KeyError."""
    outcome = ProbeOutcome.from_dict(raw)
    if not outcome.ok or not isinstance(outcome.data, dict):
        return outcome
    return replace(outcome, data=complete_answer(name, outcome.data))


def assemble_facts(python: str, cwd: str, quick: bool, lesson: int, probes: Mapping[str, ProbeOutcome]) -> Facts:
    return Facts(python, cwd, quick, lesson, dict(probes), derive(probes))


def _answer(probes: Mapping[str, ProbeOutcome], name: str) -> Dict[str, Any]:
    outcome = probes.get(name)
    return dict(outcome.data or {}) if outcome is not None and outcome.ok else {}


def derive(probes: Mapping[str, ProbeOutcome]) -> Derived:
    distributions = _distributions(_answer(probes, "packages"))
    markers = _answer(probes, "python").get("marker_environment")
    graph = RequirementGraph(distributions, markers)
    return Derived(
        distributions=distributions,
        requirements=graph,
        torch_build=_torch_build(probes, distributions, markers or {}),
        torchvision_version=_torchvision_version(probes, distributions),
        lesson_stack=_lesson_stack(distributions, graph),
        nvidia_gpus=tuple((_answer(probes, "hardware").get("nvidia") or {}).get("gpus") or ()),
    )


def _distributions(packages: Mapping[str, Any]) -> Dict[str, Distribution]:
    found: Dict[str, Distribution] = {}
    for raw in packages.get("distributions", []):
        found[canonicalize_name(raw["name"])] = Distribution(
            name=raw["name"],
            version=raw["version"],
            requires=tuple(raw.get("requires") or ()),
            requires_python=raw.get("requires_python"),
            location=raw.get("location") or "",
            editable=bool(raw.get("editable")),
            top_level=tuple(raw.get("top_level") or ()),
        )
    return found


def flavour_of(cuda: Optional[str], hip: Optional[str], xpu: Optional[str], version: str) -> str:
    """A torch build's flavour from torch.version's fields, falling back on the local version tag."""
    if hip:
        return "rocm"
    if cuda:
        return "cuda"
    if xpu or re.search(r"\+xpu", version):
        return "xpu"
    if re.search(r"\+rocm", version):
        return "rocm"
    if re.search(r"\+cu\d", version):
        return "cuda"
    return "cpu"


def _torch_build(
    probes: Mapping[str, ProbeOutcome], distributions: Mapping[str, Distribution], markers: Mapping[str, str]
) -> Optional[TorchBuild]:
    build = _torch_build_from_fields(probes, distributions)
    # macOS arm64 wheels carry no CUDA and no local tag; they are the MPS builds.
    if build and build.flavour == "cpu" and markers.get("sys_platform") == "darwin" and markers.get(
        "platform_machine"
    ) == "arm64":
        return replace(build, flavour="mps")
    return build


def _torch_build_from_fields(
    probes: Mapping[str, ProbeOutcome], distributions: Mapping[str, Distribution]
) -> Optional[TorchBuild]:
    imported = _answer(probes, "torch")
    if imported and imported.get("importable"):
        version = imported.get("version") or ""
        cuda, hip = imported.get("cuda_version"), imported.get("hip_version")
        return TorchBuild(version, flavour_of(cuda, hip, imported.get("xpu_version"), version), cuda, hip, "import")
    module = (_answer(probes, "packages").get("version_modules") or {}).get("torch")
    if module and module.get("__version__"):
        version = str(module["__version__"])
        cuda, hip = module.get("cuda"), module.get("hip")
        return TorchBuild(version, flavour_of(cuda, hip, module.get("xpu"), version), cuda, hip, "version.py")
    dist = distributions.get("torch")
    if dist is not None:
        return TorchBuild(dist.version, flavour_of(None, None, None, dist.version), None, None, "metadata")
    return None


def _torchvision_version(
    probes: Mapping[str, ProbeOutcome], distributions: Mapping[str, Distribution]
) -> Optional[str]:
    module = (_answer(probes, "packages").get("version_modules") or {}).get("torchvision") or {}
    if module.get("__version__"):
        return str(module["__version__"])
    dist = distributions.get("torchvision")
    return dist.version if dist else None


def _lesson_stack(distributions: Mapping[str, Distribution], graph: RequirementGraph) -> FrozenSet[str]:
    stack = set()
    pending = [name for name in LESSON_STACK_ROOTS if name in distributions]
    while pending:
        name = pending.pop()
        if name in stack:
            continue
        stack.add(name)
        for requirement in graph.requirements(distributions[name]):
            child = canonicalize_name(requirement.name)
            if child in distributions:
                pending.append(child)
    return frozenset(stack)


# The form build backends write for an extra's requirement; with no extra asked for it never applies,
# so it is recognised without a full parse (most installed requirement strings are of this form).
_EXTRA_ONLY = re.compile(r"""^[^;]*;\s*extra\s*==\s*['"][^'"]*['"]\s*$""")


@lru_cache(maxsize=None)
def parse_requirement(text: str) -> Optional[Requirement]:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def active_requirements(dist: Distribution, marker_environment: Optional[Mapping[str, str]]) -> List[Requirement]:
    """A distribution's requirements that apply to the target interpreter, extras left out (as pip check).

    Unparsable requirement strings are left out here; ``unparsable_requirements`` lists them.
    """
    environment = dict(marker_environment or {}, extra="")
    return [r for r in _parsed_requirements(dist) if r.marker is None or _marker_applies(r, environment)]


def _parsed_requirements(dist: Distribution) -> List[Requirement]:
    """The requirements that can apply without an extra, parsed (unparsable ones are left out)."""
    parsed = (parse_requirement(text) for text in dist.requires if not _EXTRA_ONLY.match(text))
    return [requirement for requirement in parsed if requirement is not None]


def unparsable_requirements(dist: Distribution) -> List[str]:
    return [text for text in dist.requires if not _EXTRA_ONLY.match(text) and parse_requirement(text) is None]


def _marker_applies(requirement: Requirement, environment: Mapping[str, str]) -> bool:
    try:
        return requirement.marker.evaluate(dict(environment))
    except Exception:
        return False
