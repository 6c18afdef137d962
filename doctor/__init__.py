"""dl-doctor: finds what stops a deep-learning lesson before the lesson does, and names the fix.

The engine lives here (probes, facts, registry, report, renderers, CLI); the knowledge lives in the
repository's top-level ``checks/`` folder, installed as ``doctor.checks``.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext doctor``: register the ``%doctor`` line magic in this IPython kernel."""
    from doctor.notebook.magic import register

    register(ipython)
