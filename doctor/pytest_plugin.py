"""A pytest plugin that skips a test when this machine lacks the device or op it needs, with the doctor's
reason, so one test suite runs on every leg of a CI matrix.

Off unless asked for: ``pytest -p doctor.pytest_plugin``, or ``addopts = "-p doctor.pytest_plugin"`` in the
project's pytest configuration. Then::

    @pytest.mark.requires_device("cuda")
    def test_trains_on_the_gpu(): ...

    @pytest.mark.requires_op("linalg.solve", device="mps")
    def test_solver_on_the_mac(): ...

An op is one of the lesson catalogue's (``dl-doctor ops`` lists them; ``linalg_solve`` and ``linalg.solve`` are
the same op here) and counts as available only when it runs natively on the device and matches the CPU; an
op that only the MPS fallback rescues is skipped with that reason. ``device`` defaults to the lessons' own
device (``auto``). The answers come from one child process per device, started once per session and only
when a collected test carries a marker; the tests' own process never imports torch because of the plugin.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

import pytest

from doctor.collect import probe_environment
from doctor.ops import run_torch_probe
from doctor.requests import DEVICES, NO_OPS, OpsRequest
from doctor.results.ops import NATIVE, available_devices, torch_failure
from doctor.probes.programs.op_catalog import catalog_names

DEVICE_MARKER = "requires_device"
OP_MARKER = "requires_op"


@dataclass(frozen=True)
class DeviceAnswer:
    """What one probe child found for one device."""

    available: bool
    reason: str  # why it is not available, or what it is when it is
    ops: Mapping[str, Mapping[str, object]]  # op name -> the op's record


def catalogue_name(name: str) -> Optional[str]:
    """The catalogue's spelling of an op name, accepting ``_`` for ``.`` (``linalg_solve``)."""
    names = catalog_names()
    if name in names:
        return name
    wanted = name.replace(".", "_")
    matches = [known for known in names if known.replace(".", "_") == wanted]
    return matches[0] if matches else None


def _known_device(device: object, where: str) -> str:
    if device not in DEVICES:
        raise pytest.UsageError("%s: unknown device %r; dl-doctor knows %s" % (where, device, ", ".join(DEVICES)))
    return str(device)


def _requirements(item) -> Tuple[List[str], List[Tuple[str, str]]]:
    """(devices, (op, device) pairs) that ``item`` requires."""
    devices, ops = [], []
    for marker in item.iter_markers(DEVICE_MARKER):
        if len(marker.args) != 1:
            raise pytest.UsageError("%s: @pytest.mark.requires_device takes one device name" % item.nodeid)
        devices.append(_known_device(marker.args[0], "%s: @pytest.mark.requires_device" % item.nodeid))
    for marker in item.iter_markers(OP_MARKER):
        if not marker.args:
            raise pytest.UsageError("%s: @pytest.mark.requires_op needs an op name" % item.nodeid)
        name = catalogue_name(str(marker.args[0]))
        if name is None:
            raise pytest.UsageError("%s: @pytest.mark.requires_op: unknown op %r; the catalogue has %s"
                                    % (item.nodeid, marker.args[0], ", ".join(catalog_names())))
        device = marker.kwargs.get("device", marker.args[1] if len(marker.args) > 1 else "auto")
        ops.append((name, _known_device(device, "%s: @pytest.mark.requires_op" % item.nodeid)))
    return devices, ops


def _unavailable_reason(device: str, torch: Mapping[str, object]) -> str:
    return "dl-doctor: %s is not available here (torch %s; devices: %s)" % (
        device, torch.get("version"), ", ".join(available_devices(torch)))


def probe_device(device: str, ops: Sequence[str], python: str = sys.executable) -> DeviceAnswer:
    """Ask a child of ``python`` whether ``device`` works and how ``ops`` run on it."""
    request = OpsRequest(device=device, catalog="lesson" if ops else NO_OPS, only=tuple(ops))
    outcomes = run_torch_probe(python, os.getcwd(), probe_environment(), request)
    torch, run = outcomes["torch"], outcomes["ops"]
    failure = torch_failure(torch)
    if failure is not None:
        return DeviceAnswer(False, "dl-doctor: torch does not import here (%s)" % failure, {})
    if not run.ok:
        return DeviceAnswer(False, "dl-doctor: the probe on %s failed (%s)" % (device, run.reason), {})
    data = run.data or {}
    if not data.get("available"):
        return DeviceAnswer(False, _unavailable_reason(device, torch.data), {})
    simulated = " (simulated)" if data.get("simulated") else ""
    return DeviceAnswer(True, "%s%s" % (data.get("device"), simulated),
                        {str(record["op"]): record for record in data.get("ops", [])})


class DoctorPlugin:
    """Collects every test's requirements, probes each device once, and marks what cannot run as skipped."""

    def __init__(self) -> None:
        self.answers: Dict[str, DeviceAnswer] = {}

    def skip_reason(self, devices: Sequence[str], ops: Sequence[Tuple[str, str]]) -> Optional[str]:
        for device in devices:
            answer = self.answers[device]
            if not answer.available:
                return answer.reason
        for name, device in ops:
            answer = self.answers[device]
            if not answer.available:
                return answer.reason
            record = answer.ops.get(name)
            if record is None:
                return "dl-doctor: %s did not run on %s" % (name, answer.reason)
            if record.get("class") != NATIVE:
                return "dl-doctor: %s is not native on %s: %s (%s)" % (
                    name, answer.reason, record.get("class"), record.get("evidence") or "no detail")
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items) -> None:
        wanted: Dict[str, Set[str]] = {}
        required = []
        for item in items:
            devices, ops = _requirements(item)
            if not devices and not ops:
                continue
            required.append((item, devices, ops))
            for device in devices:
                wanted.setdefault(device, set())
            for name, device in ops:
                wanted.setdefault(device, set()).add(name)
        with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
            answers = pool.map(lambda entry: (entry[0], probe_device(entry[0], sorted(entry[1]))), wanted.items())
            self.answers.update(answers)
        for item, devices, ops in required:
            reason = self.skip_reason(devices, ops)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "%s(device): skip unless dl-doctor finds this device (cpu, cuda, mps, xpu) "
                            "available" % DEVICE_MARKER)
    config.addinivalue_line("markers", "%s(op, device='auto'): skip unless the op runs natively on the device, "
                            "as dl-doctor ops measures it" % OP_MARKER)
    config.pluginmanager.register(DoctorPlugin(), "dl-doctor")
