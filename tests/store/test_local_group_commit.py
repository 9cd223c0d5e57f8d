"""LocalStore only: changes in flight together are written in batches (group commit), each still whole.

The crash side (SIGKILL while batches are written) is ``test_local_crash.py``'s ``batch`` mode; these
check what a batch does while the process lives: fewer commits and folder fsyncs than files, a refused
or cancelled change that leaves the others of its batch alone, and nothing left pending.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from browserkonnector.store import _fileops
from browserkonnector.store._base import AppInfo, md5_base64
from browserkonnector.store._errors import Conflict
from browserkonnector.store._local import LocalStore

pytestmark = pytest.mark.anyio

APP = AppInfo("group-commit-tests", "1")


async def _no_leftovers(store: LocalStore) -> None:
    with store.db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0
    assert list((store.root / ".tmp").iterdir()) == []


async def test_concurrent_uploads_share_commits_and_folder_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    fsyncs: list[Path] = []
    finish_many = _fileops.FileOps.finish_many
    fsync_dir = _fileops.fsync_dir

    def counted_finish(self: _fileops.FileOps, ops: list[_fileops.Op]) -> Any:
        batches.append(len(ops))
        return finish_many(self, ops)

    def counted_fsync(path: Path) -> None:
        fsyncs.append(path)
        fsync_dir(path)

    monkeypatch.setattr(_fileops.FileOps, "finish_many", counted_finish)
    monkeypatch.setattr(_fileops, "fsync_dir", counted_fsync)
    async with LocalStore(tmp_path / "store", app=APP) as store:
        folder = await store.mkdir_p("/bills")
        batches.clear()
        fsyncs.clear()
        bodies = {f"bill-{i}.pdf": f"%PDF-1.4 bill {i}".encode() * 50 for i in range(30)}
        saved = await asyncio.gather(
            *(store.upload(folder.id, name, body, md5=md5_base64(body)) for name, body in bodies.items())
        )
        assert sorted(f.name for f in saved) == sorted(bodies)
        for file in saved:
            assert await store.download(file.id) == bodies[file.name]
        assert sum(batches) == 30
        assert max(batches) > 1  # written together, not one by one
        assert len(batches) < 30
        assert len(fsyncs) == len(batches)  # one fsync of the folder per batch, not per file
        await _no_leftovers(store)


async def test_a_refused_change_leaves_the_rest_of_its_batch(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "store", app=APP) as store:
        folder = await store.mkdir_p("/bills")
        names = [f"bill-{i}.pdf" for i in range(8)] + ["bill-3.pdf"]  # one name twice: one is refused

        async def upload(name: str, i: int) -> object:
            try:
                return await store.upload(folder.id, name, f"content {i}".encode())
            except Conflict as exc:
                return exc

        outcomes = await asyncio.gather(*(upload(name, i) for i, name in enumerate(names)))
        assert sum(isinstance(o, Conflict) for o in outcomes) == 1
        listed = sorted([f.name async for f in store.list_dir(folder.id)])
        assert listed == sorted(set(names))
        await _no_leftovers(store)


async def test_cancelled_uploads_are_whole_or_absent(tmp_path: Path) -> None:
    async with LocalStore(tmp_path / "store", app=APP) as store:
        folder = await store.mkdir_p("/bills")
        bodies = {f"bill-{i}.pdf": bytes([i]) * 100_000 for i in range(12)}
        tasks = [asyncio.ensure_future(store.upload(folder.id, name, body)) for name, body in bodies.items()]
        await asyncio.sleep(0)
        for task in tasks[::3]:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            assert task.cancelled() or task.exception() is None
        stored = {f.name: f async for f in store.list_dir(folder.id)}
        assert len(stored) >= len(tasks) - len(tasks[::3])  # every upload not cancelled is there
        for name, file in stored.items():
            assert await store.download(file.id) == bodies[name]
        on_disk = {p.name for p in (store.root / "files" / "bills").iterdir()}
        assert on_disk == set(stored)
        await _no_leftovers(store)
