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
from browserkonnector.errors import (
    AccountNotFound,
    CaptchaFailed,
    FileFailed,
    InvalidFields,
    KonnectorError,
    LoginFailed,
    TwoFactorFailed,
    UnknownError,
    UserActionNeeded,
    VendorDown,
)
from browserkonnector.redact import Redactor

if TYPE_CHECKING:
    from browserkonnector.browser.html import SessionLost
    from browserkonnector.browser.lists import ListNotStable, collect_rows, read_indexeddb
    from browserkonnector.browser.waits import NothingHappened, Waited
    from browserkonnector.parsing import Amount, html_of, parse_amount, parse_date
    from browserkonnector.request import request_factory
    from browserkonnector.runtime.context import RunContext
    from browserkonnector.runtime.konnector import Konnector
    from browserkonnector.runtime.login import logged_in_if
    from browserkonnector.runtime.options import RunOptions
    from browserkonnector.runtime.run import RunResult
    from browserkonnector.save import (
        BankAccount,
        BankOperation,
        BankSaveResult,
        Bill,
        Fetched,
        FileEntry,
        add_data,
        hydrate_and_filter,
        link_bank_operations,
        save_bank_data,
        save_bills,
        save_files,
        update_or_create,
    )
    from browserkonnector.store.base import AppInfo, FileDoc, Store
    from browserkonnector.store.cozy import CozyStackStore
    from browserkonnector.store.local import LocalStore

__all__ = [
    "AccountNotFound",
    "Amount",
    "AppInfo",
    "BankAccount",
    "BankOperation",
    "BankSaveResult",
    "Bill",
    "CaptchaFailed",
    "CozyStackStore",
    "Fetched",
    "FileDoc",
    "FileEntry",
    "FileFailed",
    "InvalidFields",
    "Konnector",
    "KonnectorError",
    "ListNotStable",
    "LocalStore",
    "LoginFailed",
    "NothingHappened",
    "Redactor",
    "RunContext",
    "RunOptions",
    "RunResult",
    "SessionLost",
    "Store",
    "TwoFactorFailed",
    "UnknownError",
    "UserActionNeeded",
    "VendorDown",
    "Waited",
    "add_data",
    "collect_rows",
    "errors",
    "html_of",
    "hydrate_and_filter",
    "link_bank_operations",
    "logged_in_if",
    "parse_amount",
    "parse_date",
    "read_indexeddb",
    "request_factory",
    "save_bank_data",
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
    "BankAccount": "browserkonnector.save",
    "BankOperation": "browserkonnector.save",
    "BankSaveResult": "browserkonnector.save",
    "save_bank_data": "browserkonnector.save",
    "ListNotStable": "browserkonnector.browser.lists",
    "collect_rows": "browserkonnector.browser.lists",
    "read_indexeddb": "browserkonnector.browser.lists",
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
    "Amount": "browserkonnector.parsing",
    "html_of": "browserkonnector.parsing",
    "parse_amount": "browserkonnector.parsing",
    "parse_date": "browserkonnector.parsing",
    "SessionLost": "browserkonnector.browser.html",
    "NothingHappened": "browserkonnector.browser.waits",
    "Waited": "browserkonnector.browser.waits",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
