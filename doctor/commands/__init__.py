"""The commands behind ``dl-doctor``: each module turns parsed arguments into output and an exit code.

Exit codes: 0 no errors (warnings allowed), 1 errors found (or warnings under ``--strict``), 2 bad
usage or unreadable input, 130 interrupted (143 by SIGTERM, 129 by SIGHUP).
"""

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread as Ctrl-C raises KeyboardInterrupt, so every cleanup an
    interrupt runs (children killed, the benchmark's folder deleted) runs for it too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended (143, 129)."""
        return 128 + self.signum


class UsageError(Exception):
    """Bad input: reported as one line and exit code 2."""
