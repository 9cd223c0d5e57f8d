"""Contract: documents (``/data``) — revisions, conflicts, create-with-id, bulk, tombstones, accounts.

Backend-neutral: only the ``Store`` protocol, through the ``store`` fixture (see ``conftest.py``).
"""

from __future__ import annotations

import re

import pytest

from browserkonnector.store._base import Store
from browserkonnector.store._errors import BadRequest, Conflict, Forbidden, NotFound

pytestmark = pytest.mark.anyio

BILLS = "io.cozy.bills"
REV = re.compile(r"^[1-9][0-9]*-[0-9a-f]+$")


async def test_create_get_update_delete_cycle(store: Store) -> None:
    created = await store.create(BILLS, {"vendor": "EDF", "amount": 42.5, "date": "2024-01-31"})
    assert created["vendor"] == "EDF"
    assert created["amount"] == 42.5
    assert REV.match(created["_rev"])
    assert created["_rev"].startswith("1-")
    got = await store.get(BILLS, created["_id"])
    assert got["_type"] == BILLS
    assert {k: got[k] for k in ("_id", "_rev", "vendor", "amount")} == {
        k: created[k] for k in ("_id", "_rev", "vendor", "amount")
    }
    updated = await store.update(BILLS, {**got, "amount": 43})
    assert updated["_rev"].startswith("2-")
    assert updated["_id"] == created["_id"]
    assert (await store.get(BILLS, created["_id"]))["amount"] == 43
    await store.delete(BILLS, created["_id"], updated["_rev"])
    with pytest.raises(NotFound):
        await store.get(BILLS, created["_id"])


async def test_stale_or_missing_rev_is_a_conflict(store: Store) -> None:
    doc = await store.create(BILLS, {"amount": 1})
    await store.update(BILLS, {**doc, "amount": 2})
    with pytest.raises(Conflict):
        await store.update(BILLS, {**doc, "amount": 3})  # doc["_rev"] is now stale
    with pytest.raises(Conflict):
        await store.delete(BILLS, doc["_id"], doc["_rev"])
    with pytest.raises(BadRequest):
        await store.update(BILLS, {"_id": doc["_id"], "amount": 4})  # no _rev at all
    with pytest.raises(Conflict):
        await store.update(BILLS, {"_id": "never-created", "_rev": "1-abc", "amount": 4})


async def test_create_with_fixed_id_and_conflict_when_taken(store: Store) -> None:
    doc = await store.create(BILLS, {"_id": "bill-2024-01", "amount": 10})
    assert doc["_id"] == "bill-2024-01"
    assert doc["_rev"].startswith("1-")
    with pytest.raises(Conflict):
        await store.create(BILLS, {"_id": "bill-2024-01", "amount": 11})
    assert (await store.get(BILLS, "bill-2024-01"))["amount"] == 10


async def test_recreate_after_delete_continues_revisions(store: Store) -> None:
    doc = await store.create(BILLS, {"_id": "reborn", "n": 1})
    await store.delete(BILLS, "reborn", doc["_rev"])
    with pytest.raises(NotFound):
        await store.get(BILLS, "reborn")
    again = await store.create(BILLS, {"_id": "reborn", "n": 2})
    assert int(again["_rev"].split("-")[0]) >= 3  # 1 created, 2 tombstone, 3 re-created (CouchDB)
    assert (await store.get(BILLS, "reborn"))["n"] == 2


async def test_delete_of_absent_document_is_not_found(store: Store) -> None:
    await store.create(BILLS, {"x": 1})
    with pytest.raises(NotFound):
        await store.delete(BILLS, "absent", "1-abc")


async def test_underscore_fields_are_refused_but_type_is_stripped(store: Store) -> None:
    with pytest.raises(BadRequest):
        await store.create(BILLS, {"_secret": 1})
    with pytest.raises(BadRequest):
        await store.create(BILLS, {"amount": 1, "_attachments": {}})
    doc = await store.create(BILLS, {"amount": 1, "_type": BILLS})
    assert (await store.get(BILLS, doc["_id"]))["amount"] == 1


async def test_files_doctype_is_read_only_through_data(store: Store) -> None:
    with pytest.raises(Forbidden):
        await store.create("io.cozy.files", {"type": "file", "name": "x"})


async def test_bulk_save_reports_each_document(store: Store) -> None:
    a = await store.create(BILLS, {"_id": "a", "v": 1})
    b = await store.create(BILLS, {"_id": "b", "v": 1})
    await store.update(BILLS, {**b, "v": 2})  # b's rev in hand is now stale
    results = await store.bulk_save(
        BILLS,
        [
            {"v": "new"},  # create, id chosen by the store
            {"_id": "fixed", "v": "fixed"},  # create with id
            {**a, "v": 10},  # update, current rev
            {**b, "v": 20},  # update, stale rev -> conflict
            {"_id": "a-dup", "v": 1},
        ],
    )
    assert [r.ok for r in results] == [True, True, True, False, True]
    assert results[3].error == "conflict"
    assert results[3].id == "b"
    assert results[1].id == "fixed"
    assert results[2].rev
    assert results[2].rev.startswith("2-")
    assert (await store.get(BILLS, results[0].id))["v"] == "new"
    assert (await store.get(BILLS, "a"))["v"] == 10
    assert (await store.get(BILLS, "b"))["v"] == 2
    deleted = await store.bulk_save(BILLS, [{"_id": "a", "_rev": results[2].rev, "_deleted": True}])
    assert deleted[0].ok
    with pytest.raises(NotFound):
        await store.get(BILLS, "a")


async def test_get_many_keeps_order_and_marks_missing(store: Store) -> None:
    for i in range(3):
        await store.create(BILLS, {"_id": f"d{i}", "i": i})
    gone = await store.create(BILLS, {"_id": "gone"})
    await store.delete(BILLS, "gone", gone["_rev"])
    docs = await store.get_many(BILLS, ["d2", "nope", "d0", "gone", "d2"])
    assert [d["_id"] if d else None for d in docs] == ["d2", None, "d0", None, "d2"]
    assert docs[0] is not None
    assert docs[0]["i"] == 2


async def test_unknown_doctype_reads_as_empty(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.get("io.cozy.never", "x")
    assert await store.get_many("io.cozy.never", ["x"]) == [None]
    assert [d async for d in store.all_docs("io.cozy.never")] == []


async def test_doctypes_lists_those_holding_documents(store: Store) -> None:
    await store.create("io.cozy.bills", {"a": 1})
    doc = await store.create("io.cozy.bank.operations", {"a": 1})
    await store.delete("io.cozy.bank.operations", doc["_id"], doc["_rev"])
    kinds = await store.doctypes()
    assert "io.cozy.bills" in kinds
    assert "io.cozy.bank.operations" not in kinds


async def test_all_docs_pages_through_everything(store: Store) -> None:
    ids = {(await store.create(BILLS, {"i": i}))["_id"] for i in range(25)}
    seen = [d["_id"] async for d in store.all_docs(BILLS, page_size=7)]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 25


async def test_accounts_keep_connector_state_in_data(store: Store) -> None:
    account = await store.create(
        "io.cozy.accounts",
        {"account_type": "demo-vendor", "auth": {"login": "alice"}, "data": {"last_bill": "2024-01"}},
    )
    assert account["cozyMetadata"]["metadataVersion"] == 1
    assert account["cozyMetadata"]["createdByApp"] == "contract-tests"
    got = await store.get("io.cozy.accounts", account["_id"])
    state = {**got["data"], "last_bill": "2024-02", "cursor": [1, 2]}
    saved = await store.update("io.cozy.accounts", {**got, "data": state})
    again = await store.get("io.cozy.accounts", account["_id"])
    assert again["data"] == {"last_bill": "2024-02", "cursor": [1, 2]}
    assert again["_rev"] == saved["_rev"]
    assert again["auth"]["login"] == "alice"
    assert again["cozyMetadata"]["createdAt"] == account["cozyMetadata"]["createdAt"]


async def test_other_doctypes_are_stored_as_given(store: Store) -> None:
    doc = await store.create(BILLS, {"vendor": "x", "nested": {"list": [1, {"a": None}]}})
    assert "cozyMetadata" not in doc
    assert (await store.get(BILLS, doc["_id"]))["nested"] == {"list": [1, {"a": None}]}
