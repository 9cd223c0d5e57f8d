"""``link_bank_operations``: read the operations around the bills, link, commit once.

konnector-libs read **every** ``io.cozy.bank.operations`` document on each run. Here, unless bills are
to be unlinked (``bills_to_remove``: those may be linked anywhere, so every operation is read, as in JS),
only the operations dated inside the bills' windows are read: each bill's debit and credit windows are merged
into a few date intervals and each interval is one indexed ``_find`` on ``date`` (index ``by_date``),
widened by a day on each side so that dates written with another ISO spelling are not missed at the
edges; the exact, strict window test is applied in memory by the linker. Changed operations are
written with one ``bulk_save``; nothing is written when nothing changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from browserkonnector.save._linker.core import BillLink, Linker
from browserkonnector.save._linker.helpers import LinkOptions, date_range
from browserkonnector.save._util import iso
from browserkonnector.store._base import Store
from browserkonnector.store._errors import NotFound

__all__ = ["OPERATIONS_DOCTYPE", "LinkResult", "link_bank_operations", "operation_windows"]

OPERATIONS_DOCTYPE = "io.cozy.bank.operations"
log = logger.bind(namespace="linkBankOperations")


@dataclass
class LinkResult:
    """Links by bill ``_id`` (input order), and what was written."""

    links: dict[str, BillLink] = field(default_factory=dict)
    operations_read: int = 0
    operations_updated: int = 0
    conflicts: list[str] = field(default_factory=list)

    def __getitem__(self, bill_id: str) -> BillLink:
        return self.links[bill_id]

    def __contains__(self, bill_id: object) -> bool:
        return bill_id in self.links

    def __len__(self) -> int:
        return len(self.links)

    @property
    def linked(self) -> list[BillLink]:
        """Bills linked to a debit or a credit operation."""
        return [lnk for lnk in self.links.values() if lnk.debit_operation or lnk.credit_operation]

    @property
    def unlinked(self) -> list[BillLink]:
        return [lnk for lnk in self.links.values() if not (lnk.debit_operation or lnk.credit_operation)]


def operation_windows(
    bills: Sequence[Mapping[str, Any]], options: LinkOptions, margin: dt.timedelta = dt.timedelta(days=1)
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The merged date intervals covering every bill's debit and credit window (plus ``margin``)."""
    spans = []
    for bill in bills:
        for opts in (options, options.as_credit()):
            window = date_range(bill, opts)
            if window is not None:
                spans.append((window[0] - margin, window[1] + margin))
    spans.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


async def _read_operations(store: Store, windows: Sequence[tuple[dt.datetime, dt.datetime]]) -> list[dict[str, Any]]:
    if not windows:
        return []
    index = await store.define_index(OPERATIONS_DOCTYPE, ["date"])
    seen: dict[str, dict[str, Any]] = {}
    try:
        for low, high in windows:
            selector = {"date": {"$gt": iso(low), "$lt": iso(high)}}
            async for operation in store.find_all(OPERATIONS_DOCTYPE, selector, use_index=index):
                seen.setdefault(str(operation["_id"]), operation)
    except NotFound:
        return []
    return list(seen.values())


async def _all_operations(store: Store) -> list[dict[str, Any]]:
    try:
        return [operation async for operation in store.all_docs(OPERATIONS_DOCTYPE)]
    except NotFound:
        return []


async def link_bank_operations(
    bills: Sequence[Mapping[str, Any]],
    *,
    store: Store,
    identifiers: str | Sequence[str] | None,
    amount_delta: float = 0.001,
    min_amount_delta: float | None = None,
    max_amount_delta: float | None = None,
    past_window: float = 15,
    future_window: float = 29,
    allow_uncategorized: bool = False,
    bank_identifier: str | None = None,
    bills_to_remove: Sequence[Mapping[str, Any]] | None = None,
) -> LinkResult:
    """Link saved bills (they need their ``_id``) to ``io.cozy.bank.operations`` (JS ``linkBankOperations``).

    ``identifiers``: strings one of which the operation's label must contain (lowercased); a non-empty
    ``bank_identifier`` (the user's own, from the account fields) replaces them. Without any, it is a
    ``ValueError`` (the JS library threw, caught its own error and returned ``undefined``).
    ``bills_to_remove``: bills to unlink from the operations first (their ``original`` is linked instead).
    """
    if bank_identifier:
        identifiers = [bank_identifier]
    if isinstance(identifiers, str):
        identifiers = [identifiers]
    if not identifiers:
        raise ValueError('linkBankOperations cannot be called without "identifiers" option')
    options = LinkOptions(
        identifiers=tuple(i.lower() for i in identifiers),
        min_amount_delta=amount_delta if min_amount_delta is None else min_amount_delta,
        max_amount_delta=amount_delta if max_amount_delta is None else max_amount_delta,
        past_window=past_window,
        future_window=future_window,
        allow_uncategorized=allow_uncategorized,
    )
    to_remove = list(bills_to_remove or [])
    if to_remove:
        # An old bill may be linked to any operation, whatever its date (a combination, a manual link, a
        # date corrected since): as the JS library, read them all to unlink it everywhere.
        operations = await _all_operations(store)
    else:
        operations = await _read_operations(store, operation_windows(bills, options))
    linker = Linker(options)
    if to_remove:
        linker.remove_bills_from_operations(to_remove, operations)
    result = LinkResult(links=linker.link(bills, operations), operations_read=len(operations))
    if linker.changed:
        changed = list(linker.changed.values())
        log.debug(f"linkBankOperations: commiting {len(changed)} changes")
        answers = await store.bulk_save(
            OPERATIONS_DOCTYPE, [{k: v for k, v in op.items() if k != "_type"} for op in changed]
        )
        for operation, answer in zip(changed, answers, strict=True):
            if answer.ok:
                operation["_rev"] = answer.rev
                result.operations_updated += 1
            else:
                result.conflicts.append(str(answer.id))
        if result.conflicts:
            log.warning(
                f"linkBankOperations: {len(result.conflicts)} operations changed meanwhile and were "
                "not updated; they will be linked on the next run"
            )
    log.info(
        f"linkBankOperations: {len(result.linked)} linked bills, {len(result.unlinked)} unlinked bills, "
        f"{len(operations)} operations read"
    )
    return result
