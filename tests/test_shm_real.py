"""shared-memory on a real small /dev/shm: a 64 MiB tmpfs (Docker's default size) mounted over /dev/shm in a private
mount namespace (``unshare -m``, root only), where the real python probe reads it with statvfs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None,
                       reason="needs root and unshare -m on Linux"),
]


def _check_in_small_shm(lesson, fill_mib=0):
    """dl-doctor check --quick --only shared-memory, run where /dev/shm is a fresh 64 MiB tmpfs with ``fill_mib``
    MiB already written to it."""
    fill = "head -c %dM /dev/zero > /dev/shm/filler && " % fill_mib if fill_mib else ""
    script = ("mount -t tmpfs -o size=64m tmpfs /dev/shm && %sexec \"$0\" -m doctor check --quick --only "
              "shared-memory --lesson %d --format json" % (fill, lesson))
    completed = subprocess.run(["unshare", "-m", "sh", "-c", script, sys.executable], capture_output=True, text=True,
                               timeout=120)
    if "mount" in completed.stderr and not completed.stdout:
        pytest.skip("this machine does not allow a tmpfs mount in a new namespace: %s" % completed.stderr.strip())
    report = json.loads(completed.stdout)
    found = [finding for finding in report["findings"] if finding["id"] == "shared-memory"]
    assert len(found) == 1, completed.stderr
    return found[0]


def test_docker_sized_shm_is_too_small_for_lesson_6s_480px_batches():
    finding = _check_in_small_shm(6)
    assert finding["status"] == "warning"
    assert "/dev/shm has 64 MiB free of 64 MiB (Docker's default)" in finding["title"]
    assert "docker run --shm-size=8g ..." in finding["fix"]["commands"]


def test_what_is_already_in_shm_counts():
    finding = _check_in_small_shm(1, fill_mib=60)
    assert finding["status"] == "warning"
    assert "4 MiB free of 64 MiB" in finding["title"]


def test_the_host_shm_is_untouched():
    # The mounts lived in the child's namespace only.
    assert not os.path.exists("/dev/shm/filler")
