"""browserkonnector: write Cozy connectors in Python that drive a real Chromium.

The public API, re-exported here (everything else may move)::

    from browserkonnector import Konnector, RunContext, Bill, KonnectorError, errors

Heavy parts (the browser layer, the stores) load on first use, so a connector that needs no browser does
not pay for Playwright's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector import errors
from browserkonnector._lazy import lazy_exports
from browserkonnector.errors import KonnectorError
from browserkonnector.redact import Redactor

if TYPE_CHECKING:
    from browserkonnector.request import request_factory
    from browserkonnector.runtime.context import RunContext
    from browserkonnector.runtime.konnector import Konnector
    from browserkonnector.runtime.login import logged_in_if
    from browserkonnector.runtime.options import RunOptions
    from browserkonnector.runtime.run import RunResult
    from browserkonnector.save import (
        Bill,
        Fetched,
        FileEntry,
        add_data,
        hydrate_and_filter,
        link_bank_operations,
        save_bills,
        save_files,
        update_or_create,
    )
    from browserkonnector.store.base import AppInfo, FileDoc, Store
    from browserkonnector.store.cozy import CozyStackStore
    from browserkonnector.store.local import LocalStore

__all__ = [
    "AppInfo",
    "Bill",
    "CozyStackStore",
    "Fetched",
    "FileDoc",
    "FileEntry",
    "Konnector",
    "KonnectorError",
    "LocalStore",
    "Redactor",
    "RunContext",
    "RunOptions",
    "RunResult",
    "Store",
    "add_data",
    "errors",
    "hydrate_and_filter",
    "link_bank_operations",
    "logged_in_if",
    "request_factory",
    "save_bills",
    "save_files",
    "update_or_create",
]

_LAZY = {
    "Konnector": "browserkonnector.runtime.konnector",
    "RunContext": "browserkonnector.runtime.context",
    "RunOptions": "browserkonnector.runtime.options",
    "RunResult": "browserkonnector.runtime.run",
    "Bill": "browserkonnector.save",
    "FileEntry": "browserkonnector.save",
    "Fetched": "browserkonnector.save",
    "add_data": "browserkonnector.save",
    "hydrate_and_filter": "browserkonnector.save",
    "link_bank_operations": "browserkonnector.save",
    "save_bills": "browserkonnector.save",
    "save_files": "browserkonnector.save",
    "update_or_create": "browserkonnector.save",
    "AppInfo": "browserkonnector.store.base",
    "FileDoc": "browserkonnector.store.base",
    "Store": "browserkonnector.store.base",
    "CozyStackStore": "browserkonnector.store.cozy",
    "LocalStore": "browserkonnector.store.local",
    "request_factory": "browserkonnector.request",
    "logged_in_if": "browserkonnector.runtime.login",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
