"""From whatever ended a run to the error code the stack records.

The contract of cozy-konnector-libs: a connector ends with ``KonnectorError(code)``; anything else
is ``UNKNOWN_ERROR``. A few failures have an obvious code though, and saying it is kinder than
"unknown": the vendor unreachable or answering 5xx after retries is ``VENDOR_DOWN``; a full Cozy, or a full
disk under the embedded store (SQLite's "database or disk is full", ENOSPC), is
``DISK_QUOTA_EXCEEDED``. This module makes those calls, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.store._errors import QuotaExceeded, StoreCorrupted, StoreError, Unauthorized, is_disk_full

__all__ = ["Failure", "classify"]

_NETWORK_DOWN = (
    "net::ERR_CONNECTION_REFUSED",
    "net::ERR_CONNECTION_RESET",
    "net::ERR_NAME_NOT_RESOLVED",
    "net::ERR_EMPTY_RESPONSE",
    "net::ERR_CONNECTION_CLOSED",
    "net::ERR_ADDRESS_UNREACHABLE",
)


@dataclass(frozen=True)
class Failure:
    """A run's end: the ``code`` for the critical line, a human ``detail``, whether to ask for no retry."""

    code: str
    detail: str
    no_retry: bool = False
    expected: bool = True  # False: an unexpected exception, whose traceback goes to the debug log


def classify(exc: BaseException) -> Failure:
    """The :class:`Failure` for an exception that escaped the connector or the runtime."""
    if isinstance(exc, KonnectorError):
        return Failure(exc.code, exc.detail or exc.meaning, exc.no_retry)
    if isinstance(exc, QuotaExceeded):
        return Failure(errors.DISK_QUOTA_EXCEEDED, f"the Cozy refused a file: {exc.message}", True)
    if is_disk_full(exc):  # whatever part of the embedded store (or of the run) hit it
        return Failure(errors.DISK_QUOTA_EXCEEDED, f"the disk is full: {exc}", True)
    if isinstance(exc, StoreCorrupted):
        return Failure(errors.UNKNOWN_ERROR, exc.message)
    if isinstance(exc, Unauthorized):
        return Failure(errors.UNKNOWN_ERROR, f"the Cozy refused the konnector token: {exc.message}", False)
    if isinstance(exc, StoreError):
        return Failure(errors.UNKNOWN_ERROR, f"the store failed: {type(exc).__name__}: {exc.message}", expected=False)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status >= 500 or status == 429:
            return Failure(errors.VENDOR_DOWN, f"the vendor answered {status} to {_short(exc.request.url)}")
        return Failure(
            errors.UNKNOWN_ERROR, f"the vendor answered {status} to {_short(exc.request.url)}", expected=False
        )
    if isinstance(exc, httpx.TransportError):
        return Failure(errors.VENDOR_DOWN, f"the vendor is unreachable: {type(exc).__name__}")
    text = str(exc)
    if type(exc).__module__.startswith("playwright") and any(marker in text for marker in _NETWORK_DOWN):
        marker = next(m for m in _NETWORK_DOWN if m in text)
        return Failure(errors.VENDOR_DOWN, f"the browser could not reach the vendor ({marker})")
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return Failure(errors.UNKNOWN_ERROR, f"{type(exc).__name__}: {first_line}"[:500], expected=False)


def _short(url: httpx.URL) -> str:
    """A URL without its query (query values may hold tokens)."""
    return str(url.copy_with(query=None, fragment=None))
