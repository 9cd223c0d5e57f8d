"""Resource blocking: images, fonts and media never load; documents, the API and PDFs always do."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector.browser import install_blocking
from browserkonnector.browser._blocking import check_block_types, url_filter

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def _failures(tab: Any) -> list[tuple[str, str]]:
    failed: list[tuple[str, str]] = []
    tab.on("requestfailed", lambda r: failed.append((r.resource_type, r.failure or "")))
    return failed


async def test_default_blocking_keeps_the_data_and_drops_the_weight(tab: Any, site: Any) -> None:
    failed = await _failures(tab)
    before = dict(site.state.hits)
    await tab.goto(site("/images?n=40"))
    await tab.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
    assert await tab.evaluate("document.images[0].naturalWidth") == 0
    blocked = {kind for kind, why in failed if why.startswith("net::ERR_BLOCKED_BY_CLIENT")}
    assert {"image", "font", "media"} <= blocked
    # none of them reached the server (the extensionless /img/raw is the documented exception)
    hits = {k: site.state.hits.get(k, 0) - before.get(k, 0) for k in ("img", "font", "media")}
    assert hits == {"img": 1, "font": 0, "media": 0}


async def test_route_all_also_blocks_images_without_an_extension(browser_session: Any, site: Any) -> None:
    context = await browser_session.browser.new_context()
    try:
        await install_blocking(context, frozenset({"image"}), route_all=True)
        tab = await context.new_page()
        before = site.state.hits.get("img", 0)
        await tab.goto(site("/images?n=5"))
        await tab.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
        assert site.state.hits.get("img", 0) == before
        assert await tab.evaluate("document.getElementById('noext').naturalWidth") == 0
    finally:
        await context.close()


async def test_pdfs_in_frames_still_load(tab: Any, site: Any) -> None:
    """An iframe/embed PDF is a document: with images, media and fonts blocked it must still arrive."""
    responses: list[tuple[str, int]] = []
    tab.on("response", lambda r: responses.append((r.url, r.status)))
    failed = await _failures(tab)
    async with tab.expect_event("response", lambda r: r.url == site("/files/inline.pdf")):
        await tab.goto(site("/embeds"))
    assert (site("/files/inline.pdf"), 200) in responses
    assert not [f for f in failed if f[1].startswith("net::ERR_BLOCKED_BY_CLIENT")]


async def test_blocking_other_lets_a_pdf_through_by_its_response_type(browser_session: Any, site: Any) -> None:
    """``other`` (a prefetch, an <object>) may be a PDF with no .pdf in its URL: the response decides."""
    context = await browser_session.browser.new_context()
    try:
        await install_blocking(context, frozenset({"other"}))
        tab = await context.new_page()
        await tab.goto(site("/blank"))
        add_prefetch = "(u) => document.head.insertAdjacentHTML('beforeend', `<link rel=prefetch href='${u}'>`)"
        async with tab.expect_event("requestfinished", lambda r: r.url == site("/files/noext")) as done:
            await tab.evaluate(add_prefetch, site("/files/noext"))
        assert (await (await done.value).response()).headers["content-type"] == "application/pdf"
        async with tab.expect_event("requestfailed", lambda r: r.url == site("/spa/done")) as failed:
            await tab.evaluate(add_prefetch, site("/spa/done"))
        assert (await failed.value).failure.startswith("net::ERR_BLOCKED_BY_CLIENT")
    finally:
        await context.close()


def test_types_are_validated_and_the_route_is_as_narrow_as_possible() -> None:
    with pytest.raises(ValueError, match=r"\['fetch', 'xhr'\] can never be blocked"):
        check_block_types({"xhr", "fetch", "image"})
    with pytest.raises(ValueError, match="not the string"):
        check_block_types("image")
    pattern = url_filter(frozenset({"image", "font"}))
    assert not isinstance(pattern, str)
    assert pattern.search("https://cdn.example/logo.PNG?v=3")
    assert pattern.search("https://cdn.example/f/a.woff2")
    assert not pattern.search("https://vendor.example/bills/42.pdf")
    assert not pattern.search("https://vendor.example/api/bills?format=png")  # the query is not the path
    assert url_filter(frozenset({"image", "script"})) == "**/*"  # no reliable extension: route all
