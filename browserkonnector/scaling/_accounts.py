"""Where a queued run finds its account's fields, where it saves, and whether a failure is retried.

Nothing here imports Celery: the same rules serve any task queue.

**Fields never travel in a task.** A task names a connector and an account (``"demo_vendor"``,
``"alice-home"``); the worker reads the account's fields from a secret source it alone can read, so no
password reaches the broker, the result backend, a monitoring UI or a log line:

- ``BROWSERKONNECTOR_ACCOUNTS_DIR``: a folder of ``<account>.json`` files (the ``--fields`` format,
  comments allowed), readable by the worker's user only — a file that others may read is refused;
- ``BROWSERKONNECTOR_FIELDS_PROVIDER=module:function``: ``function(connector, account)`` returns the
  fields (a vault client, a secrets manager); they are written to a private temporary file for the run
  and removed after it.

**The store** is an embedded store per account on the worker: ``BROWSERKONNECTOR_STORES_DIR/<account>``
(default ``./bk-stores``). A retried run finds what the failed attempt saved there, so nothing is saved
twice; across machines, route each account to the machine that holds its store (a queue per machine).

**Retries follow the error code**: only what a later attempt can fix is retried (:data:`RETRYABLE`).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from browserkonnector import _errors as errors

__all__ = ["RETRYABLE", "AccountError", "account_store", "backoff_seconds", "fields_file_for", "is_retryable"]

_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")

#: Codes a later attempt can fix: the vendor down or in maintenance, the browser host gone or full.
#: Never ``LOGIN_FAILED*`` or ``USER_ACTION_NEEDED*`` (retrying a wrong password locks accounts), nor any
#: code a run flags ``no_retry``, nor ``UNKNOWN_ERROR``/``SITE_CHANGED`` (a bug does not heal by waiting).
RETRYABLE: frozenset[str] = frozenset({errors.VENDOR_DOWN, errors.MAINTENANCE, errors.BROWSER_UNAVAILABLE})


class AccountError(ValueError):
    """The account's name or its secret source is wrong; the message names which and where."""


def check_account(account: str) -> str:
    """Account names become file and folder names: letters, digits and ``._@+-`` only."""
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account) or ".." in account:
        raise AccountError(
            f"account {account!r}: use 1-128 letters, digits or . _ @ + - (it names a file and a folder)"
        )
    return account


def is_retryable(code: str | None, *, no_retry: bool = False) -> bool:
    """True when the run ended with a code worth another attempt (``VENDOR_DOWN.BANK_DOWN`` counts as
    ``VENDOR_DOWN``)."""
    if code is None or no_retry or errors.KonnectorError(code).no_retry:
        return False
    if code.startswith(("LOGIN_FAILED", "USER_ACTION_NEEDED")):
        return False
    return code in RETRYABLE or code.split(".", 1)[0] == errors.VENDOR_DOWN


def backoff_seconds(attempt: int, *, base: float = 30.0, cap: float = 3600.0) -> float:
    """Exponential backoff: 30 s, 60 s, 120 s... at most an hour (``attempt`` counts from 0)."""
    return float(min(cap, base * 2.0 ** max(attempt, 0)))


def account_store(account: str, environ: Mapping[str, str] | None = None) -> Path:
    """The account's embedded store on this worker."""
    env = os.environ if environ is None else environ
    return Path(env.get("BROWSERKONNECTOR_STORES_DIR") or "bk-stores") / check_account(account)


@contextmanager
def fields_file_for(connector: str, account: str, environ: Mapping[str, str] | None = None) -> Iterator[Path]:
    """A private fields file for one run of ``account`` (see the module docstring for the two sources)."""
    env = os.environ if environ is None else environ
    check_account(account)
    folder, provider = env.get("BROWSERKONNECTOR_ACCOUNTS_DIR"), env.get("BROWSERKONNECTOR_FIELDS_PROVIDER")
    if folder:
        path = Path(folder) / f"{account}.json"
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise AccountError(f"account {account!r}: no fields file {path} (BROWSERKONNECTOR_ACCOUNTS_DIR)") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AccountError(
                f"account {account!r}: {path} may be read by others (mode {stat.S_IMODE(mode):o}); chmod 600 it"
            )
        yield path
        return
    if not provider:
        raise AccountError(
            f"account {account!r}: no secret source: set BROWSERKONNECTOR_ACCOUNTS_DIR (a folder of "
            "<account>.json) or BROWSERKONNECTOR_FIELDS_PROVIDER (module:function)"
        )
    fields = _provider(provider)(connector, account)
    if not isinstance(fields, Mapping):
        raise AccountError(
            f"BROWSERKONNECTOR_FIELDS_PROVIDER={provider}: returned a {type(fields).__name__} for "
            f"{account!r}, expected a mapping of fields"
        )
    with tempfile.TemporaryDirectory(prefix="bk-fields-") as tmp:  # mode 700: ours alone
        path = Path(tmp) / "fields.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(dict(fields), handle)
        yield path


def _provider(spec: str) -> Callable[[str, str], Any]:
    module_name, _, name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), name or "fields")
    except (ImportError, AttributeError) as exc:
        raise AccountError(f"BROWSERKONNECTOR_FIELDS_PROVIDER={spec}: cannot load it ({exc})") from None
    if not callable(function):
        raise AccountError(f"BROWSERKONNECTOR_FIELDS_PROVIDER={spec}: not a function")
    return function  # type: ignore[no-any-return]
