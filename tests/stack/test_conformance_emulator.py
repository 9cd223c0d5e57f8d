"""The emulator's answers as the stack's source writes them (docs/stack-conformance.md): VFS errors
through ``wrapVfsError``, CouchDB errors through ``couchdbStyleErrorHandler``, ``_design_docs``, and
the token's permissions — what cozy-stack-client and our own client read in those bodies."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import anyio.to_thread
import httpx
import pytest

from browserkonnector.store._base import ROOT_DIR_ID
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.store._errors import Forbidden
from browserkonnector.testing._emulator import StackEmulator

PDF = b"%PDF-1.4 conformance"
MANIFEST = json.loads((Path(__file__).parents[2] / "connectors" / "demo_vendor" / "manifest.konnector").read_text())


@pytest.fixture
def http(tmp_path: Path) -> Iterator[httpx.Client]:
    with (
        StackEmulator(tmp_path / "cozy") as emu,
        httpx.Client(
            base_url=emu.url, headers={"Authorization": f"Bearer {emu.token}", "Accept": "application/json"}
        ) as c,
    ):
        yield c


def _error(answer: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = answer.json()["errors"][0]
    return error


def _upload(http: httpx.Client, name: str, **headers: str) -> httpx.Response:
    return http.post(f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": name}, content=PDF, headers=headers)


def test_vfs_errors_are_the_stacks_emulator(http: httpx.Client) -> None:
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    mismatch = _upload(http, "a.pdf", **{"Content-MD5": wrong})
    assert (mismatch.status_code, _error(mismatch)) == (
        412,
        {
            "status": "412",
            "title": "Precondition Failed",
            "detail": "Invalid hash",
            "source": {"parameter": "Content-MD5"},
        },
    )
    malformed = _upload(http, "a.pdf", **{"Content-MD5": "not-a-hash"})
    assert malformed.status_code == 422
    assert _error(malformed)["source"] == {"parameter": "Content-MD5"}
    assert _upload(http, "a.pdf").status_code == 201
    taken = _upload(http, "a.pdf")
    assert (taken.status_code, _error(taken)["detail"]) == (409, "file already exists")
    no_parent = http.post("/files/missing-dir", params={"Type": "file", "Name": "b.pdf"}, content=PDF)
    assert (no_parent.status_code, _error(no_parent)["detail"]) == (
        404,
        "Parent directory with given DirID does not exist",
    )
    expired = http.post(
        f"/files/{ROOT_DIR_ID}", params={"Type": "file", "Name": "c.pdf", "MetadataID": "gone"}, content=PDF
    )
    assert (expired.status_code, _error(expired)["source"]) == (422, {"parameter": "MetadataID"})


def test_couchdb_errors_keep_their_name_emulator(http: httpx.Client) -> None:
    http.post("/data/io.cozy.bills/", json={"amount": 1})
    no_index = http.post("/data/io.cozy.bills/_find", json={"selector": {"amount": 1}})
    assert (no_index.status_code, no_index.json()) == (
        400,
        {"ok": False, "status": "400", "error": "no_index", "reason": "no matching index found, create an index"},
    )
    sort = http.post("/data/io.cozy.bills/_find", json={"selector": {"amount": 1}, "sort": [{"amount": "asc"}]})
    assert sort.json()["error"] == "no_usable_index"
    files = http.post("/files/_find", json={"selector": {"name": "a.pdf"}})
    assert _error(files)["title"] == "no_index"  # cozy-stack-client finds "no_index" in the body


def test_design_docs_list_the_indexes_emulator(http: httpx.Client) -> None:
    assert http.get("/data/io.cozy.nothing/_design_docs").json() == {
        "error": "not_found",
        "reason": "Database does not exist.",
    }
    http.post("/data/io.cozy.bills/", json={"vendor": "EDF"})
    http.post(
        "/data/io.cozy.bills/_index",
        json={"index": {"fields": ["vendor"], "partial_filter_selector": {"trashed": False}}, "ddoc": "by_vendor"},
    )
    listed = http.get("/data/io.cozy.bills/_design_docs", params={"include_docs": "true"}).json()
    assert [row["id"] for row in listed["rows"]] == ["_design/by_vendor"]
    design = listed["rows"][0]["doc"]
    assert design["language"] == "query"
    assert design["views"]["by_vendor"]["options"]["def"] == {
        "fields": ["vendor"],
        "partial_filter_selector": {"trashed": False},
    }
    assert http.get("/data/io.cozy.bills/_design/by_vendor").json()["_id"] == "_design/by_vendor"


def test_the_token_is_limited_to_the_manifests_permissions_emulator(tmp_path: Path) -> None:
    with (
        StackEmulator(tmp_path / "cozy", permissions=MANIFEST["permissions"]) as emu,
        httpx.Client(base_url=emu.url, headers={"Authorization": f"Bearer {emu.token}"}) as http,
    ):
        assert http.post("/data/io.cozy.bills/", json={"amount": 1}).status_code == 201
        refused = http.post("/data/io.cozy.contacts/", json={"name": "x"})
        assert (refused.status_code, refused.json()) == (403, {"error": "code=403, message=Forbidden"})
        assert http.post("/data/io.cozy.contacts/_find", json={"selector": {}}).status_code == 403
        assert http.get("/data/_all_doctypes").status_code == 403
        assert http.get(f"/files/{ROOT_DIR_ID}").status_code == 200


@pytest.mark.anyio
async def test_our_client_names_the_refused_doctype_emulator(tmp_path: Path) -> None:
    emu = StackEmulator(tmp_path / "cozy", permissions={"bills": {"type": "io.cozy.bills", "verbs": ["GET"]}})
    await anyio.to_thread.run_sync(emu.start)
    try:
        async with CozyStackStore(emu.url, emu.token) as store:
            with pytest.raises(Forbidden, match=r"io\.cozy\.bills"):
                await store.create("io.cozy.bills", {"amount": 1})
    finally:
        await anyio.to_thread.run_sync(emu.stop)


def _get(conn: HTTPConnection, token: str) -> int:
    conn.request("GET", f"/files/{ROOT_DIR_ID}", headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def _port(emu: StackEmulator) -> int:
    return int(emu.url.rsplit(":", 1)[1])


def test_an_idle_connection_outlives_nodes_pool_emulator(tmp_path: Path) -> None:
    """The stack never closes an idle keep-alive connection; Node's global agent drops its own after 5 s.
    With uvicorn's 5 s the two raced ("socket hang up"): the emulator waits longer than the client."""
    with StackEmulator(tmp_path / "cozy") as emu:
        conn = HTTPConnection("127.0.0.1", _port(emu), timeout=10)
        assert _get(conn, emu.token) == 200
        sock = conn.sock
        time.sleep(5.5)
        assert _get(conn, emu.token) == 200
        assert conn.sock is sock  # the same connection, still open
        conn.close()
    with StackEmulator(tmp_path / "cozy2", idle_timeout=0.5) as emu:
        conn = HTTPConnection("127.0.0.1", _port(emu), timeout=10)
        assert _get(conn, emu.token) == 200
        time.sleep(1.5)
        assert conn.sock is not None
        assert conn.sock.recv(1) == b""  # closed by the server
        conn.close()
