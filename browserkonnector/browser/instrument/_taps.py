"""What recording and replay share (:mod:`._record`, :mod:`._replay`): a Playwright request as the matcher
sees it, headers for ``route.fulfill``, a recorded answer shaped like Playwright's ``APIResponse``, and
redirects of navigations.

Both plug into the context's network owner (:class:`~._network.Network`) as its *source*: the owner's one
route hands them what no handler took, and its handlers (JSON capture, blocking's PDF check) fetch
through them, so nothing of Playwright is wrapped. Their HTTP transport is the innermost of the session
client, given to it at construction (:meth:`~._network.Network.transport`).

Redirects: Chromium does not route the request that follows a *fulfilled* redirect (observed here with
``route.fulfill(status=302, headers={"location": ...})``: the next request went to the network and was
refused, and playwright#33893): it would go to the network, unrecorded at record time and unanswerable at
replay. Playwright has no public API for this; its own HAR replay (``route_from_har``) moves a navigation
on with an internal call of the route, which :func:`redirect_navigation` makes too — the one private call
left in the package, checked by ``tests/test_no_private_access.py``. Other requests follow redirects
inside ``route.fetch`` and get the final answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

from playwright.async_api import BrowserContext, Request, Route

from browserkonnector.browser.instrument._matching import RequestData

__all__ = ["HOP_HEADERS", "RecordedResponse", "headers_dict", "is_redirect", "redirect_navigation", "request_data"]

#: Headers that describe the bytes on the wire, not the body we hold (decoded, complete): never replayed.
HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})


def request_data(request: Request) -> RequestData:
    """A Playwright request as the matcher sees it (``headers`` lacks cookies: Playwright's choice)."""
    return RequestData(request.method, request.url, tuple(request.headers.items()), request.post_data_buffer)


def headers_dict(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Headers for ``route.fulfill``: one value per name, ``Set-Cookie`` lines joined by newlines (the
    form Playwright splits back into several cookies)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in HOP_HEADERS:
            continue
        if lowered in merged:
            merged[lowered] += ("\n" if lowered == "set-cookie" else ", ") + value
        else:
            merged[lowered] = value
    return merged


class RecordedResponse:
    """A recorded answer shaped like Playwright's ``APIResponse`` (what ``route.fetch()`` returns), for
    the route handlers that fetch at replay."""

    def __init__(
        self, url: str, status: int, status_text: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> None:
        self.url, self.status, self.status_text = url, status, status_text
        self._headers = list(headers)
        self._body = body

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def headers(self) -> dict[str, str]:
        return headers_dict(self._headers)

    @property
    def header_pairs(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def headers_array(self) -> list[dict[str, str]]:
        return [{"name": n, "value": v} for n, v in self._headers]

    async def body(self) -> bytes:
        return self._body

    async def text(self) -> str:
        return self._body.decode("utf-8", errors="replace")

    async def json(self) -> Any:
        return json.loads(self._body)

    async def dispose(self) -> None:
        return None


def is_redirect(status: int, headers: Sequence[tuple[str, str]]) -> str | None:
    """The ``Location`` of a redirect answer, else ``None``."""
    if status not in (301, 302, 303, 307, 308):
        return None
    return next((v for n, v in headers if n.lower() == "location"), None)


def _cookies(headers: Sequence[tuple[str, str]], url: str) -> tuple[list[dict[str, Any]], list[str]]:
    """``Set-Cookie`` headers as Playwright cookies to add, and the names they delete (``Max-Age=0``)."""
    host = urlsplit(url).hostname or ""
    add: list[dict[str, Any]] = []
    delete: list[str] = []
    for name, value in headers:
        if name.lower() != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        for morsel in jar.values():
            max_age = morsel["max-age"]
            if max_age and max_age.lstrip("-").isdigit() and int(max_age) <= 0:
                delete.append(morsel.key)
                continue
            cookie: dict[str, Any] = {
                "name": morsel.key,
                "value": morsel.value,
                "domain": morsel["domain"] or host,
                "path": morsel["path"] or "/",
                "httpOnly": bool(morsel["httponly"]),
                "secure": bool(morsel["secure"]),
            }
            if morsel["samesite"].capitalize() in ("Strict", "Lax", "None"):
                cookie["sameSite"] = morsel["samesite"].capitalize()
            if max_age and max_age.isdigit():
                cookie["expires"] = time.time() + int(max_age)
            add.append(cookie)
    return add, delete


async def redirect_navigation(
    route: Route, context: BrowserContext | None, location: str, headers: Sequence[tuple[str, str]] = ()
) -> None:
    """Move a navigation on to ``location`` (relative to the request) so that the next request is routed
    too; ``headers`` are the redirect's, whose ``Set-Cookie`` are applied to ``context`` first."""
    url = route.request.url
    if context is not None and headers:
        add, delete = _cookies(headers, url)
        for name in delete:
            await context.clear_cookies(name=name)
        if add:
            await context.add_cookies(add)  # type: ignore[arg-type]
    # Playwright's HAR router does the same (no public API routes the request after a redirect).
    await route._impl_obj._redirect_navigation_request(urljoin(url, location))
