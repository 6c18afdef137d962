"""The commands behind ``dl-doctor``: each module turns parsed arguments into output and an exit code.

Exit codes: 0 no errors (warnings allowed), 1 errors found (or warnings under ``--strict``), 2 bad
usage or unreadable input, 130 interrupted.
"""

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input: reported as one line and exit code 2."""
