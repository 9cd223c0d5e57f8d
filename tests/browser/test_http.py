"""session_http: an httpx client logged in wherever the browser is, cookies synced both ways, cheaply."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from browserkonnector._redact import Redactor
from browserkonnector.browser import cookie_sync_of, fetch_file, filename_from_disposition, session_http

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def _login(tab: Any, site: Any) -> None:
    await tab.goto(site("/login"))
    await tab.fill("#username", site.state.username)
    await tab.fill("#password", site.state.password)
    await tab.click("button[type=submit]")
    await tab.wait_for_selector("text=Welcome Alice")


async def test_the_client_is_logged_in_where_the_browser_is(tab: Any, site: Any) -> None:
    redactor = Redactor()
    async with session_http(tab.context, redactor=redactor) as http:
        assert (await http.get(site("/files/protected.pdf"))).status_code == 401
        await _login(tab, site)
        fetched = await fetch_file(http, site("/files/protected.pdf"))
        echo = (await http.get(site("/api/echo-cookies"))).json()
    assert (fetched.status, fetched.how, fetched.filename) == (200, "http", "protected.pdf")
    assert fetched.data == site.state.pdf("protected")
    assert fetched.content_type == "application/pdf"
    assert echo["cookies"] == {"session": site.state.session_cookie}
    # the browser's own User-Agent, not httpx's nor a made-up one
    assert "HeadlessChrome" in echo["headers"]["user-agent"]
    assert site.state.session_cookie in redactor.values  # a session cookie is a secret


async def test_cookies_are_read_from_the_browser_only_when_they_may_have_changed(tab: Any, site: Any) -> None:
    await tab.goto(site("/blank"))
    async with session_http(tab.context, max_age=3600) as http:
        sync = cookie_sync_of(http)
        assert sync is not None
        for _ in range(5):
            await http.get(site("/api/bills"))
        assert sync.refreshes == 1  # no browser traffic since the first request: no new round trip
        await tab.evaluate("fetch('/api/set-cookie?name=fromjs&value=browser-side-1')")
        await tab.wait_for_function("document.cookie.includes('fromjs')")
        echo = (await http.get(site("/api/echo-cookies"))).json()
        assert echo["cookies"]["fromjs"] == "browser-side-1"
        assert sync.refreshes == 2
        await tab.context.add_cookies([{"name": "added", "value": "by-python", "url": site.url}])
        sync.mark_changed()  # add_cookies sends no event: the caller says so
        assert (await http.get(site("/api/echo-cookies"))).json()["cookies"]["added"] == "by-python"


async def test_cookies_the_server_sets_on_the_client_reach_the_browser(tab: Any, site: Any) -> None:
    await tab.goto(site("/blank"))
    redactor = Redactor()
    async with session_http(tab.context, redactor=redactor) as http:
        await http.get(site("/api/set-cookie?name=renewed&value=fresh-session-42"))
        sync = cookie_sync_of(http)
        assert sync is not None
        assert sync.pushes == 1
    cookies = {c["name"]: c["value"] for c in await tab.context.cookies()}
    assert cookies["renewed"] == "fresh-session-42"
    assert await tab.evaluate("document.cookie") == "renewed=fresh-session-42"
    assert "fresh-session-42" in redactor.values


async def test_headers_are_sent_and_secret_ones_registered(ctx: Any, site: Any) -> None:
    redactor = Redactor()
    async with session_http(
        ctx, headers={"Authorization": "Bearer tok-123456789", "X-Trace": "1"}, redactor=redactor
    ) as http:
        echo = (await http.get(site("/api/echo-cookies"))).json()
    assert echo["headers"]["authorization"] == "Bearer tok-123456789"
    assert {"Bearer tok-123456789", "tok-123456789"} <= redactor.values
    assert "python-httpx" not in echo["headers"]["user-agent"]  # no page yet: request_factory's default


async def test_fetch_file_names_the_file_from_the_headers(ctx: Any, site: Any) -> None:
    async with session_http(ctx) as http:
        utf8 = await fetch_file(http, site("/files/utf8"))
        missing = await fetch_file(http, site("/missing"))
    assert utf8.filename == "facture été.pdf"
    assert (missing.status, missing.ok, missing.filename) == (404, False, None)
    assert cookie_sync_of(httpx.AsyncClient()) is None


def test_filename_from_disposition() -> None:
    assert filename_from_disposition('attachment; filename="a b.pdf"') == "a b.pdf"
    assert filename_from_disposition("attachment; filename=plain.pdf") == "plain.pdf"
    assert filename_from_disposition("attachment; filename=\"fallback.pdf\"; filename*=UTF-8''%E2%82%AC.pdf") == "€.pdf"
    assert filename_from_disposition('attachment; filename="../../etc/passwd"') == "passwd"
    assert filename_from_disposition("inline") is None
    assert filename_from_disposition(None) is None
