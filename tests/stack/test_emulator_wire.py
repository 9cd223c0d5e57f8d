"""The emulator's own answers, with a raw HTTP client: the stack's status codes and bodies as the reference
documentation describes them (docs/stack-conformance.md). What CozyStackStore parses must look like this."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from browserkonnector.store._base import ROOT_DIR_ID
from browserkonnector.testing._emulator import METADATA_TTL, StackEmulator

PDF = b"%PDF-1.4 wire test"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emu(tmp_path: Path, clock: Clock) -> Iterator[StackEmulator]:
    with StackEmulator(tmp_path / "cozy", clock=clock) as emulator:
        yield emulator


@pytest.fixture
def http(emu: StackEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.token}"}) as client:
        yield client


def _upload(
    http: httpx.Client, name: str, data: bytes = PDF, *, dir_id: str = ROOT_DIR_ID, md5: str | None = None
) -> httpx.Response:
    return http.post(
        f"/files/{dir_id}",
        params={"Type": "file", "Name": name},
        content=data,
        headers={"Content-MD5": md5 or _md5(data), "Content-Type": "application/pdf"},
    )


def test_auth_is_required_and_expiry_is_announced_emulator(emu: StackEmulator, http: httpx.Client) -> None:
    missing = httpx.get(f"{emu.url}/data/io.cozy.bills/x")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert http.get("/data/_all_doctypes").status_code == 200
    emu.expire_token()
    expired = http.get("/data/_all_doctypes")
    assert expired.status_code == 401
    assert 'error_description="The access token expired"' in expired.headers["www-authenticate"]
    files_401 = http.get(f"/files/{ROOT_DIR_ID}")
    assert files_401.json()["errors"][0]["status"] == "401"


def test_token_endpoint_rotates_the_token_emulator(emu: StackEmulator) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": emu.refresh_token,
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
    }
    bad = httpx.post(f"{emu.url}/auth/access_token", data={**form, "client_secret": "nope"})
    assert bad.status_code == 400
    old = emu.token
    emu.expire_token()
    answer = httpx.post(f"{emu.url}/auth/access_token", data=form).json()
    assert answer["token_type"] == "bearer"
    assert answer["access_token"] == emu.token != old
    ok = httpx.get(f"{emu.url}/data/_all_doctypes", headers={"Authorization": f"Bearer {emu.token}"})
    assert ok.status_code == 200


def test_data_status_codes_and_bodies_emulator(http: httpx.Client) -> None:
    created = http.post("/data/io.cozy.bills/", json={"amount": 1})
    assert created.status_code == 201
    body = created.json()
    assert body["ok"] is True
    assert body["type"] == "io.cozy.bills"
    assert body["data"]["_id"] == body["id"]
    defined = http.post("/data/io.cozy.bills/", json={"_id": "x", "amount": 1})
    assert (defined.status_code, defined.json()["error"]) == (400, "defined_id")
    stale = http.put(f"/data/io.cozy.bills/{body['id']}", json={"_id": body["id"], "_rev": "1-0", "amount": 2})
    assert stale.status_code == 409
    assert stale.json() == {"ok": False, "status": "409", "error": "conflict", "reason": "Document update conflict."}
    missing = http.get("/data/io.cozy.bills/nope")
    assert missing.status_code == 404
    assert missing.json()["status"] == "404"
    assert missing.json()["reason"] == "missing"
    only_rev = http.put(f"/data/io.cozy.bills/{body['id']}", json={"_rev": body["rev"], "amount": 2})
    assert only_rev.status_code == 400
    no_rev = http.delete(f"/data/io.cozy.bills/{body['id']}")
    assert no_rev.status_code == 400
    reserved = http.post("/data/io.cozy.files/", json={"name": "x"})
    assert reserved.status_code == 403
    assert http.get("/data/io.cozy.nothing/_all_docs").status_code == 404


def test_all_docs_rows_bulk_docs_and_index_emulator(http: httpx.Client) -> None:
    bulk = http.post("/data/io.cozy.bills/_bulk_docs", json={"docs": [{"_id": "a", "n": 1}, {"_id": "b", "n": 2}]})
    assert bulk.status_code == 201
    assert [row["ok"] for row in bulk.json()] == [True, True]
    again = http.post("/data/io.cozy.bills/_bulk_docs", json={"docs": [{"_id": "a", "n": 3}]}).json()
    assert again[0]["error"] == "conflict"
    rows = http.post(
        "/data/io.cozy.bills/_all_docs", params={"include_docs": "true"}, json={"keys": ["a", "zz"]}
    ).json()["rows"]
    assert rows[0]["doc"]["n"] == 1
    assert rows[0]["value"]["rev"].startswith("1-")
    assert rows[1] == {"key": "zz", "error": "not_found"}
    index = {"index": {"fields": ["n"]}, "ddoc": "by_n"}
    assert http.post("/data/io.cozy.bills/_index", json=index).json()["result"] == "created"
    second = http.post("/data/io.cozy.bills/_index", json=index).json()
    assert second == {"result": "exists", "id": "_design/by_n", "name": "by_n"}
    assert "io.cozy.bills" in http.get("/data/_all_doctypes").json()


def test_find_limit_rules_next_and_no_index_emulator(http: httpx.Client) -> None:
    http.post("/data/io.cozy.bills/_bulk_docs", json={"docs": [{"k": 1, "n": n} for n in range(120)]})
    refused = http.post("/data/io.cozy.bills/_find", json={"selector": {"k": 1}})
    assert refused.status_code == 400
    assert refused.json()["error"] == "no_index"
    unsorted = http.post("/data/io.cozy.bills/_find", json={"selector": {"k": 1}, "sort": ["n"]})
    assert unsorted.json()["error"] == "no_usable_index"
    http.post("/data/io.cozy.bills/_index", json={"index": {"fields": ["k"]}, "ddoc": "by_k"})
    default = http.post("/data/io.cozy.bills/_find", json={"selector": {"k": 1}, "use_index": "_design/by_k"}).json()
    assert (len(default["docs"]), default["limit"], default["next"]) == (100, 100, True)
    too_big = http.post("/data/io.cozy.bills/_find", json={"selector": {"k": 1}, "limit": 5000}).json()
    assert too_big["limit"] == 100  # over 1000 is reset to 100, not clamped
    exact = http.post("/data/io.cozy.bills/_find", json={"selector": {"k": 1}, "limit": 120}).json()
    assert (len(exact["docs"]), exact["next"]) == (120, True)  # next = len(docs) >= limit
    after = http.post(
        "/data/io.cozy.bills/_find", json={"selector": {"k": 1}, "limit": 120, "bookmark": exact["bookmark"]}
    ).json()
    assert (after["docs"], after["next"]) == ([], False)
    by_id = http.post("/data/io.cozy.bills/_find", json={"selector": {"_id": {"$gt": None}}, "limit": 3}).json()
    assert len(by_id["docs"]) == 3  # _id alone is served by the built-in index


def test_normal_docs_pages_with_a_bookmark_emulator(http: httpx.Client) -> None:
    http.post("/data/io.cozy.bills/_bulk_docs", json={"docs": [{"n": n} for n in range(5)]})
    first = http.get("/data/io.cozy.bills/_normal_docs", params={"limit": 3}).json()
    assert (len(first["rows"]), first["total_rows"]) == (3, 5)
    second = http.get("/data/io.cozy.bills/_normal_docs", params={"limit": 3, "bookmark": first["bookmark"]}).json()
    assert len(second["rows"]) == 2
    assert {d["_id"] for d in first["rows"]}.isdisjoint(d["_id"] for d in second["rows"])


def test_files_status_codes_and_jsonapi_shapes_emulator(http: httpx.Client) -> None:
    created = _upload(http, "bill.pdf")
    assert created.status_code == 201
    assert created.headers["location"].endswith(f"/files/{created.json()['data']['id']}")
    data = created.json()["data"]
    assert data["type"] == "io.cozy.files"
    assert data["attributes"]["size"] == str(len(PDF))  # a string, as the stack's Go struct says
    assert data["attributes"]["md5sum"] == _md5(PDF)
    assert data["meta"]["rev"].startswith("1-")
    taken = _upload(http, "bill.pdf")
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["status"] == "409"
    assert _upload(http, "bad.pdf", md5=_md5(b"other")).status_code == 412
    # FileDocFromReq: the Content-Length is the size; Size only counts for a chunked upload.
    sized = http.post(f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": "sized.pdf", "Size": "999"}, content=PDF)
    assert sized.status_code == 201
    short = http.post(
        f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": "short.pdf", "Size": "999"}, content=iter([PDF])
    )
    assert short.status_code == 412
    assert short.json()["errors"][0]["source"] == {"parameter": "Content-Length"}
    bad_name = _upload(http, "a/b.pdf")
    assert bad_name.status_code == 422
    assert bad_name.json()["errors"][0]["source"] == {"parameter": "name"}
    assert _upload(http, "x.pdf", dir_id="no-such-dir").status_code == 404
    assert http.post(f"/files/{ROOT_DIR_ID}", params={"Type": "nope", "Name": "x"}).status_code == 422
    file_id = data["id"]
    assert http.put(f"/files/{file_id}", content=b"new", headers={"If-Match": "1-0"}).status_code == 412
    by_path = http.get("/files/metadata", params={"Path": "/bill.pdf"}).json()["data"]
    assert by_path["id"] == file_id
    root = http.get(f"/files/{ROOT_DIR_ID}").json()
    assert [c["id"] for c in root["data"]["relationships"]["contents"]["data"]] == [i["id"] for i in root["included"]]
    assert http.get("/files/download/" + file_id).content == PDF
    assert http.get("/files/metadata", params={"Path": "/nope"}).status_code == 404
    listed = http.get("/files/metadata", params={"Path": "/"}).json()["data"]
    assert listed["attributes"]["type"] == "directory"
    assert "size" not in listed["attributes"]


def test_quota_refuses_before_reading_emulator(tmp_path: Path) -> None:
    with (
        StackEmulator(tmp_path / "q", quota_bytes=10) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.token}"}) as http,
    ):
        refused = _upload(http, "big.pdf", b"x" * 5_000_000)
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["status"] == "413"
        assert emu.call(lambda s: s.used_bytes()) == 0


def test_metadata_ids_expire_after_ten_minutes_emulator(http: httpx.Client, clock: Clock) -> None:
    answer = http.post(
        "/files/upload/metadata", json={"data": {"type": "io.cozy.files.metadata", "attributes": {"label": "x"}}}
    )
    assert answer.status_code == 201
    meta_id = answer.json()["data"]["id"]
    clock.now += METADATA_TTL + 1
    late = http.post(
        f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": "late.pdf", "MetadataID": meta_id}, content=PDF
    )
    assert late.status_code == 422
    clock.now -= 2
    ok = http.post(
        f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": "ok.pdf", "MetadataID": meta_id}, content=PDF
    )
    assert ok.json()["data"]["attributes"]["metadata"] == {"label": "x"}


def test_references_routes_emulator(http: httpx.Client) -> None:
    file_id = _upload(http, "r.pdf").json()["data"]["id"]
    added = http.post(
        f"/files/{file_id}/relationships/referenced_by", json={"data": [{"type": "io.cozy.bills", "id": "b1"}]}
    ).json()
    assert added["meta"]["count"] == 1
    assert added["data"] == [{"type": "io.cozy.bills", "id": "b1"}]
    refs = http.get("/data/io.cozy.bills/b1/relationships/references", params={"include": "files"}).json()
    assert refs["data"] == [{"type": "io.cozy.files", "id": file_id}]
    assert refs["included"][0]["id"] == file_id


def test_trash_and_destroy_routes_emulator(http: httpx.Client) -> None:
    file_id = _upload(http, "t.pdf").json()["data"]["id"]
    assert http.delete(f"/files/trash/{file_id}").status_code == 400  # not in the trash yet
    trashed = http.delete(f"/files/{file_id}")
    assert trashed.json()["data"]["attributes"]["trashed"] is True
    assert http.delete(f"/files/{file_id}").status_code == 400  # already in the trash
    assert http.delete(f"/files/trash/{file_id}").status_code == 204
    assert http.get(f"/files/{file_id}").status_code == 404


def test_request_log_and_fault_injection_emulator(emu: StackEmulator, http: httpx.Client) -> None:
    fault = emu.fail_next("GET /data/*", 503, times=2)
    assert [http.get("/data/_all_doctypes").status_code for _ in range(3)] == [503, 503, 200]
    assert fault.remaining == 0
    log = emu.requests
    assert [(r.status, r.fault) for r in log] == [(503, "GET /data/*"), (503, "GET /data/*"), (200, None)]
    assert log[0].header("authorization") == f"Bearer {emu.token}"  # kept as given: a test tool
    custom = emu.fail_next(lambda r: r.param("Name") == "boom.pdf", 500, body={"error": "custom"})
    assert _upload(http, "boom.pdf").json() == {"error": "custom"}
    assert custom.hits == 1
    emu.clear_requests()
    assert emu.requests == []
