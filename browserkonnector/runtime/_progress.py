"""Progress of long steps: a live counter in a terminal, a few plain lines in job mode.

A run of 5,000 bills takes minutes; a person at a terminal wants to see it move, while the Cozy stack
wants a handful of log lines, not one per bill. :meth:`Progress.tracker` returns the ``progress(done,
total)`` callback the save helpers call as entries finish.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO

from loguru import logger

__all__ = ["Progress"]

log = logger.bind(namespace="progress")


class Progress:
    """Reports ``done/total`` for named steps. ``live`` draws a ``\\r`` counter on ``stream``."""

    def __init__(
        self, *, live: bool, enabled: bool = True, stream: IO[str] | None = None, every_seconds: float = 5.0
    ) -> None:
        self.live = live and enabled
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.every_seconds = every_seconds

    def tracker(self, label: str, total: int) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` callback for one step of ``total`` items."""
        started = time.monotonic()
        state = {"last": started, "decile": -1}

        def report(done: int, total_now: int = total) -> None:
            if not self.enabled or total_now <= 0:
                return
            now = time.monotonic()
            if self.live:
                rate = done / max(now - started, 1e-6)
                self.stream.write(f"\r{label}: {done}/{total_now} ({rate:.1f}/s)")
                if done >= total_now:
                    self.stream.write("\n")
                self.stream.flush()
                return
            decile = done * 10 // total_now
            if done >= total_now or (decile > state["decile"] and now - state["last"] >= self.every_seconds):
                state["decile"], state["last"] = decile, now
                log.info("{}: {}/{}", label, done, total_now)

        return report
