"""`dl-doctor learner PATH`: will this exported learner load here (or under a requirements.txt's pins)?

The export is read in this process without unpickling it (doctor.learner_export); the names it references are
looked up in the target interpreter by the ``learner-names`` probe; the checks of the ``learner`` suite judge.
``check --learner`` and ``%doctor --learner`` add the same facts to a full check.
"""

import argparse
import json
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, TextIO

from doctor.collect import Target
from doctor.commands import UsageError
from doctor.commands.inputs import target_of

if TYPE_CHECKING:
    from doctor.supervisor import Children

LEARNER_FACT = "learner"
NAMES_PROBE = "learner-names"


def read_learner_input(path: str, requirements: Optional[str] = None) -> Dict[str, Any]:
    """The ``learner`` fact: the export's contents (and the requirements' pins); ``UsageError`` for bad input."""
    from doctor.learner_export import ExportError, read_export

    try:
        contents = read_export(path)
    except ExportError as exc:
        raise UsageError(str(exc)) from None
    data = contents.to_dict()
    if requirements is not None:
        data["requirements"] = read_requirements(requirements)
    return data


def read_requirements(path: str) -> Dict[str, Any]:
    """Pins from a requirements.txt (options, URLs and local paths are left to pip), and the Python version a
    Hugging Face Space's README.md beside it declares (``python_version:``), if any."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read(1024 * 1024)
    except IsADirectoryError:
        raise UsageError("--requirements %s: is a folder, not a requirements file" % path) from None
    except OSError as exc:
        raise UsageError("--requirements %s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    except UnicodeDecodeError:
        raise UsageError("--requirements %s: not a text file" % path) from None
    pins: Dict[str, Dict[str, str]] = {}
    # pip joins a line ending in a backslash with the next (pip-compile writes --hash options that way).
    for number, raw in enumerate(text.replace("\\\n", " ").splitlines(), 1):
        # pip: a comment starts with "#" at the line's start or after whitespace; options may follow a requirement.
        line = raw.split(" #", 1)[0].split("\t#", 1)[0].split(" -", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-") or line.startswith((".", "/")) or (
                re.match(r"[A-Za-z][\w+.-]*://", line)):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise UsageError("--requirements %s: line %d is not a requirement (%s)" % (path, number, exc)) from None
        pins[canonicalize_name(requirement.name)] = {"line": line, "specifier": str(requirement.specifier)}
    found = {"path": path, "pins": pins, "python_version": None, "python_source": None}
    readme = os.path.join(os.path.dirname(os.path.abspath(path)), "README.md")
    version = _space_python_version(readme)
    if version:
        found.update(python_version=version, python_source="python_version in %s" % readme)
    return found


def _space_python_version(readme: str) -> Optional[str]:
    from packaging.version import InvalidVersion, Version

    try:
        with open(readme, "r", encoding="utf-8") as handle:
            text = handle.read(64 * 1024)
    except (OSError, UnicodeDecodeError):
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            break
        key, _, value = line.partition(":")
        if key.strip() == "python_version":
            value = value.strip().strip("'\"")
            try:
                Version(value)
            except InvalidVersion:
                return None
            return value
    return None


def _names_arguments(data: Mapping[str, Any]) -> Dict[str, List[Any]]:
    modules: Dict[str, List[str]] = {}
    for module, name, _ in data.get("references") or ():
        modules.setdefault(module, []).append(name)
    return {"modules": [[module, names] for module, names in modules.items()]}


def learner_outcomes(target: Target, data: Mapping[str, Any], environment: Mapping[str, str],
                     children: Optional["Children"] = None, specs=None) -> Dict[str, Any]:
    """The ``learner`` fact and the ``learner-names`` probe's outcome (plus any other ``specs`` run beside it)."""
    from doctor.probes import learner_names_probe
    from doctor.outcome import OK, ProbeOutcome
    from doctor.probes.runner import run_probes

    specs = list(specs or ()) + [learner_names_probe()]
    # The names travel in a file: a command line is limited (128 kB per argument on Linux, 32 kB on Windows).
    handle, path = tempfile.mkstemp(prefix="dl-doctor-learner-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as written:
            json.dump(_names_arguments(data), written)
        arguments = {NAMES_PROBE: {"file": path}, "python": {"modules": []}, "packages": {}}
        outcomes = run_probes(specs, target.python, target.cwd, environment, arguments, children)
    finally:
        os.unlink(path)
    outcomes[LEARNER_FACT] = ProbeOutcome(LEARNER_FACT, OK, dict(data), None, "", float(data.get("seconds") or 0.0),
                                          None, None)
    return outcomes


def collect_learner_facts(target: Target, data: Mapping[str, Any], lesson: int):
    """What ``dl-doctor learner`` needs: the interpreter and its distributions, and the export's names."""
    from doctor.collect import probe_environment
    from doctor.facts import assemble_facts
    from doctor.probes import learner_probes

    metadata = [spec for spec in learner_probes() if spec.name != NAMES_PROBE]
    outcomes = learner_outcomes(target, data, probe_environment(), specs=metadata)
    return assemble_facts(target.python, target.cwd, False, lesson, outcomes)


def collect_with_learner(target: Target, lesson: int, quick: bool, data: Mapping[str, Any], facts=None):
    """A full check's facts (collected here unless given) with the export's beside them."""
    from doctor.collect import collect_facts, probe_environment
    from doctor.facts import assemble_facts
    from doctor.supervisor import killed_on_interrupt

    with ThreadPoolExecutor(max_workers=2) as pool, killed_on_interrupt() as children:
        names = pool.submit(learner_outcomes, target, data, probe_environment(), children)
        if facts is None:
            facts = collect_facts(target, lesson, quick)
        outcomes = dict(facts.probes, **names.result())
    return assemble_facts(facts.python, facts.cwd, facts.quick, facts.lesson, outcomes)


def run_learner(arguments: argparse.Namespace, stdout: TextIO) -> int:
    from doctor.commands.output import check_output_paths, publish, render_report, report_step_summary
    from doctor.lessons import DEFAULT_LESSON
    from doctor.registry import registered_checks
    from doctor.diagnose import diagnose

    check_output_paths(arguments.output)
    started = time.perf_counter()
    data = read_learner_input(arguments.path, arguments.requirements)
    target = target_of(arguments.python)
    facts = collect_learner_facts(target, data, DEFAULT_LESSON)
    report = diagnose(target, DEFAULT_LESSON, facts=facts, checks=registered_checks("learner"), started=started)
    text = render_report(report, arguments, stdout, verbose=arguments.verbose)
    publish(text, arguments, stdout, report.summary().words(), "report", lambda: report_step_summary(report, arguments))
    return report.exit_code(strict=arguments.strict)
