"""The bounds of a run: nothing waits forever, no file is allowed to eat the machine.

A vendor can hang a connector in many ways: a body that never finishes, a ``Retry-After: 3600``, a
file that is 400 MB, a page that answers one byte a second. Each wait of the framework therefore has a
bound, and the bounds share one budget, the run's own time limit:

===================  ==============  ========================================  ==============================
limit                default         what it bounds                            change it with
===================  ==============  ========================================  ==============================
run time             1800 s          the whole connector (``main``)            ``--timeout S`` or
                                                                               ``BROWSERKONNECTOR_TIMEOUT``
                                                                               (``0``: none); in a Cozy job
                                                                               ``COZY_TIME_LIMIT`` minus a
                                                                               margin
file time            300 s           one file, all its retries together        ``save_bills(...,
                                                                               file_timeout=S)`` or
                                                                               ``BROWSERKONNECTOR_FILE_TIMEOUT``
Retry-After          60 s            one wait a vendor asks for (429/503)      ``BROWSERKONNECTOR_MAX_RETRY_AFTER``
file size            100 MiB         one downloaded file (read in chunks,      ``BROWSERKONNECTOR_MAX_FILE_MB``
                                     cut at the cap, never retried; past
                                     8 MiB spilled to a temporary file)
body read            30 s            reading one browser response's body       ``read_body(response,
                                     (``capture_json``, :func:`read_body`)     timeout=S)``
===================  ==============  ========================================  ==============================

A wait that would outlast the run's remaining time is not started: a ``Retry-After`` longer than
what is left gives up at once (the vendor's answer is returned as is, and the run ends with the code
it deserves, ``VENDOR_DOWN`` for a 429) instead of sleeping past the limit.

The run's deadline lives in a context variable set by the runtime around the connector's ``main``:
every task the connector starts inherits it, and code outside a run (a unit test, a script) sees no
deadline. This module is a bottom layer: it imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "BODY_TIMEOUT_S",
    "DEFAULT_RUN_TIMEOUT_S",
    "FILE_TIMEOUT_S",
    "MAX_FILE_BYTES",
    "MAX_RETRY_AFTER_S",
    "FileTooLarge",
    "LimitExceeded",
    "deadline_scope",
    "file_timeout",
    "max_file_bytes",
    "max_retry_after",
    "read_capped",
    "remaining",
    "run_timeout_from_env",
]

#: The run time limit outside a Cozy job, when neither ``--timeout`` nor the environment sets one.
DEFAULT_RUN_TIMEOUT_S = 1800.0
#: One file, across all its attempts and their waits.
FILE_TIMEOUT_S = 300.0
#: The longest ``Retry-After`` honoured (a longer one is cut to this, if the run has that much left).
MAX_RETRY_AFTER_S = 60.0
#: The largest file downloaded (bigger: the download stops at the cap and the file fails).
MAX_FILE_BYTES = 100 * 1024 * 1024
#: Reading one response body through the browser.
BODY_TIMEOUT_S = 30.0

_deadline: ContextVar[float | None] = ContextVar("browserkonnector_deadline", default=None)


class LimitExceeded(Exception):
    """A bound of :mod:`browserkonnector._limits` was hit: never worth retrying."""


class FileTooLarge(LimitExceeded):
    """A download went past the file-size cap (stopped there: the rest was never read)."""

    def __init__(self, size: int, cap: int, url: str | None = None) -> None:
        where = f" ({url})" if url else ""
        super().__init__(
            f"file larger than the {cap // (1024 * 1024)} MiB cap: {size} bytes or more{where}; "
            "raise BROWSERKONNECTOR_MAX_FILE_MB to accept it"
        )
        self.size, self.cap = size, cap


def _env_float(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must be >= 0")
    return value


def run_timeout_from_env(environ: Mapping[str, str]) -> float | None:
    """``BROWSERKONNECTOR_TIMEOUT`` (seconds; ``0`` for none), else :data:`DEFAULT_RUN_TIMEOUT_S`."""
    value = _env_float(environ, "BROWSERKONNECTOR_TIMEOUT")
    if value is None:
        return DEFAULT_RUN_TIMEOUT_S
    return value or None


def max_retry_after(environ: Mapping[str, str] | None = None) -> float:
    value = _env_float(os.environ if environ is None else environ, "BROWSERKONNECTOR_MAX_RETRY_AFTER")
    return MAX_RETRY_AFTER_S if value is None else value


def file_timeout(environ: Mapping[str, str] | None = None) -> float | None:
    """``BROWSERKONNECTOR_FILE_TIMEOUT`` (``0``: none), else :data:`FILE_TIMEOUT_S`."""
    value = _env_float(os.environ if environ is None else environ, "BROWSERKONNECTOR_FILE_TIMEOUT")
    if value is None:
        return FILE_TIMEOUT_S
    return value or None


def max_file_bytes(environ: Mapping[str, str] | None = None) -> int:
    value = _env_float(os.environ if environ is None else environ, "BROWSERKONNECTOR_MAX_FILE_MB")
    return MAX_FILE_BYTES if not value else int(value * 1024 * 1024)


def remaining() -> float | None:
    """Seconds left before the innermost deadline in force (``None``: no deadline)."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@contextlib.contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Within the block, :func:`remaining` counts down from ``seconds`` (or keeps an earlier, tighter
    deadline). ``None`` adds no deadline."""
    if seconds is None:
        yield
        return
    current = _deadline.get()
    wanted = time.monotonic() + seconds
    token = _deadline.set(wanted if current is None else min(current, wanted))
    try:
        yield
    finally:
        _deadline.reset(token)


async def read_capped(response: httpx.Response, cap: int | None = None) -> bytes:
    """The body of a *streamed* httpx response (``client.stream(...)``), refused past ``cap`` bytes
    (default :func:`max_file_bytes`): a ``Content-Length`` over the cap stops before the first byte, a
    body that keeps coming stops at the cap (:class:`FileTooLarge`), so a 400 MB answer never holds more
    than the cap in memory."""
    cap = max_file_bytes() if cap is None else cap
    url = str(response.url.copy_with(query=None, fragment=None))
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise FileTooLarge(int(declared), cap, url)
    buffer = bytearray()
    async for chunk in response.aiter_bytes():
        buffer += chunk
        if len(buffer) > cap:
            raise FileTooLarge(len(buffer), cap, url)
    return bytes(buffer)
