"""Bank accounts and operations: Cozy field names, dedup on vendorId, links, no rewrite when unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector import BankAccount, BankOperation, save_bank_data
from browserkonnector.runtime._context import RunStats
from browserkonnector.store._base import AppInfo

pytestmark = pytest.mark.anyio

ACCOUNTS = [
    BankAccount(vendor_id="A", label="Checkings 1234", balance="120.50", type="checkings"),
    {"vendorId": "B", "label": "Savings 9", "balance": 3000, "institutionLabel": "Demo Bank"},
]
OPERATIONS = [
    BankOperation(vendor_id="A-1", vendor_account_id="A", label="Bakery", amount="-3.20", date="2026-11-30"),
    {"vendorId": "B-1", "vendorAccountId": "B", "label": "Interest", "amount": 12, "date": "2026-11-01"},
]


async def docs(store: Any, doctype: str) -> list[dict[str, Any]]:
    return [d async for d in store.all_docs(doctype)]


async def test_save_links_operations_to_their_account_with_cozy_names(store: Any, app: AppInfo) -> None:
    result = await save_bank_data(ACCOUNTS, OPERATIONS, store=store, app=app, source_account="acc1")
    accounts = {d["vendorId"]: d for d in await docs(store, "io.cozy.bank.accounts")}
    ops = {d["vendorId"]: d for d in await docs(store, "io.cozy.bank.operations")}
    assert accounts["B"]["institutionLabel"] == "Demo Bank"
    assert accounts["A"]["balance"] == 120.5
    assert ops["A-1"]["account"] == accounts["A"]["_id"]
    assert ops["B-1"]["account"] == accounts["B"]["_id"]
    assert ops["A-1"]["amount"] == -3.2
    assert ops["A-1"]["date"] == "2026-11-30T00:00:00.000Z"
    assert ops["A-1"]["metadata"]["dateImport"] == ops["A-1"]["dateImport"]
    assert ops["A-1"]["cozyMetadata"]["sourceAccount"] == "acc1"
    assert result.count("io.cozy.bank.operations", "created") == 2


async def test_a_second_save_writes_nothing_and_a_new_balance_updates_only_it(store: Any, app: AppInfo) -> None:
    await save_bank_data(ACCOUNTS, OPERATIONS, store=store, app=app)
    before = {
        d["_id"]: d["_rev"] for t in ("io.cozy.bank.accounts", "io.cozy.bank.operations") for d in await docs(store, t)
    }
    again = await save_bank_data(ACCOUNTS, OPERATIONS, store=store, app=app)
    after = {
        d["_id"]: d["_rev"] for t in ("io.cozy.bank.accounts", "io.cozy.bank.operations") for d in await docs(store, t)
    }
    assert after == before
    assert again.count("io.cozy.bank.accounts", "unchanged") == 2
    assert again.count("io.cozy.bank.operations", "unchanged") == 2
    moved = [ACCOUNTS[0].model_copy(update={"balance": 99.0}), ACCOUNTS[1]]
    third = await save_bank_data(moved, OPERATIONS, store=store, app=app)
    assert third.count("io.cozy.bank.accounts", "updated") == 1
    assert len(await docs(store, "io.cozy.bank.accounts")) == 2


async def test_an_operation_of_an_unknown_account_is_refused_before_any_write(store: Any, app: AppInfo) -> None:
    orphan = {"vendorId": "Z-1", "vendorAccountId": "Z", "label": "x", "amount": 1, "date": "2026-01-01"}
    with pytest.raises(ValueError, match=r"\['Z'\]"):
        await save_bank_data(ACCOUNTS, [*OPERATIONS, orphan], store=store, app=app)
    assert await docs(store, "io.cozy.bank.accounts") == []


def test_the_run_summary_names_every_doctype() -> None:
    stats = RunStats()
    stats.count_documents("io.cozy.bank.operations", "created", 159)
    stats.count_documents("io.cozy.bank.accounts", "unchanged", 2)
    assert stats.documents_summary() == ("io.cozy.bank.accounts: 2 unchanged; io.cozy.bank.operations: 159 new")
