"""The ``learner`` fact (an exported learner read by doctor/learner_export.py in the parent, never unpickled) and
the ``learner-names`` probe's answer (probes/programs/learner_names.py): the names it references, looked up in
the target."""

from typing import Dict, List, Optional, TypedDict, Union


class Pin(TypedDict):
    line: str
    specifier: str


class Requirements(TypedDict):
    """A deployment's requirements.txt pins (by canonical name), and the Python its Space's README declares."""

    path: str
    pins: Dict[str, Pin]
    python_version: Optional[str]
    python_source: Optional[str]


class _LearnerExport(TypedDict):
    path: str
    archive: str
    pickle_name: str
    pickle_bytes: int
    protocol: Optional[int]
    opcodes: int
    # [module, name, count] for each global the pickle imports.
    references: List[List[Union[str, int]]]
    format_version: Optional[str]
    seconds: float
    tensors: int
    extension_codes: List[int]


class LearnerExport(_LearnerExport, total=False):
    # With --requirements only.
    requirements: Requirements


class _ReferencedModule(TypedDict):
    module: str
    # None for __main__ (the learner's own notebook or script), never looked up.
    found: Optional[bool]
    imported: bool
    error: Optional[str]
    # name -> the error its look-up raised
    missing: Dict[str, str]
    looked_up: bool


class ReferencedModule(_ReferencedModule, total=False):
    # Absent for __main__.
    seconds: float


class LearnerNamesAnswer(TypedDict):
    modules: List[ReferencedModule]
    # top-level name -> the installed distributions that provide it
    distributions: Dict[str, List[str]]
    unresolved_tops: List[str]
    python: List[int]
    os_name: str
