"""``--record DIR``: both network paths of a run, recorded as one ordered list of exchanges.

- the browser: a context route sends each request itself (``route.fetch``, redirects not followed so the
  browser follows them as it would) and hands the answer to the page (``route.fulfill``): the exact bytes,
  downloads and PDFs included, which passive listening cannot promise (bodies vanish on navigation,
  download bodies are never readable). Resource types the connector blocks are left to the blocking and
  not recorded. The recorder is the *source* of the context's network owner (``browser._network``): what the
  owner's handlers fetch (a JSON capture's answer) goes through it and is recorded too;
- the session HTTP client: its innermost transport (the owner's, given at construction) hands requests to
  the recorder's transport, which records them; the raw answer goes back to httpx untouched.

Secrets: the exchanges stay in memory as they happened; :meth:`Recorder.finish` first *names* every
secret the run's redactor knows or the traffic reveals (fields by their name, then web-storage keys,
cookies, sensitive headers; the rest numbered), writes the recording with each secret replaced by its
placeholder (:meth:`~browserkonnector._redact.Redactor.placeholder`), then scans every file written with
:func:`~browserkonnector.browser.instrument._scrub.find_secrets` and masks whatever a placeholder could not cover.
Over an existing recording, it keeps the old matching rules and notes, and returns what changed.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from loguru import logger
from playwright.async_api import BrowserContext, Page, Request, Route
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import MIN_SECRET_LENGTH, SENSITIVE_HEADERS, Redactor
from browserkonnector.browser._blocking import is_pdf_url
from browserkonnector.browser._scrub_rules import secret_name
from browserkonnector.browser._secrets import is_cookie_secret
from browserkonnector.browser.instrument._matching import looks_opaque
from browserkonnector.browser.instrument._recording import DIFF_NAME, Exchange, Recording, RecordingError, now_iso
from browserkonnector.browser.instrument._recording_diff import RecordingDiff, diff_recordings
from browserkonnector.browser.instrument._scrub import find_secrets, scrub_file
from browserkonnector.browser.instrument._taps import is_redirect, redirect_navigation, request_data

__all__ = ["Recorder", "label_fields"]

log = logger.bind(namespace="record")


def label_fields(redactor: Redactor, fields: Mapping[str, Any]) -> None:
    """Name the secrets that are field values after their field (``{{password}}``): a replay run does
    the same with its own values, so its requests normalise to the recorded ones."""
    for name, value in sorted(fields.items()):
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, str):
            redactor.label(value, name)


def _cookie_pairs(name: str, value: str) -> list[tuple[str, str]]:
    lowered = name.lower()
    if lowered == "cookie":
        return [(k.strip(), v.strip()) for k, _, v in (p.partition("=") for p in value.split(";")) if k.strip()]
    if lowered == "set-cookie":
        first = value.split(";", 1)[0]
        key, _, val = first.partition("=")
        return [(key.strip(), val.strip())] if key.strip() else []
    return []


class _RecordingTransport(httpx.AsyncBaseTransport):
    """Records each request the session client sends, and passes the raw answer back unchanged."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder) -> None:
        self.inner, self.recorder = inner, recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seq, started, clock = next(self.recorder.sequence), now_iso(), time.monotonic()
        body = await request.aread()
        headers = tuple(request.headers.multi_items())
        base = Exchange(
            "http",
            request.method,
            str(request.url),
            headers,
            body if body or request.method not in ("GET", "HEAD") else None,
            0,
            "",
            (),
            b"",
            started,
        )
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.HTTPError as exc:
            self.recorder.add(seq, replace(base, time_ms=_ms(clock), error=type(exc).__name__))
            raise
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        encoding = response.headers.get("content-encoding")
        decoded = raw
        if encoding:
            try:
                decoded = httpx.Response(200, headers={"content-encoding": encoding}, content=raw).read()
            except httpx.DecodingError:
                decoded = raw
        self.recorder.add(
            seq,
            replace(
                base,
                status=response.status_code,
                status_text=response.reason_phrase,
                response_headers=tuple(response.headers.multi_items()),
                response_body=decoded,
                time_ms=_ms(clock),
            ),
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def _ms(clock: float) -> float:
    return (time.monotonic() - clock) * 1000


class Recorder:
    """Records a run into ``folder`` (see the module docstring). ``attach`` once, ``finish`` once."""

    def __init__(
        self,
        folder: str | Path,
        redactor: Redactor,
        *,
        connector: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
        block_resources: Iterable[str] = (),
        secret_storage_keys: Iterable[str] = (),
    ) -> None:
        self.folder = Path(folder)
        self.redactor = redactor
        self.connector = dict(connector or {})
        self.fields = dict(fields or {})
        self.blocked = frozenset(block_resources)
        self.storage_keys = tuple(secret_storage_keys)
        self.sequence = itertools.count()
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self._exchanges: list[tuple[int, Exchange]] = []
        self.previous: Recording | None = None
        if Recording.exists(self.folder):
            try:
                self.previous = Recording.load(self.folder)
            except RecordingError as exc:
                log.warning("the recording in {} cannot be read, it will be replaced: {}", self.folder, exc)
        label_fields(redactor, self.fields)

    # -- attaching -------------------------------------------------------------------------------------
    async def attach(self, context: BrowserContext | None, client: httpx.AsyncClient, page: Page | None = None) -> None:
        """Start recording the browser ``context`` (if any) and the session HTTP ``client``: become the
        source of the context's network owner (:func:`~._network.attach_source`)."""
        from browserkonnector.browser._network import attach_source

        self.context, self.page = context, page
        await attach_source(self, context, client)

    # -- as the network owner's source -----------------------------------------------------------------
    def transport(self, inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return _RecordingTransport(inner, self)

    def on_blocked(self, request: Request) -> None:
        return None  # blocked requests are not part of the run's data

    async def pass_on(self, route: Route) -> None:
        await self.handle(route, continued=True)

    def add(self, seq: int, exchange: Exchange) -> None:
        self._exchanges.append((seq, exchange))

    @property
    def exchanges(self) -> list[Exchange]:
        """What was recorded so far, in the order the requests started (secrets still in)."""
        return [exchange for _, exchange in sorted(self._exchanges, key=lambda item: item[0])]

    # -- the browser path ------------------------------------------------------------------------------
    async def fetch(self, route: Route, **options: Any) -> Any:
        """``route.fetch(**options)``, recorded."""
        request = route.request
        seq, started, clock = next(self.sequence), now_iso(), time.monotonic()
        data = request_data(request)
        base = Exchange(
            "browser",
            data.method,
            data.url,
            data.headers,
            data.body,
            0,
            "",
            (),
            b"",
            started,
            resource_type=request.resource_type,
        )
        try:
            response = await route.fetch(**options)
            body = await response.body()
        except PlaywrightError as exc:
            self.add(seq, replace(base, time_ms=_ms(clock), error=(exc.message.splitlines() or ["failed"])[0][:200]))
            raise
        headers = tuple((h["name"], h["value"]) for h in response.headers_array)
        self.add(
            seq,
            replace(
                base,
                status=response.status,
                status_text=response.status_text,
                response_headers=headers,
                response_body=body,
                time_ms=_ms(clock),
            ),
        )
        return response

    async def handle(self, route: Route, *, continued: bool = False) -> None:
        request = route.request
        if not request.url.startswith(("http://", "https://")) or (
            not continued and request.resource_type in self.blocked and not is_pdf_url(request.url)
        ):
            await route.fallback()  # blocked by the connector's rules: not part of the run's data
            return
        navigation = request.is_navigation_request()
        try:  # a navigation's redirect is followed by the browser, any other inside the fetch (see _taps)
            response = await self.fetch(route, **({"max_redirects": 0} if navigation else {}))
        except PlaywrightError:
            try:
                await route.abort("failed")
            except PlaywrightError as exc:  # the page is gone
                log.debug("abort after a failed fetch: {}", exc.message)
            return
        try:
            location = is_redirect(response.status, [(h["name"], h["value"]) for h in response.headers_array])
            if navigation and location:
                # the fetch already stored the redirect's cookies in the context
                await redirect_navigation(route, None, location)
            else:
                await route.fulfill(response=response)
        except PlaywrightError as exc:  # the page or context closed meanwhile: the exchange is recorded
            log.debug("fulfil after recording: {}", exc.message)

    # -- finishing -------------------------------------------------------------------------------------
    async def _label_browser_secrets(self) -> None:
        """Web-storage tokens and cookies, named while the page is still there."""
        page = self.page
        if page is not None and self.storage_keys and not page.is_closed():
            try:
                found: list[list[str | None]] = await page.evaluate(
                    "keys => keys.map(k => [sessionStorage.getItem(k), localStorage.getItem(k)])",
                    list(self.storage_keys),
                )
            except PlaywrightError as exc:
                log.debug("reading web storage: {}", exc.message)
            else:
                for key, values in zip(self.storage_keys, found, strict=True):
                    for value in values:
                        if value:
                            self.redactor.add(value, label=f"storage:{key}")
        if self.context is not None:
            try:
                for cookie in await self.context.cookies():
                    self._label_cookie(str(cookie.get("name", "")), str(cookie.get("value", "")))
            except PlaywrightError as exc:
                log.debug("reading cookies: {}", exc.message)

    def _label_cookie(self, name: str, value: str) -> None:
        if name and is_cookie_secret(value):
            self.redactor.add(value, label=f"cookie:{name}")

    def _label_traffic_secrets(self, exchanges: Iterable[Exchange]) -> None:
        """Cookies and sensitive headers seen on the wire (a rotated session id the jar no longer has)."""
        for exchange in exchanges:
            for name, value in (*exchange.request_headers, *exchange.response_headers):
                lowered = name.lower()
                if lowered not in SENSITIVE_HEADERS:
                    continue
                pairs = _cookie_pairs(name, value)
                if pairs:
                    for key, val in pairs:
                        self._label_cookie(key, val)
                elif lowered not in ("cookie", "set-cookie"):
                    scheme, _, token = value.partition(" ")
                    if token and scheme.isalpha() and len(scheme) < 10:  # "Bearer <token>": the token alone
                        self.redactor.add(token.strip(), label=f"header:{lowered}")
                    else:
                        self.redactor.add(value, label=f"header:{lowered}")

    def _label_form_tokens(self, exchanges: Iterable[Exchange]) -> None:
        """Anti-forgery tokens a page puts in its forms (Django's ``csrfmiddlewaretoken``, Rails'
        ``authenticity_token``...): named like the CSRF cookie is, so that the recording holds neither in
        clear (the form's value is not the cookie's: Django masks it)."""
        for exchange in exchanges:
            for name, value in _body_fields(exchange):
                if _CSRF_NAME.search(name) and value:
                    self.redactor.add(value, label=f"csrf:{name}")

    def _label_url_secrets(self, exchanges: Iterable[Exchange]) -> None:
        """Opaque values of secret-named query parameters (``?key=1e77d69e…``, ``access_token=``,
        ``sig=``): a per-document key in a URL opens that document to whoever reads the recording. Named
        placeholders keep the replay matching (the recorded page links to the placeholder, and the
        connector asks for it); only token-like values, so that ``?state=open`` leaves "open" alone."""
        for exchange in exchanges:
            query = urlsplit(exchange.url).query
            for name, value in parse_qsl(query, keep_blank_values=False):
                if secret_name(name) and looks_opaque(value):
                    self.redactor.add(value, label=f"query:{name}")

    @staticmethod
    def _mask_leftovers(exchange: Exchange) -> Exchange:
        """A sensitive header no placeholder covered (too short to register): masked whole."""

        def clean(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
            return tuple(
                (
                    n,
                    "***"
                    if n.lower() in SENSITIVE_HEADERS
                    and n.lower() not in ("cookie", "set-cookie")
                    and "{{" not in v
                    and 0 < len(v) < MIN_SECRET_LENGTH
                    else v,
                )
                for n, v in headers
            )

        return replace(
            exchange, request_headers=clean(exchange.request_headers), response_headers=clean(exchange.response_headers)
        )

    async def finish(self, *, failed: bool = False, error: str | None = None) -> RecordingDiff | None:
        """Write the recording (marked failed when the run failed); returns the diff with the previous
        recording, if there was one (also written to ``recording-diff.txt`` and logged)."""
        await self._label_browser_secrets()
        exchanges = self.exchanges
        self._label_traffic_secrets(exchanges)
        self._label_form_tokens(exchanges)
        self._label_url_secrets(exchanges)
        previous = self.previous
        meta: dict[str, Any] = {
            "recorded_at": now_iso(),
            "connector": self.connector,
            "fields": sorted(self.fields),
            "outcome": {"ok": not failed, "error": error},
            "notes": previous.notes if previous is not None else {},
            "matching": previous.meta.get("matching", {}) if previous is not None else {},
        }
        recording = Recording([self._mask_leftovers(e) for e in exchanges], meta)
        recording.save(self.folder, self.redactor)
        self._check_no_secret()
        saved = Recording.load(self.folder)
        log.info(
            "recorded {} exchanges ({} browser, {} http) into {}{}",
            len(saved.exchanges),
            sum(e.source == "browser" for e in saved.exchanges),
            sum(e.source == "http" for e in saved.exchanges),
            self.folder,
            " (the run failed: recording marked failed)" if failed else "",
        )
        if previous is None:
            (self.folder / DIFF_NAME).unlink(missing_ok=True)
            return None
        diff = diff_recordings(previous, saved)
        text = diff.text()
        (self.folder / DIFF_NAME).write_text(text, encoding="utf-8")
        for line in text.rstrip("\n").splitlines():
            log.info("{}", line)
        return diff

    def _check_no_secret(self) -> None:
        findings = find_secrets(self.folder, self.redactor)
        for path in sorted({f.path.split("!", 1)[0] for f in findings}):
            log.warning("a secret survived placeholders in {}: masked", path)
            scrub_file(path, self.redactor)


_CSRF_NAME = re.compile(r"csrf|xsrf|authenticity_token|requestverificationtoken", re.IGNORECASE)


def _body_fields(exchange: Exchange) -> list[tuple[str, str]]:
    """The top-level fields of a request's form or JSON body (nothing for other bodies)."""
    body = exchange.request_body
    if not body:
        return []
    content_type = next((v for k, v in exchange.request_headers if k.lower() == "content-type"), "").lower()
    text = body.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type:
        return parse_qsl(text, keep_blank_values=True)
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            return []
        if isinstance(data, dict):
            return [(str(k), v) for k, v in data.items() if isinstance(v, str)]
    return []
