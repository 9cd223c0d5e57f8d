"""Where recording and replay plug into the two network paths of a run (shared by :mod:`.record` and
:mod:`.replay`).

The browser path: one ``context.route("**/*")`` handler sees every request of every page — *unless* a
page route answers first. Page routes take precedence over context routes, and two of ours do exactly
that: :func:`~.capture.capture_json` sends the request itself (``route.fetch()``, from the driver,
outside any route) and the PDF printer's pages ``route.continue_()`` to skip resource blocking. Left
alone, the first escapes a recording (and reaches the network at replay), the second too. So while a
tap is attached, ``route``/``unroute`` of the context and of each of its pages are wrapped (on those
objects only, for this run only): a handler registered later receives a :class:`TappedRoute`, whose
``fetch()`` goes through the tap (recorded, or answered from the recording) and whose ``continue_()``
hands the request to the tap's own handler. Nothing else of Playwright changes.

Redirects: Chromium does not route the request that follows a *fulfilled* redirect (observed here, and
playwright#33893): it would go to the network, unrecorded at record time and unanswerable at replay. So a
navigation answered by a redirect is moved on with Playwright's own HAR-router mechanism
(:func:`redirect_navigation`, the cookies of the redirect applied first), which routes the next request
again; other requests follow redirects inside ``route.fetch`` and get the final answer.

The HTTP path: the session client's innermost transport (below retries and cookie scoping, so what is
recorded is what went on the wire) is wrapped or replaced: :func:`transport_slot`.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from http.cookies import CookieError, SimpleCookie
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx
from playwright.async_api import BrowserContext, Page, Request, Route

from browserkonnector.browser.matching import RequestData

__all__ = [
    "HOP_HEADERS",
    "RecordedResponse",
    "Tap",
    "TappedRoute",
    "hook_routes",
    "is_redirect",
    "redirect_navigation",
    "request_data",
    "transport_slot",
]

#: Headers that describe the bytes on the wire, not the body we hold (decoded, complete): never replayed.
HOP_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive"})


class Tap(Protocol):
    """What a recorder or a replayer does for a browser request."""

    async def handle(self, route: Route, *, continued: bool = False) -> None:
        """Answer ``route`` (the context route; ``continued``: a page route's ``continue_()``)."""

    async def fetch(self, route: Route, **options: Any) -> Any:
        """What ``route.fetch(**options)`` returns, through the tap."""


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

    def __init__(self, url: str, status: int, status_text: str, headers: Sequence[tuple[str, str]],
                 body: bytes) -> None:
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


class TappedRoute:
    """A route handed to a handler registered while a tap is attached (see the module docstring)."""

    def __init__(self, route: Route, tap: Tap) -> None:
        self._route, self._tap = route, tap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._route, name)

    @property
    def request(self) -> Request:
        return self._route.request

    async def fetch(self, **options: Any) -> Any:
        return await self._tap.fetch(self._route, **options)

    async def continue_(self, **options: Any) -> None:
        await self._tap.handle(self._route, continued=True)

    async def fulfill(self, *, response: Any = None, **options: Any) -> None:
        if isinstance(response, RecordedResponse):
            options.setdefault("status", response.status)
            options.setdefault("headers", response.headers)
            if options.get("body") is None and options.get("path") is None and options.get("json") is None:
                options["body"] = await response.body()
            await self._route.fulfill(**options)
            return
        await self._route.fulfill(response=response, **options)


def _wrap(handler: Callable[..., Any], tap: Tap) -> Callable[[Route], Awaitable[None]]:
    try:
        arity = len(inspect.signature(handler).parameters)
    except (TypeError, ValueError):
        arity = 1

    async def tapped(route: Route) -> None:
        hooked = TappedRoute(route, tap)
        result = handler(hooked, hooked.request) if arity >= 2 else handler(hooked)
        if inspect.isawaitable(result):
            await result

    return tapped


def _patch(target: BrowserContext | Page, tap: Tap) -> None:
    if getattr(target, "_bk_tap", None) is not None:
        return
    original_route, original_unroute = target.route, target.unroute
    wrappers: dict[Any, Callable[[Route], Awaitable[None]]] = {}

    async def route(url: Any, handler: Callable[..., Any], times: int | None = None) -> Any:
        wrapper = wrappers.setdefault(handler, _wrap(handler, tap))
        return await original_route(url, wrapper, times=times)

    async def unroute(url: Any, handler: Callable[..., Any] | None = None) -> None:
        await original_unroute(url, wrappers.get(handler, handler) if handler is not None else None)

    target.route = route  # type: ignore[method-assign]
    target.unroute = unroute  # type: ignore[method-assign]
    target._bk_tap = tap  # type: ignore[union-attr]


def hook_routes(context: BrowserContext, tap: Tap) -> None:
    """Route handlers registered from now on, on ``context`` or any of its pages, go through ``tap``."""
    _patch(context, tap)
    for page in context.pages:
        _patch(page, tap)
    context.on("page", lambda page: _patch(page, tap))


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
            cookie: dict[str, Any] = {"name": morsel.key, "value": morsel.value,
                                      "domain": morsel["domain"] or host, "path": morsel["path"] or "/",
                                      "httpOnly": bool(morsel["httponly"]), "secure": bool(morsel["secure"])}
            if morsel["samesite"].capitalize() in ("Strict", "Lax", "None"):
                cookie["sameSite"] = morsel["samesite"].capitalize()
            if max_age and max_age.isdigit():
                cookie["expires"] = time.time() + int(max_age)
            add.append(cookie)
    return add, delete


async def redirect_navigation(route: Route, context: BrowserContext | None, location: str,
                              headers: Sequence[tuple[str, str]] = ()) -> None:
    """Move a navigation on to ``location`` (relative to the request) so that the next request is routed
    too; ``headers`` are the redirect's, whose ``Set-Cookie`` are applied to ``context`` first."""
    url = route.request.url
    if context is not None and headers:
        add, delete = _cookies(headers, url)
        for name in delete:
            await context.clear_cookies(name=name)
        if add:
            await context.add_cookies(add)  # type: ignore[arg-type]
    await route._impl_obj._redirect_navigation_request(urljoin(url, location))


def transport_slot(client: httpx.AsyncClient) -> tuple[Any, str]:
    """``(owner, attribute)`` of the innermost transport of ``client``: below a
    :class:`~browserkonnector.request.RetryTransport` when there is one (a retried request is recorded
    once per attempt, as it went on the wire), else the client's own transport."""
    retry = getattr(client, "retry_transport", None)
    if retry is not None and hasattr(retry, "inner"):
        return retry, "inner"
    return client, "_transport"
