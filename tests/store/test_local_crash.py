"""LocalStore only: crashes (SIGKILL at random moments) and two writer processes on one store.

After every kill the store is reopened (which recovers) and checked: every file document has its
content on disk with the recorded md5 and size, every file on disk under ``files/`` has a document, no
temp or partial file is visible, no intent is left pending.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from browserkonnector.store._local import LocalStore

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

WRITER = Path(__file__).with_name("_writer.py")


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


async def _check_integrity(root: Path) -> int:
    """Open (recovering), compare documents and disk; the number of files checked."""
    async with LocalStore(root) as store:
        docs = [d async for d in store.all_docs("io.cozy.files")]
        expected: dict[Path, dict[str, object]] = {}
        for doc in docs:
            if doc["type"] != "file":
                assert (root / "files" / doc["path"].lstrip("/")).is_dir(), doc["path"]
                continue
            path = store.disk_path(doc["_id"])
            assert path.is_file(), f"document {doc['_id']} points to missing {path}"
            assert path.stat().st_size == int(doc["size"]), f"size of {path}"
            assert _md5(path) == doc["md5sum"], f"md5 of {path}"
            expected[path] = doc
        on_disk = {p for p in (root / "files").rglob("*") if p.is_file()}
        assert on_disk == set(expected), f"orphans: {on_disk - set(expected)}"
        assert not list((root / "files").rglob("*.part"))
        assert list((root / ".tmp").iterdir()) == []
        with store.db.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0
        used = await store.used_bytes()
        assert used == sum(int(d["size"]) for d in docs if d["type"] == "file")
        return len(expected)


def _leftovers(root: Path) -> int:
    """Intents and temp files a killed writer left (read raw, before a store opens and recovers)."""
    with sqlite3.connect(root / "store.sqlite3") as conn:
        pending = int(conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0])
    conn.close()
    return pending + len(list((root / ".tmp").glob("*.part")))


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize(("mode", "rounds"), [("loop", 20), ("batch", 12)])
async def test_sigkill_while_uploading_and_overwriting(tmp_path: Path, mode: str, rounds: int) -> None:
    """``loop``: one change at a time; ``batch``: six in flight, written together (group commit)."""
    root = tmp_path / "store"
    rnd = random.Random(20240131)
    checked = interrupted = 0
    for round_ in range(rounds):
        proc = _start(str(root), mode, str(round_))
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
        await anyio.sleep(rnd.uniform(0.05, 0.6))  # kill at a random point of the upload/overwrite loop
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "writer died"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
        interrupted += _leftovers(root)
        checked += await _check_integrity(root)
    assert checked > 0
    # the kills did land inside operations: recovery had intents to finish or temp files to remove
    assert interrupted > 0


async def test_two_writer_processes_on_one_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    rounds = 12
    procs = [_start(str(root), "race", tag, str(rounds)) for tag in ("A", "B")]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    # each shared name was taken by exactly one writer, the other got a Conflict
    assert sum(s["won"] for s in summaries) == rounds
    assert sum(s["lost"] for s in summaries) == rounds
    assert await _check_integrity(root) == 2 * rounds + rounds
    async with LocalStore(root) as store:
        for i in range(rounds):
            shared = await store.stat_path(f"/race/round-{i % 5}/shared-{i}.bin")
            assert (await store.download(shared.id)).startswith(b"shared by ")
        for i in range(5):  # both created these folders: one folder each, no duplicate
            assert (await store.stat_path(f"/race/round-{i}")).is_dir
        bills = [d async for d in store.all_docs("io.cozy.bills")]
        assert sorted((b["tag"], b["i"]) for b in bills) == sorted((t, i) for t in "AB" for i in range(rounds))
    assert os.listdir(root / ".locks") == []


async def test_a_store_locked_for_a_moment_by_another_writer_opens_once_it_is_free(tmp_path: Path) -> None:
    """Opening a store while another process holds its database (switching to WAL, checkpointing) got
    SQLite's immediate "database is locked", which was reported as a damaged store: it now waits."""
    async with LocalStore(tmp_path / "store"):
        pass
    database = tmp_path / "store" / "store.sqlite3"
    holder = sqlite3.connect(str(database), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # what a writer mid-checkpoint looks like to a newcomer

    async def release_later() -> None:
        await anyio.sleep(0.5)
        holder.execute("COMMIT")
        holder.close()

    async with anyio.create_task_group() as group:
        group.start_soon(release_later)
        async with LocalStore(tmp_path / "store") as store:
            assert "io.cozy.files" in await store.doctypes()
