"""Capture the JSON the vendor's own front-end fetches, instead of scraping what it renders.

A single-page app asks its API for exactly the data a connector wants; listening to those responses is
cheaper and sturdier than parsing the DOM. The trap (playwright#3617, #26388): a response body lives in
the browser only until the page navigates away; ``response.body()`` called later fails with
``Network.getResponseBody: No resource with given identifier``.

Reading the body in the ``response`` handler, immediately, is *not* enough — measured here on a page
that fetches its JSON and then sets ``location.href``: 11–20 bodies lost out of 30 (headless shell and
full Chromium), and 30/30 when the page leaves as soon as the headers arrive. Holding the navigation
does not help either: Chromium defers the ``getResponseBody`` call itself until the navigation commits.
So the default ``mode="intercept"`` routes the matching requests: the request is sent by the route
(``route.fetch()``, which shares the context's cookies), its body is read in Python, then handed to the
page (``route.fulfill``). The body is in hand before the page even sees it; nothing can be lost.
``mode="listen"`` only listens (no interception, the request stays on Chromium's own network stack — for
a site that fingerprints its API clients) and may lose bodies to a navigation, as measured above::

    async with capture_json(page, "**/api/bills*") as bills:
        await page.get_by_role("button", name="Sign in").click()
        first = await bills.wait(10)
    bills.values  # every matching JSON body, in arrival order

URL patterns are Playwright's: a glob string, a compiled regex, or a ``Callable[[str], bool]``
(matched by ``browser._urlmatch``). On a context that has a network owner (``browser._network``: every context of
a :class:`~._session.BrowserSession`), the intercepting capture is one of the owner's handlers rather than
a route of its own, so that what it fetches is recorded, or answered from the recording, like the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeAlias

from playwright.async_api import BrowserContext, Page, Response, Route
from playwright.async_api import Error as PlaywrightError

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector._limits import BODY_TIMEOUT_S
from browserkonnector._redact import Redactor
from browserkonnector.browser._network import Network
from browserkonnector.browser._scrub_rules import mask_url_query
from browserkonnector.browser._urlmatch import UrlPattern, url_matches

__all__ = [
    "CaptureMode",
    "CapturedResponse",
    "JsonCapture",
    "UrlPattern",
    "capture_json",
    "read_body",
    "read_json",
    "wait_for_json",
]

CaptureMode: TypeAlias = Literal["intercept", "listen"]
#: How long leaving the ``async with`` waits for bodies already being read (listen mode).
DRAIN_TIMEOUT_S = 5.0


async def read_body(response: Response, *, timeout: float = BODY_TIMEOUT_S) -> bytes:
    """``response.body()``, bounded: Playwright waits for a body with no limit, and a body the page
    never reads (a ``fetch()`` whose answer the site's script dropped, as a client retrying a 429 does)
    may never finish. Past ``timeout`` seconds, ``TimeoutError`` naming the URL (without its query)."""
    try:
        async with asyncio.timeout(timeout):
            return await response.body()
    except TimeoutError:
        raise TimeoutError(
            f"the body of {response.status} {mask_url_query(response.url)} did not arrive within {timeout:g} s"
        ) from None


async def read_json(response: Response, *, timeout: float = BODY_TIMEOUT_S) -> Any:
    """``response.json()``, bounded like :func:`read_body` (``ValueError`` when it is not JSON)."""
    return json.loads(await read_body(response, timeout=timeout))


@dataclass(frozen=True)
class CapturedResponse:
    """One matching response. ``data`` is the parsed JSON; ``error`` says why there is none."""

    url: str
    status: int
    method: str
    data: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer whose body parsed as JSON: what ``JsonCapture.values`` holds."""
        return self.error is None and 200 <= self.status < 300


ResponsePredicate: TypeAlias = Callable[[CapturedResponse], bool]


def describe_pattern(pattern: UrlPattern) -> str:
    if isinstance(pattern, re.Pattern):
        return f"/{pattern.pattern}/"
    if callable(pattern):
        return str(getattr(pattern, "__name__", "a URL predicate"))
    return repr(pattern)


class JsonCapture:
    """Collects the JSON bodies of the responses matching ``url_pattern`` while the block is active.

    Works on a page (its requests only) or a context (every page, popups included). ``predicate`` sees
    each parsed :class:`CapturedResponse` (its ``data`` included) and drops the ones it rejects. A
    non-JSON, non-2xx or unreadable answer is kept in :attr:`responses` with its ``error``/``status``, so
    a timeout message can say what was seen instead of what was hoped for.

    A vendor whose API keeps failing is not a timeout: once ``give_up_after`` matching answers in a row
    were server errors (5xx, 429) with no good one, :meth:`wait` raises ``KonnectorError(VENDOR_DOWN)``
    at once instead of waiting out its timeout (the page's own retries get that many chances).
    """

    def __init__(
        self,
        target: Page | BrowserContext,
        url_pattern: UrlPattern,
        *,
        predicate: ResponsePredicate | None = None,
        mode: CaptureMode = "intercept",
        redactor: Redactor | None = None,
        give_up_after: int = 3,
    ) -> None:
        if mode not in ("intercept", "listen"):
            raise ValueError(f"capture mode={mode!r}: expected 'intercept' or 'listen'")
        self._target = target
        self._pattern = url_pattern
        self._predicate = predicate
        self._mode = mode
        self._redactor = redactor or Redactor()
        self._tasks: set[asyncio.Task[None]] = set()
        self._first: asyncio.Future[Any] | None = None
        self._give_up_after = give_up_after
        self._server_errors = 0
        self._owner: Network | None = None  # the context's network owner, when it has one
        self._remove: Callable[[], Awaitable[None]] | None = None  # removes our handler from the owner
        self.responses: list[CapturedResponse] = []

    # -- results ----------------------------------------------------------------------------------------
    @property
    def values(self) -> list[Any]:
        """The parsed JSON bodies of the 2xx matching responses, in arrival order."""
        return [r.data for r in self.responses if r.ok]

    @property
    def value(self) -> Any:
        """The first JSON body; a ``LookupError`` naming the pattern when none arrived (yet)."""
        for response in self.responses:
            if response.ok:
                return response.data
        raise LookupError(f"no JSON response matching {describe_pattern(self._pattern)} was captured{self._seen()}")

    async def wait(self, timeout: float = 30.0) -> Any:
        """The first JSON body, waiting up to ``timeout`` seconds for it."""
        if self._first is None:
            raise RuntimeError("JsonCapture.wait() outside `async with`")
        try:
            return await asyncio.wait_for(asyncio.shield(self._first), timeout)
        except TimeoutError:
            if self.responses and all(r.status >= 500 or r.status == 429 for r in self.responses):
                raise KonnectorError(
                    errors.VENDOR_DOWN,
                    f"only server errors matched {describe_pattern(self._pattern)} within {timeout:g} s{self._seen()}",
                ) from None
            raise TimeoutError(
                f"no JSON response matching {describe_pattern(self._pattern)} within {timeout:g} s{self._seen()}"
            ) from None

    def _seen(self) -> str:
        if not self.responses:
            return ""
        seen = ", ".join(
            f"{r.status} {r.method} {self._redactor.redact(mask_url_query(r.url))}"
            + (f" ({r.error})" if r.error else "")
            for r in self.responses[:5]
        )
        return f" (matched but unusable: {seen})"

    def _record(self, url: str, status: int, method: str, body: bytes | None, error: str | None) -> None:
        if error is None:
            try:
                captured = CapturedResponse(url, status, method, data=json.loads(body or b""))
            except ValueError:
                captured = CapturedResponse(url, status, method, error="not JSON")
        else:
            captured = CapturedResponse(url, status, method, error=error)
        if captured.error is None and self._predicate is not None and not self._predicate(captured):
            return
        self.responses.append(captured)
        if self._first is None or self._first.done():
            return
        if captured.ok:
            self._first.set_result(captured.data)
            return
        self._server_errors = self._server_errors + 1 if status >= 500 or status == 429 else 0
        if self._give_up_after and self._server_errors >= self._give_up_after:
            self._first.set_exception(
                KonnectorError(
                    errors.VENDOR_DOWN,
                    f"{self._server_errors} answers in a row matching "
                    f"{describe_pattern(self._pattern)} were server errors{self._seen()}",
                )
            )

    # -- intercept mode ---------------------------------------------------------------------------------
    async def _on_route(self, route: Route) -> None:
        request = route.request
        if request.method == "OPTIONS":
            await route.fallback()  # a CORS preflight has no body to capture
            return
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                response = await route.fetch()
                body = await response.body()
        except TimeoutError:
            self._record(request.url, 0, request.method, None, f"no answer within {BODY_TIMEOUT_S:g} s")
            with contextlib.suppress(PlaywrightError):
                await route.abort("timedout")
            return
        except PlaywrightError as exc:
            # Let the browser send it itself, so the page meets its own network error as it would.
            self._record(request.url, 0, request.method, None, f"fetch failed: {exc.message}")
            await route.fallback()
            return
        self._record(response.url, response.status, request.method, body, None)
        with contextlib.suppress(PlaywrightError):  # the page may be gone; the body is captured anyway
            await route.fulfill(response=response, body=body)

    async def _on_network(self, route: Route, page: Page | None) -> bool:
        """The same, as a handler of the context's network owner (fetched through its source)."""
        request = route.request
        if (
            request.method == "OPTIONS"
            or (isinstance(self._target, Page) and page is not self._target)
            or not url_matches(request.url, self._pattern)
        ):
            return False
        network = self._owner
        assert network is not None
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                response = await network.fetch(route)
                body = await response.body()
        except TimeoutError:
            self._record(request.url, 0, request.method, None, f"no answer within {BODY_TIMEOUT_S:g} s")
            with contextlib.suppress(PlaywrightError):
                await route.abort("timedout")
            return True
        except PlaywrightError as exc:
            self._record(request.url, 0, request.method, None, f"fetch failed: {exc.message}")
            return False  # the next handler, or the network: the page meets its own network error
        self._record(response.url, response.status, request.method, body, None)
        with contextlib.suppress(PlaywrightError):
            await network.fulfil(route, response, body)
        return True

    @property
    def _network(self) -> Network | None:
        context = self._target.context if isinstance(self._target, Page) else self._target
        return Network.existing(context)

    # -- listen mode ------------------------------------------------------------------------------------
    def _on_response(self, response: Response) -> None:
        # Synchronous: the match is decided and the body read sent in this same turn of the loop.
        request = response.request
        if request.method == "OPTIONS" or 300 <= response.status < 400 or not url_matches(response.url, self._pattern):
            return
        task = asyncio.get_running_loop().create_task(self._read(response))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, response: Response) -> None:
        try:
            body: bytes | None = await read_body(response)
            error = None
        except PlaywrightError as exc:
            body, error = None, f"body lost: {exc.message.splitlines()[0]}"
        except TimeoutError:
            body, error = None, f"body not read within {BODY_TIMEOUT_S:g} s"
        self._record(response.url, response.status, response.request.method, body, error)

    # -- lifecycle --------------------------------------------------------------------------------------
    async def __aenter__(self) -> JsonCapture:
        self._first = asyncio.get_running_loop().create_future()
        # A give-up set while nobody waits must not warn "exception never retrieved" at shutdown.
        self._first.add_done_callback(lambda f: f.cancelled() or f.exception())
        if self._mode == "intercept":
            self._owner = network = self._network
            if network is not None:
                self._remove = await network.add_handler(self._on_network)
            else:
                await self._target.route(self._pattern, self._on_route)
        else:
            self._target.on("response", self._on_response)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._remove is not None:
            remove, self._remove = self._remove, None
            await remove()
            return
        if self._mode == "intercept":
            with contextlib.suppress(PlaywrightError):  # a closed page or context routes nothing any more
                await self._target.unroute(self._pattern, self._on_route)
            return
        self._target.remove_listener("response", self._on_response)
        if self._tasks:  # bodies already being read belong to this block: let them land
            await asyncio.wait(set(self._tasks), timeout=DRAIN_TIMEOUT_S)
        for task in list(self._tasks):
            task.cancel()


def capture_json(
    page_or_context: Page | BrowserContext,
    url_pattern: UrlPattern,
    *,
    predicate: ResponsePredicate | None = None,
    mode: CaptureMode = "intercept",
    redactor: Redactor | None = None,
    give_up_after: int = 3,
) -> JsonCapture:
    """An async context manager collecting the JSON of every response matching ``url_pattern``."""
    return JsonCapture(
        page_or_context, url_pattern, predicate=predicate, mode=mode, redactor=redactor, give_up_after=give_up_after
    )


async def wait_for_json(
    page_or_context: Page | BrowserContext,
    url_pattern: UrlPattern,
    *,
    action: Callable[[], Awaitable[Any]] | None = None,
    timeout: float = 30.0,
    predicate: ResponsePredicate | None = None,
    mode: CaptureMode = "intercept",
    redactor: Redactor | None = None,
) -> Any:
    """Run ``action`` (a click, a ``goto``...) and return the first matching JSON body it causes.

    The capture is in place *before* the action starts, so a fast response is not missed.
    """
    async with capture_json(page_or_context, url_pattern, predicate=predicate, mode=mode, redactor=redactor) as cap:
        if action is not None:
            await action()
        return await cap.wait(timeout)
