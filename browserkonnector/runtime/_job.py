"""Konnector job mode: the environment the Cozy stack gives a job, and the job's account document.

The stack's konnector worker starts a job with ``COZY_URL``, ``COZY_CREDENTIALS`` (the konnector token),
``COZY_FIELDS`` (the trigger message: ``account``, ``folder_to_save``, ``konnector``), ``COZY_PARAMETERS``,
``COZY_JOB_MANUAL_EXECUTION`` and ``COZY_TIME_LIMIT`` (the stack's konnector worker; docs/stack-conformance.md). As
BaseKonnector's ``initAttributes`` does, the run then reads the account (``io.cozy.accounts``: its
``auth`` holds the credentials, its ``data`` the connector's own state, its ``state`` the login state the
Home app watches) and resolves ``folder_to_save`` (a directory *id*) to a path.

Without a Cozy job (a local run into the embedded store), the same :class:`Account` API works on a local
account document, so account data — and the site-change report built on it — persists between runs.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.store._base import Doc, Store
from browserkonnector.store._errors import Conflict, NotFound, StoreError

__all__ = [
    "ACCOUNTS_DOCTYPE",
    "Account",
    "JobEnv",
    "TwoFAType",
    "load_account",
    "local_account",
    "resolve_folder",
]

ACCOUNTS_DOCTYPE = "io.cozy.accounts"
TwoFAType = str  # "email" | "sms" | "app_code" | "app"
_TWOFA_SUFFIX = {"email": ".EMAIL", "sms": ".SMS", "app_code": ".APP_CODE", "app": ".APP"}
log = logger.bind(namespace="Konnector")


@dataclass(frozen=True)
class JobEnv:
    """What the stack's konnector worker put in the environment (all optional outside a job)."""

    cozy_url: str | None = None
    credentials: str | None = None
    message: dict[str, Any] = field(default_factory=dict)
    manual_execution: bool = True
    time_limit: float | None = None
    job_id: str | None = None
    trigger_id: str | None = None
    locale: str | None = None

    @property
    def is_job(self) -> bool:
        """True when the run talks to a Cozy (``COZY_URL`` and ``COZY_CREDENTIALS`` are set)."""
        return bool(self.cozy_url and self.credentials)

    @property
    def account_id(self) -> str | None:
        value = self.message.get("account")
        return str(value) if value else None

    @property
    def folder_id(self) -> str | None:
        value = self.message.get("folder_to_save")
        return str(value) if value else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> JobEnv:
        raw_fields = environ.get("COZY_FIELDS", "").strip()
        try:
            message = json.loads(raw_fields) if raw_fields else {}
        except json.JSONDecodeError as exc:
            raise KonnectorError(errors.INVALID_FIELDS, f"COZY_FIELDS is not valid JSON: {exc.msg}") from None
        if not isinstance(message, dict):
            raise KonnectorError(errors.INVALID_FIELDS, "COZY_FIELDS must be a JSON object")
        limit = environ.get("COZY_TIME_LIMIT", "").strip()
        try:
            time_limit = float(limit) if limit else None
        except ValueError:
            raise KonnectorError(errors.INVALID_FIELDS, f"COZY_TIME_LIMIT={limit!r} is not a number") from None
        return cls(
            cozy_url=environ.get("COZY_URL") or None,
            credentials=environ.get("COZY_CREDENTIALS") or None,
            message=message,
            # The stack sets "true"/"false"; a local run is a person at a terminal, so manual.
            manual_execution=environ.get("COZY_JOB_MANUAL_EXECUTION", "true").strip().lower() == "true",
            time_limit=time_limit,
            job_id=environ.get("COZY_JOB_ID") or None,
            trigger_id=environ.get("COZY_TRIGGER_ID") or None,
            locale=environ.get("COZY_LOCALE") or None,
        )


class Account:
    """The run's ``io.cozy.accounts`` document: credentials, connector data, login state.

    Writes follow cozy-client-js' ``updateAttributes`` (GET, merge, PUT with the current ``_rev``),
    retried on a conflict, so a Home app writing ``twoFACode`` at the same time loses nothing.
    """

    def __init__(self, store: Store | None, doc: Doc) -> None:
        self.store = store
        self.doc = doc

    @classmethod
    def detached(cls, doc: Doc) -> Account:
        """An account kept in memory only: a job that names no account still gets the same API."""
        return cls(None, doc)

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def auth(self) -> dict[str, Any]:
        return {**(self.doc.get("auth") or {}), **(self.doc.get("oauth") or {})}

    @property
    def data(self) -> dict[str, Any]:
        """The connector's state kept between runs (``account.data``), a copy."""
        data: dict[str, Any] = json.loads(json.dumps(self.doc.get("data") or {}))
        return data

    async def refresh(self) -> Doc:
        if self.store is not None:
            self.doc = await self.store.get(ACCOUNTS_DOCTYPE, self.id)
        return self.doc

    async def update(self, attributes: Mapping[str, Any], *, tries: int = 3) -> Doc:
        """Merge ``attributes`` into the account (top-level keys), retrying on a write conflict."""
        if self.store is None:
            self.doc = {**self.doc, **attributes}
            return self.doc
        for attempt in range(tries):
            current = await self.store.get(ACCOUNTS_DOCTYPE, self.id)
            try:
                self.doc = await self.store.update(ACCOUNTS_DOCTYPE, {**_strip_type(current), **attributes})
                return self.doc
            except Conflict:
                if attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    async def save_data(self, data: Mapping[str, Any], *, merge: bool = True) -> dict[str, Any]:
        """``saveAccountData``: write the connector's state (merged into the current one by default)."""
        current = (await self.refresh()).get("data") or {}
        new = {**current, **data} if merge else dict(data)
        await self.update({"data": new})
        return new

    async def set_state(self, state: str | None, **extra: Any) -> None:
        """Set the account ``state`` the Home app watches (``LOGIN_SUCCESS``, ``TWOFA_NEEDED.EMAIL``...)."""
        await self.update({"state": state, **extra})

    async def wait_for_two_fa_code(
        self,
        *,
        manual_execution: bool,
        type: TwoFAType = "email",
        timeout: float = 180.0,
        heartbeat: float = 5.0,
        retry: bool = False,
    ) -> str:
        """``waitForTwoFaCode``: ask the Home app for a code and poll the account until it is written.

        Not in a manual run, nobody is there to type it: fail at once with ``TWOFA_EXPIRED``.
        """
        if not manual_execution:
            raise KonnectorError(errors.USER_ACTION_NEEDED_TWOFA_EXPIRED, "2FA needs a manual run")
        state = ("TWOFA_NEEDED_RETRY" if retry else "TWOFA_NEEDED") + _TWOFA_SUFFIX.get(type, "")
        await self.set_state(state, twoFACode=None)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            await asyncio.sleep(min(heartbeat, max(end - time.monotonic(), 0)))
            code = (await self.refresh()).get("twoFACode")
            if code:
                await self.set_state(None, twoFACode=None)
                return str(code)
        raise KonnectorError(errors.USER_ACTION_NEEDED_TWOFA_EXPIRED, f"no code entered within {timeout:.0f} s")


def _strip_type(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_type"}


async def load_account(store: Store, account_id: str) -> Account:
    """The job's account; ``CANNOT_FIND_ACCOUNT`` (or ``TOS_NOT_ACCEPTED``) when it cannot be read."""
    try:
        return Account(store, await store.get(ACCOUNTS_DOCTYPE, account_id))
    except StoreError as exc:
        if "TOS Updated" in str(exc) or exc.status == 402:
            raise KonnectorError(errors.TOS_NOT_ACCEPTED) from None
        raise KonnectorError(errors.CANNOT_FIND_ACCOUNT, f"io.cozy.accounts/{account_id}: {exc.message}") from None


async def local_account(store: Store, slug: str, identifier: str | None) -> Account:
    """The account document of a local run, created on first use: ``<slug>-<identifier>``."""
    account_id = f"{slug}-{identifier or 'default'}".lower()
    try:
        return Account(store, await store.get(ACCOUNTS_DOCTYPE, account_id))
    except NotFound:
        doc: Doc = {"_id": account_id, "account_type": slug, "identifier": identifier, "data": {}, "state": None}
        try:
            return Account(store, await store.create(ACCOUNTS_DOCTYPE, doc))
        except Conflict:  # another run created it meanwhile
            return Account(store, await store.get(ACCOUNTS_DOCTYPE, account_id))


async def resolve_folder(store: Store, folder_id: str) -> str:
    """``folder_to_save`` (a directory id) → its path; ``NOT_EXISTING_DIRECTORY`` when absent."""
    try:
        folder = await store.stat(folder_id)
    except StoreError as exc:
        raise KonnectorError(errors.NOT_EXISTING_DIRECTORY, f"folder {folder_id}: {exc.message}") from None
    if not folder.is_dir or not folder.path:
        raise KonnectorError(errors.NOT_EXISTING_DIRECTORY, f"{folder_id} is not a directory")
    return folder.path
