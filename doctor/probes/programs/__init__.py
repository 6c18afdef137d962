"""Probe programs: stdlib-only Python source that the *target* interpreter runs with ``-c``.

They are read as text, never imported by the engine: the target environment may not have dl-doctor
installed, and may be a much older Python. Each program defines ``collect(arguments) -> dict``; the
engine prepends ``prelude.py`` (which calls it and writes the JSON answer) and ``shared.py`` (helpers
several programs need, written once). Probes gather, never judge.
"""
