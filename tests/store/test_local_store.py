"""LocalStore only: SQL pushdown and query plans, the on-disk layout, names, quota, strict indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from browserkonnector.store import _pushdown
from browserkonnector.store._base import ROOT_DIR_ID, AppInfo
from browserkonnector.store._errors import InvalidName, NoIndex, QuotaExceeded
from browserkonnector.store._local import LocalStore
from browserkonnector.store._mango import normalize

pytestmark = pytest.mark.anyio

DT = "io.cozy.bills"


@pytest.fixture
async def local(tmp_path: Path) -> Any:
    async with LocalStore(tmp_path / "s", app=AppInfo("demo-vendor", "2.0.0")) as store:
        yield store


def _plan(store: LocalStore, doctype: str, selector: dict[str, Any], extra: tuple[str, ...] = ()) -> str:
    tbl = store.db.table(doctype)
    assert tbl is not None
    where, params = _pushdown.push_down(normalize(selector)).where(tbl, extra)
    rows = store.db.conn.execute(
        f'EXPLAIN QUERY PLAN SELECT id, rev, body FROM "{tbl}" WHERE {where} ORDER BY id', params
    ).fetchall()
    return "\n".join(str(r[3]) for r in rows)


async def test_dedup_query_is_served_by_the_index(local: LocalStore) -> None:
    await local.bulk_save(DT, [{"vendorRef": f"ref-{i:05d}", "amount": i} for i in range(3000)])
    await local.define_index(DT, ["vendorRef"])
    keys = [f"ref-{i:05d}" for i in range(0, 6000, 6)]  # 1,000 keys, half of them stored
    plan = _plan(local, DT, {"vendorRef": {"$in": keys}})
    index = next(ix.sql_name for ix in local.db.indexes(DT))
    assert "SEARCH docs_io_cozy_bills_" in plan
    assert f"USING INDEX {index} (<expr>=?)" in plan
    assert "SCAN" not in plan.replace("SCAN json_each", "")  # no full scan of the doctype
    page = await local.find(DT, {"vendorRef": {"$in": keys}}, limit=1000)
    assert len(page.docs) == 500
    assert {d["vendorRef"] for d in page.docs} == set(keys[:500])


async def test_ranges_and_equalities_use_the_index(local: LocalStore) -> None:
    await local.bulk_save(
        DT, [{"date": f"2024-{m:02d}-01", "vendor": "EDF" if m % 2 else "Free"} for m in range(1, 13)]
    )
    await local.define_index(DT, ["date"])
    await local.define_index(DT, ["vendor", "date"])
    assert "USING INDEX" in _plan(local, DT, {"date": {"$gte": "2024-06-01"}})
    assert "USING INDEX" in _plan(local, DT, {"vendor": "EDF", "date": {"$lt": "2024-06-01"}})
    page = await local.find(DT, {"vendor": "EDF", "date": {"$lt": "2024-06-01"}})
    assert sorted(d["date"] for d in page.docs) == ["2024-01-01", "2024-03-01", "2024-05-01"]


async def test_partial_index_is_real_and_used(local: LocalStore) -> None:
    partial = {"trashed": False, "cozyMetadata.sourceAccountIdentifier": {"$exists": True}}
    await local.define_index("io.cozy.files", ["metadata.fileIdAttributes"], partial_filter=partial)
    (ix,) = local.db.indexes("io.cozy.files")
    assert ix.partial_sql is not None
    assert "json_type" in ix.partial_sql
    sql = local.db.conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (ix.sql_name,)).fetchone()[0]
    assert "WHERE deleted = 0 AND" in sql
    plan = _plan(
        local, "io.cozy.files", {"metadata.fileIdAttributes": {"$in": ["a", "b"]}, **partial}, (ix.partial_sql,)
    )
    assert f"USING INDEX {ix.sql_name}" in plan


async def test_results_do_not_depend_on_indexes(local: LocalStore) -> None:
    docs: list[dict[str, Any]] = [
        {"v": v} for v in [None, False, True, 0, 1, 2.5, "a", "b", [], ["a"], [1, 2], {"x": 1}]
    ]
    docs.append({})
    await local.bulk_save(DT, docs)
    selectors = [
        {"v": {"$in": ["a", 1]}},
        {"v": {"$lt": 1}},
        {"v": {"$gt": "a"}},
        {"v": {"$gte": None}},
        {"v": {"$lte": "a"}},
        {"v": None},
        {"v": {"$gt": False}},
        {"v": {"$exists": False}},
    ]
    before = [sorted(str(d.get("v")) for d in (await local.find(DT, s)).docs) for s in selectors]
    await local.define_index(DT, ["v"])
    after = [sorted(str(d.get("v")) for d in (await local.find(DT, s)).docs) for s in selectors]
    assert before == after
    assert before[0] == ["1", "['a']", "[1, 2]", "a"]  # $in matches arrays holding an element (CouchDB)


async def test_strict_indexes_raise_no_index(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "s", strict_indexes=True) as store:
        await store.create(DT, {"vendor": "EDF", "date": "2024"})
        with pytest.raises(NoIndex) as caught:
            await store.find(DT, {"vendor": "EDF"})
        assert caught.value.reason == "no_index"
        await store.define_index(DT, ["vendor"])
        assert len((await store.find(DT, {"vendor": "EDF"})).docs) == 1
        with pytest.raises(NoIndex) as caught:
            await store.find(DT, {"vendor": "EDF"}, sort=["date"])
        assert caught.value.reason == "no_usable_index"


async def test_lenient_find_warns_when_no_index(local: LocalStore) -> None:
    await local.create(DT, {"vendor": "EDF"})
    page = await local.find(DT, {"vendor": "EDF"})
    assert page.warning
    assert "index" in page.warning
    await local.define_index(DT, ["vendor"])
    assert (await local.find(DT, {"vendor": "EDF"})).warning is None


async def test_layout_mirrors_the_cozy_tree(local: LocalStore) -> None:
    folder = await local.mkdir_p("/Administratif/Demo Énergie")
    f = await local.upload(folder.id, "2024-01 facture #1 (copie).pdf", b"%PDF-1.4 x")
    on_disk = local.root / "files" / "Administratif" / "Demo Énergie" / "2024-01 facture #1 (copie).pdf"
    assert on_disk.read_bytes() == b"%PDF-1.4 x"
    assert local.disk_path(f.id) == on_disk
    assert (local.root / "store.sqlite3").exists()
    with sqlite3.connect(local.root / "store.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    await local.update_file(f.id, name="renamed.pdf")
    assert not on_disk.exists()
    assert (on_disk.parent / "renamed.pdf").exists()
    await local.trash(f.id)
    assert (local.root / "files" / ".cozy_trash" / "renamed.pdf").exists()


@pytest.mark.parametrize("path", ["/a/../../etc", "/..", "/a/./b", "relative/path", "/a\x00b"])
async def test_mkdir_p_refuses_escaping_paths(local: LocalStore, path: str) -> None:
    with pytest.raises(InvalidName):
        await local.mkdir_p(path)
    assert sorted(p.name for p in (local.root / "files").iterdir()) == [".cozy_trash"]
    assert not (local.root / "etc").exists()


async def test_names_longer_than_the_disk_allows_are_refused(local: LocalStore) -> None:
    with pytest.raises(InvalidName):
        await local.upload(ROOT_DIR_ID, "é" * 128 + ".pdf", b"x")  # 260 bytes in UTF-8
    ok = await local.upload(ROOT_DIR_ID, "é" * 125 + ".pdf", b"x")  # 254 bytes
    assert local.disk_path(ok.id).exists()


async def test_quota(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "s", quota_bytes=1000) as store:
        f = await store.upload(ROOT_DIR_ID, "a.bin", b"x" * 600)
        with pytest.raises(QuotaExceeded):
            await store.upload(ROOT_DIR_ID, "b.bin", b"x" * 500)
        with pytest.raises(QuotaExceeded):
            await store.overwrite(f.id, b"x" * 1001)
        assert await store.download(f.id) == b"x" * 600
        await store.overwrite(f.id, b"y" * 1000)  # replacing frees the old size
        assert await store.used_bytes() == 1000
        await store.trash(f.id)
        with pytest.raises(QuotaExceeded):  # the trash still counts, as on the stack
            await store.upload(ROOT_DIR_ID, "c.bin", b"z")
        await store.destroy(f.id)
        assert await store.used_bytes() == 0
        await store.upload(ROOT_DIR_ID, "c.bin", b"z" * 1000)
        assert list((store.root / ".tmp").iterdir()) == []


async def test_failed_uploads_leave_no_temp_file(local: LocalStore) -> None:
    from browserkonnector.store._errors import Conflict, NotFound, PreconditionFailed

    await local.upload(ROOT_DIR_ID, "taken.pdf", b"x")
    for call in (
        local.upload(ROOT_DIR_ID, "taken.pdf", b"y"),
        local.upload(ROOT_DIR_ID, "md5.pdf", b"y", md5="AAAAAAAAAAAAAAAAAAAAAA=="),
        local.upload("missing-folder", "z.pdf", b"y"),
    ):
        with pytest.raises((Conflict, PreconditionFailed, NotFound)):
            await call
    assert list((local.root / ".tmp").iterdir()) == []


async def test_cancelled_upload_leaves_nothing(local: LocalStore) -> None:
    import anyio

    async def slow_chunks() -> Any:
        yield b"a" * 1000
        await anyio.sleep(10)
        yield b"b"

    with anyio.move_on_after(0.2):
        await local.upload(ROOT_DIR_ID, "slow.bin", slow_chunks())
    assert list((local.root / ".tmp").iterdir()) == []
    assert [f.name async for f in local.list_dir(ROOT_DIR_ID)] == [".cozy_trash"]  # listed, as on the stack


async def test_two_stores_in_one_process_share_the_root(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "s") as a, LocalStore(tmp_path / "s") as b:
        doc = await a.create(DT, {"x": 1})
        assert (await b.get(DT, doc["_id"]))["x"] == 1
        await b.define_index(DT, ["x"])
        assert [ix.name for ix in a.db.indexes(DT)] == ["by_x"]  # seen through data_version
        f = await a.upload(ROOT_DIR_ID, "shared.pdf", b"x")
        assert await b.download(f.id) == b"x"


async def test_an_upload_cancelled_in_its_worker_thread_lands_whole(local: LocalStore, monkeypatch: Any) -> None:
    """A cancelled ``await`` does not stop the worker thread that records the upload: the cancellation
    waits for it, so the caller's cleanup never deletes the temp file under it (which stored a document
    without content: ``NotFound: the content of ... is missing`` on download)."""
    import asyncio
    import threading
    import time

    from browserkonnector.store import _fileplans

    in_thread = threading.Event()
    real_plan = _fileplans.plan_upload

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        in_thread.set()
        time.sleep(0.3)  # the worker is inside step 1 when the caller is cancelled
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(_fileplans, "plan_upload", slow_plan)
    folder = await local.mkdir_p("/Administratif/Demo")
    upload = asyncio.create_task(local.upload(folder.id, "bill.pdf", b"%PDF-1.4 whole content %%EOF"))
    await asyncio.to_thread(in_thread.wait, 5)  # the upload's worker thread is inside step 1
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    monkeypatch.setattr(_fileplans, "plan_upload", real_plan)
    landed = [f async for f in local.list_dir(folder.id)]
    assert [f.name for f in landed] == ["bill.pdf"]  # the worker finished what it had started
    assert await local.download(landed[0].id) == b"%PDF-1.4 whole content %%EOF"
