"""Before the connector runs: the store, the account, the destination folder and the validated fields.

All of it happens before the browser starts, so a missing field or an unreadable account costs a fraction
of a second, not a Chromium launch. In a Cozy job the credentials come from the account document; in a
local run from ``--fields``/``--field`` and ``konnector-dev-config.json``, into the embedded store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loguru import logger
from pydantic import BaseModel

from browserkonnector._redact import Redactor
from browserkonnector.runtime._config import (
    FieldSource,
    collect_sources,
    secret_values,
    validate_fields,
)
from browserkonnector.runtime._job import Account, JobEnv, load_account, local_account, resolve_folder
from browserkonnector.runtime._options import RunOptions
from browserkonnector.save import sanitize_file_name
from browserkonnector.store._base import AppInfo, Store

if TYPE_CHECKING:
    from browserkonnector.runtime._konnector import Konnector

__all__ = ["Prepared", "open_store", "prepare"]

log = logger.bind(namespace="Konnector")
IDENTIFIER_FIELDS = ("login", "email", "identifier", "username")


@dataclass
class Prepared:
    """What the runtime knows before the browser starts."""

    fields: Any
    raw_fields: dict[str, Any]
    parameters: dict[str, Any]
    account: Account
    identifier: str | None
    folder_path: str


async def open_store(konnector: Konnector[Any], options: RunOptions, job: JobEnv, redactor: Redactor) -> Store:
    """A Cozy in job mode (``COZY_URL`` + ``COZY_CREDENTIALS``), else the embedded store."""
    app = AppInfo(konnector.slug, konnector.version)
    if job.is_job:
        from browserkonnector.store._cozy import CozyStackStore

        redactor.add_all(_credential_secrets(job.credentials or ""))  # never in a log line or a bundle
        return CozyStackStore.from_env(options.environ, app=app, redactor=redactor)
    from browserkonnector.store._local import LocalStore

    return LocalStore(options.store_dir, app=app)


def _credential_secrets(credentials: str) -> list[str]:
    """The konnector token, or every secret of the dev-mode OAuth object (tokens, client secret)."""
    import json

    try:
        data = json.loads(credentials)
    except ValueError:
        return [credentials.strip()]
    if not isinstance(data, dict):
        return [credentials.strip()]
    token, oauth = data.get("token") or {}, data.get("oauthOptions") or {}
    return [
        str(v)
        for v in (
            token.get("accessToken"),
            token.get("refreshToken"),
            oauth.get("clientSecret"),
            oauth.get("registrationAccessToken"),
        )
        if v
    ]


def _identifier(raw: dict[str, Any], account: Account | None) -> str | None:
    for name in IDENTIFIER_FIELDS:
        value = raw.get(name)
        if isinstance(value, str) and value:
            return value
    if account is not None and account.doc.get("identifier"):
        return str(account.doc["identifier"])
    return None


async def prepare(
    konnector: Konnector[Any], options: RunOptions, job: JobEnv, store: Store, redactor: Redactor
) -> Prepared:
    """Gather and validate fields, open the account, resolve the folder; register every secret."""
    manifest = konnector.manifest
    config = collect_sources(
        konnector.folder, fields_file=options.fields_file, cli_fields=options.cli_fields, environ=options.environ
    )
    account: Account | None = None
    folder_path: str | None = None
    if job.is_job:
        if job.account_id:
            account = await load_account(store, job.account_id)
            auth = {**account.auth}
            config = config.with_source(
                FieldSource(f"account io.cozy.accounts/{account.id} (COZY_FIELDS)", auth), before=str(konnector.folder)
            )
        else:
            log.warning("COZY_FIELDS names no account: running without account data")
        folder_id = job.folder_id or (account.doc.get("folderId") if account is not None else None)
        if folder_id:
            folder_path = await resolve_folder(store, str(folder_id))
    secret_names = manifest.secret_fields if manifest is not None else set()
    # Register what looks secret *before* validating, so not even a validation error can print it.
    from browserkonnector.runtime._config import merge_sources

    early, _ = merge_sources(config.sources)
    redactor.add_all(secret_values(early, early, secret_names=secret_names, parameters=config.parameters))
    required = manifest.required_fields if manifest is not None else set()
    fields, raw = validate_fields(konnector.fields_model, config.sources, required=required)
    redactor.add_all(
        secret_values(
            fields if isinstance(fields, BaseModel) else raw,
            raw,
            secret_names=secret_names,
            parameters=config.parameters,
        )
    )
    identifier = _identifier(raw, account)
    if account is None:
        account = (
            await local_account(store, konnector.slug, identifier)
            if not job.is_job
            else Account.detached({"_id": "no-account", "data": {}})
        )
    if folder_path is None:
        # The vendor's name as a folder name: "../x" or "a/b" must neither fail the run nor leave the tree.
        folder_path = f"/Administratif/{sanitize_file_name(konnector.vendor) or konnector.slug}"
    if folder_path and "folderPath" not in raw:
        raw["folderPath"] = folder_path
    return Prepared(fields, raw, config.parameters, account, identifier, folder_path)
