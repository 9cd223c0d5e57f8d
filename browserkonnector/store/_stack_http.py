"""The HTTP plumbing of :class:`~browserkonnector.store._cozy.CozyStackStore`.

One place for what every stack call needs:

- **credentials** (:class:`StackCredentials`): ``COZY_CREDENTIALS`` is either a konnector token (a JWT
  string, valid 30 minutes, not refreshable) or, in dev mode, the JSON OAuth object of cozy-jobs-cli
  (``{"oauthOptions": {clientID, clientSecret, ...}, "token": {accessToken, refreshToken, ...}}``);
- **auth**: ``Authorization: Bearer <token>`` on every request; a 401 with a refresh token refreshes
  once through ``POST /auth/access_token`` and replays the request; an expired konnector token raises
  :class:`~browserkonnector.store._errors.Unauthorized` (``expired=True``) with a message that says why;
- **retries**: the transport is a :class:`~browserkonnector._request.RetryTransport` (5xx, timeouts,
  connection errors; never 4xx; POST/PATCH only when the server surely did not act);
- **errors**: any non-2xx becomes the typed error of ``store/_errors.py``.

Secrets: the tokens and the client secret are registered with a :class:`~browserkonnector._redact.Redactor`
and every message this module builds goes through it; ``repr`` of the credentials shows no value.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
from loguru import logger

from browserkonnector._redact import Redactor
from browserkonnector._request import RetryPolicy, RetryTransport
from browserkonnector.store._errors import (
    InvalidName,
    StoreError,
    StoreUnavailable,
    Unauthorized,
    error_for_status,
)
from browserkonnector.store._jsonapi import error_info

__all__ = ["Body", "StackCredentials", "StackHTTP", "seg"]

#: A request body: JSON-able data is passed as ``json=``; raw content as bytes, or a factory that
#: returns a *fresh* async iterator per attempt (so a replay after a refresh never sends a used stream).
Body = bytes | Callable[[], AsyncIterable[bytes]]

EXPIRED_KONNECTOR_TOKEN = (
    "the konnector token expired (tokens last 30 minutes and cannot be refreshed): the Cozy refused {what}. "
    "The stack gives each run a fresh token; a run must save its data within that time"
)


def seg(value: str) -> str:
    """One URL path segment: ids such as ``_design/x`` or ``io.cozy.konnectors/slug`` keep their slash
    escaped (``%2F``), as cozy-stack-client's ``uri`` template does."""
    return quote(value, safe="")


@dataclass(frozen=True, repr=False)
class StackCredentials:
    """A bearer token, and what is needed to refresh it when it came from an OAuth client."""

    access_token: str
    refresh_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @property
    def can_refresh(self) -> bool:
        return bool(self.refresh_token and self.client_id and self.client_secret)

    def secrets(self) -> list[str]:
        return [s for s in (self.access_token, self.refresh_token, self.client_secret) if s]

    def __repr__(self) -> str:
        return f"StackCredentials(<redacted>, refreshable={self.can_refresh})"

    @classmethod
    def parse(cls, raw: str) -> StackCredentials:
        """Read ``COZY_CREDENTIALS``: a token string, or the dev-mode JSON OAuth object.

        Raises ``ValueError`` naming ``COZY_CREDENTIALS`` (never quoting it) when it is empty or when it is
        JSON without ``token.accessToken``.
        """
        text = (raw or "").strip()
        if not text:
            raise ValueError("COZY_CREDENTIALS is empty: expected a token or the OAuth JSON of dev mode")
        if not text.startswith("{"):
            return cls(access_token=text)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"COZY_CREDENTIALS looks like JSON but does not parse (at char {exc.pos})") from None
        token = data.get("token") if isinstance(data, Mapping) else None
        options = data.get("oauthOptions") if isinstance(data, Mapping) else None
        access = token.get("accessToken") if isinstance(token, Mapping) else None
        if not isinstance(access, str) or not access:
            raise ValueError("COZY_CREDENTIALS is JSON but has no token.accessToken (the OAuth object of dev mode)")
        options = options if isinstance(options, Mapping) else {}
        refresh = token.get("refreshToken") if isinstance(token, Mapping) else None
        return cls(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            client_id=str(options["clientID"]) if options.get("clientID") else None,
            client_secret=str(options["clientSecret"]) if options.get("clientSecret") else None,
        )


class StackHTTP:
    """An httpx client bound to one Cozy instance and its credentials."""

    def __init__(
        self,
        url: str,
        credentials: StackCredentials,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_options: Mapping[str, Any] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"COZY_URL must be an http(s) URL such as https://alice.mycozy.cloud, got {url!r}")
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.credentials = credentials
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add_all(credentials.secrets())
        self.retry = RetryTransport(transport, retries=retries, **dict(retry_options or {}))
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self.retry,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "browserkonnector (cozy-stack client)"},
        )
        self._refresh_lock = anyio.Lock()

    async def aclose(self) -> None:
        await self._client.aclose()

    def scrub(self, text: str) -> str:
        return self.redactor.redact(text)

    # -- sending ------------------------------------------------------------------------------------

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send one request (refreshing the token once on a 401 when possible) and return the answer,
        whatever its status. Transport failures that survive the retries raise ``StoreUnavailable``."""
        for attempt in (1, 2):
            token = self.credentials.access_token
            request = self._build(method, path, params, json_body, content, headers, retry, token)
            try:
                response = await self._client.send(request, stream=stream)
            except httpx.TransportError as exc:
                what = f"{method} {urlsplit(path).path}"
                raise StoreUnavailable(
                    self.scrub(
                        f"could not reach the Cozy at {self.base_url} for {what}: {type(exc).__name__} {exc}".rstrip()
                    ),
                    reason="transport",
                ) from exc
            logger.debug("cozy {} {} -> {}", method, urlsplit(path).path, response.status_code)
            if response.status_code == 401 and attempt == 1 and self.credentials.can_refresh:
                await response.aclose()
                await self._refresh(token)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """:meth:`send`, raising the typed store error for any non-2xx answer."""
        response = await self.send(method, path, **kwargs)
        if response.status_code >= 400:
            if kwargs.get("stream"):
                await response.aread()
                await response.aclose()
            raise self.error(response, method, path)
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request` and decode the JSON answer."""
        response = await self.request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise StoreUnavailable(
                f"the Cozy answered {method} {urlsplit(path).path} with a body that is not JSON "
                f"({response.headers.get('content-type', 'no content type')})"
            ) from exc

    def _build(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        content: Body | None,
        headers: Mapping[str, str] | None,
        retry: RetryPolicy | None,
        token: str,
    ) -> httpx.Request:
        all_headers = {"Authorization": f"Bearer {token}", **dict(headers or {})}
        extensions = {"retry": retry} if retry else None
        body: Any = content() if callable(content) else content
        return self._client.build_request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            json=json_body,
            content=body,
            headers=all_headers,
            extensions=extensions,
        )

    # -- auth ---------------------------------------------------------------------------------------

    async def _refresh(self, used_token: str) -> None:
        """Trade the refresh token for a new access token (once per expiry, even with parallel 401s)."""
        async with self._refresh_lock:
            if self.credentials.access_token != used_token:
                return  # another request already refreshed it
            creds = self.credentials
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token or "",
                "client_id": creds.client_id or "",
                "client_secret": creds.client_secret or "",
            }
            try:
                response = await self._client.post(
                    "/auth/access_token",
                    data=form,
                    headers={"Accept": "application/json"},
                    extensions={"retry": "unsent"},
                )
            except httpx.TransportError as exc:
                raise StoreUnavailable(
                    f"could not reach the Cozy at {self.base_url} to refresh the OAuth token: {type(exc).__name__}",
                    reason="transport",
                ) from exc
            if response.status_code != 200:
                raise Unauthorized(
                    f"the OAuth access token was refused and refreshing it failed (POST /auth/access_token "
                    f"answered {response.status_code}): register the OAuth client again",
                    reason="refresh_failed",
                    expired=True,
                )
            data = response.json()
            access = data.get("access_token") if isinstance(data, Mapping) else None
            if not isinstance(access, str) or not access:
                raise Unauthorized("POST /auth/access_token answered without an access_token", reason="refresh_failed")
            refresh = data.get("refresh_token") or creds.refresh_token
            self.redactor.add_all([access, refresh])
            self.credentials = replace(creds, access_token=access, refresh_token=refresh)
            logger.info("refreshed the OAuth access token of {}", self.base_url)

    # -- errors -------------------------------------------------------------------------------------

    def error(self, response: httpx.Response, method: str, path: str) -> StoreError:
        """The typed error for a non-2xx answer, with a message that names the request (never a token)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        message, reason = error_info(body)
        status = response.status_code
        what = f"{method} {urlsplit(path).path}"
        if status == 401:
            return self._unauthorized(response, what, message)
        text = self.scrub(f"{what} -> {status}" + (f": {message}" if message else ""))
        if status == 422 and reason == "invalid_name":
            return InvalidName(text, reason=reason)
        return error_for_status(status, text, reason=reason)

    def _unauthorized(self, response: httpx.Response, what: str, message: str) -> Unauthorized:
        challenge = response.headers.get("www-authenticate", "")
        expired = "expired" in challenge.lower() or "expired" in message.lower()
        if expired and not self.credentials.can_refresh:
            text = EXPIRED_KONNECTOR_TOKEN.format(what=what)
        elif expired:
            text = f"the OAuth access token expired and could not be renewed: the Cozy refused {what}"
        else:
            text = (
                f"the Cozy refused the token for {what} (401 invalid_token): check COZY_CREDENTIALS, "
                "and that the konnector is installed on this Cozy"
            )
        return Unauthorized(self.scrub(text), reason="expired_token" if expired else "invalid_token", expired=expired)
