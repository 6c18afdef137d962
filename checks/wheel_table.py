"""Which CPython versions the course's binary packages ship wheels for, per platform: a dated copy of PyPI's file
lists, so that a too-new (or too-old) Python is named before ``pip install`` tries to build torch from nothing.

Read on WHEELS_READ from PyPI's simple index (https://pypi.org/simple/<name>/, JSON, through pip's own session),
counting CPython wheels with the regular ABI (not the free-threaded ``t`` builds) of every final release. For each
package and platform: the newest Python that any release ships a wheel for (with that release), and the oldest
Python that the course's release ships one for. Refresh it when torch publishes a release for a new Python.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

WHEELS_READ = "2026-12-07"

# The platforms a learner's machine reports, as PEP 508 markers name them: (sys_platform, platform_machine).
PLATFORMS = {
    ("linux", "x86_64"): "Linux x86_64",
    ("linux", "aarch64"): "Linux aarch64",
    ("darwin", "arm64"): "macOS arm64",
    ("darwin", "x86_64"): "macOS x86_64",
    ("win32", "AMD64"): "Windows amd64",
}


@dataclass(frozen=True)
class WheelRange:
    """CPython minor versions 3.``oldest`` to 3.``newest`` have wheels; ``newest_release`` ships the newest one,
    ``oldest_release`` the oldest one the course still uses."""

    package: str
    platform: str
    oldest: int
    oldest_release: str
    newest: int
    newest_release: str
    # The NLP lessons' tokenizer (fastai.text uses spaCy) needs it; the vision lessons do not.
    nlp: bool = False

    @property
    def source(self) -> str:
        return "https://pypi.org/project/%s/%s/#files" % (self.package, self.newest_release)


def _rows(package: str, spans: Tuple[Tuple[str, int, str, int, str], ...], nlp: bool = False):
    return tuple(WheelRange(package, platform, oldest, oldest_release, newest, newest_release, nlp)
                 for platform, oldest, oldest_release, newest, newest_release in spans)


_FOUR = ("Linux x86_64", "Linux aarch64", "macOS arm64", "Windows amd64")
_ALL = _FOUR + ("macOS x86_64",)

WHEELS = (
    # torch 2.15.0 (2026-10-28): cp311-cp315; 2.14.1 (2026-09-30), the release torchvision 0.29.1 goes with:
    # cp310-cp314. No macOS x86_64 wheel after 2.2.2 (cp38-cp312).
    _rows("torch", tuple((p, 10, "2.14.1", 15, "2.15.0") for p in _FOUR) + (("macOS x86_64", 8, "2.2.2", 12, "2.2.2"),))
    # torchvision 0.29.1 (2026-09-30): cp310-cp314, the newest release; none for macOS x86_64 after 0.17.2.
    + _rows("torchvision", tuple((p, 10, "0.29.1", 14, "0.29.1") for p in _FOUR)
            + (("macOS x86_64", 8, "0.17.2", 12, "0.17.2"),))
    # spaCy 3.8.18, thinc 8.3.14, blis 1.3.4 (2026-10-25/26): cp310-cp315 on all five platforms. blis had no
    # cp313 wheel when Python 3.13 came out and built from source (explosion/spaCy#13658).
    + _rows("spacy", tuple((p, 10, "3.8.18", 15, "3.8.18") for p in _ALL), nlp=True)
    + _rows("thinc", tuple((p, 10, "8.3.14", 15, "8.3.14") for p in _ALL), nlp=True)
    + _rows("blis", tuple((p, 10, "1.3.4", 15, "1.3.4") for p in _ALL), nlp=True)
)

# The Python the fix suggests: inside every row above on every platform (tests/test_checks_python.py holds it).
RECOMMENDED_MINOR = 12


def platform_of(sys_platform: Optional[str], machine: Optional[str]) -> Optional[str]:
    """The table's name for a marker environment's platform; None for one the table does not cover."""
    return PLATFORMS.get((sys_platform or "", machine or ""))
