"""The ``imports`` probe's answer (probes/programs/imports.py, with api_drift.py): the lesson's import statements
and the library calls its notebooks make."""

from typing import Dict, List, Literal, Optional, TypedDict, Union

from doctor.answers.common import ProbeError


class Owner(TypedDict):
    """The installed distribution whose RECORD lists a traceback's file."""

    name: Optional[str]
    version: str


class StatementError(ProbeError):
    # One per traceback file (None for files no distribution owns); None when the scan itself failed.
    owners: Optional[List[Optional[Owner]]]


class Statement(TypedDict):
    statement: str
    required: bool
    ok: bool
    seconds: float
    error: Optional[StatementError]


class LibraryCall(TypedDict):
    """One call a lesson's notebook makes, looked up (never called) in the target."""

    code: str
    module: str
    target: str
    installed: bool
    version: Optional[str]
    import_error: Optional[ProbeError]
    # The first attribute of ``target`` that is not there.
    missing: Optional[str]
    lookup_error: Optional[ProbeError]
    keywords: Dict[str, Literal["accepted", "deprecated", "unknown", "rejected"]]
    how: Optional[Literal["dataclass fields", "signature", "no signature"]]
    signature_error: Optional[ProbeError]


class UncheckedLibraryCall(TypedDict):
    """A call whose look-up raised in the probe itself."""

    code: Optional[str]
    module: Optional[str]
    target: Optional[str]
    installed: None
    probe_error: ProbeError


class _ImportsAnswer(TypedDict):
    statements: List[Statement]
    fastai_default_device: Optional[str]
    fastai_default_device_error: Optional[str]
    # The standard library's top-level modules loaded once the statements ran: what the course stack imports (and
    # the probe's own few, json, os, sys, traceback, all of which torch imports too).
    stdlib_modules_imported: List[str]


class ImportsAnswer(_ImportsAnswer, total=False):
    # Absent when the lesson makes no library calls to look up.
    calls: List[Union[LibraryCall, UncheckedLibraryCall]]
    calls_seconds: float
