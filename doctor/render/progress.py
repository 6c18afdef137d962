"""A one-line progress bar on a terminal for long runs (the benchmark); nothing when not a terminal."""

from typing import Any, Mapping, TextIO

WIDTH = 24


class ProgressBar:
    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.shown = False

    def update(self, record: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        done, total = record.get("done"), record.get("total")
        if done is not None and total:
            filled = int(WIDTH * min(done, total) / total)
            line = "[%s%s] %s %d/%d" % ("#" * filled, "." * (WIDTH - filled), record.get("phase"), done, total)
        else:
            line = "[%s] %s" % ("." * WIDTH, record.get("phase"))
        self.stream.write("\r\033[K" + line)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
