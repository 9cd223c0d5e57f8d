"""``save_bills``: files, then ``io.cozy.bills`` documents, then links to bank operations.

The JS ``saveBills`` contract is kept: files first (a bill without its file is not saved), dedup on
``date, amount, vendor`` (plus ``contractId`` when contracts are used), ``currency`` normalised,
``invoice = "io.cozy.files:<id>"`` (what konnector-libs and cozy-clisk's ``saveBills`` store; no
``relationships.document``, which neither writes), ``matchingCriterias.labelRegex`` from the
manifest's ``banksTransactionRegExp``, contracts as sub-folders, an optional ``process_pdf`` hook.

Fixed deliberately (quirks of the JS saveBills):

- every bill is validated **before** any download, with a message naming the bill and the attribute;
- an existing bill is rewritten only when a meaningful field changed (not on every run), merged over
  the stored document (fields other apps added are kept) with refreshed ``cozyMetadata``;
- bills in one call sharing the dedup keys are saved once (the first; a warning names the others),
  instead of creating duplicates that made every later run rewrite them;
- new bills get their ``_id`` before linking, so they are linked on the run that creates them;
- the result is always a :class:`SaveBillsResult` (the JS returned the linker result or the docs).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from browserkonnector.save._documents import add_data
from browserkonnector.save._files import SavedFile, save_files
from browserkonnector.save._hydrate import find_existing, key_of
from browserkonnector.save._linker import LinkResult
from browserkonnector.save._linker import link_bank_operations as _link
from browserkonnector.save._models import Bill, BillValidationError, FileEntry, as_bill
from browserkonnector.save._util import maybe_await, parse_datetime
from browserkonnector.store._base import AppInfo, Doc, Store
from browserkonnector.store._errors import StoreError

__all__ = ["BILLS_DOCTYPE", "SaveBillsResult", "SaveCounts", "save_bills"]

BILLS_DOCTYPE = "io.cozy.bills"
log = logger.bind(namespace="saveBills")
ProcessPdf = Callable[[Bill, str, Any], "Awaitable[Sequence[Any] | None] | Sequence[Any] | None"]
#: Not a change of the bill: bookkeeping, and ``fileurl`` — where the file was fetched from this time (a
#: URL with a session's host, port or token in it differs on every run while the bill is the same).
_IGNORED_IN_DIFF = frozenset({"_id", "_rev", "_type", "cozyMetadata", "fileurl"})
_DATES = frozenset({"date", "originalDate"})


@dataclass
class SaveCounts:
    """What saving did, counted: the summary of a ``save_bills`` call, and of a whole run."""

    bills_created: int = 0
    bills_updated: int = 0
    bills_unchanged: int = 0
    files_created: int = 0
    files_replaced: int = 0
    files_kept: int = 0
    files_failed: int = 0

    def add(self, other: SaveCounts) -> None:
        """Add ``other``'s counts to these."""
        for name in SaveCounts.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def add_files(self, saved: Sequence[SavedFile]) -> None:
        """Count ``save_files`` results by outcome (``skipped`` is not counted)."""
        for item in saved:
            name = f"files_{item.outcome}"
            if item.outcome != "skipped" and hasattr(self, name):
                setattr(self, name, getattr(self, name) + 1)


@dataclass
class SaveBillsResult(SaveCounts):
    """Counts, the saved bill documents (input order, dropped bills left out), files and links."""

    bills: list[Doc] = field(default_factory=list)
    saved_files: list[SavedFile] = field(default_factory=list)
    link_result: LinkResult | None = None
    dropped: list[str] = field(default_factory=list)


def _validate(entries: Sequence[Any]) -> list[Bill]:
    bills, problems = [], []
    for index, entry in enumerate(entries):
        try:
            bills.append(as_bill(entry, index))
        except BillValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise BillValidationError(problems)
    return bills


def _contracts(
    bills: list[Bill], keys: list[str], contract_id: str | None, contract_label: str | None
) -> tuple[list[Bill], str | None]:
    """JS ``manageContractsData``: contract ids join the dedup keys; labels name the sub-folders."""
    if contract_label and not contract_id:
        log.warning("contractLabel used without contractId, ignoring it.")
        return bills, None
    if contract_id:
        label = contract_label or contract_id
        if "contractId" not in keys:
            keys.append("contractId")
        return [b.model_copy(update={"contract_id": contract_id, "contract_label": label}) for b in bills], label
    if any(b.contract_id for b in bills):
        if "contractId" not in keys:
            keys.append("contractId")
        bills = [
            b.model_copy(
                update={
                    "contract_label": b.contract_label or b.contract_id,
                    "sub_path": b.contract_label or b.contract_id,
                }
            )
            if b.contract_id
            else b
            for b in bills
        ]
    return bills, None


def _changes(doc: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """The fields of ``doc`` whose value differs from the stored document (dates to the millisecond)."""
    changed = []
    for name, value in doc.items():
        if name in _IGNORED_IN_DIFF:
            continue
        old = stored.get(name)
        if name in _DATES and parse_datetime(old) is not None and parse_datetime(old) == parse_datetime(value):
            continue
        if old != value or isinstance(old, bool) != isinstance(value, bool):
            changed.append(name)
    return changed


async def _pdf_text(store: Store, file_id: str) -> tuple[str, Any]:
    from pypdf import PdfReader

    data = await store.download(file_id)

    def read() -> tuple[str, Any]:
        reader = PdfReader(io.BytesIO(data))
        return "\n".join(page.extract_text() or "" for page in reader.pages), reader

    return await asyncio.to_thread(read)


async def _process_pdf(
    pairs: list[tuple[Bill, SavedFile]], hook: ProcessPdf, store: Store
) -> list[tuple[Bill, SavedFile]]:
    out: list[tuple[Bill, SavedFile]] = []
    for bill, saved in pairs:
        if saved.file is None:
            out.append((bill, saved))
            continue
        try:
            text, reader = await _pdf_text(store, saved.file.id)
            more = await maybe_await(hook(bill, text, reader)) or []
        except Exception as exc:
            log.warning(f"processPdf: Failed to read pdf content in {saved.file.name}: {exc}")
            continue
        out.append((bill, saved))
        for offset, extra in enumerate(more):
            out.append((as_bill(extra, len(pairs) + offset), saved))
    return out


async def save_bills(
    entries: Sequence[Bill | FileEntry | Mapping[str, Any]],
    folder_path: str,
    *,
    store: Store,
    app: AppInfo,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
    file_id_attributes: Sequence[str] | None = None,
    keys: Sequence[str] = ("date", "amount", "vendor"),
    identifiers: str | Sequence[str] | None = None,
    link_bank_operations: bool = True,
    bank_transaction_regexp: str | None = None,
    bank_identifier: str | None = None,
    contract_id: str | None = None,
    contract_label: str | None = None,
    should_update: Callable[[Doc, Doc], Any] | None = None,
    process_pdf: ProcessPdf | None = None,
    link_options: Mapping[str, Any] | None = None,
    **file_options: Any,
) -> SaveBillsResult:
    """Save bills and their files (JS ``saveBills``); see the module docstring for what differs.

    ``file_options`` go to :func:`~browserkonnector.save._files.save_files` (``concurrency``,
    ``retries``, ``timeout``, ``fetch``, ``qualification_label``, ``sub_path``, ``progress``...).
    ``should_update(bill_doc, stored_doc)`` can force more updates (OR-ed with the change check).
    ``identifiers`` / ``bank_identifier`` / ``link_options`` (``amount_delta``, ``past_window``...) go
    to :func:`~browserkonnector.save._linker.link_bank_operations`; without identifiers, bills are saved
    but not linked (a warning says so).
    """
    result = SaveBillsResult()
    if not entries:
        log.warning("saveBills: no bills to save")
        return result
    if not source_account:
        log.warning("There is no sourceAccount given to saveBills")
    if not source_account_identifier:
        log.warning("There is no sourceAccountIdentifier given to saveBills")
    bills = _validate(entries)
    dedup_keys = list(keys)
    bills, contract_sub_path = _contracts(bills, dedup_keys, contract_id, contract_label)
    if contract_sub_path:
        file_options["sub_path"] = contract_sub_path
    saved = await save_files(
        bills,
        folder_path,
        store=store,
        app=app,
        file_id_attributes=file_id_attributes,
        source_account=source_account,
        source_account_identifier=source_account_identifier,
        **file_options,
    )
    result.saved_files = saved
    for item in saved:
        name = {
            "created": "files_created",
            "replaced": "files_replaced",
            "kept": "files_kept",
            "failed": "files_failed",
        }.get(item.outcome)
        if name:
            setattr(result, name, getattr(result, name) + 1)
    pairs = [(bill, item) for bill, item in zip(bills, saved, strict=True)]
    if process_pdf is not None:
        pairs = await _process_pdf(pairs, process_pdf, store)
    docs = _bill_docs(pairs, result, bank_transaction_regexp, dedup_keys)
    await _write(
        docs,
        result,
        store=store,
        app=app,
        keys=dedup_keys,
        should_update=should_update,
        source_account=source_account,
        source_account_identifier=source_account_identifier,
    )
    if link_bank_operations and result.bills:
        result.link_result = await _maybe_link(result.bills, store, identifiers, bank_identifier, link_options)
    log.info(
        f"saveBills: {result.bills_created} created, {result.bills_updated} updated, "
        f"{result.bills_unchanged} unchanged, {len(result.dropped)} without file"
    )
    return result


def _bill_docs(
    pairs: list[tuple[Bill, SavedFile]], result: SaveBillsResult, regexp: str | None, keys: Sequence[str]
) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    first_by_key: dict[str, int] = {}
    for index, (bill, saved) in enumerate(pairs):
        who = f"bill #{index} ({bill.vendor}, {bill.date}, {bill.amount})"
        if saved.file is None:
            reason = saved.error or saved.outcome
            log.warning(f"saveBills: {who} has no file ({saved.outcome}: {reason}); it is not saved")
            result.dropped.append(f"{who}: {reason}")
            continue
        doc = bill.doc()
        doc["invoice"] = f"io.cozy.files:{saved.file.id}"
        if regexp and not (doc.get("matchingCriterias") or {}).get("labelRegex"):
            doc["matchingCriterias"] = {**(doc.get("matchingCriterias") or {}), "labelRegex": regexp}
        key = key_of(doc, keys)
        if key in first_by_key:
            log.warning(
                f"saveBills: {who} has the same {'/'.join(keys)} as bill #{first_by_key[key]}; only the "
                "first is saved (add a key such as vendorRef to tell them apart)"
            )
            result.dropped.append(f"{who}: duplicate of bill #{first_by_key[key]}")
            continue
        first_by_key[key] = index
        docs.append(doc)
    return docs


async def _write(
    docs: list[dict[str, Any]],
    result: SaveBillsResult,
    *,
    store: Store,
    app: AppInfo,
    keys: Sequence[str],
    should_update: Callable[[Doc, Doc], Any] | None,
    source_account: str | None,
    source_account_identifier: str | None,
) -> None:
    existing = await find_existing(store, BILLS_DOCTYPE, docs, keys)
    final: list[dict[str, Any] | None] = []
    to_write: list[dict[str, Any]] = []
    slots: list[int] = []
    for doc in docs:
        stored = existing.get(key_of(doc, keys))
        if stored is None:
            result.bills_created += 1
        else:
            changes = _changes(doc, stored)
            forced = bool(should_update and await maybe_await(should_update(doc, stored)))
            if not changes and stored.get("cozyMetadata") and not forced:
                result.bills_unchanged += 1
                final.append(dict(stored))
                continue
            result.bills_updated += 1
            log.debug(f"updating bill {stored['_id']}: {', '.join(changes) or 'forced'}")
            doc = {**stored, **doc, "_id": stored["_id"], "_rev": stored["_rev"]}
        slots.append(len(final))
        final.append(None)
        to_write.append(doc)
    written = await add_data(
        to_write,
        BILLS_DOCTYPE,
        store=store,
        app=app,
        source_account=source_account,
        source_account_identifier=source_account_identifier,
    )
    for slot, doc in zip(slots, written, strict=True):
        final[slot] = doc
    result.bills = [d for d in final if d is not None]


async def _maybe_link(
    bills: list[Doc],
    store: Store,
    identifiers: str | Sequence[str] | None,
    bank_identifier: str | None,
    options: Mapping[str, Any] | None,
) -> LinkResult | None:
    if not identifiers and not bank_identifier:
        log.warning("linkBankOperations: no identifiers given, the bills are not linked to bank operations")
        return None
    try:
        return await _link(
            bills, store=store, identifiers=identifiers, bank_identifier=bank_identifier, **dict(options or {})
        )
    except StoreError as exc:
        log.warning(f"Problem when linking operations: {type(exc).__name__}: {exc}")
        return None
