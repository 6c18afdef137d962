"""Copy-pasteable commands for fixes, spelled for the examined interpreter and its platform.

``python -m pip`` with the target's own path, never a bare ``pip``: the pip on PATH is often another
environment's. Every install is constrained by what the installed distributions need (doctor.requirements),
so a printed command cannot break a package it does not name.
"""

import shlex
from dataclasses import dataclass
from typing import Optional, Tuple

from doctor.facts import Facts
from doctor.findings import Fix, fix
from doctor.requirements import Conflict, constrain

PYTORCH_INDEX = "https://download.pytorch.org/whl/"


POSIX, POWERSHELL, CMD = "posix", "powershell", "cmd"
# Characters that make PowerShell read a bare word as something else than one argument (about_Parsing,
# about_Special_Characters): separators, operators, variables, sub-expressions, splatting, escape and comment.
_POWERSHELL_SPECIAL = set(" \t'\"`$&|;,(){}[]<>@#")


def on_windows(facts: Facts) -> bool:
    """Whether the examined interpreter runs on Windows (its marker environment's os_name)."""
    return ((facts.data("python") or {}).get("marker_environment") or {}).get("os_name") == "nt"


def learner_shell(facts: Facts) -> str:
    """The shell the learner types commands into: POSIX outside Windows; on Windows, bash where $SHELL is set (Git
    Bash, MSYS2, Cygwin), PowerShell where PSModulePath holds the user's module folder (PowerShell adds it when it
    starts; Microsoft Learn, about_PSModulePath), else cmd (ComSpec is set in every shell, so it tells nothing)."""
    if not on_windows(facts):
        return POSIX
    shell = (facts.data("python") or {}).get("shell_environment") or {}
    if shell.get("shell"):
        return POSIX
    return POWERSHELL if shell.get("powershell_user_modules") else CMD


def quote(facts: Facts, word: str) -> str:
    shell = learner_shell(facts)
    if shell == CMD:
        return '"%s"' % word if any(c in word for c in ' <>|&^"') else word
    if shell == POWERSHELL:
        # Single quotes take everything literally; a quote inside is doubled (about_Quoting_Rules).
        return "'%s'" % word.replace("'", "''") if not word or set(word) & _POWERSHELL_SPECIAL else word
    return shlex.quote(word)


def command_line(facts: Facts, *words: str) -> str:
    """A whole command for the learner's shell: PowerShell reads a quoted first word as a string, not a program, so
    it needs the call operator (``& 'C:\\My Python\\python.exe' -m pip``; about_Operators)."""
    quoted = [quote(facts, word) for word in words]
    if quoted and quoted[0] != words[0] and learner_shell(facts) == POWERSHELL:
        quoted[0] = "& " + quoted[0]
    return " ".join(quoted)


def target_python(facts: Facts) -> str:
    return (facts.data("python") or {}).get("executable") or facts.python


@dataclass(frozen=True)
class Install:
    """A pip install command, or (when ``conflicts``) why none can be printed."""

    command: Optional[str]
    conflicts: Tuple[Conflict, ...]


def plan_install(facts: Facts, *words: str, index_url: Optional[str] = None) -> Install:
    """The command for ``pip install WORDS``, each requirement carrying what installed dependents need of it;
    no command when a requirement cannot be met together with a dependent that the command leaves alone."""
    constrained = constrain(facts, words)
    if not constrained.resolvable:
        return Install(None, constrained.conflicts)
    command = [target_python(facts), "-m", "pip", "install", *constrained.words]
    if index_url:
        command += ["--index-url", index_url]
    return Install(command_line(facts, *command), ())


def conflicts_text(conflicts: Tuple[Conflict, ...]) -> str:
    """'numpy<2 would break pandas 3.0.1 (it needs numpy>=2.0.2)', one clause per conflict."""
    return "; ".join("%s would break %s (it needs %s%s)" % (c.proposed, c.dependent.label, c.dependent.requirement.name,
                                                          c.dependent.requirement.specifier) for c in conflicts)


def install_fix(facts: Facts, text: str, *words: str, index_url: Optional[str] = None) -> Fix:
    """A fix whose command installs ``words``, or, when that would break another distribution, one saying so."""
    plan = plan_install(facts, *words, index_url=index_url)
    if plan.command is None:
        return fix("No install command can do it without breaking another package: %s. Upgrade or remove the "
                   "package that holds it back first." % conflicts_text(plan.conflicts))
    return fix(text, plan.command)


def pip_install(facts: Facts, *words: str, index_url: Optional[str] = None) -> str:
    """``plan_install`` for installs that pin nothing (install, upgrade, reinstall by name): every constraint
    it adds is met by an installed version, or by some release where nothing is installed, so they cannot
    conflict with a bare name. A pin or a downgrade goes through ``plan_install``, whose conflicts the check
    reports."""
    plan = plan_install(facts, *words, index_url=index_url)
    if plan.command is None:
        raise ValueError("pip_install(%s) conflicts with %s: use plan_install"
                         % (" ".join(words), "; ".join(c.describe() for c in plan.conflicts)))
    return plan.command


def pytorch_index_for_local_tag(local_tag: Optional[str]) -> Optional[str]:
    """The PyTorch index that serves builds with this local tag (+cu130 -> .../whl/cu130)."""
    if not local_tag:
        return None
    return PYTORCH_INDEX + local_tag.split(".")[0]
