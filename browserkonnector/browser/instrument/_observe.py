"""What the pages said while the run went: console, page errors, failed requests, HTTP errors.

A failed run is explained by what the vendor's page complained about as much as by our own log: a
``TypeError`` in the site's bundle, a 500 from its API, a request refused. :class:`PageLog` listens on a
whole context (popups included) and keeps a bounded record — ``max_entries`` events (the oldest are
dropped and counted), each text cut at ``max_text`` characters — for the failure bundle and the
site-change report. Requests our own blocking aborted (``net::ERR_BLOCKED_BY_CLIENT``) are not failures
and are left out.

URLs are kept without the values of secret-named query parameters, and every text passes the run's
redactor when read (:meth:`PageLog.entries`), so secrets registered late (cookies at the end of a run)
are masked too.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

from playwright.async_api import BrowserContext, ConsoleMessage, Request, Response, WebError

from browserkonnector._redact import Redactor
from browserkonnector.browser._scrub_rules import mask_url_query

__all__ = ["PageEvent", "PageLog"]

Kind = Literal["console", "pageerror", "requestfailed", "http"]
_OUR_BLOCKING = "net::ERR_BLOCKED_BY_CLIENT"


@dataclass(frozen=True)
class PageEvent:
    """One thing a page said. ``level`` is the console type (``error``, ``warning``...) for console events."""

    kind: Kind
    text: str
    time: float
    url: str | None = None
    status: int | None = None
    method: str | None = None
    level: str | None = None


class PageLog:
    """A bounded, redacted record of the pages' console, errors and failing requests (see module doc)."""

    def __init__(
        self, context: BrowserContext, *, redactor: Redactor | None = None, max_entries: int = 500, max_text: int = 2000
    ) -> None:
        if max_entries < 1 or max_text < 16:
            raise ValueError(f"PageLog: max_entries={max_entries} must be >= 1, max_text={max_text} >= 16")
        self.context = context
        self.redactor = redactor or Redactor()
        self.max_text = max_text
        self.dropped = 0
        self._events: deque[PageEvent] = deque(maxlen=max_entries)
        context.on("console", self._on_console)
        context.on("weberror", self._on_error)
        context.on("requestfailed", self._on_failed)
        context.on("response", self._on_response)

    def detach(self) -> None:
        """Stop listening (the record stays readable)."""
        self.context.remove_listener("console", self._on_console)
        self.context.remove_listener("weberror", self._on_error)
        self.context.remove_listener("requestfailed", self._on_failed)
        self.context.remove_listener("response", self._on_response)

    def _add(self, kind: Kind, text: str, **extra: Any) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
        if len(text) > self.max_text:
            text = text[: self.max_text - 1] + "…"
        url = extra.pop("url", None)
        self._events.append(PageEvent(kind, text, time.time(), url=mask_url_query(url) if url else None, **extra))

    def _on_console(self, message: ConsoleMessage) -> None:
        location = message.location.get("url") if message.location else None
        self._add("console", message.text, level=message.type, url=location or None)

    def _on_error(self, error: WebError) -> None:
        page = error.page
        self._add("pageerror", f"{error.error.name}: {error.error.message}", url=page.url if page is not None else None)

    def _on_failed(self, request: Request) -> None:
        failure = request.failure or "failed"
        if failure.startswith(_OUR_BLOCKING):  # "net::ERR_BLOCKED_BY_CLIENT.Inspector"
            return
        self._add("requestfailed", failure, url=request.url, method=request.method)

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self._add(
                "http",
                f"HTTP {response.status} {response.status_text}".strip(),
                url=response.url,
                status=response.status,
                method=response.request.method,
            )

    def events(self) -> list[PageEvent]:
        """The events in order, redacted now (a secret registered after the event is masked too)."""
        redact = self.redactor.redact
        return [
            PageEvent(
                e.kind,
                redact(e.text),
                e.time,
                url=redact(e.url) if e.url else None,
                status=e.status,
                method=e.method,
                level=e.level,
            )
            for e in self._events
        ]

    def entries(self) -> list[dict[str, Any]]:
        """:meth:`events` as JSON-ready dicts (``None`` fields left out) — the bundle's ``console.jsonl``."""
        return [{k: v for k, v in asdict(e).items() if v is not None} for e in self.events()]

    def __len__(self) -> int:
        return len(self._events)
