"""The ``process`` fact (doctor/host_process.py): the process dl-doctor itself runs in, read in that process."""

from typing import List, Optional, TypedDict


class ImportedModule(TypedDict):
    """A top-level module already imported in the process, as it was loaded (not as installed now)."""

    name: str
    version: str
    file: Optional[str]


class ProcessAnswer(TypedDict):
    pid: int
    prefix: str  # sys.prefix: what the packages probe read is this process's environment only when it matches
    torch_imported: bool
    fallback_now: Optional[str]
    initial_environment_known: bool
    fallback_at_start: Optional[str]
    kernel: bool
    no_site: bool
    imported_modules: List[ImportedModule]
