"""Many findings' pip commands as one: a learner pastes one line that pip resolves as a whole, instead of
several that undo each other (the second ``pip install`` knows nothing of what the first one asked for).

Only commands spelled as ``checks/commands.py`` spells them merge: ``<python> -m pip install`` followed by
requirements, ``--upgrade``/``-U``, ``--force-reinstall`` and ``--index-url URL``. Anything else (another
program, another option, a URL or a marker in a requirement) is kept exactly as the finding printed it.

Commands stay apart, each with the reason, when they:
- name another interpreter: each command installs into its own environment;
- use another ``--index-url``: the PyTorch index serves torch and a few of its dependencies, not fastai;
- ask for one distribution with specifiers that no version satisfies together (``helperpkg<2`` and
  ``helperpkg>=2``): merged, pip would only reject the line, so the learner has to choose;
- differ in ``--force-reinstall``: pip reinstalls every package it resolves under that option, so merging it
  into another command would re-download what that command only meant to change (torch is gigabytes). Two
  commands that both force a reinstall merge: each already asked for it.
``--upgrade`` merges freely: every requirement a finding prints asks for a change, and for a requirement with
a version range ``--upgrade`` only picks the newest version inside it.
"""

import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from doctor.findings import ERROR, WARNING, Fix
from doctor.requirements import can_meet

UPGRADE_OPTIONS = ("--upgrade", "-U")
FORCE_REINSTALL = "--force-reinstall"
INDEX_OPTIONS = ("--index-url", "-i")


class NotMergeable(Exception):
    """Why a command is kept as printed."""


@dataclass(frozen=True)
class PipInstall:
    """A parsed ``<python> -m pip install`` command."""

    python: str
    requirements: Tuple[Requirement, ...]
    upgrade: bool = False
    force_reinstall: bool = False
    index_url: Optional[str] = None

    def words(self) -> List[str]:
        """The argument vector, without a shell: what a child process is started with."""
        words = [self.python, "-m", "pip", "install"]
        words += ["--upgrade"] if self.upgrade else []
        words += [FORCE_REINSTALL] if self.force_reinstall else []
        words += [str(requirement) for requirement in self.requirements]
        words += ["--index-url", self.index_url] if self.index_url else []
        return words


@dataclass(frozen=True)
class MergedCommand:
    """One command to run and the findings it fixes; ``install`` is None for a command kept as printed."""

    command: str
    finding_ids: Tuple[str, ...]
    install: Optional[PipInstall]
    # Why this command could not join the others (empty when it is the merged one).
    notes: Tuple[str, ...] = ()
    # It asks for versions an earlier command rules out: the learner chooses, dl-doctor never runs both.
    contradicts: bool = False


def split_command(command: str, windows: bool) -> List[str]:
    """The words of a command as ``checks.commands`` wrote them for the learner's shell: POSIX quoting, or on
    Windows cmd's double quotes, PowerShell's single quotes (a quote inside doubled) after ``&`` for a quoted
    program, or Git Bash's single quotes (shlex's non-POSIX mode keeps the quotes, and leaves backslashes in paths
    alone)."""
    if not windows:
        return shlex.split(command)
    words = shlex.split(command, posix=False)
    if words[:1] == ["&"]:
        words = words[1:]
    return [_unquoted(word) for word in words]


def _unquoted(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] == '"':
        return word[1:-1]
    if len(word) >= 2 and word[0] == word[-1] == "'":
        return word[1:-1].replace("''", "'")
    return word


def program_as_printed(command: str) -> str:
    """How a command spells its program (``& 'C:\\My Course\\python.exe'`` in PowerShell): the merged command
    keeps that spelling, so it runs in the shell the learner's commands were written for."""
    return command.split(" -m pip install", 1)[0]


def quote_word(word: str, windows: bool) -> str:
    """The inverse of ``split_command``; the same rule as ``checks.commands.quote``."""
    if windows:
        return '"%s"' % word if any(c in word for c in ' <>|&^"') else word
    return shlex.quote(word)


def parse_pip_install(command: str, windows: bool) -> PipInstall:
    """Parse a command ``checks/commands.py`` printed; raises ``NotMergeable`` for anything else."""
    try:
        words = split_command(command, windows)
    except ValueError as exc:
        raise NotMergeable("cannot split it into words (%s)" % exc) from None
    if len(words) < 5 or words[1:4] != ["-m", "pip", "install"]:
        raise NotMergeable("it is not a `python -m pip install` command")
    upgrade = force = False
    index_url = None
    requirements: List[Requirement] = []
    rest = iter(words[4:])
    for word in rest:
        if word in UPGRADE_OPTIONS:
            upgrade = True
        elif word == FORCE_REINSTALL:
            force = True
        elif word in INDEX_OPTIONS:
            index_url = next(rest, None)
            if not index_url:
                raise NotMergeable("%s has no URL after it" % word)
        elif word.startswith("--index-url="):
            index_url = word.split("=", 1)[1]
        elif word.startswith("-"):
            raise NotMergeable("dl-doctor does not merge the option %s" % word)
        else:
            requirements.append(_requirement(word))
    if not requirements:
        raise NotMergeable("it names no requirement")
    return PipInstall(words[0], tuple(requirements), upgrade, force, index_url)


def _requirement(word: str) -> Requirement:
    try:
        requirement = Requirement(word)
    except InvalidRequirement:
        raise NotMergeable("%r is not a requirement" % word) from None
    if requirement.url or requirement.marker:
        raise NotMergeable("%r has a URL or a marker" % word)
    return requirement


@dataclass
class _Wanted:
    """One distribution in a merged command: its first spelling, extras, specifiers, and who asked."""

    name: str
    extras: set
    specifier: SpecifierSet
    askers: List[Tuple[str, str]]  # (finding id, requirement as the finding wrote it)

    def requirement(self) -> Requirement:
        extras = "[%s]" % ",".join(sorted(self.extras)) if self.extras else ""
        return Requirement("%s%s%s" % (self.name, extras, self.specifier))


@dataclass
class _Group:
    python: str
    index_url: Optional[str]
    force_reinstall: bool
    program: str  # the python as the first command printed it
    contradicts: bool = False
    upgrade: bool = False
    wanted: Dict[str, _Wanted] = field(default_factory=dict)
    finding_ids: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def contradiction(self, install: PipInstall, finding_id: str) -> Optional[str]:
        """The requirement of ``install`` that no version satisfies together with this group's, or None."""
        for requirement in install.requirements:
            wanted = self.wanted.get(canonicalize_name(requirement.name))
            if wanted and not can_meet([wanted.specifier, requirement.specifier]):
                asked = ", ".join("%s (%s)" % (text, asker) for asker, text in wanted.askers)
                return "no version satisfies both %s (%s) and %s" % (requirement, finding_id, asked)
        return None

    def separation(self, install: PipInstall) -> Optional[str]:
        """Why ``install`` must run as a command of its own even though it agrees with this group, or None."""
        if install.index_url != self.index_url:
            return "it needs another package index (%s): one index cannot serve every package" % (
                install.index_url or "PyPI")
        if install.force_reinstall != self.force_reinstall:
            return ("--force-reinstall reinstalls every package pip resolves, so it stays with the packages "
                    "that asked for it")
        return None

    def add(self, install: PipInstall, finding_id: str) -> None:
        self.upgrade = self.upgrade or install.upgrade
        for requirement in install.requirements:
            key = canonicalize_name(requirement.name)
            wanted = self.wanted.setdefault(key, _Wanted(requirement.name, set(), SpecifierSet(), []))
            wanted.extras |= set(requirement.extras)
            wanted.specifier &= requirement.specifier
            wanted.askers.append((finding_id, str(requirement)))
        if finding_id not in self.finding_ids:
            self.finding_ids.append(finding_id)

    def merged(self) -> PipInstall:
        return PipInstall(self.python, tuple(w.requirement() for w in self.wanted.values()), self.upgrade,
                          self.force_reinstall, self.index_url)


def render_install(install: PipInstall, windows: bool, program: Optional[str] = None) -> str:
    words = install.words()
    return " ".join([program or quote_word(words[0], windows)] + [quote_word(word, windows) for word in words[1:]])


def merge_pip_commands(sources: Sequence[Tuple[str, str]], windows: bool) -> List[MergedCommand]:
    """Merge ``(finding id, command)`` pairs into as few pip commands as can be resolved together, in the
    order the findings came; each result names the findings it came from and, when it had to stay apart
    from an earlier command, why."""
    slots: List[object] = []  # a _Group, or a MergedCommand kept as printed, in order of first appearance
    for finding_id, command in sources:
        try:
            install = parse_pip_install(command, windows)
        except NotMergeable as exc:
            slots.append(MergedCommand(command, (finding_id,), None, ("kept as printed: %s" % exc,)))
            continue
        groups = [slot for slot in slots if isinstance(slot, _Group) and slot.python == install.python]
        contradictions = [reason for reason in (g.contradiction(install, finding_id) for g in groups) if reason]
        joined = None if contradictions else next((g for g in groups if g.separation(install) is None), None)
        if joined is not None:
            joined.add(install, finding_id)
            continue
        reasons = contradictions or [g.separation(install) for g in groups]
        group = _Group(install.python, install.index_url, install.force_reinstall, program_as_printed(command),
                       contradicts=bool(contradictions))
        group.notes = ["kept apart: %s" % reason for reason in dict.fromkeys(reasons)]
        group.add(install, finding_id)
        slots.append(group)
    merged = []
    for slot in slots:
        if isinstance(slot, _Group):
            install = slot.merged()
            slot = MergedCommand(render_install(install, windows, slot.program), tuple(slot.finding_ids), install,
                                 tuple(slot.notes), slot.contradicts)
        merged.append(slot)
    return merged


def pip_commands_to_merge(fix: Fix, windows: bool) -> List[str]:
    """The commands of one finding's fix that belong in the merged command: its pip installs, and of a choice
    only the first (recommended) one."""
    installs = [command for command in fix.commands if _is_pip_install(command, windows)]
    return installs[:1] if fix.choice else installs


def _is_pip_install(command: str, windows: bool) -> bool:
    try:
        words = split_command(command, windows)
    except ValueError:
        return False
    return words[1:4] == ["-m", "pip", "install"]


def targets_windows(facts) -> bool:
    """Whether the examined interpreter runs on Windows (its commands are quoted the Windows way)."""
    markers = (facts.data("python") or {}).get("marker_environment") or {}
    return markers.get("os_name") == "nt"


def merge_finding_fixes(findings, windows: bool) -> List[MergedCommand]:
    """The merged pip commands of the problems' fixes: errors and warnings whose fix is not automatic (each
    finding's other commands are left to it)."""
    sources = [(finding.id, command) for finding in findings
               if finding.status in (ERROR, WARNING) and finding.fix and not finding.fix.automatic
               for command in pip_commands_to_merge(finding.fix, windows)]
    return merge_pip_commands(sources, windows)
