"""Progress of long conversions and materialisations, shown on a terminal only.

One line on stderr, rewritten at most ten times a second, and only once the work has run for
half a second (short conversions print nothing); cleared when the work ends. Silent when stderr
is not a terminal, unless asked for.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

_DELAY = 0.5  # seconds of work before the first line
_INTERVAL = 0.1  # seconds between rewrites


class Progress:
    """``show``: True always, False never, None when stderr is a terminal."""

    def __init__(self, what: str, total: int, unit: str, show: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if show is None:
            show = bool(getattr(self.stream, "isatty", lambda: False)())
        self.show = show and total > 0
        self.what, self.total, self.unit = what, total, unit
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, done: int) -> None:
        if not self.show:
            return
        now = time.monotonic()
        if now - self.start < _DELAY or now - self.last < _INTERVAL:
            return
        self.last = now
        self.shown = True
        self.stream.write(f"\r{self.what}: {done}/{self.total} {self.unit} ({100 * done // self.total}%)")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write(f"\r{self.what}: {self.total}/{self.total} {self.unit} in {time.monotonic() - self.start:.1f} s\n")
            self.stream.flush()
