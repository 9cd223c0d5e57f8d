"""The fast path once logged in: plain HTTP that shares the browser context's cookies.

Driving a page to get a JSON answer costs ~1 s; asking the same URL over HTTP with the session's
cookies costs ~30 ms. :func:`session_http` builds that client on
:func:`~browserkonnector._request.request_factory` (retries, browser-like cookie scoping) and keeps its
jar equal to the context's cookies:

- before a request, the jar is refreshed from ``context.cookies()`` — but only when the browser may have
  changed them: a browser response arrived since the last refresh (``Set-Cookie``, a navigation), or the
  last refresh is older than ``max_age`` seconds (a cookie written by the page's JavaScript, with no
  network traffic). ``context.cookies()`` is a round trip to the browser, measured at several
  milliseconds, about the cost of a whole local request, so a loop of API calls must not pay it each time;
- after a response that sets cookies, they are written back into the context, so the browser keeps
  the session a refresh endpoint renewed;
- every cookie value becomes a secret of the run's redactor (a session cookie is as good as a password).

The client is built on the context's network owner (:class:`~._network.Network`): its innermost
transport is the owner's (what ``--record``/``--replay`` plug into), given at construction, and the
owner holds the :class:`CookieSync`.

``await fetch_file(client, url)`` turns a GET into a :class:`~browserkonnector.save._fetched.Fetched`.
"""

from __future__ import annotations

import email.message
import email.utils
import time
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
from playwright.async_api import BrowserContext, Response
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import SENSITIVE_HEADERS, Redactor
from browserkonnector._request import KonnectorClient, cookies_from_playwright, request_factory
from browserkonnector.browser._secrets import register_cookie_values
from browserkonnector.save._fetched import Fetched, How, read_spooled

__all__ = [
    "CookieSync",
    "cookie_sync_of",
    "fetch_file",
    "fetched_from",
    "filename_from_disposition",
    "session_http",
]

#: A refresh of the jar at least this often even without browser traffic (cookies written by JS).
DEFAULT_MAX_AGE_S = 2.0


def filename_from_disposition(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''...`` wins over ``filename``)."""
    if not value:
        return None
    message = email.message.Message()
    message["content-disposition"] = value
    found = [v for k, v in message.get_params(header="content-disposition") or [] if k.lower() == "filename"]
    # RFC 6266: the extended ``filename*`` (parsed as a (charset, language, text) tuple) wins.
    found.sort(key=lambda v: not isinstance(v, tuple))
    name = email.utils.collapse_rfc2231_value(found[0]).strip() if found else ""
    if not name:
        return None
    return PurePosixPath(name.replace("\\", "/")).name or None  # never a path: "../x.pdf" -> "x.pdf"


def filename_from_url(url: str) -> str | None:
    """The last path segment when it looks like a file name (has an extension)."""
    name = unquote(PurePosixPath(urlsplit(url).path).name)
    return name if "." in name.strip(".") else None


def media_type(content_type: str | None) -> str | None:
    """``application/pdf`` of ``application/pdf; name=x``; ``None`` when absent."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def fetched_from(data: bytes, url: str, status: int | None, headers: Mapping[str, str], how: How) -> Fetched:
    """A :class:`Fetched` from an HTTP answer: media type, and the file name from ``Content-Disposition``
    or else the URL. ``headers`` is any mapping with lowercase names (httpx's and Playwright's are)."""
    return Fetched(
        data=data,
        url=url,
        status=status,
        content_type=media_type(headers.get("content-type")),
        filename=filename_from_disposition(headers.get("content-disposition")) or filename_from_url(url),
        how=how,
    )


def _fingerprint(cookies: list[Any]) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        sorted((c.get("name"), c.get("value"), c.get("domain"), c.get("path"), c.get("expires")) for c in cookies)
    )


def _to_playwright(cookie: Any) -> dict[str, Any]:
    """A stdlib ``http.cookiejar.Cookie`` as a Playwright cookie for ``context.add_cookies``."""
    entry: dict[str, Any] = {
        "name": cookie.name,
        "value": cookie.value or "",
        "domain": cookie.domain,
        "path": cookie.path or "/",
        "secure": bool(cookie.secure),
        "httpOnly": cookie.has_nonstandard_attr("HttpOnly"),
    }
    if entry["domain"].endswith(".local") and "." not in entry["domain"][:-6]:
        entry["domain"] = entry["domain"][:-6]  # cookiejar's name for a dotless host (localhost)
    if cookie.expires is not None:
        entry["expires"] = float(cookie.expires)
    return entry


_SESSION_TYPES = frozenset({"document", "xhr", "fetch", "other"})


class CookieSync:
    """Keeps one httpx client's jar and one browser context's cookies the same (see the module doc).

    ``refreshes`` counts the ``context.cookies()`` calls, ``pushes`` the write-backs: the benchmark and
    the tests read them. Call :meth:`mark_changed` after changing the context's cookies from Python
    (``add_cookies``/``clear_cookies`` send no event the client could see).
    """

    def __init__(
        self,
        context: BrowserContext,
        client: httpx.AsyncClient | None,
        redactor: Redactor | None,
        *,
        max_age: float = DEFAULT_MAX_AGE_S,
        adopt_user_agent: bool = True,
    ) -> None:
        """``client`` may be given later (:meth:`bind`): its hooks are this sync's, given at its construction."""
        self.context = context
        self._client = client
        self.redactor = redactor
        self.max_age = max_age
        self.refreshes = 0
        self.pushes = 0
        self._changed = True
        self._last = 0.0
        self._fingerprint: tuple[tuple[Any, ...], ...] | None = None
        self._user_agent_pending = adopt_user_agent
        context.on("response", self._on_browser_response)

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("CookieSync: no client bound yet")
        return self._client

    def bind(self, client: httpx.AsyncClient) -> None:
        """The client whose jar this sync keeps (made after the sync, with its hooks)."""
        self._client = client

    def mark_changed(self) -> None:
        self._changed = True

    def detach(self) -> None:
        """Stop listening to the context (the client keeps working, with the cookies it has)."""
        self.context.remove_listener("response", self._on_browser_response)

    def _on_browser_response(self, response: Response) -> None:
        # Sessions are set by pages and API calls; an image or a font answer is not worth a refresh
        # (``context.cookies()`` is a driver round trip before the next request). Cookies set by scripts
        # are caught by ``max_age``.
        if response.request.resource_type in _SESSION_TYPES:
            self._changed = True

    async def refresh(self) -> None:
        """Copy the context's cookies into the client's jar now."""
        cookies = list(await self.context.cookies())
        self.refreshes += 1
        self._changed, self._last = False, time.monotonic()
        fingerprint = _fingerprint(cookies)
        if fingerprint == self._fingerprint:
            return
        self._fingerprint = fingerprint
        if self.redactor is not None:
            register_cookie_values(((str(c.get("name", "")), str(c.get("value", ""))) for c in cookies), self.redactor)
        jar = self.client.cookies.jar
        jar.clear()
        for cookie in cookies_from_playwright(cookies).jar:
            jar.set_cookie(cookie)

    async def on_request(self, request: httpx.Request) -> None:
        if self._user_agent_pending:
            await self._adopt_user_agent(request)
        if self._changed or time.monotonic() - self._last > self.max_age:
            await self.refresh()

    async def _adopt_user_agent(self, request: httpx.Request) -> None:
        """Send the browser's own User-Agent: some vendors bind a session to the one that logged in."""
        pages = self.context.pages
        if not pages:
            return  # request_factory's default until a page exists
        try:
            agent = str(await pages[0].evaluate("navigator.userAgent"))
        except PlaywrightError:
            return  # the page is navigating: ask again at the next request
        self._user_agent_pending = False
        self.client.headers["User-Agent"] = agent
        request.headers["User-Agent"] = agent

    async def on_response(self, response: httpx.Response) -> None:
        if "set-cookie" not in response.headers:
            return
        fresh = [_to_playwright(c) for c in response.cookies.jar]
        if fresh:
            if self.redactor is not None:
                register_cookie_values(((c["name"], c["value"]) for c in fresh), self.redactor)
            await self.context.add_cookies(fresh)  # type: ignore[arg-type]
            self.pushes += 1
            self._changed = True


def session_http(
    context: BrowserContext,
    *,
    headers: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
    max_age: float = DEFAULT_MAX_AGE_S,
    accept_language: str | None = None,
    **factory_args: Any,
) -> KonnectorClient:
    """An ``httpx.AsyncClient`` (a :class:`~browserkonnector._request.KonnectorClient`) that is logged in
    wherever the browser context is.

    ``headers`` are sent with every request; the values of sensitive ones (``Authorization``,
    ``X-Api-Key``...) are registered with ``redactor``. Without a ``User-Agent`` of yours, the client
    sends the browser's. ``accept_language`` is the context's locale (what Chromium sends as
    ``Accept-Language``): sent too, unless ``headers`` has one, so that a site honouring it answers both
    paths in one language. Other keyword arguments go to ``request_factory`` (``base_url``, ``retries``...).
    """
    if redactor is not None:
        for name, value in (headers or {}).items():
            if name.lower() in SENSITIVE_HEADERS:
                redactor.add(value)
                redactor.add(value.split(" ", 1)[-1])  # the token of "Bearer <token>"
    if accept_language and not any(k.lower() == "accept-language" for k in headers or {}):
        headers = {**(headers or {}), "Accept-Language": accept_language}
    own_agent = "user_agent" in factory_args or any(k.lower() == "user-agent" for k in headers or {})
    from browserkonnector.browser._network import Network

    network = Network.of(context)
    sync = CookieSync(context, None, redactor, max_age=max_age, adopt_user_agent=not own_agent)
    hooks = factory_args.pop("event_hooks", None) or {}
    transport = network.transport(factory_args.pop("transport", None))
    transport.attach(sync)
    # First in line: the client's cookie scoping computes the Cookie header from the jar we refresh.
    client = request_factory(
        headers=headers,
        transport=transport,
        event_hooks={
            "request": [sync.on_request, *hooks.get("request", [])],
            "response": [sync.on_response, *hooks.get("response", [])],
        },
        **factory_args,
    )
    sync.bind(client)
    return client


def cookie_sync_of(client: httpx.AsyncClient) -> CookieSync | None:
    """The :class:`CookieSync` of a client made by :func:`session_http` (``None`` for another client):
    the one its network transport was built with."""
    from browserkonnector.browser._network import NetworkTransport

    retry = getattr(client, "retry_transport", None)  # a KonnectorClient's, ours
    inner = getattr(retry, "inner", None)
    return inner.attachment(CookieSync) if isinstance(inner, NetworkTransport) else None


async def fetch_file(
    client: httpx.AsyncClient, url: str, *, max_bytes: int | None = None, **request_args: Any
) -> Fetched:
    """GET ``url`` and return what came back, error statuses included (the caller checks ``ok``).

    The body is read in chunks and refused past ``max_bytes`` (default: the run's file-size cap, see
    :mod:`browserkonnector._limits`) with :class:`~browserkonnector._limits.FileTooLarge`; a body bigger
    than :data:`~browserkonnector.save._fetched.SPILL_BYTES` goes to a temporary file (``path``)."""
    async with client.stream("GET", url, **request_args) as response:
        fetched = await read_spooled(response, max_bytes)
    fetched.content_type = media_type(response.headers.get("content-type"))
    fetched.filename = filename_from_disposition(response.headers.get("content-disposition")) or filename_from_url(
        fetched.url or url
    )
    return fetched
