"""``--replay DIR``: run a connector offline, both network paths answered from a recording.

The replayer is the *source* of the context's network owner (``browser._network``): the owner's one route
hands it every browser request no handler took, its handlers (a JSON capture) fetch through it, and the
session HTTP client's innermost transport (the owner's, given at construction) hands it every HTTP
request. Nothing is
ever passed on to the network: a request is served, aborted as blocked (a resource type the connector
blocks), or is a **miss**. :class:`Matcher <.matching.Matcher>` decides (volatile parameters dropped,
bodies normalised, repeated calls in recorded order).

Origins: matching ignores them, and what is served has the recorded origin of the exchange rewritten to
the origin the connector asked (headers such as ``Location``, and text bodies), so a recording made
against ``127.0.0.1:41234`` replays for a connector pointed at any port.

A miss fails the request — the browser's is aborted, the HTTP client's raises :class:`ReplayMiss`, a
:class:`~browserkonnector._errors.KonnectorError` that fails the run — with a message naming the request
(method and URL, secrets as placeholders) and the closest recorded candidate, and how they differ. Each
miss is logged as an error when it happens and listed again when the run ends (:meth:`Replayer.summary`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from loguru import logger
from playwright.async_api import BrowserContext, Page, Request, Route
from playwright.async_api import Error as PlaywrightError

from browserkonnector import _errors as errors
from browserkonnector._errors import UnknownError
from browserkonnector._redact import Redactor
from browserkonnector.browser.instrument._matching import Matcher, RequestData, origin_of
from browserkonnector.browser.instrument._record import label_fields
from browserkonnector.browser.instrument._recording import Exchange, Recording
from browserkonnector.browser.instrument._taps import (
    HOP_HEADERS,
    RecordedResponse,
    headers_dict,
    is_redirect,
    redirect_navigation,
    request_data,
)

__all__ = ["REPLAY_MISS", "ReplayMiss", "Replayer", "Served"]

log = logger.bind(namespace="replay")
#: The code a run fails with when it asks for something the recording does not hold.
REPLAY_MISS = errors.REPLAY_MISS
_TEXTUAL = ("text/", "json", "javascript", "xml", "svg")


class ReplayMiss(UnknownError):
    """A request the recording cannot answer (the message says which, and what came closest)."""

    def __init__(self, message: str) -> None:
        super().__init__(REPLAY_MISS, message)
        self.message = message


@dataclass(frozen=True)
class Served:
    """An answer ready to hand over: the recorded exchange with its origin moved to the one asked."""

    exchange: Exchange
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    repeat: bool


class _ReplayTransport(httpx.AsyncBaseTransport):
    """The session client's network, replaced: answers from the recording, or raises :class:`ReplayMiss`."""

    def __init__(self, replayer: Replayer) -> None:
        self.replayer = replayer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        data = RequestData(
            request.method,
            str(request.url),
            tuple(request.headers.multi_items()),
            body if body or request.method not in ("GET", "HEAD") else None,
        )
        served = self.replayer.serve(data, "http")
        if served is None:
            raise self.replayer.miss(data, "http")
        if served.exchange.error:
            raise httpx.ConnectError(f"recorded failure: {served.exchange.error}", request=request)
        headers = [(n, v) for n, v in served.headers if n.lower() not in HOP_HEADERS]
        return httpx.Response(
            served.status,
            headers=headers,
            content=served.body,
            request=request,
            extensions={"reason_phrase": served.exchange.status_text.encode()},
        )


class Replayer:
    """Answers a run from the recording in ``folder`` (see the module docstring)."""

    def __init__(
        self,
        folder: str | Path,
        redactor: Redactor,
        *,
        fields: Mapping[str, Any] | None = None,
        block_resources: Iterable[str] = (),
        report_path: str | Path | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.report_path = Path(report_path) if report_path is not None else None
        self.redactor = redactor
        self.recording = Recording.load(self.folder)
        self.matcher = Matcher([e.request for e in self.recording.exchanges], self.recording.rules)
        self.blocked = frozenset(block_resources)
        self.served: Counter[str] = Counter()  # per path: "browser" / "http"
        self.repeats: list[str] = []
        self.blocked_count = 0
        #: What was blocked, not only how many: "image GET https://…/logo.png" → times.
        self.blocked_requests: Counter[str] = Counter()
        self.misses: list[ReplayMiss] = []
        self._missed: set[int] = set()
        self.started = time.monotonic()
        self.context: BrowserContext | None = None
        label_fields(redactor, fields or {})

    async def attach(self, context: BrowserContext | None, client: httpx.AsyncClient, page: Page | None = None) -> None:
        """Answer the browser `context` (if any) and the session HTTP `client` from the recording: become
        the source of the context's network owner (:func:`~._network.attach_source`)."""
        from browserkonnector.browser._network import attach_source

        self.context = context
        await attach_source(self, context, client)

    # -- as the network owner's source -----------------------------------------------------------------
    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return _ReplayTransport(self)

    def on_blocked(self, request: Request) -> None:
        """Count a request the owner's blocking aborted (the report lists them)."""
        self.blocked_count += 1
        shown = self.redactor.redact(self.redactor.placeholder(request.url))
        self.blocked_requests[f"{request.resource_type} {request.method} {shown}"] += 1

    async def pass_on(self, route: Route) -> None:
        await self.handle(route, continued=True)

    # -- matching --------------------------------------------------------------------------------------
    def serve(self, request: RequestData, source: str) -> Served | None:
        """The recorded answer for ``request`` (``None`` when nothing matches; the caller decides)."""
        match = self.matcher.match(request, self.redactor.placeholder)
        if match is None:
            return None
        exchange = self.recording.exchanges[match.index]
        self.served[source] += 1
        if match.repeat:
            what = self.matcher.key_of(request, self.redactor.placeholder).describe(80)
            self.repeats.append(what)
            log.warning(
                "replay: {} asked more often than recorded: serving its last recorded answer again",
                self.redactor.redact(what),
            )
        recorded, asked = origin_of(exchange.url), origin_of(request.url)
        headers, body = exchange.response_headers, exchange.response_body
        if recorded != asked:
            headers = tuple((n, v.replace(recorded, asked)) for n, v in headers)
            if any(marker in exchange.content_type for marker in _TEXTUAL):
                body = body.replace(recorded.encode(), asked.encode())
        return Served(exchange, exchange.status, headers, body, match.repeat)

    def miss(self, request: RequestData, source: str, request_id: int | None = None) -> ReplayMiss:
        """Build, log and remember the error for a request that matched nothing."""
        shown = self.redactor.redact(self.redactor.placeholder(request.url))
        text = f"replay: no recorded exchange for {request.method} {shown} ({source})"
        candidate = self.matcher.closest(request, self.redactor.placeholder)
        if candidate is not None:
            recorded = self.recording.exchanges[candidate.index]
            text += f"; closest recorded: {recorded.method} {recorded.url} — differs by: " + "; ".join(
                candidate.differences
            )
        text = self.redactor.redact(text) + f". If the site or the connector changed, re-record: --record {self.folder}"
        error = ReplayMiss(text)
        if request_id is None or request_id not in self._missed:
            if request_id is not None:
                self._missed.add(request_id)
            self.misses.append(error)
            log.error("{}", text.removeprefix("replay: "))
        return error

    # -- the browser path ------------------------------------------------------------------------------
    async def handle(self, route: Route, *, continued: bool = False) -> None:
        request = route.request
        if not request.url.startswith(("http://", "https://")):
            await route.fallback()  # data:, blob: never reach a network
            return
        data = request_data(request)
        served = self.serve(data, "browser")
        try:
            if served is None:
                if not continued and request.resource_type in self.blocked:
                    self.on_blocked(request)
                    await route.abort("blockedbyclient")
                    return
                self.miss(data, "browser", _request_id(request))
                await route.abort("failed")
                return
            if served.exchange.error:
                await route.abort("failed")
                return
            location = is_redirect(served.status, served.headers)
            if location and request.is_navigation_request():
                await redirect_navigation(route, self.context, location, served.headers)
                return
            await route.fulfill(status=served.status, headers=headers_dict(served.headers), body=served.body)
        except PlaywrightError as exc:  # the page closed meanwhile
            log.debug("replay: answering {}: {}", self.redactor.redact(request.url), exc.message)

    async def fetch(self, route: Route, **options: Any) -> RecordedResponse:
        """A page route's ``route.fetch()``: the recorded answer (a miss raises Playwright's error)."""
        request = route.request
        data = request_data(request)
        served = self.serve(data, "browser")
        if served is None:
            raise PlaywrightError(self.miss(data, "browser", _request_id(request)).message)
        if served.exchange.error:
            raise PlaywrightError(f"recorded failure: {served.exchange.error}")
        return RecordedResponse(request.url, served.status, served.exchange.status_text, served.headers, served.body)

    # -- reporting -------------------------------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """Counts a test asserts on: what was served from which path, blocked, repeated, missed, left."""
        return {
            "recording": str(self.folder),
            "served": {
                "browser": self.served["browser"],
                "http": self.served["http"],
                "total": sum(self.served.values()),
            },
            "passed_to_network": 0,  # by construction: no handler here ever continues a request
            "blocked": self.blocked_count,
            "blocked_requests": [
                f"{what} (×{n})" if n > 1 else what for what, n in sorted(self.blocked_requests.items())
            ],
            "repeats": list(self.repeats),
            "misses": [m.message for m in self.misses],
            "unserved": len(self.matcher.unserved()),
            "recorded": len(self.recording.exchanges),
            "seconds": round(time.monotonic() - self.started, 3),
        }

    async def finish(self, *, failed: bool = False, error: str | None = None) -> None:
        """End of the run: write the report (``report_path``), log the summary and every distinct miss
        again, last, where the run's failure is read."""
        if self.report_path is not None:
            self.report_path.parent.mkdir(parents=True, exist_ok=True)
            self.report_path.write_text(json.dumps(self.report(), indent=1) + "\n", encoding="utf-8")
        log.info("{}{}", self.summary(), f" (report: {self.report_path})" if self.report_path else "")
        for miss in self.distinct_misses():
            log.error("{}", miss)

    def distinct_misses(self) -> list[str]:
        """Each miss message once, with how many times it happened (a login retried three times...)."""
        counts = Counter(m.message for m in self.misses)
        return [text + (f" (×{n})" if n > 1 else "") for text, n in counts.items()]

    def summary(self) -> str:
        report = self.report()
        served = report["served"]
        return (
            f"replayed {served['total']} of {report['recorded']} recorded exchanges offline "
            f"({served['browser']} browser, {served['http']} http), {report['blocked']} blocked, "
            f"{len(report['repeats'])} repeated, {len(report['misses'])} missed, "
            f"{report['unserved']} never asked"
        )


def _request_id(request: Request) -> int:
    return id(request)
