"""``request_factory``: the plain HTTP client of a connector, the heir of konnector-libs' ``requestFactory``.

Many vendor sites need no browser once logged in (a JSON API, a PDF link), and ~30x less time is spent
calling them over HTTP than by driving a page. This module gives connectors (and the browser layer's
"HTTP client sharing the browser's cookies", and :class:`~browserkonnector.store._cozy.CozyStackStore`) one
well-behaved ``httpx.AsyncClient``:

- a real desktop ``User-Agent`` by default: vendors block ``python-httpx/x.y``;
- a cookie jar that behaves like a browser's (host-only cookies stay on their host, ``Secure`` ones on
  https), fed with httpx cookies, a dict, or the cookies of a Playwright context
  (:func:`cookies_from_playwright`);
- :class:`RetryTransport`: retries with backoff (tenacity) on 5xx, 429 (honouring ``Retry-After``),
  timeouts and connection errors, **never** on other 4xx, and never in a way that could repeat a
  non-idempotent request the server may have acted on (see :data:`RetryPolicy`);
- the ``parse`` convenience of the JS library (``json``/``cheerio``): :func:`get_parsed` /
  :func:`parse_response` return parsed JSON, or for ``"html"`` a :class:`parsel.Selector` (CSS and
  XPath selection, Scrapy's own selector library); ``parsel`` is imported only when HTML is parsed.

Usage::

    async with request_factory(base_url="https://vendor.example", parse="json") as http:
        bills = await http.get_parsed("/api/bills")
        page = await get_html(http, "/account")
        links = page.css("a.bill::attr(href)").getall()

Connectors that drive a browser get the same client with the browser's cookies from the browser layer.
A POST is retried only when the server surely did not act; mark a safe one with
``extensions=retry_extension("all")``.
"""

from __future__ import annotations

import email.utils
import functools
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias
from urllib.parse import urlsplit

import anyio
import httpx
from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from browserkonnector import _limits as limits
from browserkonnector._cookies import CookiesInput, as_cookies, cookies_from_playwright

if TYPE_CHECKING:
    from parsel import Selector

__all__ = [
    "DEFAULT_USER_AGENT",
    "CookiesInput",
    "KonnectorClient",
    "ParseMode",
    "RetryEvent",
    "RetryPolicy",
    "RetryTransport",
    "cookies_from_playwright",
    "default_ssl_context",
    "get_html",
    "get_parsed",
    "parse_response",
    "parse_retry_after",
    "request_factory",
    "retry_extension",
]

#: One fixed, modern desktop Chrome on Linux (konnector-libs drew one of 10 stale ones per process; a
#: fixed one keeps runs reproducible, and a current one is less often refused).
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

ParseMode: TypeAlias = Literal["json", "html", "raw"]
#: How far a request may be retried, per request through ``extensions={"retry": ...}``:
#:
#: - ``"all"``: on 5xx, 429, timeouts and connection errors (default for GET, HEAD, OPTIONS, PUT, DELETE:
#:   repeating them is harmless);
#: - ``"unsent"``: only when the server certainly did not act on it: the connection could not be opened
#:   (connect error or timeout, pool timeout) or it answered 429 / 503 (refused, not processed). Default
#:   for POST and PATCH, whose repetition after a lost answer could create a duplicate;
#: - ``"never"``.
RetryPolicy: TypeAlias = Literal["all", "unsent", "never"]
_POLICIES: frozenset[str] = frozenset({"all", "unsent", "never"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Failures that happen before a single byte of the request left: always safe to retry.
_UNSENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def retry_extension(policy: RetryPolicy) -> dict[str, Any]:
    """``extensions=`` for one request: ``await http.post(url, extensions=retry_extension("all"))``."""
    return {"retry": policy}


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryEvent:
    """One retry about to happen: what failed (``status`` or ``error``), which attempt, how long we wait."""

    method: str
    url: str  # scheme, host and path only: queries may carry secrets
    attempt: int
    wait: float
    status: int | None = None
    error: str | None = None


class _RetryableStatus(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CAs, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured), built
    once per process: every ``httpx.AsyncHTTPTransport()`` otherwise builds its own, ~60 ms of loading the
    CA bundle each (measured). Loading releases the GIL, so ``browserkonnector run`` builds it in a thread
    while the connector imports."""
    return httpx.create_ssl_context()


class RetryTransport(httpx.AsyncBaseTransport):
    """Wrap a transport with retries and backoff; reusable by any httpx client of the project.

    ``retries`` is the number of *re*-tries (``retries=3`` → at most 4 attempts). Waits grow
    exponentially from ``backoff`` (with jitter) up to ``max_backoff``; a ``Retry-After`` header (on 429
    or 503) replaces that wait, capped at ``max_retry_after`` so a hostile server cannot park a run. When
    the attempts run out on a retryable status, the last response is returned as is (the caller's error
    handling sees the real status); on an error, the last error is raised.

    A request whose body cannot be replayed (an async stream) is retried only if it never left. Each
    response carries ``extensions["bk_attempts"]`` (1 = no retry), so a caller can tell that an answer
    such as 409 may be the echo of its own earlier, lost, successful attempt. ``sleep`` is injectable
    so tests count waits instead of waiting.
    """

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        max_retry_after: float | None = None,
        idempotent_methods: Iterable[str] = IDEMPOTENT_METHODS,
        on_retry: Callable[[RetryEvent], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport(verify=default_ssl_context())
        self.retries = retries
        self.max_retry_after = limits.max_retry_after() if max_retry_after is None else max_retry_after
        self.idempotent_methods = frozenset(m.upper() for m in idempotent_methods)
        self._backoff = wait_exponential_jitter(multiplier=backoff, max=max_backoff, jitter=backoff)
        self._on_retry = on_retry
        self.sleep: Callable[[float], Awaitable[None]] = sleep or anyio.sleep
        #: Retries performed over the transport's life, and the last waits (for tests and metrics).
        self.retry_count = 0
        self.events: deque[RetryEvent] = deque(maxlen=200)

    def policy_for(self, request: httpx.Request) -> RetryPolicy:
        wanted = request.extensions.get("retry")
        if wanted in _POLICIES:
            return wanted  # type: ignore[no-any-return]
        if wanted is not None:
            raise ValueError(f"extensions['retry'] must be one of {sorted(_POLICIES)}, got {wanted!r}")
        return "all" if request.method.upper() in self.idempotent_methods else "unsent"

    @staticmethod
    def _retryable_status(status: int, policy: RetryPolicy, replayable: bool) -> bool:
        if policy == "never" or not replayable:
            return False
        if policy == "unsent":
            return status in (429, 503)
        return status == 429 or (status >= 500 and status != 501)

    @staticmethod
    def _retryable_error(exc: BaseException, policy: RetryPolicy, replayable: bool) -> bool:
        if policy == "never":
            return False
        if isinstance(exc, _UNSENT_ERRORS):
            return True
        return policy == "all" and replayable and isinstance(exc, _TRANSIENT_ERRORS)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _RetryableStatus) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return float(self._backoff(state))

    def _can_wait(self, retry_after: float | None) -> bool:
        """Whether a ``Retry-After`` wait (capped) fits in the run's remaining time."""
        left = limits.remaining()
        if retry_after is None or left is None:
            return left is None or left > 0
        return min(retry_after, self.max_retry_after) < left - 1.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy_for(request)
        replayable = isinstance(request.stream, httpx.ByteStream)

        def should_retry(exc: BaseException) -> bool:
            return isinstance(exc, _RetryableStatus) or self._retryable_error(exc, policy, replayable)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            parts = urlsplit(str(request.url))
            event = RetryEvent(
                method=request.method,
                url=f"{parts.scheme}://{parts.netloc}{parts.path}",
                attempt=state.attempt_number,
                wait=state.upcoming_sleep,
                status=exc.status if isinstance(exc, _RetryableStatus) else None,
                error=None if isinstance(exc, _RetryableStatus) else type(exc).__name__,
            )
            self.retry_count += 1
            self.events.append(event)
            logger.debug(
                "retrying {} {} after {} (attempt {}), waiting {:.2f}s",
                event.method,
                event.url,
                event.status or event.error,
                event.attempt,
                event.wait,
            )
            if self._on_retry is not None:
                self._on_retry(event)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=self._wait,
            sleep=self.sleep,
            retry=retry_if_exception(should_retry),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                response = await self.inner.handle_async_request(request)
                retryable = self._retryable_status(response.status_code, policy, replayable)
                if retryable and number <= self.retries:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if not self._can_wait(retry_after):
                        response.extensions["bk_attempts"] = number
                        return response  # asked to wait past the run's end: the answer is the vendor's
                    await response.aclose()
                    raise _RetryableStatus(response.status_code, retry_after)
                response.extensions["bk_attempts"] = number
                return response
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- parsing ------------------------------------------------------------------------------------------


def parse_response(response: httpx.Response, parse: ParseMode) -> Any:
    """The body as ``parse`` says: ``json`` → the decoded JSON, ``html`` → a :class:`parsel.Selector`
    (``.css("a::attr(href)").getall()``, ``.xpath(...)``; ``.root.base_url`` is the response URL, to
    ``urljoin`` relative links with), ``raw`` → the response itself."""
    if parse == "raw":
        return response
    if parse == "json":
        return response.json()
    if parse == "html":
        try:
            from parsel import Selector
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("parse='html' needs the 'parsel' package: pip install parsel") from exc
        return Selector(text=response.text, base_url=str(response.url))
    raise ValueError(f"parse must be 'json', 'html' or 'raw', got {parse!r}")


class _ScopedCookies(httpx.AsyncBaseTransport):
    """Sets the ``Cookie`` header from the client's own jar (and its browser policy) on every hop.

    httpx builds the header from a copy of the jar with the stdlib's lax policy; this recomputes it at
    the last moment — after every request hook, so a hook that syncs cookies from a browser right before
    a request (the browser layer's session client does) is seen by that very request.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, jar: Callable[[], httpx.Cookies]) -> None:
        self.inner = inner
        self._jar = jar

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.extensions.get("bk_explicit_cookie"):
            request.headers.pop("cookie", None)
            self._jar().set_cookie_header(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


#: ``guard(request, answer, resend) -> answer`` (see :meth:`KonnectorClient.add_answer_guard`).
AnswerGuard = Callable[
    [httpx.Request, httpx.Response, Callable[[], Awaitable[httpx.Response]]], Awaitable[httpx.Response]
]


class KonnectorClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` that remembers its default ``parse`` mode and its :class:`RetryTransport`,
    and sends cookies with browser scoping (see ``_ScopedCookies``). An explicit ``Cookie`` header (client
    or request ``headers``) is sent as given; per-request ``cookies=`` (deprecated by httpx) are ignored.
    """

    def __init__(self, *, parse: ParseMode = "raw", retry_transport: RetryTransport, **kwargs: Any) -> None:
        super().__init__(transport=_ScopedCookies(retry_transport, lambda: self.cookies), **kwargs)
        self.parse: ParseMode = parse
        self.retry_transport = retry_transport
        self._guards: list[AnswerGuard] = []

    def add_answer_guard(self, guard: AnswerGuard) -> None:
        """Have ``guard`` judge every final answer (after redirects): it returns the answer to use, which
        may come from ``resend()`` (the same request sent again). The session keeper adds one that logs in
        again when an answer shows the session was lost. Answers a transport cannot judge alone: a
        redirect to the login page is only known once httpx has followed it."""
        self._guards.append(guard)

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = await super().send(request, **kwargs)
        for guard in self._guards:
            response = await guard(request, response, lambda: super(KonnectorClient, self).send(request, **kwargs))
        return response

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        explicit = "cookie" in self.headers or "cookie" in httpx.Headers(kwargs.get("headers") or {})
        request = super().build_request(method, url, **kwargs)
        if explicit:
            request.extensions["bk_explicit_cookie"] = True
        return request

    async def get_parsed(self, url: str, *, parse: ParseMode | None = None, **kwargs: Any) -> Any:
        """GET ``url`` and parse it (see :func:`get_parsed`)."""
        return await get_parsed(self, url, parse=parse, **kwargs)


async def get_parsed(
    client: httpx.AsyncClient, url: str, *, parse: ParseMode | None = None, method: str = "GET", **kwargs: Any
) -> Any:
    """Request ``url`` and return its parsed body. A non-2xx answer raises ``httpx.HTTPStatusError`` (as
    request-promise rejected with ``StatusCodeError``), after the transport's retries. ``parse``
    defaults to the client's own mode (``request_factory(parse=...)``), else ``"json"``."""
    mode: ParseMode = parse or getattr(client, "parse", None) or "json"
    if mode == "raw" and parse is None and not isinstance(client, KonnectorClient):
        mode = "json"
    response = await client.request(method, url, **kwargs)
    if mode != "raw":
        await response.aread()
    response.raise_for_status()
    return parse_response(response, mode)


async def get_html(client: httpx.AsyncClient, url: str, **kwargs: Any) -> Selector:
    """:func:`get_parsed` with ``parse="html"``, typed: the page as a :class:`parsel.Selector`."""
    document: Selector = await get_parsed(client, url, parse="html", **kwargs)
    return document


def request_factory(
    *,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    cookies: CookiesInput | None = None,
    user_agent: bool | str = True,
    timeout: float | httpx.Timeout = 30.0,
    retries: int = 3,
    follow_redirects: bool = True,
    parse: ParseMode = "raw",
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    retry_options: Mapping[str, Any] | None = None,
    **client_kwargs: Any,
) -> KonnectorClient:
    """A ready :class:`KonnectorClient` (an ``httpx.AsyncClient``) for talking to a vendor.

    ``user_agent``: True → :data:`DEFAULT_USER_AGENT`, a string → that one, False → httpx's own (a
    ``User-Agent`` in ``headers`` always wins). ``cookies``: see :func:`cookies_from_playwright`.
    ``transport`` (default: httpx's) is wrapped in a :class:`RetryTransport` with ``retries`` and
    ``retry_options`` (``backoff``, ``max_backoff``, ``max_retry_after``, ``on_retry``, ...).
    Other keyword arguments go to ``httpx.AsyncClient``. Use it as ``async with``, or ``await .aclose()``.
    """
    if parse not in ("json", "html", "raw"):
        raise ValueError(f"parse must be 'json', 'html' or 'raw', got {parse!r}")
    merged = httpx.Headers(headers or {})
    if user_agent is not False and "user-agent" not in merged:
        merged["User-Agent"] = DEFAULT_USER_AGENT if user_agent is True else str(user_agent)
    retry = RetryTransport(transport, retries=retries, **dict(retry_options or {}))
    return KonnectorClient(
        parse=parse,
        retry_transport=retry,
        base_url=base_url or "",
        headers=merged,
        cookies=as_cookies(cookies).jar,
        timeout=timeout,
        follow_redirects=follow_redirects,
        event_hooks={k: list(v) for k, v in (event_hooks or {}).items()},
        **client_kwargs,
    )
