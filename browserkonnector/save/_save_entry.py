"""Saving one file of a ``save_files`` call: keep, rename, or download-check-store.

The order of operations is what makes a killed or cancelled run harmless: nothing is written before
the bytes are downloaded and checked, and the file (content, ``metadata.fileIdAttributes`` and
``cozyMetadata``) is written by a single atomic store call, so a re-run finds either nothing (and
downloads again) or the whole file (and keeps it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import httpx
from loguru import logger
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential

from browserkonnector import errors, limits
from browserkonnector._errors import KonnectorError
from browserkonnector.save._download import Fetch, Source, describe_error, download
from browserkonnector.save._fetched import Fetched
from browserkonnector.save._lookup import Destinations
from browserkonnector.save._models import FileEntry, ShouldReplaceFile
from browserkonnector.save._replace import decide_replace
from browserkonnector.save._util import iso, maybe_await
from browserkonnector.save._validate import upload_mime
from browserkonnector.store._base import AppInfo, FileDoc, Store
from browserkonnector.store._errors import Conflict, NotFound, QuotaExceeded, StoreError, StoreUnavailable

__all__ = ["Options", "Outcome", "Plan", "SavedFile", "save_one"]

Outcome: TypeAlias = Literal["created", "replaced", "kept", "skipped", "failed"]
log = logger.bind(namespace="saveFiles")


@dataclass
class SavedFile:
    """What happened to one entry: its stored ``file`` (None if skipped or failed) and why.

    ``outcome``: ``created`` / ``replaced`` (bytes written), ``kept`` (already there, not downloaded
    again; also the entries that share another entry's file), ``skipped`` (nothing to save, or the
    ``timeout`` passed before it started: ``error == "timeout"``), ``failed`` (``error`` says why).
    """

    entry: FileEntry
    file: FileDoc | None
    outcome: Outcome
    error: str | None = None
    #: For a ``failed`` entry, the error code that says why (``FILE_DOWNLOAD_FAILED.TOO_LARGE``, ...).
    code: str | None = None


@dataclass
class Plan:
    index: int
    entry: FileEntry
    name: str
    folder: FileDoc
    key: str | None
    existing: FileDoc | None = None
    rename_from: FileDoc | None = None
    followers: list[Plan] = field(default_factory=list)


@dataclass
class Options:
    store: Store
    app: AppInfo
    dest: Destinations
    fetch: Fetch | None
    file_id_attributes: list[str] | None
    source_account: str | None
    source_account_identifier: str | None
    retries: int
    backoff: float
    attempt_timeout: float | None
    deadline: float | None
    validate_file: Callable[[FileDoc], Any] | None
    should_replace_file: ShouldReplaceFile | None
    content_type: str | bool | None
    qualification: dict[str, Any] | None
    file_timeout: float | None = limits.FILE_TIMEOUT_S


def _failed(plan: Plan, reason: str, code: str = errors.SAVE_FILE_FAILED) -> SavedFile:
    log.warning(f"SAVE_FILE_FAILED: {plan.name!r} in {plan.folder.path or plan.folder.id}: {reason}")
    return SavedFile(plan.entry, None, "failed", reason, code)


def download_failure_code(exc: BaseException) -> str:
    """The code a file that could not be downloaded deserves: too large, too slow, the vendor failing
    (5xx, 429, unreachable), or plainly not downloadable."""
    if isinstance(exc, limits.FileTooLarge):
        return errors.FILE_TOO_LARGE
    if isinstance(exc, TimeoutError):
        return errors.FILE_DOWNLOAD_TIMEOUT
    if isinstance(exc, httpx.TransportError):
        return errors.VENDOR_DOWN
    status = getattr(exc, "status", None)
    if isinstance(status, int) and (status >= 500 or status == 429):
        return errors.VENDOR_DOWN
    return errors.FILE_DOWNLOAD_FAILED


async def save_one(plan: Plan, opts: Options) -> SavedFile:
    """Save ``plan``'s file; raises only ``KonnectorError`` (quota) and cancellation."""
    entry = plan.entry
    if plan.rename_from is not None and plan.existing is None:
        renamed = await _rename(plan, opts)
        if renamed is not None:
            return SavedFile(entry, renamed, "kept")
    if plan.existing is not None:
        reason = await decide_replace(
            plan.existing,
            entry,
            validate_file=opts.validate_file,
            should_replace_file=opts.should_replace_file,
            file_id_attributes=opts.file_id_attributes,
            source_account_identifier=opts.source_account_identifier,
        )
        if reason is None:
            return SavedFile(entry, plan.existing, "kept")
        log.info(f"Will replace {plan.name} ({reason})...")
    try:
        fetched = await _download(plan, opts)
    except KonnectorError:
        raise
    except Exception as exc:
        return _failed(plan, describe_error(exc), download_failure_code(exc))
    try:
        file, outcome = await _store(plan, opts, fetched)
    except QuotaExceeded:
        # An error line: the run's one critical line (the code alone) is written when it ends.
        log.error(f"{errors.DISK_QUOTA_EXCEEDED}: the store refused {plan.name}")
        raise KonnectorError(errors.DISK_QUOTA_EXCEEDED, "the Cozy (or the disk under the store) is full") from None
    except StoreError as exc:
        return _failed(plan, f"{errors.SAVE_FILE_FAILED}: {type(exc).__name__}: {exc}")
    finally:
        fetched.discard()  # a big download's temporary file: stored or not, it is no longer needed
    if opts.validate_file is not None and not await maybe_await(opts.validate_file(file)):
        if outcome == "created":
            with contextlib.suppress(StoreError):
                await opts.store.destroy(file.id)
        return _failed(plan, "BAD_DOWNLOADED_FILE: validate_file refused the stored file")
    opts.dest.remember(plan.folder, file)
    return SavedFile(entry, file, outcome)


async def _rename(plan: Plan, opts: Options) -> FileDoc | None:
    """``shouldReplaceName``: rename the file saved under the old name; on a name clash trash it."""
    old = plan.rename_from
    assert old is not None
    log.debug(f"Renaming {old.name} to {plan.name}")
    try:
        renamed = await opts.store.update_file(old.id, name=plan.name)
    except Conflict:
        log.warning(f"{plan.name} already exists. Removing {old.name}")
        with contextlib.suppress(StoreError):
            await opts.store.trash(old.id)
        return None
    except StoreError as exc:
        log.warning(f"could not rename {old.name} to {plan.name}: {exc}")
        return None
    opts.dest.remember(plan.folder, renamed)
    return renamed


async def _download(plan: Plan, opts: Options) -> Fetched:
    forced = opts.content_type if isinstance(opts.content_type, str) else None

    def on_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.info(
            f"retrying {plan.entry.describe()} in {wait:.1f}s after: "
            f"{describe_error(error) if error else '?'} (attempt {state.attempt_number})"
        )

    timer = asyncio.timeout_at(opts.deadline) if opts.deadline is not None else contextlib.nullcontext()
    async with timer:
        return await download(
            Source(plan.entry, opts.fetch),
            name=plan.name,
            forced_mime=forced,
            retries=opts.retries,
            backoff=opts.backoff,
            attempt_timeout=opts.attempt_timeout,
            on_retry=on_retry,
            file_timeout=opts.file_timeout,
        )


def _candidate_names(name: str, tries: int = 50) -> Iterator[str]:
    """``facture.pdf``, then ``facture (2).pdf``, ``facture (3).pdf``... for a name another document holds."""
    yield name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    for n in range(2, tries + 2):
        yield f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"


def _metadata(plan: Plan, opts: Options) -> dict[str, Any]:
    metadata = dict(plan.entry.file_attributes.get("metadata") or {})
    if opts.qualification is not None and "qualification" not in metadata:
        metadata["qualification"] = opts.qualification
    if plan.key is not None:
        metadata["fileIdAttributes"] = plan.key
    return metadata


async def _store(plan: Plan, opts: Options, fetched: Fetched) -> tuple[FileDoc, Outcome]:
    data = fetched.content  # the bytes, or a spilled download's file (the store streams it)
    mime = upload_mime(plan.name, fetched, opts.content_type)
    attrs = plan.entry.file_attributes
    created_at = attrs.get("created_at") or attrs.get("createdAt")
    tags = attrs.get("tags")
    md5 = await asyncio.to_thread(fetched.md5_base64) if fetched.spilled else fetched.md5_base64()
    store = opts.store

    async def write() -> tuple[FileDoc, Outcome]:
        if plan.existing is not None:
            try:
                file = await store.overwrite(
                    plan.existing.id,
                    data,
                    mime=mime,
                    md5=md5,
                    metadata=_metadata(plan, opts),
                    source_account=opts.source_account,
                    source_account_identifier=opts.source_account_identifier,
                )
                return file, "replaced"
            except NotFound:  # deleted since we looked: create it again
                plan.existing = None
        for name in _candidate_names(plan.name):
            try:
                file = await store.upload(
                    plan.folder.id,
                    name,
                    data,
                    mime=mime,
                    md5=md5,
                    metadata=_metadata(plan, opts),
                    source_account=opts.source_account,
                    source_account_identifier=opts.source_account_identifier,
                    created_at=iso(created_at) if created_at else None,
                    tags=list(tags) if tags else None,
                )
                return file, "created"
            except Conflict:
                path = (plan.folder.path or "").rstrip("/") + "/" + name
                taken = await store.stat_path(path)
                other_key = taken.metadata.get("fileIdAttributes")
                if plan.key is None or not other_key or other_key == plan.key:
                    # Another entry or run saved it since the listing (or an old file without key): this one.
                    log.warning(f"{path} already exists: the entry {plan.entry.describe()} now points to it")
                    return taken, "kept"
        raise Conflict(f"no free name for {plan.name} in {plan.folder.path}", reason="name_taken")

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(0, opts.retries) + 1),
        wait=wait_exponential(multiplier=opts.backoff, max=30.0) if opts.backoff > 0 else (lambda _: 0.0),
        retry=retry_if_exception_type(StoreUnavailable),
        reraise=True,
    )
    result: tuple[FileDoc, Outcome] = await retrying(write)
    return result
