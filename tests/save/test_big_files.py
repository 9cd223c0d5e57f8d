"""A big download goes through a temporary file, is stored intact, and leaves no file behind.

Files past :data:`~browserkonnector.save._fetched.SPILL_BYTES` are spilled to disk while they are read;
these tests point the temp folder at an empty directory of their own and check it is empty again after
a success, a refused (truncated) copy, a file over the cap and a cancelled save. The memory bound itself
is checked in a subprocess (peak RSS is per process), with a wide margin.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from browserkonnector import _errors as errors
from browserkonnector.save import save_files
from browserkonnector.save._fetched import SPILL_BYTES, Fetched
from browserkonnector.store._base import AppInfo
from browserkonnector.testing._bigpdf import BigPdf, big_pdf_app
from browserkonnector.testing._server import BackgroundServer

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
BIG = SPILL_BYTES * 3  # 24 MiB: spilled, yet quick to serve and store


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temp folder that every temporary file of the test goes to."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def leftovers(folder: Path) -> list[Path]:
    return list(folder.iterdir())


@pytest.fixture
def big_vendor() -> Iterator[tuple[BigPdf, str]]:
    pdf = BigPdf(BIG)
    with BackgroundServer(big_pdf_app(pdf)) as server:
        yield pdf, server.url


async def test_a_big_pdf_is_stored_intact_through_a_temporary_file(
    store: Any, app: AppInfo, big_vendor: tuple[BigPdf, str], spool: Path
) -> None:
    pdf, base = big_vendor
    saved = await save_files(
        [{"fileurl": f"{base}/big.pdf", "filename": "statement.pdf"}], "/big", store=store, app=app, backoff=0
    )
    file = saved[0].file
    assert file is not None, saved[0].error
    stored = await store.download(file.id)
    assert (len(stored), hashlib.md5(stored, usedforsecurity=False).hexdigest()) == (pdf.length, pdf.md5_hex())
    assert (saved[0].outcome, file.mime) == ("created", "application/pdf")
    assert leftovers(spool) == []


async def test_the_body_spills_past_the_threshold_and_discard_removes_it(spool: Path) -> None:
    pdf = BigPdf(BIG)

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in pdf.chunks():
            yield chunk

    small = await Fetched.from_chunks(chunks(), spill_at=pdf.length)
    assert (small.spilled, small.size, leftovers(spool)) == (False, pdf.length, [])
    fetched = await Fetched.from_chunks(chunks())
    assert fetched.path is not None
    assert (fetched.spilled, fetched.path.parent) == (True, spool)
    assert (fetched.size, fetched.head(5), fetched.tail(6)) == (pdf.length, b"%PDF-", b"%%EOF\n")
    assert fetched.md5_base64() == Fetched(small.data).md5_base64()
    fetched.discard()
    fetched.discard()  # twice: harmless
    assert leftovers(spool) == []


async def test_a_truncated_big_pdf_is_refused_and_its_copies_removed(store: Any, app: AppInfo, spool: Path) -> None:
    cut = BigPdf(BIG, truncated=True)
    with BackgroundServer(big_pdf_app(cut)) as server:
        saved = await save_files(
            [{"fileurl": f"{server.url}/big.pdf", "filename": "cut.pdf"}],
            "/big",
            store=store,
            app=app,
            backoff=0,
            retries=1,
        )
    assert saved[0].outcome == "failed"
    assert "truncated PDF" in (saved[0].error or "")
    assert leftovers(spool) == []


async def test_a_stream_over_the_cap_stops_mid_spill_and_leaves_nothing(
    store: Any, app: AppInfo, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROWSERKONNECTOR_MAX_FILE_MB", "12")  # past the 8 MiB spill, under the 24 MiB file
    pdf = BigPdf(BIG)
    read = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap is found mid-stream
        nonlocal read
        for chunk in pdf.chunks():
            read += len(chunk)
            yield chunk

    saved = await save_files(
        [{"filestream": chunks(), "filename": "huge.pdf"}], "/big", store=store, app=app, backoff=0
    )
    assert (saved[0].outcome, saved[0].code) == ("failed", errors.FILE_TOO_LARGE)
    assert read <= 13 * 1024 * 1024  # stopped at the cap, the rest never read
    assert leftovers(spool) == []


async def test_a_cancelled_big_download_leaves_no_temporary_file(store: Any, app: AppInfo, spool: Path) -> None:
    started = asyncio.Event()

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in BigPdf(BIG).chunks():
            yield chunk
            if leftovers(spool):
                started.set()
        await asyncio.Event().wait()  # the vendor stalls with a spilled half file

    task = asyncio.ensure_future(
        save_files([{"filestream": chunks(), "filename": "x.pdf"}], "/big", store=store, app=app, backoff=0)
    )
    await asyncio.wait_for(started.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(spool) == []


def test_saving_a_big_file_keeps_memory_flat(tmp_path: Path) -> None:
    """Peak RSS growth while saving a 150 MB PDF stays far under its size (it was ~2x its size when the
    whole body was held in memory); a wide margin, no timing."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "scripts"), "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "benchlib.big_file", "--mb", "150"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["intact"] is True
    assert result["rss_growth_mb"] < 100, result
    assert list(tmp_path.iterdir()) == []
