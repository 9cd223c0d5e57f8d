"""The network owner of a context: one route, its handlers in order, the HTTP client's chain from the start."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Request, Route

from browserkonnector.browser import CookieSync, PdfPrinter, cookie_sync_of, printer_for, session_http
from browserkonnector.browser._network import Network, NetworkTransport

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


class Answering:
    """A source that answers every request it is handed with a word, and notes what was blocked."""

    def __init__(self) -> None:
        self.passed: list[str] = []
        self.blocked: list[str] = []

    async def pass_on(self, route: Route) -> None:
        self.passed.append(route.request.url)
        await route.fulfill(status=200, body="source", headers={"content-type": "text/plain"})

    async def fetch(self, route: Route, **options: Any) -> Any:
        return await route.fetch(**options)

    def on_blocked(self, request: Request) -> None:
        self.blocked.append(request.url)

    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(lambda request: httpx.Response(200, text="source over http"))


async def test_a_session_context_has_one_owner_holding_its_client_and_printer(ctx: Any) -> None:
    network = Network.existing(ctx)
    assert network is not None  # made with the context, from the session's options (its blocking)
    assert network.blocking.types == frozenset({"image", "media", "font"})
    http = session_http(ctx)
    try:
        inner = http.retry_transport.inner
        assert isinstance(inner, NetworkTransport)  # given at construction
        assert inner.network is network
        sync = cookie_sync_of(http)
        assert sync is not None
        assert inner.attachment(CookieSync) is sync
        printer = printer_for(ctx)
        assert network.attachment(PdfPrinter) is printer is printer_for(ctx)
    finally:
        await http.aclose()
    await ctx.close()
    assert Network.existing(ctx) is None  # forgotten with its context


async def test_blocking_then_handlers_newest_first_then_the_source(ctx: Any, site: Any) -> None:
    network = Network.of(ctx)
    source = Answering()
    calls: list[str] = []

    async def older(route: Route, page: Any) -> bool:
        calls.append("older " + route.request.url.rsplit("/", 1)[-1])
        return False

    async def newer(route: Route, page: Any) -> bool:
        calls.append("newer " + route.request.url.rsplit("/", 1)[-1])
        if "/api/" not in route.request.url:
            return False
        await route.fulfill(status=200, body="handler", headers={"content-type": "text/plain"})
        return True

    await network.use(source)
    await network.add_handler(older)
    remove = await network.add_handler(newer)
    page = await ctx.new_page()
    await page.goto(site("/spa/done"))
    fetched = "url => fetch(url).then(r => r.text())"
    assert await page.evaluate(fetched, site("/api/x")) == "handler"
    assert await page.evaluate(fetched, site("/other")) == "source"
    failed = await page.evaluate(
        "url => new Promise(ok => { const i = new Image(); i.onerror = () => ok(true);"
        " i.onload = () => ok(false); i.src = url; })",
        site("/img/1.png"),
    )
    assert failed is True
    assert calls == ["newer done", "older done", "newer x", "newer other", "older other"]
    assert source.blocked == [site("/img/1.png")]  # the handlers never saw the blocked image
    assert source.passed == [site("/spa/done"), site("/other")]
    await remove()
    calls.clear()
    assert await page.evaluate(fetched, site("/api/x")) == "source"
    assert calls == ["older x"]

    network.exempt(page)  # a printer's page: blocking leaves it alone, the source answers
    assert await page.evaluate(fetched, site("/img/2.png")) == "source"
    assert source.blocked == [site("/img/1.png")]

    http = session_http(ctx)  # the owner's transport hands HTTP requests to the source too
    try:
        assert (await http.get(site("/api/bills"))).text == "source over http"
    finally:
        await http.aclose()
