"""The requests CozyStackStore sends, read from the emulator's log, against the documented protocol
(its /data and /files routes as cozy-stack-client calls them; docs/stack-conformance.md)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from browserkonnector.store._base import ROOT_DIR_ID, Reference
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.testing._emulator import LoggedRequest, StackEmulator

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n% protocol test\n" + b"0123456789" * 1000
BILLS = "io.cozy.bills"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _calls(emulator: StackEmulator) -> list[tuple[str, str, int | None]]:
    return [(r.method, r.path, r.status) for r in emulator.requests]


def _bearer_everywhere(emulator: StackEmulator, requests: list[LoggedRequest]) -> None:
    for r in requests:
        assert r.header("authorization") == f"Bearer {emulator.token}", (r.method, r.path)


async def test_upload_with_metadata_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    folder = await cozy.mkdir_p("/Administratif/Demo Énergie")
    emulator.clear_requests()
    metadata = {"qualification": {"label": "energy_invoice"}, "fileIdAttributes": "2024-01"}
    uploaded = await cozy.upload(
        folder.id,
        "2024-01_demo.pdf",
        PDF,
        metadata=metadata,
        source_account="acc-42",
        source_account_identifier="alice@example.org",
        tags=["bill"],
    )
    meta_call, upload_call = emulator.requests
    # 1. the metadata is pre-sent and gives a MetadataID
    assert (meta_call.method, meta_call.path, meta_call.status) == ("POST", "/files/upload/metadata", 201)
    assert meta_call.json == {"data": {"type": "io.cozy.files.metadata", "attributes": metadata}}
    # 2. the upload: POST /files/:dir-id with the documented query string and headers
    assert (upload_call.method, upload_call.path, upload_call.status) == ("POST", f"/files/{folder.id}", 201)
    assert upload_call.param("Type") == "file"
    assert upload_call.param("Name") == "2024-01_demo.pdf"
    assert upload_call.param("Executable") == "false"
    assert upload_call.param("MetadataID")  # the id the first answer gave
    assert upload_call.param("Size") == str(len(PDF))
    assert upload_call.param("SourceAccount") == "acc-42"
    assert upload_call.param("SourceAccountIdentifier") == "alice@example.org"
    assert upload_call.param("Tags") == "bill"
    assert upload_call.header("content-md5") == _md5(PDF)
    assert upload_call.header("content-type") == "application/pdf"
    assert upload_call.header("content-length") == str(len(PDF))
    assert upload_call.body_size == len(PDF)
    _bearer_everywhere(emulator, emulator.requests)
    # the stack applied the metadata behind the MetadataID
    assert uploaded.metadata == metadata
    assert uploaded.md5sum == _md5(PDF)
    assert uploaded.size == len(PDF)


async def test_metadata_id_is_the_one_returned_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    await cozy.upload(ROOT_DIR_ID, "a.pdf", PDF, metadata={"k": 1})
    meta_call, upload_call = emulator.requests
    known = emulator.metadata.put({"probe": True})  # ids are secrets: check the shape and reuse
    assert len(known) == len(upload_call.param("MetadataID") or "")
    assert meta_call.status == 201


async def test_find_sends_use_index_and_creates_the_missing_index_once_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    await cozy.bulk_save(BILLS, [{"vendor": "EDF", "date": f"2024-0{m}-01", "amount": m} for m in range(1, 6)])
    emulator.clear_requests()
    page = await cozy.find(BILLS, {"vendor": "EDF"}, sort=[{"date": "asc"}], limit=3)
    assert [d["amount"] for d in page.docs] == [1, 2, 3]
    assert page.next is True
    assert _calls(emulator) == [
        ("POST", "/data/io.cozy.bills/_find", 400),  # no_index: the stack refuses a full scan
        ("POST", "/data/io.cozy.bills/_index", 200),  # the client creates the index it named...
        ("POST", "/data/io.cozy.bills/_find", 200),  # ...and retries once
    ]
    first, create, retry = emulator.requests
    assert first.json["use_index"] == "_design/by_date_and_vendor"
    assert first.json["selector"] == {"vendor": "EDF"}
    assert first.json["sort"] == [{"date": "asc"}]
    assert first.json["limit"] == 3
    assert create.json == {
        "index": {"fields": ["date", "vendor"]},
        "ddoc": "by_date_and_vendor",
        "name": "by_date_and_vendor",
    }
    assert retry.json == first.json
    _bearer_everywhere(emulator, emulator.requests)
    # next page through the bookmark; the index now exists: one request
    emulator.clear_requests()
    rest = await cozy.find(BILLS, {"vendor": "EDF"}, sort=[{"date": "asc"}], limit=3, bookmark=page.bookmark)
    assert [d["amount"] for d in rest.docs] == [4, 5]
    assert rest.next is False
    assert _calls(emulator) == [("POST", "/data/io.cozy.bills/_find", 200)]
    assert emulator.requests[0].json["bookmark"] == page.bookmark


async def test_find_fields_always_carry_id_and_rev_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    await cozy.define_index(BILLS, ["vendor"])
    await cozy.create(BILLS, {"vendor": "EDF", "amount": 3})
    page = await cozy.find(BILLS, {"vendor": "EDF"}, fields=["amount"])
    assert emulator.requests[-1].json["fields"] == ["amount", "_id", "_rev"]
    assert set(page.docs[0]) == {"_id", "_rev", "amount"}


async def test_exists_false_is_served_by_a_partial_index_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    await cozy.bulk_save(BILLS, [{"n": 1, "isRefund": True}, {"n": 2}, {"n": 3}])
    emulator.clear_requests()
    page = await cozy.find(BILLS, {"isRefund": {"$exists": False}})
    assert sorted(d["n"] for d in page.docs) == [2, 3]
    create = next(r for r in emulator.requests if r.path.endswith("/_index"))
    assert create.json["index"] == {"fields": ["_id"], "partial_filter_selector": {"isRefund": {"$exists": False}}}
    assert create.json["ddoc"] == "by__id_filter_isRefund"


async def test_find_all_follows_bookmarks_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    await cozy.bulk_save(BILLS, [{"k": "x", "n": n} for n in range(25)])
    docs = [d async for d in cozy.find_all(BILLS, {"k": "x"}, page_size=10)]
    assert sorted(d["n"] for d in docs) == list(range(25))
    finds = [r for r in emulator.requests if r.path.endswith("/_find") and r.status == 200]
    assert [r.json.get("limit") for r in finds] == [10, 10, 10]
    assert "bookmark" not in finds[0].json
    assert finds[1].json["bookmark"]
    assert finds[2].json["bookmark"] != finds[1].json["bookmark"]


async def test_all_docs_uses_normal_docs_with_bookmarks_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    await cozy.bulk_save(BILLS, [{"n": n} for n in range(7)])
    emulator.clear_requests()
    docs = [d async for d in cozy.all_docs(BILLS, page_size=3)]
    assert sorted(d["n"] for d in docs) == list(range(7))
    calls = emulator.requests
    assert [(r.method, r.path) for r in calls] == [("GET", "/data/io.cozy.bills/_normal_docs")] * 3
    assert [r.param("limit") for r in calls] == ["3", "3", "3"]
    assert calls[0].param("bookmark") is None
    assert calls[1].param("bookmark")


async def test_document_routes_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    created = await cozy.create(BILLS, {"amount": 1})
    fixed = await cozy.create(BILLS, {"_id": "io.cozy.bills/with-slash", "amount": 2})
    await cozy.update(BILLS, {**created, "amount": 3})
    await cozy.get_many(BILLS, [created["_id"], "missing"])
    await cozy.delete(BILLS, fixed["_id"], fixed["_rev"])
    await cozy.doctypes()
    assert [(r.method, r.path) for r in emulator.requests] == [
        ("POST", "/data/io.cozy.bills/"),
        ("PUT", "/data/io.cozy.bills/io.cozy.bills%2Fwith-slash"),  # an id's slash stays escaped
        ("PUT", f"/data/io.cozy.bills/{created['_id']}"),
        ("POST", "/data/io.cozy.bills/_all_docs"),
        ("DELETE", "/data/io.cozy.bills/io.cozy.bills%2Fwith-slash"),
        ("GET", "/data/_all_doctypes"),
    ]
    put_fixed, put_update, all_docs, delete = emulator.requests[1:5]
    assert "_id" not in put_fixed.json  # create with a fixed id: neither _id nor _rev in the body
    assert put_update.json["_rev"] == created["_rev"]
    assert all_docs.param("include_docs") == "true"
    assert all_docs.json == {"keys": [created["_id"], "missing"]}
    assert delete.param("rev") == fixed["_rev"]
    assert all(r.json is None or "_type" not in r.json for r in emulator.requests)


async def test_file_routes_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    folder = await cozy.mkdir_p("/A/B")
    calls = emulator.requests  # getDirectoryOrCreate: stat the path, create on 404, recursively
    assert [(r.method, r.path, r.param("Path"), r.status) for r in calls[:3]] == [
        ("GET", "/files/metadata", "/A/B", 404),
        ("GET", "/files/metadata", "/A", 404),
        ("GET", "/files/metadata", "/", 200),
    ]
    assert [(r.method, r.path, r.param("Type"), r.param("Name"), r.status) for r in calls[3:]] == [
        ("POST", f"/files/{ROOT_DIR_ID}", "directory", "A", 201),
        ("POST", f"/files/{folder.dir_id}", "directory", "B", 201),
    ]
    emulator.clear_requests()
    f = await cozy.upload(folder.id, "x.pdf", PDF)
    await cozy.overwrite(f.id, PDF + b"more", if_match=f.rev)
    await cozy.update_file(f.id, name="y.pdf")
    await cozy.add_referenced_by(f.id, [Reference(BILLS, "b1")])
    await cozy.remove_referenced_by(f.id, [Reference(BILLS, "b1")])
    await cozy.referenced_files(BILLS, "b1")
    await cozy.download(f.id)
    await cozy.trash(f.id)
    await cozy.destroy(f.id)
    assert [(r.method, r.path) for r in emulator.requests] == [
        ("POST", f"/files/{folder.id}"),
        ("PUT", f"/files/{f.id}"),
        ("PATCH", f"/files/{f.id}"),
        ("POST", f"/files/{f.id}/relationships/referenced_by"),
        ("GET", f"/files/{f.id}"),
        ("DELETE", f"/files/{f.id}/relationships/referenced_by"),
        ("GET", f"/files/{f.id}"),
        ("GET", "/data/io.cozy.bills/b1/relationships/references"),
        ("GET", f"/files/download/{f.id}"),
        ("DELETE", f"/files/{f.id}"),
        ("GET", f"/files/{f.id}"),
        ("DELETE", f"/files/trash/{f.id}"),
    ]
    put, patch = emulator.requests[1], emulator.requests[2]
    assert put.header("if-match") == f.rev
    assert put.header("content-md5") == _md5(PDF + b"more")
    assert patch.json == {"data": {"type": "io.cozy.files", "id": f.id, "attributes": {"name": "y.pdf"}}}
    refs = emulator.requests[3]
    assert refs.json == {"data": [{"type": BILLS, "id": "b1"}]}
    assert emulator.requests[7].param("include") == "files"


async def test_list_dir_follows_jsonapi_pages_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    folder = await cozy.mkdir_p("/many")
    for i in range(105):
        await cozy.upload(folder.id, f"{i:03}.txt", str(i).encode())
    emulator.clear_requests()
    names = sorted([f.name async for f in cozy.list_dir(folder.id)])
    assert names == [f"{i:03}.txt" for i in range(105)]
    pages = emulator.requests
    assert len(pages) == 2
    assert pages[0].param("page[limit]") == "100"
    assert pages[1].param("page[cursor]")


async def test_async_iterable_content_is_spooled_with_its_digest_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            yield bytes([i]) * 70_000

    data = b"".join(bytes([i]) * 70_000 for i in range(5))
    uploaded = await cozy.upload(ROOT_DIR_ID, "stream.bin", chunks())
    call = emulator.requests[-1]
    assert call.header("content-length") == str(len(data))
    assert call.header("content-md5") == _md5(data)
    assert uploaded.md5sum == _md5(data)
    assert await cozy.download(uploaded.id) == data


async def test_path_content_is_streamed_from_disk_emulator(
    tmp_path: Path, emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    source = tmp_path / "bill.pdf"
    source.write_bytes(PDF)
    uploaded = await cozy.upload(ROOT_DIR_ID, "bill.pdf", source)
    assert emulator.requests[-1].header("content-md5") == _md5(PDF)
    assert b"".join([c async for c in cozy.iter_download(uploaded.id, chunk_size=1000)]) == PDF
