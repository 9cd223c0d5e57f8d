"""Where a run's documents and files go: the store protocol and its two implementations.

:class:`Store` is the protocol (Cozy semantics: doctypes, revisions, the files tree, ``cozyMetadata``);
:class:`LocalStore` keeps them in SQLite and a folder (the default), :class:`CozyStackStore` on a Cozy
stack over its HTTP API. Every error is a :class:`StoreError` subclass named after the stack's status.
This ``__init__`` is the package's contract; the modules behind it are private and may move. Names are
imported on first use (PEP 562): a run on the embedded store does not import the stack client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector._lazy import lazy_exports

if TYPE_CHECKING:
    from browserkonnector.store._base import (
        FILES_DOCTYPE,
        ROOT_DIR_ID,
        TRASH_DIR_ID,
        AppInfo,
        Doc,
        FileDoc,
        Reference,
        Store,
    )
    from browserkonnector.store._cozy import CozyStackStore, StackCredentials
    from browserkonnector.store._errors import (
        BadRequest,
        Conflict,
        Forbidden,
        InvalidName,
        NoIndex,
        NotFound,
        PreconditionFailed,
        QuotaExceeded,
        StoreCorrupted,
        StoreError,
        StoreUnavailable,
        Unauthorized,
        Unprocessable,
    )
    from browserkonnector.store._local import LocalStore

_EXPORTS: dict[str, str] = {  # name -> the private module defining it
    "AppInfo": "._base",
    "Doc": "._base",
    "FILES_DOCTYPE": "._base",
    "FileDoc": "._base",
    "ROOT_DIR_ID": "._base",
    "Reference": "._base",
    "Store": "._base",
    "TRASH_DIR_ID": "._base",
    "LocalStore": "._local",
    "CozyStackStore": "._cozy",
    "StackCredentials": "._cozy",
    "BadRequest": "._errors",
    "Conflict": "._errors",
    "Forbidden": "._errors",
    "InvalidName": "._errors",
    "NoIndex": "._errors",
    "NotFound": "._errors",
    "PreconditionFailed": "._errors",
    "QuotaExceeded": "._errors",
    "StoreCorrupted": "._errors",
    "StoreError": "._errors",
    "StoreUnavailable": "._errors",
    "Unauthorized": "._errors",
    "Unprocessable": "._errors",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = [
    "FILES_DOCTYPE",
    "ROOT_DIR_ID",
    "TRASH_DIR_ID",
    "AppInfo",
    "BadRequest",
    "Conflict",
    "CozyStackStore",
    "Doc",
    "FileDoc",
    "Forbidden",
    "InvalidName",
    "LocalStore",
    "NoIndex",
    "NotFound",
    "PreconditionFailed",
    "QuotaExceeded",
    "Reference",
    "StackCredentials",
    "Store",
    "StoreCorrupted",
    "StoreError",
    "StoreUnavailable",
    "Unauthorized",
    "Unprocessable",
]
