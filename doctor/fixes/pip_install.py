"""``dl-doctor fix --install``: run a merged pip command in the target environment, first as a dry run that
proves pip can resolve it against everything installed, then for real.

pip runs inside the target interpreter as a probe does (``doctor.probes.runner``): a child process of its own
with a timeout, no shell, killed with its process group when it ends or on Ctrl-C, its output kept as a tail.
Installing is refused where the fallback fix refuses to write: an environment the operating system manages
(PEP 668), a read-only one, or another user's.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from packaging.version import Version

from doctor.collect import Target, probe_environment
from doctor.facts import Facts
from doctor.fixes import FixRefused, check_writable
from doctor.fixes.pip_merge import PipInstall
from doctor.probes import ProbeSpec, program_from_source
from doctor.probes.runner import run_probe

# --dry-run and --report arrived in pip 22.2 (pip's changelog, 22.2 "Features").
FIRST_PIP_WITH_DRY_RUN = Version("22.2")
# Long enough to download torch (gigabytes) on a slow line; a hung index still ends.
PIP_TIMEOUT_S = 1800.0
# No prompt can wait for an answer nobody will type, and no progress bars fill the kept tail.
QUIET_OPTIONS = ("--no-input", "--progress-bar", "off", "--disable-pip-version-check")


@dataclass(frozen=True)
class PipRun:
    """What one pip child did: success, pip's last error line when it failed, and what a dry run would install."""

    ok: bool
    error: str
    would_install: Tuple[str, ...] = ()


def check_installable(facts: Facts) -> None:
    """Refuse environments that pip must not change, with the reason; the same rules as the file fixes."""
    python = facts.data("python")
    if python is None:
        raise FixRefused("the interpreter did not answer (see probes-answered)")
    prefix = python["prefix"]
    if python.get("externally_managed"):
        raise FixRefused("%s is managed by the operating system (PEP 668); make a virtual environment for the "
                         "course and fix that one" % prefix)
    check_writable(_site_packages(python), prefix)
    # Without pip's metadata (pip borrowed from elsewhere, or absent) the dry run itself finds out.
    pip = facts.distribution("pip")
    if pip is not None and pip.parsed_version is not None and pip.parsed_version < FIRST_PIP_WITH_DRY_RUN:
        raise FixRefused("pip %s in %s cannot try an install first (--dry-run needs pip %s); upgrade it with: "
                         "%s -m pip install --upgrade pip" % (pip.version, prefix, FIRST_PIP_WITH_DRY_RUN,
                                                              python.get("executable") or facts.python))


def _site_packages(python) -> Path:
    """Where pip writes: the environment's own site-packages (a venv also lists the base's)."""
    prefix = Path(python["prefix"]).resolve()
    for folder in python.get("site_packages") or []:
        if Path(folder).resolve().is_relative_to(prefix):
            return Path(folder)
    raise FixRefused("no site-packages folder inside %s" % python["prefix"])


def pip_arguments(install: PipInstall, report: Optional[str] = None) -> List[str]:
    """pip's arguments (after ``-m pip``) for the install, as a dry run writing ``report`` when one is given."""
    arguments = install.words()[3:]
    if report is not None:
        arguments[1:1] = ["--dry-run", "--report", report]
    return arguments + list(QUIET_OPTIONS)


def _pip_probe() -> ProbeSpec:
    from importlib import resources

    body = resources.files("doctor.probes.programs").joinpath("pip_run.py").read_text(encoding="utf-8")
    return ProbeSpec("pip", program_from_source(body), PIP_TIMEOUT_S, False, "pip in the target environment")


def run_pip(target: Target, arguments: Sequence[str]) -> PipRun:
    """Run ``python -m pip ARGUMENTS`` in the target interpreter; a failure of any kind becomes ``ok=False``
    with pip's last error line."""
    # Outside the learner's folder: a stray pip.py or packaging.py there must not be imported by pip.
    with tempfile.TemporaryDirectory(prefix="dl-doctor-pip-") as folder:
        outcome = run_probe(_pip_probe(), target.python, folder, probe_environment(), {"pip": list(arguments)})
    if outcome.ok and outcome.data.get("returncode") == 0:
        return PipRun(True, "")
    if outcome.ok and outcome.data.get("pip_missing"):
        return PipRun(False, "pip is not installed in this environment; install it with: %s -m ensurepip --upgrade"
                      % target.python)
    if outcome.ok:
        return PipRun(False, last_error_line(outcome.stderr_tail))
    return PipRun(False, outcome.reason or "pip did not finish")


def last_error_line(output: str) -> str:
    """pip's own summary of what went wrong: its last ``ERROR:`` line, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip failed without a message"])[-1]


def dry_run(target: Target, install: PipInstall) -> PipRun:
    """Let pip resolve the install against the environment without changing it; lists what it would install."""
    with tempfile.TemporaryDirectory(prefix="dl-doctor-report-") as folder:
        report_path = os.path.join(folder, "report.json")
        result = run_pip(target, pip_arguments(install, report_path))
        if not result.ok:
            return result
        try:
            with open(report_path, encoding="utf-8") as handle:
                items = json.load(handle).get("install") or []
            chosen = tuple("%s %s" % (item["metadata"]["name"], item["metadata"]["version"]) for item in items)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            return PipRun(False, "pip's --report could not be read (%s)" % exc)
    return PipRun(True, "", chosen)


def install_for_real(target: Target, install: PipInstall) -> PipRun:
    return run_pip(target, pip_arguments(install))
