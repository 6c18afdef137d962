"""dl-doctor: finds what stops a deep-learning lesson before the lesson does, and names the fix.

The engine lives here (probes, facts, registry, report, renderers, CLI); the knowledge lives in the
top-level ``checks`` package.
"""

__version__ = "0.1.0"
