"""The ``installs`` probe's answer (probes/programs/installs.py): installed files against the records of what
installed them (pip's RECORD, conda's conda-meta), and the OpenMP runtime libraries in the environment."""

from typing import List, Optional, TypedDict


class VerifiedDistribution(TypedDict):
    """A distribution whose RECORD was checked: ``hashed`` files by hash, ``sized`` by size alone."""

    name: str
    version: str
    hashed: int
    sized: int


class RecordMismatch(TypedDict):
    """Files a distribution's RECORD lists that are missing, or whose size or hash differs (the first 20 of
    each; the counts are of all)."""

    name: str
    version: str
    installer: Optional[str]
    location: str
    missing: List[str]
    missing_count: int
    changed: List[str]
    changed_count: int


class CondaPackage(TypedDict):
    """One conda-meta/*.json record: the ``.dist-info``/``.egg-info`` folders among its files (relative to the
    prefix), or ``error`` when the record could not be read."""

    name: Optional[str]
    version: Optional[str]
    build: Optional[str]
    channel: Optional[str]
    dist_infos: List[str]
    error: Optional[str]


class PythonDistribution(TypedDict):
    """Every metadata folder on sys.path in a conda prefix (duplicates included), with its INSTALLER."""

    name: str
    version: str
    installer: Optional[str]
    path: Optional[str]


class OpenMPRuntime(TypedDict):
    """An OpenMP runtime library file and the package that installed it."""

    runtime: str  # libiomp5, libomp or libgomp
    path: str
    owner: Optional[str]
    installer: str  # pip (from a RECORD) or conda (from conda-meta)


class InstallsAnswer(TypedDict):
    deep: bool
    # Which files were hashed: "all" (check --deep), "python" (.py files; the default), "none" (--quick: sizes only).
    hashing: str
    time_allowance_s: float
    verified: List[VerifiedDistribution]
    problems: List[RecordMismatch]
    # Distributions left unverified when the time allowance ran out.
    unfinished: List[str]
    conda_prefix: Optional[str]
    conda_packages: List[CondaPackage]
    python_distributions: List[PythonDistribution]
    openmp: List[OpenMPRuntime]
