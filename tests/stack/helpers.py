"""Shared bits of the CozyStackStore tests."""

from __future__ import annotations

from browserkonnector.store._base import AppInfo

APP = AppInfo("demo-vendor", "1.0.0")


class SleepRecorder:
    """Replaces the backoff sleep: records the waits instead of waiting (no timed assertion anywhere)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
