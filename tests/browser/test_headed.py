"""Headed full Chromium (run under ``xvfb-run -a``): the PDF viewer instead of downloads, printing."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from browserkonnector.browser import BrowserOptions, BrowserSession, PdfPrinter, get_file

from .conftest import has_display

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.browser,
    pytest.mark.headed,
    pytest.mark.skipif(not has_display(), reason="no display: run under `xvfb-run -a`"),
]


async def test_headed_chromium_shows_pdfs_and_still_hands_them_over(site: Any) -> None:
    async with BrowserSession(BrowserOptions(headless=False)) as session:
        assert session.executable is not None
        assert session.executable != Path("/usr/lib/chromium/chromium-headless-shell")
        context = await session.new_context()
        page = await context.new_page()
        await page.goto(site("/downloads"))
        # headed, an inline PDF opens in the viewer (no download event): the race takes the response
        for selector, pdf, how in [
            ("#inline", "inline", "inline"),
            ("#popup", "inline", "inline"),
            ("#blob-open", "blob", "blob"),
            ("#blob-nav", "blob", "blob"),
            ("#attach", "attach", "download"),
        ]:
            await page.goto(site("/downloads"))
            fetched = await get_file(page, click=selector, timeout=15)
            assert (fetched.data, fetched.how) == (site.state.pdf(pdf), how), selector
        async with PdfPrinter(context) as printer:
            pdf_bytes = await printer.from_html("<p>Ünïcödé € é</p>")
        assert "Ünïcödé € é" in PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
