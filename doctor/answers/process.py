"""The ``process`` fact (doctor/host_process.py): the process dl-doctor itself runs in, read in that process."""

from typing import Optional, TypedDict


class ProcessAnswer(TypedDict):
    pid: int
    torch_imported: bool
    fallback_now: Optional[str]
    initial_environment_known: bool
    fallback_at_start: Optional[str]
    kernel: bool
    no_site: bool
