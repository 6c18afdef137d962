"""The ``course`` probe's answer (probes/programs/course_tools.py): what the course's packages need outside
Python."""

from typing import Dict, Optional, TypedDict


class Dot(TypedDict):
    path: Optional[str]


class KaggleCredentials(TypedDict):
    """Where kaggle.json would be (stat only) and which KAGGLE_* variables are set (never their values)."""

    path: str
    config_dir_variable: bool
    exists: bool
    is_file: bool
    mode: Optional[int]
    stat_error: Optional[str]
    username_variable: bool
    key_variable: bool
    on_kaggle: bool
    posix: bool


class DependencyTable(TypedDict):
    """A package's own dependency table (transformers/dependency_versions_table.py), the entries asked for."""

    package: str
    path: Optional[str]
    found: bool
    entries: Dict[str, str]
    error: Optional[str]


class CourseAnswer(TypedDict):
    dot: Dot
    kaggle: KaggleCredentials
    tables: Dict[str, DependencyTable]
