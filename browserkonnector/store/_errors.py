"""Typed errors of the store layer, the same for the embedded store and a real Cozy.

Each one mirrors an HTTP status of the cozy-stack API (docs/stack-conformance.md), so code written
against :class:`~browserkonnector.store._base.Store` handles a conflict the same way whether it came from
SQLite or from a remote ``409``::

    StoreError                      any failure of a store operation
    ├── BadRequest          400     malformed request (bad selector, _id on POST, ...)
    │   └── NoIndex         400     ``no_index`` / ``no_usable_index``: the query needs an index
    ├── Unauthorized        401     no, invalid or expired token (``expired`` tells which)
    ├── Forbidden           403     valid token without the permission
    ├── NotFound            404     document, file, folder or doctype absent (``reason``)
    ├── Conflict            409     stale or missing ``_rev``, id taken, file name taken in the folder
    ├── PreconditionFailed  412     ``If-Match`` mismatch, ``Content-MD5`` or length mismatch
    ├── QuotaExceeded       413     the Cozy is full, or the file is too large
    ├── InvalidName         422     a name the stack refuses (empty, ``.``, ``..``, ``/``, NUL, CR, LF)
    │   (Unprocessable      422     any other semantic refusal; InvalidName is one)
    ├── StoreUnavailable    5xx     the store could not be reached, or kept failing after retries
    └── StoreCorrupted      500     the embedded store's database is damaged (the message says what to do)
"""

from __future__ import annotations

import errno
import sqlite3

__all__ = [
    "BadRequest",
    "Conflict",
    "Forbidden",
    "InvalidName",
    "NoIndex",
    "NotFound",
    "PreconditionFailed",
    "QuotaExceeded",
    "StoreCorrupted",
    "StoreError",
    "StoreUnavailable",
    "Unauthorized",
    "Unprocessable",
    "error_for_status",
    "is_disk_full",
]


class StoreError(Exception):
    """A store operation failed. ``status`` is the HTTP status it maps to, ``reason`` the stack's reason."""

    status: int = 500

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        if status is not None:
            self.status = status


class BadRequest(StoreError):
    status = 400


class NoIndex(BadRequest):
    """The stack refuses a ``_find`` that no index serves (``no_index``/``no_usable_index``)."""


class Unauthorized(StoreError):
    status = 401

    def __init__(self, message: str, *, reason: str | None = None, expired: bool = False) -> None:
        super().__init__(message, reason=reason)
        self.expired = expired


class Forbidden(StoreError):
    status = 403


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class PreconditionFailed(StoreError):
    status = 412


class QuotaExceeded(StoreError):
    status = 413


class Unprocessable(StoreError):
    status = 422


class InvalidName(Unprocessable):
    """A file or folder name the stack's rules refuse."""


class StoreUnavailable(StoreError):
    status = 503


class StoreCorrupted(StoreError):
    """The embedded store's database cannot be read (damaged, or not a database): never worth a retry."""

    status = 500


_BY_STATUS: dict[int, type[StoreError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: QuotaExceeded,
    422: Unprocessable,
}


def error_for_status(status: int, message: str, *, reason: str | None = None) -> StoreError:
    """The typed error for an HTTP status (5xx and unknown codes give :class:`StoreUnavailable`)."""
    if status == 400 and reason in {"no_index", "no_usable_index"}:
        return NoIndex(message, reason=reason)
    cls = _BY_STATUS.get(status)
    if cls is None:
        return StoreUnavailable(message, reason=reason, status=status)
    if cls is Unauthorized:
        return Unauthorized(message, reason=reason, expired="expired" in (message + (reason or "")).lower())
    return cls(message, reason=reason, status=status)


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's ``SQLITE_FULL`` ("database or disk is full"), or ENOSPC / EDQUOT from the OS."""
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
