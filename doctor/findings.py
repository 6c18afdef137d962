"""Findings: what a check concludes, as data that survives JSON and a process boundary.

A check builds findings with ``ok()``, ``info()``, ``warning()``, ``error()`` and ``skipped()``; the
engine stamps each with the check's id and category, so a check never spells its own id twice.
"""

from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

OK = "ok"
INFO = "info"
WARNING = "warning"
ERROR = "error"
SKIPPED = "skipped"
STATUSES = (OK, INFO, WARNING, ERROR, SKIPPED)
# Worst first: the order in which a report lists findings and picks its summary.
SEVERITY = {ERROR: 4, WARNING: 3, INFO: 2, OK: 1, SKIPPED: 0}


@dataclass(frozen=True)
class Fix:
    """What to do: words, copy-pasteable commands, and the id of an automatic fix where one exists.

    ``choice`` says the commands are ways out to pick from, the first recommended (upgrade torch, or pin NumPy
    1.x), not steps to run one after another; a merged pip command takes only the first of a choice."""

    text: str
    commands: Tuple[str, ...] = ()
    automatic: Optional[str] = None
    choice: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return {"text": self.text, "commands": list(self.commands), "automatic": self.automatic,
                "choice": self.choice}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Fix":
        return cls(str(raw["text"]), tuple(raw.get("commands") or ()), raw.get("automatic"),
                   bool(raw.get("choice", False)))


@dataclass(frozen=True)
class Finding:
    status: str
    title: str
    detail: str = ""
    fix: Optional[Fix] = None
    links: Tuple[str, ...] = ()
    id: str = ""
    category: str = ""
    crashed: bool = False

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError("unknown finding status %r" % self.status)

    def stamped(self, check_id: str, category: str) -> "Finding":
        return replace(self, id=check_id, category=category)

    def to_dict(self) -> Dict[str, Any]:
        raw = asdict(self)
        raw["fix"] = self.fix.to_dict() if self.fix else None
        raw["links"] = list(self.links)
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Finding":
        return cls(
            status=str(raw["status"]),
            title=str(raw["title"]),
            detail=str(raw.get("detail") or ""),
            fix=Fix.from_dict(raw["fix"]) if raw.get("fix") else None,
            links=tuple(raw.get("links") or ()),
            id=str(raw.get("id") or ""),
            category=str(raw.get("category") or ""),
            crashed=bool(raw.get("crashed", False)),
        )


def _make(status: str):
    def build(
        title: str,
        detail: str = "",
        fix: Optional[Fix] = None,
        links: Sequence[str] = (),
    ) -> Finding:
        return Finding(status=status, title=title, detail=detail, fix=fix, links=tuple(links))

    build.__name__ = status
    build.__doc__ = "A finding with status %r." % status
    return build


ok = _make(OK)
info = _make(INFO)
warning = _make(WARNING)
error = _make(ERROR)
skipped = _make(SKIPPED)


def topic_label(topic: str) -> str:
    """A topic (a finding's category) as reports and ``dl-doctor list`` print it: ``torch_build`` is "torch build"."""
    return topic.replace("_", " ")


def fix(text: str, *commands: str, automatic: Optional[str] = None, choice: bool = False) -> Fix:
    return Fix(text=text, commands=tuple(commands), automatic=automatic, choice=choice)

