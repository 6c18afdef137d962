"""The ``notebook`` probe's answer (probes/programs/notebook.py): what a notebook kernel of the interpreter
would live with."""

from typing import List, Literal, Optional, TypedDict, Union


class ProgramOnPath(TypedDict):
    """The first program of that name on PATH and the environment (prefix) it belongs to."""

    path: Optional[str]
    prefix: Optional[str]


class PipOnPath(TypedDict):
    path: Optional[str]
    prefix: Optional[str]
    # The site-packages folder ``pip --version`` names, when its interpreter could not be read from the script.
    site: Optional[str]


class Kernelspec(TypedDict):
    name: str
    path: str
    display_name: Optional[str]
    argv0: Optional[str]
    prefix: Optional[str]
    env: List[str]
    fallback_variable: Optional[str]
    no_site: bool
    # Whether argv[0] exists (a deleted environment leaves its kernelspecs behind); None for a bare "python".
    argv0_found: Optional[bool]
    error: None


class UnreadableKernelspec(TypedDict):
    """A kernel.json that is not JSON (or cannot be read)."""

    name: str
    path: str
    error: str


class JupyterModules(TypedDict):
    """Which of Jupyter's parts the interpreter can import (found, not imported)."""

    jupyter_core: bool
    ipykernel: bool
    jupyterlab: bool
    notebook: bool


class JupyterServer(TypedDict):
    pid: Optional[int]
    version: Optional[str]
    root_dir: Optional[str]
    prefix: Optional[str]


class WidgetFrontend(TypedDict):
    kind: Literal["labextension", "nbextension"]
    folder: str
    version: Optional[str]


class FallbackPreset(TypedDict):
    """A place that sets PYTORCH_ENABLE_MPS_FALLBACK before Python starts."""

    kind: Literal["conda-env-vars", "conda-activate-script", "shell-profile"]
    path: str
    line: Optional[int]
    value: str


class NotebookAnswer(TypedDict):
    prefix: str
    python_on_path: ProgramOnPath
    pip_on_path: PipOnPath
    data_dirs: List[str]
    kernelspecs: List[Union[Kernelspec, UnreadableKernelspec]]
    jupyter_on_path: ProgramOnPath
    jupyter_modules: JupyterModules
    servers: List[JupyterServer]
    widget_frontends: List[WidgetFrontend]
    front_end_markers: List[str]
    colab_importable: bool
    fallback_presets: List[FallbackPreset]
