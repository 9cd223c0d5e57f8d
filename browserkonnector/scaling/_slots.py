"""At most N runs of one vendor at once, across every worker and machine: slots in Redis.

Celery's own ``rate_limit`` is per worker and per task type; a vendor that blocks an IP after a few
parallel logins needs a limit shared by all workers. A slot is a Redis key ``bk:slot:<vendor>:<i>`` set
with ``NX`` and a lease (``EX``): a worker killed mid-run cannot hold its slot past the lease, so the
limit never deadlocks. Release deletes the key only if it still holds this run's token (a Lua compare-
and-delete), so a run whose lease expired never frees someone else's slot.
"""

from __future__ import annotations

import secrets
import time
from types import TracebackType
from typing import Any

__all__ = ["VendorSlot"]

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class VendorSlot:
    """``with VendorSlot(redis, "demo", limit=2, lease=900, wait=60) as held: ...``; ``held`` is False when
    no slot came free within ``wait`` seconds (the caller retries the task later)."""

    def __init__(self, client: Any, vendor: str, *, limit: int, lease: float, wait: float) -> None:
        if limit < 1:
            raise ValueError(f"vendor {vendor!r}: concurrency limit {limit} must be >= 1")
        self.client, self.vendor, self.limit = client, vendor, limit
        self.lease, self.wait = max(1, int(lease)), wait
        self.token = secrets.token_hex(8)
        self.key: str | None = None

    def acquire(self) -> bool:
        deadline = time.monotonic() + self.wait
        while True:
            for index in range(self.limit):
                key = f"bk:slot:{self.vendor}:{index}"
                if self.client.set(key, self.token, nx=True, ex=self.lease):
                    self.key = key
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def release(self) -> None:
        if self.key is not None:
            self.client.eval(_RELEASE, 1, self.key, self.token)
            self.key = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
