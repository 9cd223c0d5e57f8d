"""save_files / save_bills options and robustness: replace hooks, validate_file, cancellation, logging,
hydrate's selector, the linker's bank_identifier."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from loguru import logger
from save_helpers import Vendor, is_valid_pdf, make_pdf

from browserkonnector.save import Fetched, FileEntry, hydrate_and_filter, link_bank_operations, save_bills, save_files
from browserkonnector.store._base import AppInfo, FileDoc

pytestmark = pytest.mark.anyio
FOLDER = "/opts"


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(f"{m.record['level'].name} {m.record['message']}"), level="DEBUG")
    yield lines
    logger.remove(sink)


async def _first(store: Any, app: AppInfo, name: str = "a.pdf") -> FileDoc:
    [saved] = await save_files([{"filename": name, "filestream": make_pdf("v1")}], FOLDER, store=store, app=app)
    assert saved.file is not None
    return saved.file


@pytest.mark.parametrize("where", ["entry", "option"])
async def test_should_replace_file_hook(store: Any, app: AppInfo, where: str) -> None:
    """JS ``entry.shouldReplaceFile || options.shouldReplaceFile``: True re-downloads and overwrites."""
    first = await _first(store, app)
    seen: list[str] = []

    def hook(file: FileDoc, entry: FileEntry) -> bool:
        seen.append(file.name)
        return True

    entry: dict[str, Any] = {"filename": "a.pdf", "filestream": make_pdf("v2")}
    options: dict[str, Any] = {}
    if where == "entry":
        entry["shouldReplaceFile"] = hook
    else:
        options["should_replace_file"] = hook
    [saved] = await save_files([entry], FOLDER, store=store, app=app, **options)
    assert saved.outcome == "replaced"
    assert saved.file is not None
    assert saved.file.id == first.id
    assert seen == ["a.pdf"]
    assert await store.download(first.id) == make_pdf("v2")


async def test_a_raising_should_replace_file_means_replace(store: Any, app: AppInfo) -> None:
    await _first(store, app)

    def broken(file: FileDoc, entry: FileEntry) -> bool:
        raise RuntimeError("bug in the connector")

    [saved] = await save_files(
        [{"filename": "a.pdf", "filestream": make_pdf("v2")}], FOLDER, store=store, app=app, should_replace_file=broken
    )
    assert saved.outcome == "replaced"


async def test_custom_validate_file(store: Any, app: AppInfo) -> None:
    """``validate_file(file_doc)``: an existing file it refuses is replaced; a new file it refuses is removed
    and the entry fails (JS BAD_DOWNLOADED_FILE)."""
    first = await _first(store, app)
    [replaced] = await save_files(
        [{"filename": "a.pdf", "filestream": make_pdf("v2")}],
        FOLDER,
        store=store,
        app=app,
        validate_file=lambda f: f.md5sum != first.md5sum,
    )
    assert replaced.outcome == "replaced"
    [refused] = await save_files(
        [{"filename": "b.pdf", "filestream": make_pdf("b")}],
        FOLDER,
        store=store,
        app=app,
        validate_file=lambda f: False,
    )
    assert refused.outcome == "failed"
    assert "BAD_DOWNLOADED_FILE" in (refused.error or "")
    names = [f.name async for f in store.list_dir((await store.stat_path(FOLDER)).id)]
    assert names == ["a.pdf"]


async def test_cancelled_save_leaves_a_consistent_store(store: Any, app: AppInfo) -> None:
    """Cancelling ``save_files`` half-way (a run stopped by its caller) leaves only whole, valid files, and
    the next call saves the rest without downloading the saved ones again."""
    calls: list[int] = []
    ten_started = asyncio.Event()

    def entries() -> list[FileEntry]:
        def make(i: int) -> FileEntry:
            async def fetch() -> Fetched:
                calls.append(i)
                if len(calls) >= 10:
                    ten_started.set()
                await asyncio.sleep(0.02)
                return Fetched(make_pdf(f"c{i}"), status=200)

            return FileEntry(filename=f"c{i:02d}.pdf", fetch_file=fetch)

        return [make(i) for i in range(30)]

    task = asyncio.create_task(save_files(entries(), FOLDER, store=store, app=app, concurrency=3))
    await ten_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    folder = await store.stat_path(FOLDER)
    partial = [f async for f in store.list_dir(folder.id)]
    assert 0 < len(partial) < 30
    for file in partial:
        assert is_valid_pdf(await store.download(file.id))
    calls.clear()
    saved = await save_files(entries(), FOLDER, store=store, app=app)
    kept = [s.outcome for s in saved].count("kept")
    # an upload already handed to the store's worker thread may still land after the cancellation: whole
    assert kept >= len(partial)
    assert len(calls) == 30 - kept
    final = [f async for f in store.list_dir(folder.id)]
    assert sorted(f.name for f in final) == [f"c{i:02d}.pdf" for i in range(30)]
    assert {s.file.id for s in saved if s.file} == {f.id for f in final}


async def test_failure_warning_names_the_entry_not_the_secret(
    store: Any, app: AppInfo, vendor: tuple[Vendor, str], log_lines: list[str]
) -> None:
    site, base = vendor
    site.status["bill.pdf"] = 403
    await save_files([{"fileurl": f"{base}/bill/bill.pdf?token=s3cr3t-t0ken"}], FOLDER, store=store, app=app)
    warnings = [line for line in log_lines if line.startswith("WARNING SAVE_FILE_FAILED")]
    assert len(warnings) == 1
    assert "'bill.pdf'" in warnings[0]
    assert "HTTP status 403" in warnings[0]
    assert not any("s3cr3t" in line for line in log_lines)
    assert any("saveFiles created 0 files for 1 entries" in line for line in log_lines)


async def test_should_update_option_forces_updates(store: Any, app: AppInfo) -> None:
    bills = [{"vendor": "V", "date": "2024-01-01", "amount": 5, "filename": "v.pdf", "filestream": make_pdf("v")}]
    await save_bills(bills, FOLDER, store=store, app=app, link_bank_operations=False)
    again = await save_bills(
        bills, FOLDER, store=store, app=app, link_bank_operations=False, should_update=lambda doc, stored: True
    )
    assert again.bills_updated == 1


async def test_hydrate_selector_narrows_the_query(store: Any) -> None:
    await store.create("io.cozy.bills", {"vendorRef": "A", "vendor": "EDF"})
    await store.create("io.cozy.bills", {"vendorRef": "B", "vendor": "Engie"})
    incoming = [{"vendorRef": "A"}, {"vendorRef": "B"}]
    kept = await hydrate_and_filter(
        incoming, "io.cozy.bills", store=store, keys=["vendorRef"], selector={"vendor": "EDF"}
    )
    assert [d["vendorRef"] for d in kept] == ["B"]


async def test_bank_identifier_replaces_identifiers(store: Any) -> None:
    await store.create(
        "io.cozy.bank.operations",
        {"_id": "op", "date": "2024-01-02T00:00:00.000Z", "label": "PRLV MY OWN LABEL", "amount": -30},
    )
    bill = {"_id": "b1", "vendor": "SFR", "date": "2024-01-01T00:00:00.000Z", "amount": 30}
    none = await link_bank_operations([bill], store=store, identifiers=["sfr"])
    assert none["b1"].debit_operation is None
    found = await link_bank_operations([bill], store=store, identifiers=["sfr"], bank_identifier="my own label")
    assert found["b1"].debit_operation is not None
    assert found["b1"].debit_operation["_id"] == "op"
