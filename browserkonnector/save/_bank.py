"""Bank data: :class:`BankAccount` (``io.cozy.bank.accounts``) and :class:`BankOperation`
(``io.cozy.bank.operations``), and :func:`save_bank_data`, which saves both the way Cozy's banking app
expects them.

The models take snake_case or the doctypes' camelCase names and store camelCase, as :class:`~browserkonnector.
save.models.Bill` does. ``vendor_id`` is the vendor's own id of the account or operation: it is the dedup
key, so a second run finds what the first saved. An operation names its account by the account's
``vendor_id`` (``vendor_account_id``); :func:`save_bank_data` turns that into the ``account`` field, the
``_id`` of the saved ``io.cozy.bank.accounts`` document, which is how the banking app groups operations.
Amounts are signed (a debit is negative), unlike a bill's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

from browserkonnector.save._documents import Upserted, upsert
from browserkonnector.save._models import _number, normalize_currency
from browserkonnector.save._util import iso
from browserkonnector.store._base import AppInfo, Doc, Store

__all__ = [
    "BANK_ACCOUNTS_DOCTYPE",
    "BANK_OPERATIONS_DOCTYPE",
    "BankAccount",
    "BankOperation",
    "BankSaveResult",
    "save_bank_data",
]

BANK_ACCOUNTS_DOCTYPE = "io.cozy.bank.accounts"
BANK_OPERATIONS_DOCTYPE = "io.cozy.bank.operations"

_CONFIG = ConfigDict(
    extra="allow", alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
)


class BankAccount(BaseModel):
    """An ``io.cozy.bank.accounts`` document. ``type`` is the vendor's kind of account (``checkings``,
    ``savings``...); ``balance`` is signed."""

    model_config = _CONFIG
    vendor_id: str
    label: str
    balance: float | None = None
    currency: str = "EUR"
    institution_label: str | None = None
    type: str | None = None
    number: str | None = None
    iban: str | None = None

    @field_validator("balance", mode="before")
    @classmethod
    def _balance(cls, value: Any) -> float | int | None:
        return None if value is None else _number(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return normalize_currency(value)


class BankOperation(BaseModel):
    """An ``io.cozy.bank.operations`` document. ``amount`` is signed (debits negative); dates accept
    ``date``, ``datetime`` or ISO strings and are stored as ISO strings in UTC."""

    model_config = _CONFIG
    vendor_id: str
    vendor_account_id: str
    label: str
    amount: float
    date: str
    currency: str = "EUR"
    type: str | None = None
    realisation_date: str | None = None
    date_operation: str | None = None
    account: str | None = None

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> float | int:
        return _number(value)

    @field_validator("date", "realisation_date", "date_operation", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str | None:
        return None if value is None else iso(value)

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return normalize_currency(value)


@dataclass
class BankSaveResult:
    """What :func:`save_bank_data` did, per doctype and outcome, and the stored documents (input order)."""

    accounts: list[Doc] = field(default_factory=list)
    operations: list[Doc] = field(default_factory=list)
    counts: dict[str, dict[Upserted, int]] = field(default_factory=dict)

    def count(self, doctype: str, outcome: Upserted) -> int:
        return self.counts.get(doctype, {}).get(outcome, 0)


def _tally(result: BankSaveResult, doctype: str, done: list[tuple[Doc, Upserted]]) -> list[Doc]:
    per = result.counts.setdefault(doctype, {"created": 0, "updated": 0, "unchanged": 0})
    for _, outcome in done:
        per[outcome] += 1
    return [doc for doc, _ in done]


async def save_bank_data(
    accounts: Iterable[BankAccount | Mapping[str, Any]],
    operations: Iterable[BankOperation | Mapping[str, Any]],
    *,
    store: Store,
    app: AppInfo,
    source_account: str | None = None,
    source_account_identifier: str | None = None,
) -> BankSaveResult:
    """Save accounts, then operations linked to them; deduplicated on ``vendorId``.

    A document already stored and unchanged is not written again; a changed one (a new balance) is
    updated in place. A new operation gets ``dateImport`` and ``metadata`` (``dateImport``, ``version``)
    once, at creation. An operation whose ``vendor_account_id`` names no account of this call raises
    ``ValueError`` naming it, before anything is written.
    """
    accs = [a if isinstance(a, BankAccount) else BankAccount.model_validate(dict(a)) for a in accounts]
    ops = [o if isinstance(o, BankOperation) else BankOperation.model_validate(dict(o)) for o in operations]
    orphans = sorted({o.vendor_account_id for o in ops} - {a.vendor_id for a in accs})
    if orphans:
        raise ValueError(
            f"save_bank_data: operations name accounts that are not given: {orphans} "
            f"(vendor_account_id must be the vendor_id of one of the accounts)"
        )
    result = BankSaveResult()
    result.accounts = _tally(
        result,
        BANK_ACCOUNTS_DOCTYPE,
        await upsert(
            accs,
            BANK_ACCOUNTS_DOCTYPE,
            ["vendorId"],
            store=store,
            app=app,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
        ),
    )
    ids = {doc["vendorId"]: doc["_id"] for doc in result.accounts}
    linked = [o.model_copy(update={"account": ids[o.vendor_account_id]}) for o in ops]
    now = datetime.now(UTC)

    def first_import(doc: dict[str, Any]) -> None:
        stamp = iso(now)
        doc["dateImport"] = stamp
        doc["metadata"] = {"dateImport": stamp, "version": 1}

    result.operations = _tally(
        result,
        BANK_OPERATIONS_DOCTYPE,
        await upsert(
            linked,
            BANK_OPERATIONS_DOCTYPE,
            ["vendorId"],
            store=store,
            app=app,
            source_account=source_account,
            source_account_identifier=source_account_identifier,
            on_create=first_import,
        ),
    )
    return result
