"""Tiny real wheels, built in the test without a build backend or the network, and venvs with pip that
install them offline: enough to break an environment the way learners' environments break and then apply
dl-doctor's printed pip command for real.

A wheel is a zip holding the package files and ``NAME-VERSION.dist-info/{METADATA,WHEEL,RECORD}``
(PEP 427); pip installs one from a ``--find-links`` folder like any other.
"""

import base64
import hashlib
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Dict, Iterable, Mapping, Sequence


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def build_wheel(folder: Path, name: str, version: str, requires: Iterable[str] = (),
                files: Mapping[str, str] = None) -> Path:
    """A pure-Python wheel ``name-version-py3-none-any.whl`` in ``folder``; ``files`` maps paths inside
    site-packages to their (dedented) text."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    info = "%s-%s.dist-info" % (stem, version)
    metadata = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version]
    requires = list(requires)
    extras = sorted(set(re.findall(r"""extra\s*==\s*['"]([^'"]+)['"]""", " ".join(requires))))
    metadata += ["Provides-Extra: %s" % extra for extra in extras]
    metadata += ["Requires-Dist: %s" % requirement for requirement in requires]
    contents: Dict[str, bytes] = {path: textwrap.dedent(text).encode() for path, text in (files or {}).items()}
    contents[info + "/METADATA"] = ("\n".join(metadata) + "\n").encode()
    contents[info + "/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: dl-doctor-tests\nRoot-Is-Purelib: true\n"
                                 b"Tag: py3-none-any\n")
    record = [_record_line(path, data) for path, data in contents.items()] + [info + "/RECORD,,"]
    contents[info + "/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / ("%s-%s-py3-none-any.whl" % (stem, version))
    with zipfile.ZipFile(str(wheel), "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return wheel


def offline_pip_environment(wheels: Path) -> Dict[str, str]:
    """pip resolves from the local wheels alone: no index, and none of this machine's pip config files."""
    environment = dict(os.environ)
    environment.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_CONFIG_FILE": os.devnull,
                        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"})
    return environment


def make_venv_with_pip(folder: Path) -> Path:
    """A real virtual environment whose ``python -m pip`` works, as in a learner's venv; returns its interpreter.

    ensurepip takes seconds per venv, so the venv borrows the running environment's pip through a ``.pth``
    (pip installs into ``sys.prefix``, the new venv, whichever folder pip itself was loaded from).
    """
    import pip as running_pip

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=300,
                   capture_output=True)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    borrowed = folder / "borrowed-pip"
    borrowed.mkdir()
    (borrowed / "pip").symlink_to(Path(running_pip.__file__).parent, target_is_directory=True)
    (Path(site) / "borrowed-pip.pth").write_text(str(borrowed) + "\n")
    return python


def pip(python: Path, arguments: Sequence[str], wheels: Path) -> subprocess.CompletedProcess:
    """Run the environment's own pip offline against ``wheels``."""
    return subprocess.run([str(python), "-m", "pip", *arguments], env=offline_pip_environment(wheels),
                          capture_output=True, text=True, timeout=300)
