"""``save_files``: store files in the Cozy with the JS ``saveFiles`` contract, without its quirks.

Kept from konnector-libs: the option names and meanings, the dedup key (``fileIdAttributes``: the
values at the sorted attribute names joined by ``####``, stored in ``metadata.fileIdAttributes``),
metadata mode then path mode, the replace rules, sub-folders and contract folders, ``DISK_QUOTA_EXCEEDED``
on a full Cozy, the log line ``saveFiles created X files for Y entries``.

Fixed (the JS library downloaded first, then looked): every existing file is looked up **before** any download (one
indexed query for all keys); downloads run ``concurrency`` at a time; a download is checked (status, emptiness, HTML,
PDF parse) **before** it is stored and retried with backoff; ``timeout`` counts from the call; results come back in
input order as :class:`SavedFile` values (the entries are never mutated); entries that share a file are downloaded
once; nothing waits forever (each attempt has ``attempt_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

from loguru import logger
from pydantic import ValidationError

from browserkonnector import errors, limits
from browserkonnector._errors import KonnectorError
from browserkonnector.save._download import Fetch, default_fetcher
from browserkonnector.save._lookup import Destinations, file_key, file_name, find_files_by_key, sanitize_file_name
from browserkonnector.save._models import Contract, FileEntry, ShouldReplaceFile, as_file_entry
from browserkonnector.save._qualification import qualification_for
from browserkonnector.save._save_entry import Options, Outcome, Plan, SavedFile, save_one
from browserkonnector.save._util import maybe_await
from browserkonnector.store._base import AppInfo, FileDoc, Store
from browserkonnector.store._errors import StoreError

__all__ = ["Outcome", "SavedFile", "save_files"]

Progress: TypeAlias = Callable[[int, int], "Awaitable[None] | None"]
log = logger.bind(namespace="saveFiles")


def _entries(entries: Sequence[FileEntry | Mapping[str, Any]]) -> list[FileEntry]:
    models = []
    for i, raw in enumerate(entries):
        try:
            models.append(as_file_entry(raw))
        except ValidationError as exc:
            where = ", ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
            raise ValueError(f"saveFiles: entry #{i} is invalid ({where})") from None
    return models


async def save_files(
    entries: Sequence[FileEntry | Mapping[str, Any]],
    folder_path: str,
    *,
    store: Store,
    app: AppInfo,
    file_id_attributes: Sequence[str] | None = None,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
    concurrency: int = 4,
    retries: int = 3,
    timeout: float | None = None,
    validate_file: Callable[[FileDoc], Any] | None = None,
    should_replace_file: ShouldReplaceFile | None = None,
    content_type: str | bool | None = None,
    sub_path: str | None = None,
    contract: Contract | Mapping[str, Any] | None = None,
    qualification_label: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    backoff: float = 0.5,
    attempt_timeout: float | None = 120.0,
    file_timeout: float | None = None,
) -> list[SavedFile]:
    """Save each entry's file under ``folder_path`` (created if missing); one :class:`SavedFile` per
    entry, in input order.

    ``retries``: retries after the first attempt, waiting ``backoff`` seconds, doubling each time.
    ``timeout``: seconds from this call; entries not started by then are ``skipped``, downloads still
    running are stopped (``failed``). ``validate_file(file_doc)`` judges files already stored (default:
    not empty, mime matching the extension); ``content_type`` forces the stored mime (``True``: from the
    name). ``fetch(url, entry)`` downloads ``fileurl`` entries (default: a plain GET).
    ``attempt_timeout`` bounds one attempt, ``file_timeout`` one file with all its retries and waits
    (default ``BROWSERKONNECTOR_FILE_TIMEOUT``, else 300 s; ``0``: none); a file past either, or past the
    file-size cap, is ``failed`` with its ``code`` saying which.
    ``QuotaExceeded`` ends the call with ``KonnectorError(DISK_QUOTA_EXCEEDED)`` at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout is not None else None
    models = _entries(entries)
    if not models:
        log.warning("No file to download")
    if not source_account:
        log.warning("There is no sourceAccount given to saveFiles")
    if not source_account_identifier:
        log.warning("There is no sourceAccountIdentifier given to saveFiles")
    if models and not file_id_attributes:
        log.warning("saveFiles: no deduplication key is defined, file deduplication will be based on file path")
    contract_opt = Contract.model_validate(dict(contract)) if isinstance(contract, Mapping) else contract
    dest = Destinations(store, folder_path, slug=app.slug, identifier=source_account_identifier)
    await dest.root()
    results: list[SavedFile | None] = [None] * len(models)
    plans = await _plan(models, results, dest, file_id_attributes, sub_path, contract_opt)
    await _find_existing(plans, store, dest, app, file_id_attributes, source_account_identifier)

    async with contextlib.AsyncExitStack() as stack:
        if fetch is None and any(
            p.entry.fileurl and p.entry.content is None and p.entry.fetch_file is None for p in plans
        ):
            fetch = await stack.enter_async_context(default_fetcher())
        opts = Options(
            store,
            app,
            dest,
            fetch,
            list(file_id_attributes) if file_id_attributes else None,
            source_account,
            source_account_identifier,
            retries,
            backoff,
            attempt_timeout,
            deadline,
            validate_file,
            should_replace_file,
            content_type,
            qualification_for(qualification_label) if qualification_label else None,
            limits.file_timeout() if file_timeout is None else (file_timeout or None),
        )
        await _run(_groups(plans, bool(file_id_attributes)), opts, results, concurrency, progress, len(models))

    final = [r for r in results if r is not None]
    created = sum(r.outcome in ("created", "replaced") for r in final)
    timed_out = sum(r.outcome == "skipped" and r.error == "timeout" for r in final)
    if timed_out:
        log.warning(f"saveFile timeout: still {timed_out} / {len(final)} to download")
    log.info(f"saveFiles created {created} files for {len(final)} entries")
    return final


async def _plan(
    models: list[FileEntry],
    results: list[SavedFile | None],
    dest: Destinations,
    file_id_attributes: Sequence[str] | None,
    sub_path: str | None,
    contract: Contract | None,
) -> list[Plan]:
    plans = []
    for i, entry in enumerate(models):
        if not entry.has_source:
            results[i] = SavedFile(entry, None, "skipped", "no content, fetch_file or fileurl")
            continue
        if entry.content is not None and not entry.filename:
            log.warning("Missing filename property for for filestream entry, entry is ignored")
            results[i] = SavedFile(entry, None, "skipped", "content without a filename")
            continue
        name = file_name(entry)
        if not name:
            results[i] = SavedFile(entry, None, "failed", "no usable file name", errors.SAVE_FILE_FAILED)
            log.warning(f"SAVE_FILE_FAILED: {entry.describe()}: no usable file name")
            continue
        try:
            folder = await dest.folder_for(entry, sub_path=sub_path, contract=contract)
        except StoreError as exc:
            results[i] = SavedFile(entry, None, "failed", f"destination folder: {exc}")
            log.warning(f"SAVE_FILE_FAILED: {entry.describe()}: destination folder: {exc}")
            continue
        key = file_key(entry, file_id_attributes) if file_id_attributes else None
        plans.append(Plan(i, entry, name, folder, key))
    return plans


async def _find_existing(
    plans: list[Plan],
    store: Store,
    dest: Destinations,
    app: AppInfo,
    file_id_attributes: Sequence[str] | None,
    identifier: str | None,
) -> None:
    """Existing files for every plan, before any download: by key (one query), else by path."""
    by_key: dict[str, FileDoc] = {}
    if file_id_attributes and app.slug and identifier:
        by_key = await find_files_by_key(store, [p.key for p in plans if p.key], slug=app.slug, identifier=identifier)
    for plan in plans:
        plan.existing = by_key.get(plan.key) if plan.key else None
        if plan.existing is None:
            listing = await dest.listing(plan.folder)
            found = listing.get(plan.name)
            other_key = found.metadata.get("fileIdAttributes") if found is not None else None
            if plan.key is not None and other_key and other_key != plan.key:
                # Same name, another document's file (a vendor reusing "facture.pdf"): not this entry's file.
                log.info(f"{plan.name} holds the document {other_key!r}, not {plan.key!r}: saving under another name")
                found = None
            plan.existing = found
            old_name = plan.entry.should_replace_name
            if plan.existing is None and old_name:
                plan.rename_from = listing.get(sanitize_file_name(old_name))


def _groups(plans: list[Plan], by_key: bool) -> list[Plan]:
    """One lead plan per distinct file; the others follow it (downloaded once)."""
    leads: dict[str, Plan] = {}
    for plan in plans:
        ident = plan.key if by_key and plan.key else f"{plan.folder.id}\x00{plan.name}"
        if ident in leads:
            leads[ident].followers.append(plan)
        else:
            leads[ident] = plan
    return list(leads.values())


class _Lanes:
    """Which plan a free slot takes next: entries fetched by a callable (``fetch_file``: a page printed
    to PDF, a click through the UI) first, at most half of the slots at once; downloads by URL fill the
    other slots, and all of them once no callable is waiting.

    Why: a callable is usually the slow lane (the browser prints one bill in the time several PDFs
    download on loopback) and has few workers of its own (the printer's pages). Taken in input order, the
    printer sat idle whenever the next bills in line were downloads; kept fed, its work overlaps the
    downloads instead of following them. With one slot the input order is kept as it is.
    """

    def __init__(self, leads: list[Plan], concurrency: int) -> None:
        self.in_order = concurrency <= 1
        self.calls: deque[Plan] = deque()
        self.others: deque[Plan] = deque()
        for plan in leads:
            by_call = not self.in_order and plan.entry.content is None and plan.entry.fetch_file is not None
            (self.calls if by_call else self.others).append(plan)
        self.call_slots = max(1, concurrency // 2)
        self.calls_running = 0

    def take(self) -> tuple[Plan, bool] | None:
        """The next plan, and whether it counts as a callable (hand it back to :meth:`done`)."""
        if self.calls and (self.calls_running < self.call_slots or not self.others):
            self.calls_running += 1
            return self.calls.popleft(), True
        if self.others:
            return self.others.popleft(), False
        return None

    def done(self, by_call: bool) -> None:
        if by_call:
            self.calls_running -= 1


async def _run(
    leads: list[Plan],
    opts: Options,
    results: list[SavedFile | None],
    concurrency: int,
    progress: Progress | None,
    total: int,
) -> None:
    """``concurrency`` workers, each taking the next plan from :class:`_Lanes` until none is left."""
    loop = asyncio.get_running_loop()
    done = sum(r is not None for r in results)
    lanes = _Lanes(leads, max(1, concurrency))

    async def run(plan: Plan) -> None:
        nonlocal done
        if opts.deadline is not None and loop.time() >= opts.deadline:
            saved = SavedFile(plan.entry, None, "skipped", "timeout")
        else:
            saved = await save_one(plan, opts)
        results[plan.index] = saved
        for follower in plan.followers:
            outcome: Outcome = "kept" if saved.file is not None else saved.outcome
            results[follower.index] = SavedFile(follower.entry, saved.file, outcome, saved.error)
        done += 1 + len(plan.followers)
        if progress is not None:
            await maybe_await(progress(done, total))

    async def worker() -> None:
        while (taken := lanes.take()) is not None:
            plan, by_call = taken
            try:
                await run(plan)
            finally:
                lanes.done(by_call)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(max(1, concurrency), len(leads))):
                group.create_task(worker())
    except BaseExceptionGroup as eg:
        fatal: list[BaseException] = [e for e in eg.exceptions if isinstance(e, KonnectorError)]
        raise (fatal or list(eg.exceptions))[0] from None
