"""browserkonnector: write Cozy connectors in Python that drive a real Chromium.

The public API, re-exported here (everything else may move)::

    from browserkonnector import Konnector, RunContext, Bill, KonnectorError, errors

Heavy parts (the browser layer, the stores) load on first use, so a connector that needs no browser does
not pay for Playwright's import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from browserkonnector import _errors as errors
from browserkonnector import _limits as limits
from browserkonnector._errors import (
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
from browserkonnector._lazy import lazy_exports
from browserkonnector._redact import Redactor

if TYPE_CHECKING:
    from browserkonnector._parsing import Amount, html_of, parse_amount, parse_date
    from browserkonnector._request import request_factory
    from browserkonnector.browser.toolkit._html import SessionLost
    from browserkonnector.browser.toolkit._lists import ListNotStable, collect_rows, read_indexeddb
    from browserkonnector.browser.toolkit._waits import NothingHappened, Waited
    from browserkonnector.runtime._context import RunContext
    from browserkonnector.runtime._konnector import Konnector
    from browserkonnector.runtime._login import logged_in_if
    from browserkonnector.runtime._options import RunOptions
    from browserkonnector.runtime._run import RunResult
    from browserkonnector.save import (
        BankAccount,
        BankOperation,
        BankSaveResult,
        Bill,
        BillOptions,
        Fetched,
        FileEntry,
        FileOptions,
        add_data,
        hydrate_and_filter,
        link_bank_operations,
        save_bank_data,
        save_bills,
        save_files,
        update_or_create,
    )
    from browserkonnector.store._base import AppInfo, FileDoc, Store
    from browserkonnector.store._cozy import CozyStackStore
    from browserkonnector.store._local import LocalStore

__all__ = [
    "AccountNotFound",
    "Amount",
    "AppInfo",
    "BankAccount",
    "BankOperation",
    "BankSaveResult",
    "Bill",
    "BillOptions",
    "CaptchaFailed",
    "CozyStackStore",
    "Fetched",
    "FileDoc",
    "FileEntry",
    "FileFailed",
    "FileOptions",
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
    "limits",
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
    "Konnector": "browserkonnector.runtime._konnector",
    "RunContext": "browserkonnector.runtime._context",
    "RunOptions": "browserkonnector.runtime._options",
    "RunResult": "browserkonnector.runtime._run",
    "Bill": "browserkonnector.save",
    "BankAccount": "browserkonnector.save",
    "BankOperation": "browserkonnector.save",
    "BankSaveResult": "browserkonnector.save",
    "save_bank_data": "browserkonnector.save",
    "ListNotStable": "browserkonnector.browser.toolkit._lists",
    "collect_rows": "browserkonnector.browser.toolkit._lists",
    "read_indexeddb": "browserkonnector.browser.toolkit._lists",
    "BillOptions": "browserkonnector.save",
    "FileEntry": "browserkonnector.save",
    "FileOptions": "browserkonnector.save",
    "Fetched": "browserkonnector.save",
    "add_data": "browserkonnector.save",
    "hydrate_and_filter": "browserkonnector.save",
    "link_bank_operations": "browserkonnector.save",
    "save_bills": "browserkonnector.save",
    "save_files": "browserkonnector.save",
    "update_or_create": "browserkonnector.save",
    "AppInfo": "browserkonnector.store._base",
    "FileDoc": "browserkonnector.store._base",
    "Store": "browserkonnector.store._base",
    "CozyStackStore": "browserkonnector.store._cozy",
    "LocalStore": "browserkonnector.store._local",
    "request_factory": "browserkonnector._request",
    "logged_in_if": "browserkonnector.runtime._login",
    "Amount": "browserkonnector._parsing",
    "html_of": "browserkonnector._parsing",
    "parse_amount": "browserkonnector._parsing",
    "parse_date": "browserkonnector._parsing",
    "SessionLost": "browserkonnector.browser.toolkit._html",
    "NothingHappened": "browserkonnector.browser.toolkit._waits",
    "Waited": "browserkonnector.browser.toolkit._waits",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
