"""What differs between two environments' reports: versions, devices, findings and op support.

Each difference is a row (section, name, value in A, value in B); ``None`` means absent on that side.
Only values both reports could have are compared: an ops report has no packages, so diffing it with a
check report compares environment and ops alone.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from doctor.reader import LoadedReport
from doctor.report import Report

SECTIONS = ("environment", "packages", "devices", "findings", "ops")


@dataclass(frozen=True)
class Difference:
    section: str
    name: str
    a: Optional[str]
    b: Optional[str]


def _flat(value: Any) -> Optional[str]:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _compare(section: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> List[Difference]:
    return [Difference(section, name, _flat(a.get(name)), _flat(b.get(name)))
            for name in sorted(set(a) | set(b)) if _flat(a.get(name)) != _flat(b.get(name))]


def _compare_shared(section: str, a: Mapping[str, Any], b: Mapping[str, Any]) -> List[Difference]:
    """Only the keys both sides have: a check report's environment says more than an ops report's."""
    return _compare(section, {k: v for k, v in a.items() if k in b}, {k: v for k, v in b.items() if k in a})


def _packages(report: Optional[Report]) -> Optional[Dict[str, str]]:
    if report is None or report.facts.data("packages") is None:
        return None
    return {name: dist.version for name, dist in report.facts.derived.distributions.items()}


def _devices(report: Optional[Report]) -> Optional[Dict[str, Any]]:
    """What torch sees: CUDA devices by name, MPS and XPU availability; None when torch was not probed."""
    if report is None:
        return None
    torch = report.facts.data("torch")
    if not torch or not torch.get("importable"):
        return None
    cuda = torch.get("cuda") or {}
    devices = {"cuda available": cuda.get("available"), "mps available": (torch.get("mps") or {}).get("available"),
               "xpu available": (torch.get("xpu") or {}).get("available")}
    for device in cuda.get("devices") or []:
        if isinstance(device, dict):
            devices["cuda:%s" % device.get("index")] = device.get("name") or device.get("error")
    return devices


def _findings(report: LoadedReport) -> Dict[str, str]:
    return {case.name: case.status for case in report.sheet.cases if not case.is_op}


def _ops(report: LoadedReport) -> Dict[str, str]:
    return {case.name: "%s (%s)" % (case.result, case.suite[len("ops on "):])
            for case in report.sheet.cases if case.is_op}


def diff_reports(a: LoadedReport, b: LoadedReport) -> List[Difference]:
    """Two reports read with ``full=True``."""
    differences = _compare_shared("environment", a.sheet.environment, b.sheet.environment)
    full_a, full_b = a.report, b.report
    for section, extract in (("packages", _packages), ("devices", _devices)):
        left, right = extract(full_a), extract(full_b)
        if left is not None and right is not None:
            differences += _compare(section, left, right)
    if full_a is not None and full_b is not None:
        differences += _compare("findings", _findings(a), _findings(b))
    differences += _compare("ops", _ops(a), _ops(b))
    return differences
