"""Copy-pasteable commands for fixes, spelled for the examined interpreter and its platform.

``python -m pip`` with the target's own path, never a bare ``pip``: the pip on PATH is often another
environment's (knowledge.md #29).
"""

import shlex
from typing import Optional

from doctor.facts import Facts

PYTORCH_INDEX = "https://download.pytorch.org/whl/"


def _on_windows(facts: Facts) -> bool:
    markers = (facts.data("python") or {}).get("marker_environment") or {}
    return markers.get("os_name") == "nt"


def quote(facts: Facts, word: str) -> str:
    if _on_windows(facts):
        return '"%s"' % word if any(c in word for c in ' <>|&^"') else word
    return shlex.quote(word)


def target_python(facts: Facts) -> str:
    return (facts.data("python") or {}).get("executable") or facts.python


def pip_install(facts: Facts, *requirements: str, index_url: Optional[str] = None) -> str:
    words = [target_python(facts), "-m", "pip", "install"]
    words += [requirement for requirement in requirements]
    if index_url:
        words += ["--index-url", index_url]
    return " ".join(quote(facts, word) for word in words)


def pytorch_index_for_local_tag(local_tag: Optional[str]) -> Optional[str]:
    """The PyTorch index that serves builds with this local tag (+cu130 -> .../whl/cu130)."""
    if not local_tag:
        return None
    return PYTORCH_INDEX + local_tag.split(".")[0]
