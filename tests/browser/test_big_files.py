"""Big files through the browser layer: a browser download and a session GET past the spill threshold
come back as a temporary file of ours (not bytes in memory), intact, and removed by ``discard``."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browserkonnector.browser import download
from browserkonnector.browser.toolkit._http import fetch_file
from browserkonnector.save._fetched import SPILL_BYTES, Fetched
from browserkonnector.testing._bigpdf import BigPdf, big_pdf_app
from browserkonnector.testing._server import BackgroundServer

pytestmark = pytest.mark.anyio
PDF = BigPdf(SPILL_BYTES * 2)


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def big_url() -> Iterator[str]:
    with BackgroundServer(big_pdf_app(PDF, attachment=True)) as server:
        yield f"{server.url}/big.pdf"


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_spilled(fetched: Fetched, spool: Path) -> None:
    assert fetched.path is not None
    assert (fetched.spilled, fetched.path.parent) == (True, spool)
    assert (fetched.size, md5_of(fetched.path), fetched.filename) == (PDF.length, PDF.md5_hex(), "big.pdf")
    fetched.discard()
    assert list(spool.iterdir()) == []


@pytest.mark.browser
async def test_a_big_browser_download_is_kept_on_disk(tab: Any, site: Any, big_url: str, spool: Path) -> None:
    await tab.goto(site("/downloads"))

    async def click() -> None:
        await tab.evaluate(
            "(u) => { const a = document.createElement('a'); a.href = u; document.body.append(a); a.click(); }", big_url
        )

    fetched = await download(tab, click, timeout=60)
    assert (fetched.how, fetched.content_type) == ("download", "application/pdf")
    check_spilled(fetched, spool)


async def test_a_big_session_get_is_kept_on_disk(big_url: str, spool: Path) -> None:
    async with httpx.AsyncClient() as client:
        fetched = await fetch_file(client, big_url)
    assert (fetched.status, fetched.content_type, fetched.how) == (200, "application/pdf", "http")
    check_spilled(fetched, spool)
