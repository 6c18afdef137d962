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


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object read from a saved report, or an empty one where a damaged file holds something else."""
    return value if isinstance(value, dict) else {}


def _devices(report: Optional[Report]) -> Optional[Dict[str, Any]]:
    """What torch sees: CUDA devices by name, MPS and XPU availability; None when torch was not probed."""
    if report is None:
        return None
    torch = _object(report.facts.data("torch"))
    if not torch.get("importable"):
        return None
    cuda = _object(torch.get("cuda"))
    devices = {"cuda available": cuda.get("available"), "mps available": _object(torch.get("mps")).get("available"),
               "xpu available": _object(torch.get("xpu")).get("available")}
    listed = cuda.get("devices")
    for device in listed if isinstance(listed, list) else []:
        if isinstance(device, dict):
            devices["cuda:%s" % device.get("index")] = device.get("name") or device.get("error")
    return devices


def _findings(report: Report) -> Dict[str, str]:
    return {finding.id: finding.status for finding in report.findings}


def _ops(report: Report) -> Dict[str, str]:
    return {op.name: "%s (%s)" % (op.result, op.device) for op in (report.ops.results if report.ops else ())}


def diff_reports(a: LoadedReport, b: LoadedReport) -> List[Difference]:
    """Two reports read with ``full=True``: an ops report has no facts and no findings to compare."""
    report_a, report_b = a.report, b.report
    differences = _compare_shared("environment", report_a.environment or {}, report_b.environment or {})
    full_a = report_a if report_a.facts is not None else None
    full_b = report_b if report_b.facts is not None else None
    for section, extract in (("packages", _packages), ("devices", _devices)):
        left, right = extract(full_a), extract(full_b)
        if left is not None and right is not None:
            differences += _compare(section, left, right)
    if full_a is not None and full_b is not None:
        differences += _compare("findings", _findings(report_a), _findings(report_b))
    differences += _compare("ops", _ops(report_a), _ops(report_b))
    return differences
