"""save_bills on a real LocalStore: ports of saveBills.spec.js (required attributes, labelRegex from the
manifest, manageContractsData) and the fixed behaviours (no rewrite when unchanged, linking on the first
run, validation before any download)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from save_helpers import Vendor, make_pdf

from browserkonnector.save import BillValidationError, Fetched, save_bills
from browserkonnector.store._base import AppInfo

pytestmark = pytest.mark.anyio
FOLDER = "/Administratif/Demo"
IDENT = {"source_account": "acc1", "source_account_identifier": "me@example.com"}


def bill(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "vendor": "Demo Énergie",
        "date": dt.date(2024, n, 15),
        "amount": 10.5 + n,
        "currency": "€",
        "vendorRef": f"F{n:03d}",
        "filename": f"2024-{n:02d}_demo.pdf",
        "filestream": make_pdf(f"bill {n}"),
        **extra,
    }


async def run(store: Any, app: AppInfo, bills: list[Any], **options: Any) -> Any:
    options.setdefault("backoff", 0)
    for key, value in IDENT.items():
        options.setdefault(key, value)
    options.setdefault("file_id_attributes", ["vendorRef"])
    return await save_bills(bills, FOLDER, store=store, app=app, **options)


async def all_bills(store: Any) -> list[dict[str, Any]]:
    return [doc async for doc in store.all_docs("io.cozy.bills")]


async def test_required_attributes_are_checked_before_any_download(
    store: Any, app: AppInfo, vendor: tuple[Vendor, str]
) -> None:
    """saveBills.spec 'should check required attributes in bills' — and nothing is downloaded first."""
    site, base = vendor
    bills = [
        {
            "fileurl": f"{base}/bill/ok.pdf",
            "filename": "ok.pdf",
            "amount": 12,
            "date": dt.datetime.now(),
            "vendor": "vendor",
        },
        {
            "filename": "filename",
            "fileurl": f"{base}/bill/bad.pdf",
            "amount": "bad amount type",
            "date": dt.datetime.now(),
            "vendor": "vendor",
        },
    ]
    with pytest.raises(BillValidationError, match=r"bill #1 .* has an invalid amount: 'bad amount type'"):
        await run(store, app, bills)
    assert sum(site.hits.values()) == 0
    assert await all_bills(store) == []


async def test_label_regex_from_the_manifest(store: Any, app: AppInfo) -> None:
    """saveBills.spec 'should add label transaction regexp if found in the manifest'."""
    entry = {
        "filename": "filename.pdf",
        "filestream": make_pdf(),
        "amount": 12,
        "date": "2024-05-01",
        "vendor": "vendor",
    }
    result = await run(
        store, app, [entry], link_bank_operations=False, bank_transaction_regexp="toto regexp", file_id_attributes=None
    )
    [doc] = result.bills
    file_id = result.saved_files[0].file.id
    assert {k: v for k, v in doc.items() if k not in ("_id", "_rev", "cozyMetadata")} == {
        "filename": "filename.pdf",
        "amount": 12,
        "date": "2024-05-01T00:00:00.000Z",
        "vendor": "vendor",
        "matchingCriterias": {"labelRegex": "toto regexp"},
        "currency": "EUR",
        "invoice": f"io.cozy.files:{file_id}",
    }


@pytest.mark.parametrize(
    ("options", "attrs", "expected"),
    [
        ({"contract_id": "contractId"}, [{}, {}], [("contractId", "contractId", "contractId")] * 2),
        (
            {"contract_id": "contractId", "contract_label": "contractLabel"},
            [{}, {}],
            [("contractId", "contractLabel", "contractLabel")] * 2,
        ),
        (
            {},
            [{"contractId": "contractId1"}, {"contractId": "contractId2"}],
            [("contractId1", "contractId1", "contractId1"), ("contractId2", "contractId2", "contractId2")],
        ),
        (
            {},
            [
                {"contractId": "contractId1", "contractLabel": "contractLabel1"},
                {"contractId": "contractId2", "contractLabel": "contractLabel2"},
            ],
            [("contractId1", "contractLabel1", "contractLabel1"), ("contractId2", "contractLabel2", "contractLabel2")],
        ),
    ],
    ids=[
        "contractId option",
        "contractId and contractLabel options",
        "contractId in bills",
        "contractId and contractLabel in bills",
    ],
)
async def test_manage_contracts_data(
    store: Any, app: AppInfo, options: dict[str, Any], attrs: list[dict[str, Any]], expected: list[tuple[str, str, str]]
) -> None:
    """saveBills.spec 'manageContractsData' cases: contract data on each bill, the folder named after the label."""
    result = await run(store, app, [bill(1, **attrs[0]), bill(2, **attrs[1])], link_bank_operations=False, **options)
    for doc, saved, (cid, label, folder) in zip(result.bills, result.saved_files, expected, strict=True):
        assert (doc["contractId"], doc["contractLabel"]) == (cid, label)
        assert saved.file.dir_id == (await store.stat_path(f"{FOLDER}/{folder}")).id


async def test_contract_id_joins_the_dedup_keys(store: Any, app: AppInfo) -> None:
    """saveBills.spec 'Check that deduplication keys contains contractId': same date/amount/vendor on two
    contracts are two bills."""
    a = bill(1, contractId="c1", vendorRef="A", filename="a.pdf")
    b = bill(1, contractId="c2", vendorRef="B", filename="b.pdf")
    result = await run(store, app, [a, b], link_bank_operations=False)
    assert result.bills_created == 2
    assert len(await all_bills(store)) == 2


async def test_contract_label_alone_is_ignored(store: Any, app: AppInfo) -> None:
    result = await run(store, app, [bill(1)], link_bank_operations=False, contract_label="orphan")
    assert "contractLabel" not in result.bills[0]
    assert result.saved_files[0].file.dir_id == (await store.stat_path(FOLDER)).id


async def test_second_run_creates_nothing_and_rewrites_nothing(store: Any, app: AppInfo) -> None:
    bills = [bill(n) for n in range(1, 4)]
    first = await run(store, app, bills, identifiers=["demo"])
    before = {d["_id"]: d["_rev"] for d in await all_bills(store)}
    second = await run(store, app, bills, identifiers=["demo"])
    assert (first.bills_created, first.files_created) == (3, 3)
    assert (second.bills_created, second.bills_updated, second.bills_unchanged) == (0, 0, 3)
    assert (second.files_created, second.files_replaced, second.files_kept) == (0, 0, 3)
    assert {d["_id"]: d["_rev"] for d in await all_bills(store)} == before
    assert [d["_id"] for d in second.bills] == [d["_id"] for d in first.bills]


async def test_a_changed_bill_is_updated_keeping_other_fields_and_created_at(store: Any, app: AppInfo) -> None:
    [doc] = (await run(store, app, [bill(1)], link_bank_operations=False)).bills
    stored = await store.get("io.cozy.bills", doc["_id"])
    stored.pop("_type", None)
    await store.update("io.cozy.bills", {**stored, "addedByBanks": True})
    result = await run(store, app, [bill(1, subtype="new subtype")], link_bank_operations=False)
    assert result.bills_updated == 1
    after = await store.get("io.cozy.bills", doc["_id"])
    assert after["subtype"] == "new subtype"
    assert after["addedByBanks"] is True
    assert after["cozyMetadata"]["createdAt"] == doc["cozyMetadata"]["createdAt"]


async def test_a_stored_bill_without_cozy_metadata_is_updated(store: Any, app: AppInfo) -> None:
    """The JS shouldUpdate rule kept: a bill saved by an old connector version gets its cozyMetadata."""
    first = await run(store, app, [bill(1)], link_bank_operations=False)
    stored = await store.get("io.cozy.bills", first.bills[0]["_id"])
    stored.pop("_type", None)
    stored.pop("cozyMetadata")
    await store.update("io.cozy.bills", stored)
    again = await run(store, app, [bill(1)], link_bank_operations=False)
    assert again.bills_updated == 1
    assert "cozyMetadata" in await store.get("io.cozy.bills", first.bills[0]["_id"])


async def test_bills_without_file_are_dropped(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    site, base = vendor
    site.status["gone.pdf"] = 404
    bills = [bill(1), {**bill(2), "filestream": None, "fileurl": f"{base}/bill/gone.pdf", "filename": "gone.pdf"}]
    result = await run(store, app, bills, link_bank_operations=False)
    assert result.bills_created == 1
    assert result.files_failed == 1
    assert len(result.dropped) == 1
    assert "bill #1" in result.dropped[0]
    assert "404" in result.dropped[0]
    assert len(await all_bills(store)) == 1


async def test_same_keys_in_one_call_are_saved_once(store: Any, app: AppInfo) -> None:
    a, b = bill(1, vendorRef="A", filename="a.pdf"), bill(1, vendorRef="B", filename="b.pdf")
    result = await run(store, app, [a, b], link_bank_operations=False)
    assert result.bills_created == 1
    assert "duplicate of bill #0" in result.dropped[0]
    again = await run(store, app, [a, b], link_bank_operations=False)
    assert again.bills_unchanged == 1
    assert again.bills_updated == 0


async def test_new_bills_are_linked_on_the_run_that_creates_them(store: Any, app: AppInfo) -> None:
    """The JS quirk (new bills reached the linker without _id) is fixed."""
    await store.create(
        "io.cozy.bank.operations",
        {
            "date": "2024-03-16T00:00:00.000Z",
            "label": "PRLV DEMO ENERGIE",
            "amount": -13.5,
            "automaticCategoryId": "400100",
        },
    )
    result = await run(store, app, [bill(3)], identifiers=["demo energie"])
    assert result.bills_created == 1
    link = result.link_result[result.bills[0]["_id"]]
    assert link.debit_operation is not None
    [operation] = [d async for d in store.all_docs("io.cozy.bank.operations")]
    assert operation["bills"] == [f"io.cozy.bills:{result.bills[0]['_id']}"]


async def test_without_identifiers_bills_are_saved_not_linked(store: Any, app: AppInfo) -> None:
    result = await run(store, app, [bill(1)])
    assert result.bills_created == 1
    assert result.link_result is None


async def test_process_pdf_may_add_bills_for_the_same_file(store: Any, app: AppInfo) -> None:
    seen: list[str] = []

    def process(b: Any, text: str, reader: Any) -> list[dict[str, Any]]:
        seen.append(type(reader).__name__)
        return [{"vendor": b.vendor, "date": "2024-01-20", "amount": 1.5, "subtype": "extra"}]

    result = await run(store, app, [bill(1)], link_bank_operations=False, process_pdf=process)
    assert seen == ["PdfReader"]
    assert result.bills_created == 2
    assert result.bills[0]["invoice"] == result.bills[1]["invoice"]


async def test_fetch_callable_is_not_called_for_known_files(store: Any, app: AppInfo) -> None:
    calls = 0

    async def fetch_file() -> Fetched:
        nonlocal calls
        calls += 1
        return Fetched(make_pdf("lazy"), status=200, content_type="application/pdf")

    entry = {**bill(1), "filestream": None, "fetchFile": fetch_file}
    await run(store, app, [entry], link_bank_operations=False)
    await run(store, app, [entry], link_bank_operations=False)
    assert calls == 1


async def test_empty_list(store: Any, app: AppInfo) -> None:
    result = await run(store, app, [])
    assert result.bills == []
    assert result.bills_created == 0


async def test_a_reused_file_name_does_not_mix_documents(store: Any, app: AppInfo) -> None:
    """A vendor naming every bill ``facture.pdf``: with dedup keys, each bill keeps its own file (the JS path
    fallback linked the second bill to the first bill's PDF); a second run changes nothing."""
    a = bill(1, filename="facture.pdf", vendorRef="A")
    b = bill(2, filename="facture.pdf", vendorRef="B")
    first = await run(store, app, [a, b], link_bank_operations=False)
    names = sorted(s.file.name for s in first.saved_files)
    assert names == ["facture (2).pdf", "facture.pdf"]
    assert first.bills[0]["invoice"] != first.bills[1]["invoice"]
    for saved, doc in zip(first.saved_files, first.bills, strict=True):
        assert doc["invoice"] == f"io.cozy.files:{saved.file.id}"
        assert saved.file.metadata["fileIdAttributes"] == doc["vendorRef"]
    again = await run(store, app, [a, b], link_bank_operations=False)
    assert (again.files_kept, again.bills_unchanged) == (2, 2)
    assert [d["invoice"] for d in again.bills] == [d["invoice"] for d in first.bills]


async def test_a_reused_file_name_without_identifier(store: Any, app: AppInfo) -> None:
    """The same with dedup keys but no sourceAccountIdentifier (path mode): still one file per bill."""
    a = bill(1, filename="facture.pdf", vendorRef="A")
    b = bill(2, filename="facture.pdf", vendorRef="B")
    options = {"link_bank_operations": False, "source_account_identifier": None}
    first = await run(store, app, [a, b], **options)
    assert sorted(s.file.name for s in first.saved_files) == ["facture (2).pdf", "facture.pdf"]
    again = await run(store, app, [a, b], **options)
    assert (again.files_kept, again.files_created, again.bills_unchanged) == (2, 0, 2)
