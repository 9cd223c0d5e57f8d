"""save_files on a real LocalStore with a real vendor on loopback.

The first part ports saveFiles.spec.js (its table, shouldReplaceName, filestream without filename,
entries without source, timeout, carbonCopy/qualification replacement, subPath, getFileIfExists in path
and metadata mode); the JS mocked cozy-client, here the files really land in the store and the checks
read them back. The second part covers what the port fixes (validation before storing, retries, order,
downloads shared, quota, deadlines).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from save_helpers import Vendor, is_valid_pdf, make_pdf, summary

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.save import Fetched, FileEntry, save_files
from browserkonnector.store._base import AppInfo

pytestmark = pytest.mark.anyio
FOLDER = "/testfolder"
IDENT = {"source_account": "acc1", "source_account_identifier": "me@example.com"}


def bill_fixtures(base: str) -> list[dict[str, Any]]:
    """saveFiles.spec getBillFixtures, with the vendor on loopback and a real PDF as the filestream."""
    return [
        {
            "amount": 20.09,
            "date": "2017-12-12T23:00:00.000Z",
            "vendor": "Free Mobile",
            "type": "phone",
            "fileurl": f"{base}/bill/201712_freemobile.pdf?id=7c7dfbfc",
            "filename": "201712_freemobile.pdf",
        },
        {
            "amount": 20.03,
            "date": "2018-01-12T23:00:00.000Z",
            "vendor": "Free Mobile",
            "type": "phone",
            "fileurl": f"{base}/bill/201801_freemobile.pdf?id=29654a01",
            "filename": "201801_freemobile.pdf",
        },
        {
            "amount": 20.39,
            "date": "2017-01-12T23:00:00.000Z",
            "vendor": "Free Mobile",
            "type": "phone",
            "fileurl": f"{base}/bill/201701_freemobile.pdf?id=0ca5e553",
            "filename": "201701_freemobile.pdf",
        },
        {
            "amount": 49.32,
            "date": "2018-03-03T23:00:00.000Z",
            "vendor": "Free Mobile",
            "type": "phone",
            "filestream": make_pdf("stream"),
            "filename": "201701_freemobile.pdf",
        },
    ]


async def names_in(store: Any, path: str) -> dict[str, Any]:
    folder = await store.stat_path(path)
    return {f.name: f async for f in store.list_dir(folder.id)}


async def save(store: Any, app: AppInfo, entries: list[Any], folder: str = FOLDER, **options: Any) -> list[Any]:
    options.setdefault("backoff", 0)
    return await save_files(entries, folder, store=store, app=app, **options)


# -- saveFiles.spec.js: the table ---------------------------------------------------------------------------
async def test_when_file_does_not_exist(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """Table case 'when file does not exist': created; the entry gets its file (JS fileDocument)."""
    _site, base = vendor
    bills = bill_fixtures(base)
    saved = await save(store, app, bills)
    assert summary(saved) == ["created", "created", "created", "kept"]  # #4 shares #3's path
    assert saved[0].file is not None
    assert saved[0].file.name == "201712_freemobile.pdf"
    files = await names_in(store, FOLDER)
    assert sorted(files) == ["201701_freemobile.pdf", "201712_freemobile.pdf", "201801_freemobile.pdf"]
    for file in files.values():
        assert is_valid_pdf(await store.download(file.id))
        assert file.mime == "application/pdf"
    assert "filestream" in bills[3], "entries are not mutated (JS sanitized them in place)"


async def test_when_file_exists_and_mime_is_correct(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """Table case 'when file exists and mime is correct': nothing downloaded, the existing file is used."""
    site, base = vendor
    folder = await store.mkdir_p(FOLDER)
    existing = await store.upload(folder.id, "201701_freemobile.pdf", make_pdf("old"), mime="application/pdf")
    saved = await save(store, app, bill_fixtures(base)[2:3])
    assert summary(saved) == ["kept"]
    assert saved[0].file.id == existing.id
    assert site.hits["201701_freemobile.pdf"] == 0


async def test_when_file_exists_and_mime_is_not_correct(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """Table case 'when file exists and mime is not correct': replaced in place (same file id)."""
    _site, base = vendor
    folder = await store.mkdir_p(FOLDER)
    existing = await store.upload(folder.id, "201701_freemobile.pdf", make_pdf("old"), mime="image/png")
    saved = await save(store, app, bill_fixtures(base)[2:3])
    assert summary(saved) == ["replaced"]
    assert saved[0].file.id == existing.id
    assert saved[0].file.mime == "application/pdf"
    assert await store.download(existing.id) != make_pdf("old")


async def test_should_replace_name(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """'when entry have shouldReplaceName': the old file is renamed, not downloaded again."""
    site, base = vendor
    folder = await store.mkdir_p(FOLDER)
    old = await store.upload(folder.id, "201712_freemobile.pdf", make_pdf("old"), mime="application/pdf")
    entry = {
        **bill_fixtures(base)[0],
        "filename": "201712_freemobile_nicename.pdf",
        "shouldReplaceName": "201712_freemobile.pdf",
    }
    saved = await save(store, app, [entry])
    assert summary(saved) == ["kept"]
    assert saved[0].file.id == old.id
    assert list(await names_in(store, FOLDER)) == ["201712_freemobile_nicename.pdf"]
    assert sum(site.hits.values()) == 0


async def test_filestream_without_filename_is_ignored(store: Any, app: AppInfo) -> None:
    saved = await save(store, app, [{"amount": 62.93, "vendor": "Free Mobile", "filestream": make_pdf()}])
    assert summary(saved) == ["skipped"]
    assert saved[0].error == "content without a filename"
    assert await names_in(store, FOLDER) == {}


async def test_entry_without_file_creation_information_does_nothing(store: Any, app: AppInfo) -> None:
    saved = await save(store, app, [{"amount": 62.93, "date": "2018-03-03T23:00:00.000Z", "vendor": "Free Mobile"}])
    assert summary(saved) == ["skipped"]
    assert await names_in(store, FOLDER) == {}


async def test_when_timeout_is_reached(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """'when timeout is reached / should do nothing' (JS ``timeout: 1``, a timestamp in the past)."""
    site, base = vendor
    saved = await save(store, app, bill_fixtures(base)[:1], timeout=0)
    assert summary(saved) == ["skipped"]
    assert saved[0].error == "timeout"
    assert await names_in(store, FOLDER) == {}
    assert sum(site.hits.values()) == 0


@pytest.mark.parametrize(
    ("existing_meta", "entry_meta", "outcome"),
    [
        (None, {"carbonCopy": True}, "replaced"),
        ({"carbonCopy": True}, {"carbonCopy": True, "qualification": {"item1": True, "item2": "toto"}}, "replaced"),
        (
            {"qualification": {"item1": True, "item2": "toto"}},
            {"qualification": {"item1": True, "item2": "tata"}},
            "replaced",
        ),
        (
            {"qualification": {"item1": True, "item2": "tata"}},
            {"qualification": {"item1": True, "item2": "tata"}},
            "kept",
        ),
        ({"carbonCopy": True}, {"electronicSafe": True}, "replaced"),
        ({"carbonCopy": True, "qualification": {"label": "x"}}, {"qualification": {"label": "x"}}, "kept"),
    ],
    ids=[
        "new carbonCopy metadata",
        "new qualification V2",
        "qualification V2 to replace",
        "qualification V2 unchanged",
        "electronicSafe added",
        "carbonCopy not given is not a reason (fix)",
    ],
)
async def test_metadata_replacement_rules(
    store: Any,
    app: AppInfo,
    vendor: tuple[Vendor, str],
    existing_meta: dict[str, Any] | None,
    entry_meta: dict[str, Any],
    outcome: str,
) -> None:
    """saveFiles.spec 'when new carbonCopy metadata available', 'when new qualification V2 is available',
    'when a qualification V2 needs to be replaced', 'when a qualification V2 do not need to be updated'."""
    site, base = vendor
    folder = await store.mkdir_p(FOLDER)
    await store.upload(folder.id, "bill.pdf", make_pdf("old"), mime="application/pdf", metadata=existing_meta)
    entry = {"fileurl": f"{base}/bill/bill.pdf", "filename": "bill.pdf", "fileAttributes": {"metadata": entry_meta}}
    saved = await save(store, app, [entry])
    assert summary(saved) == [outcome]
    assert saved[0].file.metadata == (entry_meta if outcome == "replaced" else existing_meta)
    assert site.hits["bill.pdf"] == (1 if outcome == "replaced" else 0)


async def test_no_sub_path(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """'subPath handling / should not create subPath if no subPath specified'."""
    _site, base = vendor
    saved = await save(store, app, [{"fileurl": f"{base}/bill/randomfileurl.pdf"}], folder="/mainPath")
    assert saved[0].file.name == "randomfileurl.pdf"
    assert list(await names_in(store, "/mainPath")) == ["randomfileurl.pdf"]


@pytest.mark.parametrize("where", ["entry", "option"])
async def test_sub_path(store: Any, app: AppInfo, vendor: tuple[Vendor, str], where: str) -> None:
    """'should change the folderPath for entries with subPath' / 'with subPath main option'."""
    _site, base = vendor
    entry: dict[str, Any] = {"fileurl": f"{base}/bill/randomfileurl.pdf"}
    options: dict[str, Any] = {}
    if where == "entry":
        entry["subPath"] = "mySubPath"
    else:
        options["sub_path"] = "mySubPath"
    saved = await save(store, app, [entry], folder="/mainPath", **options)
    assert saved[0].file.dir_id == (await store.stat_path("/mainPath/mySubPath")).id


async def test_contract_folder_is_created_referenced_and_reused(
    store: Any, app: AppInfo, vendor: tuple[Vendor, str]
) -> None:
    """A contract's folder is referenced by the contract and the account; when the user renames
    it, the next run finds it through the reference instead of creating a new one."""
    _site, base = vendor
    contract = {"id": "c-42", "name": "Maison"}
    first = await save(store, app, [{"fileurl": f"{base}/bill/a.pdf"}], folder="/Main", contract=contract, **IDENT)
    folder = await store.stat_path("/Main/Maison")
    assert first[0].file.dir_id == folder.id
    refs = {(r.type, r.id) for r in folder.referenced_by}
    assert ("io.cozy.accounts.contracts", "c-42") in refs
    assert ("io.cozy.accounts.sourceAccountIdentifier", "me@example.com") in refs
    assert ("io.cozy.konnectors", "io.cozy.konnectors/demo-vendor") in refs
    await store.update_file(folder.id, name="Ma maison")
    second = await save(store, app, [{"fileurl": f"{base}/bill/b.pdf"}], folder="/Main", contract=contract, **IDENT)
    assert second[0].file.dir_id == folder.id


async def test_get_file_if_exists_path_mode(store: Any, app: AppInfo) -> None:
    """getFileIfExists 'when in filepath mode': no identifier → found (or not) by its path."""
    pdf = make_pdf("x")
    first = await save(store, app, [{"filename": "testfile.pdf", "filestream": pdf}], folder="/test/path")
    again = await save(store, app, [{"filename": "testfile.pdf", "filestream": make_pdf("other")}], folder="/test/path")
    assert summary(first) == ["created"]
    assert summary(again) == ["kept"]
    assert again[0].file.id == first[0].file.id


async def test_get_file_if_exists_metadata_mode(store: Any, app: AppInfo) -> None:
    """getFileIfExists 'when in metadata mode': found by ``metadata.fileIdAttributes`` wherever it is (moved,
    renamed), with one indexed query; not found → path mode; several attributes → sorted, joined."""
    calls = 0

    async def fetch_file() -> Fetched:
        nonlocal calls
        calls += 1
        return Fetched(make_pdf("v"), status=200)

    entry = {"filename": "testfile.pdf", "vendorRef": "uniquevendorref", "amount": 42, "fetchFile": fetch_file}
    [first] = await save(store, app, [entry], folder="/test/path", file_id_attributes=["vendorRef", "amount"], **IDENT)
    assert first.file.metadata["fileIdAttributes"] == "42####uniquevendorref"
    elsewhere = await store.mkdir_p("/somewhere/else")
    await store.update_file(first.file.id, name="renamed by the user.pdf", dir_id=elsewhere.id)
    [again] = await save(store, app, [entry], folder="/test/path", file_id_attributes=["vendorRef", "amount"], **IDENT)
    assert again.outcome == "kept"
    assert again.file.id == first.file.id
    assert calls == 1
    other = {**entry, "vendorRef": "another"}
    [new] = await save(store, app, [other], folder="/test/path", file_id_attributes=["vendorRef", "amount"], **IDENT)
    assert new.outcome == "created"
    assert calls == 2


# -- the fixes ----------------------------------------------------------------------------------------------
async def test_html_error_page_is_never_stored(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    """A vendor's HTML error page, with a forced content type: refused, retried, reported, not stored."""
    site, base = vendor
    site.html.add("expired.pdf")
    saved = await save(store, app, [{"fileurl": f"{base}/bill/expired.pdf"}], content_type="application/pdf", retries=2)
    assert summary(saved) == ["failed"]
    assert "HTML page" in (saved[0].error or "")
    assert site.hits["expired.pdf"] == 3
    assert await names_in(store, FOLDER) == {}


async def test_transient_errors_are_retried(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    site, base = vendor
    site.fail_first["flaky.pdf"] = 2
    saved = await save(store, app, [{"fileurl": f"{base}/bill/flaky.pdf"}], retries=3)
    assert summary(saved) == ["created"]
    assert site.hits["flaky.pdf"] == 3


async def test_permanent_errors_are_not_retried(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    site, base = vendor
    site.status["gone.pdf"] = 404
    saved = await save(store, app, [{"fileurl": f"{base}/bill/gone.pdf"}], retries=3)
    assert summary(saved) == ["failed"]
    assert saved[0].error == "HTTP status 404"
    assert site.hits["gone.pdf"] == 1


async def test_truncated_pdf_is_refused(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    site, base = vendor
    site.truncate.add("cut.pdf")
    saved = await save(store, app, [{"fileurl": f"{base}/bill/cut.pdf"}], retries=1)
    assert summary(saved) == ["failed"]
    assert "PDF" in (saved[0].error or "")
    assert site.hits["cut.pdf"] == 2


async def test_results_in_input_order_and_progress(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    site, base = vendor
    site.fail_first["b0.pdf"] = 1  # the first entry finishes last
    entries = [{"fileurl": f"{base}/bill/b{i}.pdf"} for i in range(12)]
    seen: list[tuple[int, int]] = []
    saved = await save(store, app, entries, concurrency=4, progress=lambda done, total: seen.append((done, total)))
    assert [s.file.name for s in saved] == [f"b{i}.pdf" for i in range(12)]
    assert seen[-1] == (12, 12)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_entries_sharing_a_file_download_it_once(store: Any, app: AppInfo) -> None:
    calls = 0

    async def fetch_file() -> Fetched:
        nonlocal calls
        calls += 1
        return Fetched(make_pdf("shared"), status=200)

    entries = [{"filename": f"copy{i}.pdf", "vendorRef": "same", "fetchFile": fetch_file} for i in range(3)]
    saved = await save(store, app, entries, file_id_attributes=["vendorRef"], **IDENT)
    assert summary(saved) == ["created", "kept", "kept"]
    assert calls == 1
    assert len({s.file.id for s in saved}) == 1


async def test_quota_exceeded_stops_the_run(tmp_path: Any, app: AppInfo) -> None:
    from browserkonnector.store._local import LocalStore

    async with LocalStore(tmp_path / "full", app=app, quota_bytes=1000) as small:
        entries = [{"filename": f"f{i}.pdf", "filestream": make_pdf(f"f{i}", pages=3)} for i in range(3)]
        with pytest.raises(KonnectorError) as info:  # one at a time: LocalStore's quota check races (see report)
            await save(small, app, entries, concurrency=1)
        assert info.value.code == errors.DISK_QUOTA_EXCEEDED


async def test_fetch_file_called_only_when_needed(store: Any, app: AppInfo) -> None:
    calls: list[str] = []

    def entry(name: str) -> FileEntry:
        async def fetch() -> Fetched:
            calls.append(name)
            return Fetched(make_pdf(name), status=200)

        return FileEntry(filename=name, fetch_file=fetch)

    await save(store, app, [entry("a.pdf"), entry("b.pdf")])
    await save(store, app, [entry("a.pdf"), entry("b.pdf"), entry("c.pdf")])
    assert calls == ["a.pdf", "b.pdf", "c.pdf"]


async def test_streams_and_file_objects(store: Any, app: AppInfo) -> None:
    pdf = make_pdf("stream")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(pdf), 100):
            yield pdf[start : start + 100]

    saved = await save(
        store,
        app,
        [FileEntry(filename="a.pdf", content=chunks()), FileEntry(filename="b.pdf", content=io.BytesIO(pdf))],
    )
    assert summary(saved) == ["created", "created"]
    assert await store.download(saved[0].file.id) == pdf == await store.download(saved[1].file.id)


async def test_deadline_stops_a_hanging_download_and_what_was_not_started(store: Any, app: AppInfo) -> None:
    """``timeout`` counts from the call: a download hanging past it fails, the entries behind it are
    skipped, the call returns (nothing hangs)."""
    never = asyncio.Event()

    async def quick() -> Fetched:
        return Fetched(make_pdf("q"), status=200)

    async def hang() -> Fetched:
        await never.wait()
        raise AssertionError("unreachable")

    entries = [
        FileEntry(filename="quick.pdf", fetch_file=quick),
        FileEntry(filename="hang.pdf", fetch_file=hang),
        FileEntry(filename="later.pdf", fetch_file=quick),
    ]
    saved = await save(store, app, entries, concurrency=1, timeout=1.0)
    assert summary(saved) == ["created", "failed", "skipped"]
    assert saved[1].error == "timed out"
    assert saved[2].error == "timeout"


async def test_attempt_timeout_bounds_each_try(store: Any, app: AppInfo) -> None:
    attempts = 0

    async def hang() -> Fetched:
        nonlocal attempts
        attempts += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    saved = await save(store, app, [FileEntry(filename="h.pdf", fetch_file=hang)], attempt_timeout=0.1, retries=2)
    assert summary(saved) == ["failed"]
    assert attempts == 3


async def test_konnector_error_from_a_fetch_stops_the_run(store: Any, app: AppInfo) -> None:
    async def expired() -> Fetched:
        raise KonnectorError(errors.LOGIN_FAILED)

    with pytest.raises(KonnectorError) as info:
        await save(store, app, [FileEntry(filename="x.pdf", fetch_file=expired)])
    assert info.value.code == errors.LOGIN_FAILED


async def test_qualification_label_option(store: Any, app: AppInfo) -> None:
    saved = await save(
        store, app, [{"filename": "e.pdf", "filestream": make_pdf()}], qualification_label="energy_invoice"
    )
    assert saved[0].file.metadata["qualification"]["sourceCategory"] == "energy"


async def test_invalid_entry_is_named(store: Any, app: AppInfo) -> None:
    with pytest.raises(ValueError, match="entry #1 is invalid"):
        await save(store, app, [{"filename": "a.pdf"}, {"filename": "b.pdf", "filestream": 12}])
