"""``dl-doctor check --only ID[,ID]``: the checks a run names, and the probes they read.

Like ``brew doctor NAME``: only those checks run, and only the probes whose outcomes they read (each check
declares them in its ``@check``), so a question about one thing is answered at the cost of that one thing.
"""

import difflib
from typing import List, Sequence, Tuple

from doctor.registry import CheckSpec

NEAREST = 3


class UnknownCheck(ValueError):
    """A name that is no check id; the message names it and the nearest ids."""


def checks_named(text: str, known: Sequence[CheckSpec]) -> List[CheckSpec]:
    """The checks ``text`` names (ids separated by commas), in the order of ``known``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UnknownCheck("--only %r names no check (dl-doctor list names them all)" % text)
    ids = [spec.id for spec in known]
    for name in names:
        if name not in ids:
            nearest = difflib.get_close_matches(name, ids, n=NEAREST, cutoff=0.0)
            raise UnknownCheck("--only %s: no such check; the nearest are %s (dl-doctor list names them all)"
                               % (name, ", ".join(nearest)))
    return [spec for spec in known if spec.id in names]


def probes_read(checks: Sequence[CheckSpec]) -> Tuple[str, ...]:
    """Every probe the checks read, each once: what a run of just these checks collects."""
    return tuple(dict.fromkeys(name for spec in checks for name in spec.probes))
