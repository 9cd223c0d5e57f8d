"""One owner for the network of a browser context: its single route and its HTTP client's transport chain.

A run has two network paths, the browser context and the session HTTP client that shares its cookies.
Several parts of the framework act on them — resource blocking, JSON capture, the PDF printer's pages
(which must load what the context blocks), record and replay, the cookie sync — and each used to plug
itself in on its own (a route here, a page route undoing it there, a transport swapped after the client
existed). :class:`Network` is created with the context and is the one place they meet:

**The browser path** is one context route, ``_handle``, which takes each routed request through:

1. anything but ``http(s)`` falls back untouched (``data:``, ``blob:``);
2. **blocking** (:class:`~._blocking.Blocking`), unless the request comes from an exempt page (the
   printer's): a blocked type is aborted, an embeddable type is first fetched and let through if a PDF;
3. **handlers** (:meth:`add_handler`; the JSON captures of :mod:`.toolkit._capture`), the newest first, each
   answering the request or declining it;
4. the **source**: with ``--record`` / ``--replay``, the :class:`~.instrument._record.Recorder` or
   :class:`~.instrument._replay.Replayer` answers (recorded, or served from the recording); without one,
   ``route.fallback()`` hands the request on to any route of the connector's own, then to the network.

A handler that needs the answer fetches it with :meth:`fetch`, which goes through the source too, so a
captured response is recorded, and answered from the recording at replay. The route's URL filter is the
narrowest that serves them: the blocked types' extension regex while only blocking is active (no Python
round trip for anything else), every URL while a handler or a source is in place.

**The HTTP path**: :meth:`transport` is the innermost transport of the session client, given to it at
construction (under the retries and cookie scoping, so what is recorded is what went on the wire); it
hands each request to the source's transport, or to the network.

The owner also keeps what an upper layer needs once per context (the toolkit's shared PDF printer, a
session client's cookie sync) in :meth:`Attachments.attached` slots, so that this module knows nothing of
those layers and no module keeps a registry of contexts. :meth:`of` finds (or makes) the owner of a
context: owners are kept for the current run (a context variable, so concurrent runs in one process do not
meet) until their context closes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, cast

import httpx
from loguru import logger
from playwright.async_api import BrowserContext, Page, Request, Route
from playwright.async_api import Error as PlaywrightError

from browserkonnector.browser._blocking import BLOCKED_ERROR, Blocking

T = TypeVar("T")


class Attachments:
    """One object per type, kept by its owner for its lifetime: what an upper layer attaches to a context
    (through its network owner) or to a client (through its transport)."""

    def __init__(self) -> None:
        self._attached: dict[type, object] = {}

    def attached(self, kind: type[T], make: Callable[[], T]) -> T:
        """The ``kind`` object attached here, made by ``make`` on first use."""
        found = self._attached.get(kind)
        if found is None:
            found = self._attached[kind] = make()
        return cast(T, found)

    def attachment(self, kind: type[T]) -> T | None:
        """The ``kind`` object attached here, if any."""
        return cast("T | None", self._attached.get(kind))

    def attach(self, value: object) -> None:
        """Attach ``value`` under its own type (replacing one attached before)."""
        self._attached[type(value)] = value


__all__ = ["Handler", "Network", "NetworkTransport", "Source"]

log = logger.bind(namespace="network")

#: A handler: answers ``route`` and returns ``True``, or returns ``False`` to let the next one decide.
#: ``page`` is the page the request comes from (``None`` for a service worker's).
Handler = Callable[[Route, "Page | None"], Awaitable[bool]]


class Source(Protocol):
    """Where the answers come from when the run's network is recorded or replayed."""

    async def pass_on(self, route: Route) -> None:
        """Answer a request no handler took (record it as it goes through, or serve it)."""

    async def fetch(self, route: Route, **options: Any) -> Any:
        """What ``route.fetch(**options)`` returns, through the source."""

    def on_blocked(self, request: Request) -> None:
        """``request`` was aborted by the blocking (a replay reports those)."""

    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """The HTTP client's innermost transport while this source is in place (``inner``: the network)."""


#: The owners of the current run's contexts (see :meth:`Network.of`).
_OWNERS: ContextVar[dict[BrowserContext, Network] | None] = ContextVar("browserkonnector_networks", default=None)


def _page_of(request: Request) -> Page | None:
    try:
        return request.frame.page
    except PlaywrightError:  # a service worker's request has no frame
        return None


class Network(Attachments):
    """The network owner of one browser context (see the module docstring)."""

    def __init__(self, context: BrowserContext) -> None:
        super().__init__()
        self.context = context
        self.blocking = Blocking()
        self.source: Source | None = None
        self._handlers: list[Handler] = []
        self._exempt: set[Page] = set()
        self._installed: Any = None  # the URL filter the route is registered with
        owners = _OWNERS.get()
        if owners is None:
            owners = {}
            _OWNERS.set(owners)
        owners[context] = self

        def forget(closed: BrowserContext) -> None:
            owners.pop(closed, None)

        context.once("close", forget)

    @classmethod
    def of(cls, context: BrowserContext) -> Network:
        """The owner of ``context``, made now (blocking nothing, routing nothing) when it has none yet."""
        owners = _OWNERS.get()
        found = owners.get(context) if owners is not None else None
        return found if found is not None else cls(context)

    @classmethod
    def existing(cls, context: BrowserContext) -> Network | None:
        """The owner of ``context`` if one was made, else ``None``."""
        owners = _OWNERS.get()
        return owners.get(context) if owners is not None else None

    # -- configuration -----------------------------------------------------------------------------------
    async def block(self, types: frozenset[str], *, route_all: bool = False) -> None:
        """Abort the requests of these resource types (see :mod:`._blocking`)."""
        self.blocking = Blocking(types, route_all=route_all)
        await self._reroute()

    async def use(self, source: Source) -> None:
        """Record or replay from now on: ``source`` answers what no handler took, on both paths."""
        if self.source is not None and self.source is not source:
            raise ValueError("this context's network is already recorded or replayed")
        self.source = source
        await self._reroute()

    def exempt(self, page: Page) -> None:
        """Never block what ``page`` loads (the PDF printer's pages: a bill's logo belongs in its PDF)."""
        self._exempt.add(page)

        def forget(closed: Page) -> None:
            self._exempt.discard(closed)

        page.once("close", forget)

    async def add_handler(self, handler: Handler) -> Callable[[], Awaitable[None]]:
        """Give ``handler`` a say on every request from now on (before older handlers); returns the
        coroutine function that removes it."""
        self._handlers.append(handler)
        await self._reroute()

        async def remove() -> None:
            with contextlib.suppress(ValueError):
                self._handlers.remove(handler)
            with contextlib.suppress(PlaywrightError):  # a closed context routes nothing any more
                await self._reroute()

        return remove

    def transport(self, inner: httpx.AsyncBaseTransport | None = None) -> NetworkTransport:
        """The innermost transport of an HTTP client of this network (see the module docstring)."""
        if inner is None:
            from browserkonnector._request import default_ssl_context

            inner = httpx.AsyncHTTPTransport(verify=default_ssl_context())
        return NetworkTransport(self, inner)

    # -- the browser path --------------------------------------------------------------------------------
    def _wanted(self) -> Any:
        if self.source is not None or self._handlers:
            return "**/*"
        return self.blocking.pattern

    async def _reroute(self) -> None:
        """Register the one route with the filter the current handlers need (the new one before the old
        one goes, so that no request slips between)."""
        wanted, installed = self._wanted(), self._installed
        if wanted == installed:
            return
        if wanted is not None:
            await self.context.route(wanted, self._handle)
        self._installed = wanted
        if installed is not None:
            await self.context.unroute(installed, self._handle)

    async def fetch(self, route: Route, **options: Any) -> Any:
        """The answer to ``route``'s request, through the source (recorded, or from the recording)."""
        if self.source is not None:
            return await self.source.fetch(route, **options)
        return await route.fetch(**options)

    @staticmethod
    async def fulfil(route: Route, response: Any, body: bytes | None = None) -> None:
        """Hand ``response`` (what :meth:`fetch` returned) to the page, with ``body`` if read already."""
        pairs = getattr(response, "header_pairs", None)
        if pairs is not None:  # a recorded answer (replay): not a Playwright APIResponse
            await route.fulfill(
                status=response.status,
                headers=response.headers,
                body=body if body is not None else await response.body(),
            )
            return
        await route.fulfill(response=response, body=body)

    async def _handle(self, route: Route) -> None:
        request = route.request
        if not request.url.startswith(("http://", "https://")):
            await route.fallback()
            return
        page = _page_of(request)
        if page not in self._exempt and self.blocking.blocks(request):
            await self._block(route, request)
            return
        for handler in reversed(self._handlers):
            if await handler(route, page):
                return
        if self.source is not None:
            await self.source.pass_on(route)
        else:
            await route.fallback()

    async def _block(self, route: Route, request: Request) -> None:
        if self.blocking.may_be_document(request):
            try:
                response = await self.fetch(route)
                if "pdf" in response.headers.get("content-type", "").lower():
                    await self.fulfil(route, response)
                    return
            except PlaywrightError as exc:  # unreachable, or not in the recording: blocked like the rest
                log.debug("looking for a PDF behind {}: {}", request.resource_type, exc.message)
        if self.source is not None:
            self.source.on_blocked(request)
        try:
            await route.abort(BLOCKED_ERROR)
        except PlaywrightError as exc:  # the page is gone
            log.debug("blocking {}: {}", request.resource_type, exc.message)


class NetworkTransport(httpx.AsyncBaseTransport, Attachments):
    """The innermost transport of a session client: the network, or the owner's source in its place.
    ``session_http`` attaches the cookie sync of the client it was built for."""

    def __init__(self, network: Network, inner: httpx.AsyncBaseTransport) -> None:
        Attachments.__init__(self)
        self.network, self.inner = network, inner
        self._source: Source | None = None
        self._through: httpx.AsyncBaseTransport = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        source = self.network.source
        if source is not self._source:
            self._source = source
            self._through = source.transport(self.inner) if source is not None else self.inner
        return await self._through.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def attach_source(source: Source, context: BrowserContext | None, client: httpx.AsyncClient) -> None:
    """Make ``source`` answer the network of ``context`` (if any) and of ``client``.

    A client built on the owner's :meth:`Network.transport` (``session_http`` builds it so) already asks
    the owner's source; another :class:`~browserkonnector._request.KonnectorClient` gets the source's
    transport as the inner transport of its own ``RetryTransport`` (below the retries, as above). Any
    other client is refused: its transport is httpx's to manage.
    """
    if context is not None:
        await Network.of(context).use(source)
    from browserkonnector._request import KonnectorClient

    if not isinstance(client, KonnectorClient):
        raise TypeError(
            f"record/replay needs a client made by session_http or request_factory, not a {type(client).__name__}"
        )
    retry = client.retry_transport
    if isinstance(retry.inner, NetworkTransport):
        if context is not None and retry.inner.network.context is context:
            return
        retry.inner = source.transport(retry.inner.inner)
        return
    retry.inner = source.transport(retry.inner)
