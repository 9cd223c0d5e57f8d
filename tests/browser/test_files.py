"""Files: downloads, blob: URLs, inline PDFs, and get_file's race over all the ways a file arrives."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Error as PlaywrightError

from browserkonnector._errors import FILE_DOWNLOAD_FAILED, KonnectorError
from browserkonnector.browser import download, fetch_blob, fetch_inline, get_file, session_http

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def test_download_reads_the_bytes_and_the_suggested_name(tab: Any, site: Any) -> None:
    await tab.goto(site("/downloads"))
    fetched = await download(tab, tab.locator("#attach"))
    assert fetched.data == site.state.pdf("attach")
    assert (fetched.filename, fetched.how, fetched.content_type) == (
        "facture-2024-01.pdf",
        "download",
        "application/pdf",
    )
    assert fetched.url == site("/files/attach.pdf")


async def test_fetch_blob_reads_inside_the_page(tab: Any, site: Any) -> None:
    await tab.goto(site("/downloads"))
    blob_url = await tab.get_attribute("#blob-anchor", "href")
    fetched = await fetch_blob(tab, blob_url)
    assert fetched.data == site.state.pdf("blob")
    assert (fetched.how, fetched.content_type) == ("blob", "application/pdf")
    assert str(fetched.filename).endswith(".pdf")
    await tab.evaluate("(u) => URL.revokeObjectURL(u)", blob_url)
    with pytest.raises(KonnectorError) as raised:
        await fetch_blob(tab, blob_url)
    assert raised.value.code == FILE_DOWNLOAD_FAILED
    with pytest.raises(ValueError, match="not a blob: URL"):
        await fetch_blob(tab, site("/files/inline.pdf"))


async def test_fetch_inline_gets_what_goto_cannot(tab: Any, site: Any) -> None:
    await tab.goto(site("/downloads"))
    with pytest.raises(PlaywrightError, match="Download is starting"):
        await tab.goto(site("/files/inline.pdf"))
    fetched = await fetch_inline(tab, "/files/inline.pdf")  # relative to the page
    assert fetched.data == site.state.pdf("inline")
    assert (fetched.status, fetched.how, fetched.filename) == (200, "inline", "inline-bill.pdf")


async def test_fetch_inline_carries_the_session_cookies(ctx: Any, site: Any) -> None:
    denied = await fetch_inline(ctx, site("/files/protected.pdf"))
    assert (denied.status, denied.ok) == (401, False)
    await ctx.add_cookies([{"name": "session", "value": site.state.session_cookie, "url": site.url}])
    allowed = await fetch_inline(ctx, site("/files/protected.pdf"))
    assert (allowed.ok, allowed.data) == (True, site.state.pdf("protected"))


@pytest.mark.parametrize(
    ("selector", "pdf"),
    [
        ("#attach", "attach"),  # Content-Disposition: attachment
        ("#inline", "inline"),  # same-page navigation to an inline PDF
        ("#popup", "inline"),  # target=_blank to an inline PDF
        ("#noext-popup", "noext"),  # a PDF whose URL says nothing
        ("#blob-download", "blob"),  # <a download href=blob:...>
        ("#blob-open", "blob"),  # window.open(blob:...)
        ("#blob-nav", "blob"),  # <a href=blob:...>, same page
    ],
)
async def test_get_file_by_click_whatever_the_way(tab: Any, site: Any, selector: str, pdf: str) -> None:
    await tab.goto(site("/downloads"))
    fetched = await get_file(tab, click=tab.locator(selector), timeout=15)
    assert fetched.data == site.state.pdf(pdf)
    assert fetched.data.startswith(b"%PDF-")
    assert tab.context.pages == [tab]  # popups opened by the click are closed


async def test_get_file_by_url_uses_the_logged_in_session(tab: Any, site: Any) -> None:
    await tab.goto(site("/downloads"))
    await tab.context.add_cookies([{"name": "session", "value": site.state.session_cookie, "url": site.url}])
    through_context = await get_file(tab, url="/files/protected.pdf")
    assert (through_context.data, through_context.how) == (site.state.pdf("protected"), "http")
    async with session_http(tab.context) as http:
        through_http = await get_file(tab, url="/files/protected.pdf", http=http)
    assert (through_http.data, through_http.filename) == (site.state.pdf("protected"), "protected.pdf")
    blob_url = await tab.get_attribute("#blob-anchor", "href")
    assert (await get_file(tab, url=blob_url)).how == "blob"


async def test_get_file_says_when_no_file_came(tab: Any, site: Any) -> None:
    await tab.goto(site("/downloads"))
    with pytest.raises(KonnectorError) as raised:
        await get_file(tab, click="#html-link", timeout=1)
    assert raised.value.code == FILE_DOWNLOAD_FAILED
    assert "no file within 1 s after the click" in str(raised.value)
    with pytest.raises(ValueError, match="exactly one of click= or url="):
        await get_file(tab)
