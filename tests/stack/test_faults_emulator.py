"""CozyStackStore under the stack's failures, injected by the emulator: 409, 413, 401, 5xx, dropped
connections (mid-body, and after the server acted), and what retries must never do (duplicate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from browserkonnector.store._base import ROOT_DIR_ID, md5_base64
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.store._errors import Conflict, NotFound, QuotaExceeded, StoreUnavailable, Unauthorized
from browserkonnector.testing._emulator import StackEmulator

from .helpers import APP, SleepRecorder

pytestmark = pytest.mark.anyio

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4096  # ~1 MiB: several chunks on the wire
BILLS = "io.cozy.bills"


async def _names_in(store: CozyStackStore, dir_id: str) -> list[str]:
    return sorted([f.name async for f in store.list_dir(dir_id) if f.name != ".cozy_trash"])


async def test_upload_of_a_taken_name_is_a_conflict_emulator(cozy: CozyStackStore) -> None:
    folder = await cozy.mkdir_p("/Administratif/EDF")
    await cozy.upload(folder.id, "2024-01.pdf", PDF)
    with pytest.raises(Conflict) as info:
        await cozy.upload(folder.id, "2024-01.pdf", b"%PDF-1.4 other")
    assert info.value.status == 409
    assert await _names_in(cozy, folder.id) == ["2024-01.pdf"]
    assert await cozy.download((await cozy.stat_path("/Administratif/EDF/2024-01.pdf")).id) == PDF


async def test_quota_exceeded_raises_quota_exceeded_and_stores_nothing_emulator(
    tmp_path: Path, waits: SleepRecorder
) -> None:
    with StackEmulator(tmp_path / "full", quota_bytes=len(PDF) + 100) as emu:
        async with CozyStackStore(emu.url, emu.token, retry_options={"sleep": waits}) as store:
            await store.upload(ROOT_DIR_ID, "fits.pdf", PDF)
            with pytest.raises(QuotaExceeded) as info:
                await store.upload(ROOT_DIR_ID, "too-much.pdf", PDF)
            assert info.value.status == 413
            assert await _names_in(store, ROOT_DIR_ID) == ["fits.pdf"]
            assert [r.status for r in emu.requests if r.method == "POST"] == [201, 413]  # 413 is not retried


async def test_expired_konnector_token_says_so_clearly_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    await cozy.create(BILLS, {"amount": 1})
    emulator.expire_token()
    with pytest.raises(Unauthorized) as info:
        await cozy.create(BILLS, {"amount": 2})
    error = info.value
    assert error.expired
    assert error.status == 401
    assert "konnector token expired" in str(error)
    assert "30 minutes" in str(error)
    assert emulator.token not in str(error)
    assert emulator.token not in cozy.describe()
    last = emulator.requests[-1]
    assert last.status == 401  # a konnector token cannot be refreshed: no retry, no refresh attempt
    assert sum(1 for r in emulator.requests if r.path == "/auth/access_token") == 0


async def test_wrong_token_is_an_unauthorized_that_is_not_expired_emulator(emulator: StackEmulator) -> None:
    async with CozyStackStore(emulator.url, "not-the-token-at-all") as store:
        with pytest.raises(Unauthorized) as info:
            await store.get(BILLS, "x")
    assert not info.value.expired
    assert "COZY_CREDENTIALS" in str(info.value)
    assert "not-the-token-at-all" not in str(info.value)


async def test_oauth_token_is_refreshed_once_and_the_request_replayed_emulator(
    emulator: StackEmulator, waits: SleepRecorder
) -> None:
    old_token = emulator.token
    async with CozyStackStore(emulator.url, emulator.oauth_credentials(), retry_options={"sleep": waits}) as store:
        await store.create(BILLS, {"amount": 1})
        emulator.expire_token()
        doc = await store.create(BILLS, {"amount": 2})
        assert doc["amount"] == 2
        assert store.http.credentials.access_token == emulator.token != old_token
    tail = [(r.method, r.path, r.status) for r in emulator.requests[-3:]]
    assert tail == [
        ("POST", "/data/io.cozy.bills/", 401),
        ("POST", "/auth/access_token", 200),
        ("POST", "/data/io.cozy.bills/", 201),
    ]
    assert emulator.requests[-1].header("authorization") == f"Bearer {emulator.token}"
    async with CozyStackStore(emulator.url, emulator.oauth_credentials()) as store:
        assert len([d async for d in store.all_docs(BILLS)]) == 2


async def test_refresh_failure_is_unauthorized_emulator(emulator: StackEmulator) -> None:
    creds = emulator.oauth_credentials().replace(emulator.refresh_token, "revoked-refresh-token")
    async with CozyStackStore(emulator.url, creds) as store:
        emulator.expire_token()
        with pytest.raises(Unauthorized, match="refreshing it failed") as info:
            await store.get(BILLS, "x")
    assert "revoked-refresh-token" not in str(info.value)


async def test_5xx_bursts_are_recovered_by_retries_emulator(
    emulator: StackEmulator, cozy: CozyStackStore, waits: SleepRecorder
) -> None:
    doc = await cozy.create(BILLS, {"vendor": "EDF", "amount": 1})
    emulator.fail_next("GET /data/*", 503, times=3)
    assert (await cozy.get(BILLS, doc["_id"]))["amount"] == 1
    emulator.fail_next("/data/io.cozy.bills/_find", 500, times=2)
    assert len((await cozy.find(BILLS, {"vendor": "EDF"})).docs) == 1
    emulator.fail_next("POST /files/*", 502, times=2)  # a streamed upload: retried by the store itself
    uploaded = await cozy.upload(ROOT_DIR_ID, "bill.pdf", PDF)
    assert uploaded.size == len(PDF)
    statuses = [r.status for r in emulator.requests if r.method == "POST" and r.path == f"/files/{ROOT_DIR_ID}"]
    assert statuses == [502, 502, 201]
    assert cozy.http.retry.retry_count >= 5
    assert len(waits.waits) >= 7  # every retry waited (backoff), counted instead of slept


async def test_a_burst_longer_than_the_retries_raises_store_unavailable_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    emulator.fail_next("GET /data/_all_doctypes", 503, times=10)
    with pytest.raises(StoreUnavailable) as info:
        await cozy.doctypes()
    assert info.value.status == 503
    assert len([r for r in emulator.requests if r.path == "/data/_all_doctypes"]) == cozy.retries + 1


async def test_4xx_is_never_retried_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    emulator.fail_next("GET /data/*", 404, times=5)
    with pytest.raises(NotFound):
        await cozy.get(BILLS, "anything")
    assert len(emulator.requests) == 1


async def test_connection_drop_mid_upload_leaves_no_half_file_and_the_retry_no_duplicate_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    folder = await cozy.mkdir_p("/Administratif/Demo")
    emulator.drop_next(f"POST /files/{folder.id}", after_bytes=300_000)
    uploaded = await cozy.upload(folder.id, "big.pdf", PDF)
    posts = [r for r in emulator.requests if r.method == "POST" and r.path == f"/files/{folder.id}"]
    assert [(r.dropped, r.status) for r in posts] == [(True, None), (False, 201)]
    assert 0 < posts[0].body_size < len(PDF)  # the server really got part of the body
    assert uploaded.md5sum == md5_base64(PDF)
    assert await _names_in(cozy, folder.id) == ["big.pdf"]
    # what the LocalStore behind the emulator holds: one file, whole, and no leftovers of the cut upload
    files, _ = emulator.call(lambda s: s.find_files({"type": "file"}))
    assert [(f.name, f.size) for f in files] == [("big.pdf", len(PDF))]
    assert not list((emulator.root / ".tmp").iterdir())
    # a re-run of the same save creates no duplicate either: the name is taken
    with pytest.raises(Conflict):
        await cozy.upload(folder.id, "big.pdf", PDF)
    assert await _names_in(cozy, folder.id) == ["big.pdf"]


async def test_dropped_upload_without_retries_leaves_nothing_emulator(emulator: StackEmulator) -> None:
    async with CozyStackStore(emulator.url, emulator.token, retries=0) as store:
        emulator.drop_next("POST /files/*", after_bytes=100_000)
        with pytest.raises(StoreUnavailable) as info:
            await store.upload(ROOT_DIR_ID, "cut.pdf", PDF)
        assert info.value.reason == "transport"
        assert await _names_in(store, ROOT_DIR_ID) == []
    assert not list((emulator.root / ".tmp").iterdir())
    files, _ = emulator.call(lambda s: s.find_files({"name": "cut.pdf"}))
    assert files == []


async def test_lost_answer_of_an_upload_is_recognised_not_duplicated_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    emulator.drop_next("POST /files/*", after_bytes=None)  # the server stores the file, the answer is lost
    uploaded = await cozy.upload(ROOT_DIR_ID, "once.pdf", PDF)
    posts = [r for r in emulator.requests if r.method == "POST" and r.path == f"/files/{ROOT_DIR_ID}"]
    assert [(r.dropped, r.status) for r in posts] == [(True, 201), (False, 409)]
    assert uploaded.name == "once.pdf"
    assert uploaded.md5sum == md5_base64(PDF)
    assert await _names_in(cozy, ROOT_DIR_ID) == ["once.pdf"]


async def test_lost_answer_of_an_overwrite_is_recognised_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    first = await cozy.upload(ROOT_DIR_ID, "x.pdf", b"%PDF-1.4 v1")
    emulator.drop_next(f"PUT /files/{first.id}", after_bytes=None)
    second = await cozy.overwrite(first.id, PDF, if_match=first.rev)
    assert second.md5sum == md5_base64(PDF)
    puts = [r.status for r in emulator.requests if r.method == "PUT"]
    assert puts == [200, 412]  # the replay met If-Match: the store checked the content was ours
    assert await cozy.download(first.id) == PDF


async def test_lost_answer_of_a_put_is_not_reported_as_a_conflict_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    emulator.drop_next("PUT /data/io.cozy.bills/*", after_bytes=None)
    created = await cozy.create(BILLS, {"_id": "bill-1", "amount": 10})
    assert created["_rev"].startswith("1-")
    emulator.drop_next("PUT /data/io.cozy.bills/*", after_bytes=None)
    updated = await cozy.update(BILLS, {**created, "amount": 11})
    assert updated["_rev"].startswith("2-")
    assert updated["amount"] == 11
    puts = [r.status for r in emulator.requests if r.method == "PUT"]
    assert puts == [200, 409, 200, 409]  # each replay met the effect of its own first attempt


async def test_post_whose_answer_is_lost_is_not_replayed_emulator(
    emulator: StackEmulator, cozy: CozyStackStore
) -> None:
    # POST /data/:doctype/ is not idempotent: replaying it after a lost answer would create a duplicate.
    emulator.drop_next("POST /data/io.cozy.bills/", after_bytes=None)
    with pytest.raises(StoreUnavailable):
        await cozy.create(BILLS, {"vendor": "once"})
    assert len([r for r in emulator.requests if r.method == "POST"]) == 1
    assert [d["vendor"] async for d in cozy.all_docs(BILLS)] == ["once"]


async def test_post_refused_with_503_is_retried_emulator(emulator: StackEmulator, cozy: CozyStackStore) -> None:
    emulator.fail_next("POST /data/io.cozy.bills/", 503, times=1)  # refused: surely not processed
    await cozy.create(BILLS, {"vendor": "twice?"})
    assert [d["vendor"] async for d in cozy.all_docs(BILLS)] == ["twice?"]


async def test_app_info_reaches_files_cozy_metadata_emulator(cozy: CozyStackStore) -> None:
    uploaded = await cozy.upload(ROOT_DIR_ID, "a.pdf", PDF, source_account="acc-1", source_account_identifier="alice")
    meta = uploaded.cozy_metadata
    assert meta["createdByApp"] == APP.slug
    assert meta["sourceAccount"] == "acc-1"
    assert meta["sourceAccountIdentifier"] == "alice"
