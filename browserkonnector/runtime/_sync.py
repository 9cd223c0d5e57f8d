"""``ctx.should_full_sync()``: whether this run must look at everything, or may stop at what is new.

An incremental run is cheap only if the connector may skip what it already saved; a run that skips too
much misses bills for good. So a full sync is due when the account has never had one, when the last run
failed (it may have stopped half way), when it is forced (``--full-sync``), or when the last full sync
is older than the age the connector chose. The memory of it lives in the account's data
(``browserkonnector_sync``), so it follows the account from run to run, locally and in a Cozy.

A run that never asks is a full sync (it did everything); a run that asked and was told "incremental"
leaves the date of the last full sync as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["SYNC_KEY", "SyncMemory"]

SYNC_KEY = "browserkonnector_sync"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SyncMemory:
    """What earlier runs left about full syncs, and this run's answer."""

    def __init__(self, account_data: Mapping[str, Any], *, forced: bool = False) -> None:
        memory = account_data.get(SYNC_KEY)
        self.memory: dict[str, Any] = dict(memory) if isinstance(memory, Mapping) else {}
        self.forced = forced
        self.asked: bool | None = None  # this run's answer, once asked
        self.reason = ""

    @property
    def last_full_sync(self) -> datetime | None:
        return _parse(self.memory.get("last_full_sync"))

    def should_full_sync(self, max_age: timedelta | float | None = None, *, now: datetime | None = None) -> bool:
        """``True`` when a full sync is due (see the module docstring); ``max_age``: a ``timedelta`` or
        seconds; ``None``: a full sync is never due for its age alone. The same answer all run long."""
        if self.asked is not None:
            return self.asked
        age = timedelta(seconds=max_age) if isinstance(max_age, int | float) else max_age
        if age is not None and age < timedelta(0):
            raise ValueError(f"should_full_sync(max_age={max_age!r}): the age must not be negative")
        now = now or datetime.now(UTC)
        last = self.last_full_sync
        if self.forced:
            self.reason = "forced (--full-sync)"
        elif last is None:
            self.reason = "first run"
        elif self.memory.get("last_run_ok") is False:
            self.reason = "the last run failed"
        elif age is not None and now - last >= age:
            self.reason = f"the last full sync is older than {age}"
        self.asked = bool(self.reason)
        if not self.asked:
            self.reason = f"incremental (last full sync {last.isoformat(timespec='seconds') if last else '?'})"
        return self.asked

    def after_run(self, *, ok: bool, now: datetime | None = None) -> dict[str, Any]:
        """The memory to keep once the run ended (``ok``: it succeeded)."""
        stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
        memory = {**self.memory, "last_run": stamp, "last_run_ok": ok}
        if ok and self.asked is not False:
            memory["last_full_sync"] = stamp
        return memory
