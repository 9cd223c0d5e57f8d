"""Store faults (finding 3 and part of 4): a full disk, a damaged database, a read-only store.

A full disk is ``DISK_QUOTA_EXCEEDED`` whichever part of the store hits it (SQLite's "database or
disk is full", ENOSPC on a file), the store stays readable and a rerun with room completes it; the
WAL is checkpointed so 50 bills fit on a 3 MB volume; ``store ls/export/show`` never write and work on
a read-only mount; a damaged database gives one message naming the file and what to do.

The real-disk tests mount a small tmpfs, which needs root (they are skipped otherwise); the SQLite
limit test uses ``PRAGMA max_page_count``, which makes SQLite answer ``SQLITE_FULL`` for real.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector.store._errors import QuotaExceeded
from browserkonnector.store._local import LocalStore
from tests.e2e.conftest import run_cli
from tests.faults.conftest import run_demo
from tests.faults.invariants import check_store


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real small volume at ``path`` (root only), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(volume: Path, leave: int) -> Path:
    """Fill ``volume`` but ``leave`` bytes."""
    stat = os.statvfs(volume)
    filler = volume / "filler"
    filler.write_bytes(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))
    return filler


def store_cli(*args: str) -> tuple[int, str, str]:
    run = run_cli(["store", *args], timeout=60)
    return run.returncode, run.stdout, run.stderr


@pytest.mark.browser
def test_a_full_disk_is_disk_quota_exceeded_and_the_store_stays_readable(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "vol", "3m") as volume:
        site = DemoSite(SiteConfig(bills=30, otp_accounts=False))
        site.start()
        try:
            filler = fill(volume, 260 * 1024)
            out = run_demo(site, volume, extra=["--artifacts", str(tmp_path / "art")])
            assert out.code == "DISK_QUOTA_EXCEEDED", out.run.stdout[-3000:]
            assert sum(line.count('"type":"critical"') for line in out.run.stdout.splitlines()) == 1
            assert "Traceback" not in out.run.stderr
            status, listing, err = store_cli("ls", "--store", str(volume / "store"))
            assert status == 0, err
            assert "io.cozy.files" in listing
            assert check_store(volume / "store").problems == []
            filler.unlink()  # room again: the rerun completes the store, without duplicates
            again = run_demo(site, volume, extra=["--artifacts", str(tmp_path / "art")])
            assert again.code is None, again.run.stdout[-3000:]
            report = check_store(volume / "store")
            assert report.problems == []
            assert len(report.bills) == 30
        finally:
            site.stop()


@pytest.mark.browser
def test_fifty_bills_fit_on_a_3_mb_volume(tmp_path: Path) -> None:
    """The WAL is checkpointed and kept small: it used to grow to 2.66 MB here and fill the volume."""
    with tmpfs(tmp_path / "vol", "3m") as volume:
        site = DemoSite(SiteConfig(bills=50, otp_accounts=False))
        site.start()
        try:
            out = run_demo(site, volume, extra=["--artifacts", str(tmp_path / "art")])
        finally:
            site.stop()
        assert out.code is None, out.run.stdout[-3000:]
        assert len(check_store(volume / "store").bills) == 50


def test_the_wal_stays_small_while_a_store_is_written(tmp_path: Path) -> None:
    async def go() -> int:
        biggest = 0
        async with LocalStore(tmp_path / "s") as store:
            for n in range(400):
                await store.create("io.cozy.bills", {"vendorRef": f"R{n}", "padding": "x" * 2000})
                wal = tmp_path / "s" / "store.sqlite3-wal"
                biggest = max(biggest, wal.stat().st_size if wal.exists() else 0)
        return biggest

    assert asyncio.run(go()) <= 1024 * 1024


def test_sqlite_full_is_quota_exceeded_and_nothing_half_written(tmp_path: Path) -> None:
    async def go() -> None:
        async with LocalStore(tmp_path / "s") as store:
            await store.create("io.cozy.bills", {"vendorRef": "kept"})
            pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
            store.db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # SQLite answers SQLITE_FULL past it

            async def write_until_full() -> None:
                for n in range(200):
                    await store.create("io.cozy.bills", {"vendorRef": f"R{n}", "padding": "x" * 4000})

            with pytest.raises(QuotaExceeded, match="full"):
                await write_until_full()
        async with LocalStore(tmp_path / "s", readonly=True) as store:
            docs = [d async for d in store.all_docs("io.cozy.bills")]
            assert "kept" in {d["vendorRef"] for d in docs}

    asyncio.run(go())


def test_reading_a_read_only_store_never_writes(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "vol", "4m") as volume:

        async def make() -> str:
            async with LocalStore(volume / "store") as store:
                folder = await store.mkdir_p("/Bills")
                file = await store.upload(folder.id, "a.pdf", b"%PDF-1.4 test", mime="application/pdf")
                return file.id

        file_id = asyncio.run(make())
        subprocess.run(["mount", "-o", "remount,ro", str(volume)], check=True)
        before = sorted(p.name for p in (volume / "store").rglob("*"))
        for args in (["ls"], ["export", "--doctype", "io.cozy.files"], ["show", file_id, "--doctype", "io.cozy.files"]):
            status, out, err = store_cli(*args, "--store", str(volume / "store"))
            assert status == 0, err
            assert "Traceback" not in err
        assert "a.pdf" in out
        assert sorted(p.name for p in (volume / "store").rglob("*")) == before


def test_a_damaged_store_gives_one_clear_message(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / "store.sqlite3").write_bytes(os.urandom(8192))
    for args in (["ls"], ["export", "--doctype", "io.cozy.bills"]):
        status, _, err = store_cli(*args, "--store", str(store))
        assert status == 1
        assert "Traceback" not in err
        assert str(store / "store.sqlite3") in err
        assert "Move it away" in err
        assert len(err.strip().splitlines()) == 1


@pytest.mark.browser
def test_a_run_into_a_damaged_store_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "store.sqlite3").write_bytes(os.urandom(8192))
    site = DemoSite(SiteConfig(bills=2, otp_accounts=False))
    site.start()
    try:
        out = run_demo(site, tmp_path)
    finally:
        site.stop()
    assert out.code == "UNKNOWN_ERROR"
    assert any("store.sqlite3 is damaged" in m and "Move it away" in m for m in out.messages("error"))
    assert "Traceback" not in out.run.stderr


def test_export_of_an_unknown_doctype_fails_naming_it(tmp_path: Path) -> None:
    async def make() -> None:
        async with LocalStore(tmp_path / "store") as store:
            await store.create("io.cozy.bills", {"vendorRef": "x"})

    asyncio.run(make())
    status, out, err = store_cli("export", "--store", str(tmp_path / "store"), "--doctype", "io.cozy.bils")
    assert status == 1
    assert out == ""
    assert "no doctype 'io.cozy.bils'" in err
    assert "io.cozy.bills" in err


def test_sqlite_error_text_is_recognised_as_disk_full() -> None:
    from browserkonnector.store._errors import is_disk_full

    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert is_disk_full(OSError(28, "No space left on device"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: x"))
