"""shared-memory on a real small /dev/shm: a 64 MiB tmpfs (Docker's default size) mounted over /dev/shm in a private
mount namespace (``unshare -m``, root only), where the real python probe reads it with statvfs, and where a real torch
DataLoader shows whether the check's verdict holds. Both run on two CPUs (``taskset``), so fastai's default is two
workers whatever this machine has."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from doctor.checks.memory import LESSON_BATCHES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None
                       or shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2,
                       reason="needs root, unshare -m and taskset on Linux, and two CPUs"),
]

CPUS = ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0))[:2])

# A DataLoader over the lesson's uint8 images with torch's defaults (prefetch_factor 2) and fastai's two workers.
LOADER = """
import sys, torch
from torch.utils.data import DataLoader, Dataset
height, width, bs = (int(value) for value in sys.argv[1:4])
class Images(Dataset):
    def __len__(self): return bs * 6
    def __getitem__(self, index): return torch.zeros(3, height, width, dtype=torch.uint8), index
# Out of shared memory, a worker either dies (SIGBUS, "unable to allocate shared memory") or its batch never
# arrives; the timeout turns the second into an error too instead of a hang.
for batch in DataLoader(Images(), batch_size=bs, num_workers=2, timeout=LOADER_TIMEOUT_S):
    pass
print("loaded")
"""
LOADER_TIMEOUT_S = 30
# What a starved DataLoader says: its worker's error, its death by SIGBUS, or no batch within the timeout.
STARVED = ("unable to allocate shared memory", "Bus error", "DataLoader timed out after %d seconds" % LOADER_TIMEOUT_S)


def _in_small_shm(arguments, fill_mib=0):
    """``arguments`` run on two CPUs where /dev/shm is a fresh 64 MiB tmpfs with ``fill_mib`` MiB already in it."""
    fill = "head -c %dM /dev/zero > /dev/shm/filler && " % fill_mib if fill_mib else ""
    script = "mount -t tmpfs -o size=64m tmpfs /dev/shm && %sexec taskset -c %s \"$@\"" % (fill, CPUS)
    completed = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh"] + list(arguments), capture_output=True,
                               text=True, timeout=300)
    if "mount:" in completed.stderr and not completed.stdout:
        pytest.skip("this machine does not allow a tmpfs mount in a new namespace: %s" % completed.stderr.strip())
    return completed


def _finding(lesson, fill_mib=0):
    completed = _in_small_shm([sys.executable, "-m", "doctor", "check", "--quick", "--only", "shared-memory",
                               "--lesson", str(lesson), "--format", "json"], fill_mib)
    found = [f for f in json.loads(completed.stdout)["findings"] if f["id"] == "shared-memory"]
    assert len(found) == 1, completed.stderr
    return found[0]


def test_docker_sized_shm_is_too_small_for_lesson_6s_480px_batches():
    finding = _finding(6)
    assert finding["status"] == "warning"
    assert "/dev/shm has 64 MiB free of 64 MiB (Docker's default)" in finding["title"]
    assert "2 DataLoader workers need about 169 MiB" in finding["title"]
    assert "docker run --shm-size=8g ..." in finding["fix"]["commands"]


def test_what_is_already_in_shm_counts():
    finding = _finding(1, fill_mib=60)
    assert finding["status"] == "warning"
    assert "4 MiB free of 64 MiB" in finding["title"]


@pytest.mark.parametrize("lesson, status", [(1, "ok"), (6, "warning")])
def test_a_real_dataloader_agrees_with_the_verdict(lesson, status):
    assert _finding(lesson)["status"] == status
    batch = LESSON_BATCHES[lesson]
    loaded = _in_small_shm([sys.executable, "-c", "LOADER_TIMEOUT_S = %d\n%s" % (LOADER_TIMEOUT_S, LOADER),
                            str(batch.item[0]), str(batch.item[1]), str(batch.batch_size)])
    if status == "ok":
        assert "loaded" in loaded.stdout, loaded.stderr[-2000:]
    else:
        assert "loaded" not in loaded.stdout
        assert any(words in loaded.stderr for words in STARVED), loaded.stderr[-2000:]


def test_the_host_shm_is_untouched():
    # The mounts lived in the children's namespaces only.
    assert not os.path.exists("/dev/shm/filler")
