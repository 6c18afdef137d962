"""What installed distributions need of each other, and whether a proposed install keeps it so.

pip's resolver honours only what it is asked to install: an installed distribution that the command does not
name is not a constraint (pip then warns "pip's dependency resolver does not currently take into account all
the packages that are installed"). So a fix reading ``pip install "numpy<2"`` breaks pandas 3, which needs
NumPy >= 2.0.2. Every install command dl-doctor prints is constrained here first: each requirement it names
carries what the installed distributions left in place need of it, and a requirement that no version can
meet together with them is a conflict, reported with the distribution that blocks it instead of printed.
"""

from dataclasses import dataclass
from itertools import chain
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from doctor.facts import Dependent, Facts

_LOWER = (">=", ">")
_UPPER = ("<=", "<")


@dataclass(frozen=True)
class Conflict:
    """A proposed requirement that an installed distribution, left as it is, cannot live with."""

    proposed: str  # numpy<2
    dependent: Dependent  # pandas 3.0.1 needing numpy>=2.0.2

    def describe(self) -> str:
        return "%s needs %s%s" % (self.dependent.label, self.dependent.requirement.name,
                                  self.dependent.requirement.specifier)


@dataclass(frozen=True)
class ConstrainedInstall:
    """The words of a pip install after constraining: options first as given, then requirements."""

    words: Tuple[str, ...]
    conflicts: Tuple[Conflict, ...]

    @property
    def resolvable(self) -> bool:
        return not self.conflicts


def dependents_of(facts: Facts, name: str) -> List[Dependent]:
    """Every installed distribution whose active requirements name ``name`` (markers evaluated, extras out)."""
    return list(facts.derived.requirements.dependents(name))


def constrain(facts: Facts, words: Sequence[str]) -> ConstrainedInstall:
    """Add to each requirement in ``words`` what installed dependents need of it; find what cannot be met.

    Dependents the command itself installs are left out: their new version may need something else. A
    dependent whose requirement the installed version does not meet now is broken already; it joins the
    constraints only when the distribution is not installed at all (installing it should satisfy it).
    """
    requirements = [_parse(word) for word in words]
    moved = {canonicalize_name(r.name) for r in requirements if r is not None}
    constrained, conflicts = [], []
    for word, requirement in zip(words, requirements):
        if requirement is None or requirement.url:
            constrained.append(word)
            continue
        held = _holding(facts, requirement, moved)
        conflicts.extend(Conflict(word, dependent) for dependent in held
                         if not can_meet([requirement.specifier, dependent.requirement.specifier]))
        installed = facts.distribution(requirement.name)
        constrained.append(_spelled(requirement, [d.requirement.specifier for d in held],
                                    installed.parsed_version if installed else None))
    return ConstrainedInstall(tuple(constrained), tuple(conflicts))


def _parse(word: str) -> Optional[Requirement]:
    if word.startswith("-"):
        return None
    try:
        return Requirement(word)
    except InvalidRequirement:
        return None


def _holding(facts: Facts, requirement: Requirement, moved: Iterable[str]) -> List[Dependent]:
    installed = facts.distribution(requirement.name)
    version = installed.parsed_version if installed else None
    held = []
    for dependent in dependents_of(facts, requirement.name):
        if canonicalize_name(dependent.distribution.name) in moved:
            continue
        specifier = dependent.requirement.specifier
        if installed is None:
            # Nothing installed meets it yet; a requirement no release can meet (broken metadata such as
            # "x>2,<1") holds nothing back, or it would block every install of x.
            if can_meet([specifier]):
                held.append(dependent)
        elif version is not None and specifier.contains(version, prereleases=True):
            held.append(dependent)
    return held


def _behind(clause: Specifier, installed: Optional[Version]) -> bool:
    """An exclusion of a release older than the installed one (torchvision's pillow!=8.3.*), which pip, taking
    the newest it may, would not pick anyway."""
    excluded = _version(clause.version)
    return clause.operator == "!=" and installed is not None and excluded is not None and excluded < installed


def _spelled(requirement: Requirement, held: Sequence[SpecifierSet], installed: Optional[Version]) -> str:
    """The requirement with the dependents' clauses, tightest bound only, in pip's syntax."""
    own = list(requirement.specifier)
    if any(clause.operator in ("==", "===") and not clause.version.endswith(".*") for clause in own):
        clauses = own  # an exact pin says it all once it is known to meet every dependent
    else:
        # pip takes the newest version a command allows, so a dependent's lower bound can only matter when it
        # conflicts, which constrain() has ruled out; printing upper bounds and exclusions is enough.
        added = [clause for specifier in held for clause in specifier
                 if clause.operator not in _LOWER and not _implied(requirement.specifier, clause)
                 and not _behind(clause, installed)]
        clauses = _tightest(own + added)
    extras = "[%s]" % ",".join(sorted(requirement.extras)) if requirement.extras else ""
    return "%s%s%s" % (requirement.name, extras, ",".join(sorted(str(c) for c in clauses)))


_OPPOSITE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _implied(specifier: SpecifierSet, clause: Specifier) -> bool:
    """Whether every version ``specifier`` allows already meets a bound ``clause`` (torchvision==0.29.* and
    >=0.11): such a clause adds nothing to the printed command."""
    if clause.operator not in _OPPOSITE or not str(specifier):
        return False
    opposite = SpecifierSet(_OPPOSITE[clause.operator] + clause.version)
    return not can_meet([specifier, opposite])


def _tightest(clauses: Sequence[Specifier]) -> List[Specifier]:
    """One lower and one upper bound (the tightest), every other clause once."""
    kept: Dict[str, Specifier] = {}
    lower: Optional[Specifier] = None
    upper: Optional[Specifier] = None
    for clause in clauses:
        version = _version(clause.version)
        if clause.operator in _LOWER and version is not None:
            if lower is None or (version, clause.operator == ">") > (_version(lower.version), lower.operator == ">"):
                lower = clause
        elif clause.operator in _UPPER and version is not None:
            if upper is None or (version, clause.operator == "<=") < (_version(upper.version), upper.operator == "<="):
                upper = clause
        else:
            kept.setdefault(str(clause), clause)
    return [c for c in (lower, upper) if c is not None] + list(kept.values())


def _version(text: str) -> Optional[Version]:
    try:
        return Version(text[:-2] if text.endswith(".*") else text)
    except InvalidVersion:
        return None


def can_meet(specifiers: Sequence[SpecifierSet]) -> bool:
    """Whether some version satisfies every specifier set at once (pre-releases only where a set names one,
    as pip allows them).

    The sets' intersection is a union of intervals whose ends are the clauses' versions, so a version at
    or just beside one of those ends lies in it whenever it is not empty. A clause that is no PEP 440
    version (``===`` with a free string) cannot be judged here: the sets are said to meet, and pip decides.
    """
    versions = [_version(clause.version) for specifier in specifiers for clause in specifier]
    if any(version is None for version in versions):
        return True
    candidates = set(versions) | set(chain.from_iterable(_beside(v) for v in versions))
    if not candidates:
        return True
    return any(all(s.contains(c) for s in specifiers) for c in candidates)


def _beside(version: Version) -> List[Version]:
    release = list(version.release)
    near = [release, release + [1], release + [0, 1], release + [0, 0, 1], release[:-1] + [release[-1] + 1]]
    for index in range(len(release)):
        if release[index] > 0:
            near.append(release[:index] + [release[index] - 1, 9999])
    near.append([release[0] + 1])
    return [Version(".".join(str(part) for part in parts)) for parts in near]
