"""A run killed with SIGKILL in the middle of ``save_bills``, then re-run, leaves exactly one bill document
and one valid PDF file per bill (no duplicate, no orphan, no half-written file).

Each scenario starts a fresh store, kills the worker twice at random moments after it started saving
(downloads are slowed down so a run lasts about 1.5 s), then lets a third run finish. The states seen
after the kills are recorded, so the test also checks that it did kill runs half-way.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from save_helpers import is_valid_pdf

from browserkonnector.store._local import LocalStore

pytestmark = pytest.mark.slow
WORKER = Path(__file__).parent / "fixtures" / "sigkill_worker.py"
N = 120  # with 0.03 s per download, 4 at a time: a run of about 1.5 s to kill somewhere inside
FOLDER = "/Administratif/Demo"


def _kill_after_start(root: Path, delay: float) -> bool:
    """Start the worker, SIGKILL it ``delay`` s after it began saving; True if it was killed."""
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(root), str(N)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    line = proc.stdout.readline()  # blocks until the worker is about to save
    assert line.strip() == "START", proc.stderr.read()
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    return proc.returncode == -signal.SIGKILL


async def _state(root: Path) -> tuple[int, int]:
    async with LocalStore(root) as store:
        bills = [doc async for doc in store.all_docs("io.cozy.bills")]
        try:
            folder = await store.stat_path(FOLDER)
        except Exception:
            return len(bills), 0
        return len(bills), len([f async for f in store.list_dir(folder.id)])


async def _check(root: Path) -> None:
    async with LocalStore(root) as store:
        bills = [doc async for doc in store.all_docs("io.cozy.bills")]
        assert sorted(b["vendorRef"] for b in bills) == [f"R{i:04d}" for i in range(N)], "one bill per vendorRef"
        folder = await store.stat_path(FOLDER)
        files = {f.id: f async for f in store.list_dir(folder.id)}
        assert sorted(f.name for f in files.values()) == [f"bill-{i:04d}.pdf" for i in range(N)], "one file per bill"
        for bill in bills:
            file = files[bill["invoice"].removeprefix("io.cozy.files:")]
            data = await store.download(file.id)
            assert is_valid_pdf(data)
            assert len(data) == file.size
            assert base64.b64encode(hashlib.md5(data).digest()).decode() == file.md5sum
            assert file.metadata["fileIdAttributes"] == bill["vendorRef"]
    on_disk = sorted(p.name for p in (root / "files" / "Administratif" / "Demo").iterdir())
    assert on_disk == [f"bill-{i:04d}.pdf" for i in range(N)], "no temp or half file under files/"


def test_sigkill_during_save_bills_then_rerun(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("BK_SIGKILL_SEED", "20241127")))
    partial_states: list[tuple[int, int]] = []
    for scenario in range(3):
        root = tmp_path / f"store{scenario}"
        for _ in range(2):
            if _kill_after_start(root, rng.uniform(0.0, 1.6)) and (root / "store.sqlite3").exists():
                state = asyncio.run(_state(root))
                if state != (N, N):
                    partial_states.append(state)
        final = subprocess.run(
            [sys.executable, str(WORKER), str(root), str(N)], capture_output=True, text=True, timeout=180
        )
        assert final.returncode == 0, final.stderr[-2000:]
        assert final.stdout.strip().splitlines()[-1].startswith("DONE")
        asyncio.run(_check(root))
    assert partial_states, "no kill landed in the middle of a save: slow the worker down"
