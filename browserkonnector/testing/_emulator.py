"""An emulator of the cozy-stack HTTP API **as documented** — not the stack.

It serves, on 127.0.0.1, the routes a konnector uses (docs/stack-conformance.md lists each
behaviour with the stack source it follows) over a :class:`~browserkonnector.store._local.LocalStore` in a folder, with
the stack's status codes and bodies: CouchDB-style errors with a string status on ``/data``, JSON-API on
``/files`` (``size`` as a string), ``_find`` limit rules and ``no_index``, ``_normal_docs`` bookmarks,
``_all_docs`` ``not_found`` rows, ``_bulk_docs`` 201, ``_index`` ``created``/``exists``, upload metadata
ids that expire after 10 minutes, references, ``/data/_all_doctypes``, bearer auth with an expirable
token and an OAuth refresh endpoint. It is our *reading* of the documentation and of the stack's code,
so a test that passes against it proves that :class:`~browserkonnector.store._cozy.CozyStackStore` speaks
that reading — not that a real stack accepts it. Tests using it are named ``..._emulator``.

Differences from the real stack worth knowing: ``io.cozy.accounts`` are stored in clear (no encryption
of ``auth``); permissions are checked only when ``permissions`` (a manifest's) is given — otherwise a
valid token may do everything, except writing the reserved doctypes; ``_index`` says ``exists`` only for
indexes defined through this emulator instance. ``docs/stack-conformance.md`` lists, behaviour by
behaviour, the stack source each one follows and where the emulator deliberately differs.

Fault injection (for tests): :meth:`StackEmulator.fail_next` (a status, e.g. 5xx bursts, ``times=n``),
:meth:`StackEmulator.drop_next` (cut the connection mid-body, or after acting without answering),
``quota_bytes`` (413), :meth:`StackEmulator.expire_token` (401 "The access token expired")::

    with StackEmulator(tmp_path) as emu:
        store = CozyStackStore(emu.url, emu.token)
        emu.fail_next("POST /files/*", 503, times=2)
        ...
        assert [r.status for r in emu.requests] == [503, 503, 201]
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qs

import anyio
import anyio.to_thread
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from browserkonnector.store._base import AppInfo
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.store._cozy_find import index_fields
from browserkonnector.store._errors import QuotaExceeded
from browserkonnector.store._local import LocalStore
from browserkonnector.testing._emulator_data import handle_data
from browserkonnector.testing._emulator_files import Dropped, handle_files
from browserkonnector.testing._emulator_http import (
    METADATA_TTL,
    Fault,
    FaultSet,
    LoggedRequest,
    MetadataIds,
    Predicate,
    abort_transport,
    fault_response,
    is_upload,
    json_response,
    jsonapi_error,
    permission_refusal,
    split_raw_path,
)
from browserkonnector.testing._emulator_job import job_environment
from browserkonnector.testing._server import BackgroundServer

__all__ = [
    "IDLE_TIMEOUT",
    "METADATA_TTL",
    "EmulatedCozyStore",
    "Fault",
    "LoggedRequest",
    "StackEmulator",
    "emulated_store",
]

_T = TypeVar("_T")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_READY = "/__emulator__/ready"
#: The stack's ``http.Server`` never closes an idle keep-alive connection (web/server.go sets only
#: ReadHeaderTimeout), so a client's pool always closes first. uvicorn's default (5 s) equals the idle
#: timeout of Node's global agent (5 s): a request sent on a connection the server is closing at that
#: instant dies with "socket hang up". Waiting longer than any client pool gives the stack's behaviour
#: while still ending a connection a client abandoned mid-request.
IDLE_TIMEOUT = 60.0


class StackEmulator:
    """The documented cozy-stack protocol over a LocalStore in ``root``; see the module docstring."""

    def __init__(
        self,
        root: str | Path,
        *,
        slug: str = "demo-vendor",
        version: str = "1.0.0",
        token: str | None = None,
        quota_bytes: int | None = None,
        strict_indexes: bool = True,
        clock: Callable[[], float] = time.time,
        permissions: Mapping[str, Any] | None = None,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        self.root = Path(root)
        self.app_info = AppInfo(slug, version)
        self.token = token or f"emu-konnector-token-{secrets.token_urlsafe(18)}"
        #: The OAuth client of dev mode, for :meth:`oauth_credentials` and ``POST /auth/access_token``.
        self.client_id = f"emu-client-{secrets.token_hex(6)}"
        self.client_secret = f"emu-secret-{secrets.token_urlsafe(18)}"
        self.refresh_token = f"emu-refresh-{secrets.token_urlsafe(18)}"
        self.quota_bytes = quota_bytes
        self.strict_indexes = strict_indexes
        #: The token's scope: a manifest's ``permissions`` (None: every doctype, every verb).
        self.permissions = permissions
        self.idle_timeout = idle_timeout
        self.metadata = MetadataIds(clock)
        self.indexes_seen: set[tuple[str, str]] = set()
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=_METHODS)])
        self._faults = FaultSet()
        self._log: list[LoggedRequest] = []
        self._expired = False
        self._store: LocalStore | None = None
        self._strict: LocalStore | None = None
        self._store_lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: BackgroundServer | None = None
        self.url = ""

    # -- lifecycle ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry: remembers how to cut this connection (uvicorn's transport), then Starlette."""
        if scope["type"] == "http":
            scope["bk.abort"] = lambda: abort_transport(receive)
        await self.app(scope, receive, send)

    def start(self) -> str:
        """Serve on 127.0.0.1:<free port>; returns the base URL once the store is open."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._server = BackgroundServer(self, idle_timeout=self.idle_timeout)
        self.url = self._server.start()
        httpx.get(self.url + _READY, timeout=30).raise_for_status()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        if self._store is not None and self._loop is not None:
            strict = self._strict
            self.call(lambda store: store.close())
            if strict is not None:
                self.call(lambda _: strict.close())
        self._server.stop()
        self._server = None
        self._store = self._strict = None

    def __enter__(self) -> StackEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def open_store(self) -> LocalStore:
        """The LocalStore, opened in the server's event loop (where every route uses it)."""
        if self._store is None:
            if self._store_lock is None:
                self._store_lock = asyncio.Lock()
            async with self._store_lock:
                if self._store is None:
                    self._store = await LocalStore.open(self.root, app=self.app_info, quota_bytes=self.quota_bytes)
                    if self.strict_indexes:
                        self._strict = await LocalStore.open(self.root, app=self.app_info, strict_indexes=True)
        return self._store

    async def find_store(self, selector: Mapping[str, Any], sort: Any) -> LocalStore:
        """The store a ``_find`` runs on: in strict mode, a second LocalStore on the same root that raises
        ``no_index`` like the stack — except for selectors and sorts on ``_id`` alone, which CouchDB's
        built-in ``_all_docs`` index serves."""
        store = await self.open_store()
        if self._strict is None or set(index_fields(selector, sort)) <= {"_id"}:
            return store
        return self._strict

    @property
    def store(self) -> LocalStore:
        """The LocalStore behind the emulator, for direct assertions. Its coroutines belong to the server's
        loop: from a test, prefer :meth:`call`."""
        if self._store is None:
            raise RuntimeError("the emulator is not started")
        return self._store

    def call(self, fn: Callable[[LocalStore], Awaitable[_T]], timeout: float = 60.0) -> _T:
        """Run ``fn(store)`` in the server's loop and return its result (blocking the caller's thread)."""
        if self._loop is None:
            raise RuntimeError("the emulator is not started")

        async def run() -> _T:
            return await fn(await self.open_store())

        future: Future[_T] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout)

    # -- test controls ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request served so far (a copy), oldest first."""
        return list(self._log)

    def clear_requests(self) -> None:
        self._log.clear()

    def fail_next(self, pattern: str | Predicate, status: int, *, times: int = 1, body: Any = None) -> Fault:
        """Answer ``status`` (with ``body``, or the stack's shape for that status) to the next ``times``
        requests matching ``pattern``: ``"POST /files/*"``, ``"/data/*/_find"`` or a predicate."""
        return self._faults.add(pattern, status=status, times=times, body=body)

    def drop_next(self, pattern: str | Predicate, *, after_bytes: int | None = 0, times: int = 1) -> Fault:
        """Cut the connection of the next matching requests without answering: after reading
        ``after_bytes`` of the body (the server does not act), or, with ``after_bytes=None``, after
        acting (the answer is lost)."""
        return self._faults.add(
            pattern, drop=True, after_bytes=after_bytes if after_bytes is not None else -1, times=times
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    def job_environment(self, message: Mapping[str, Any], **options: Any) -> dict[str, str]:
        """The ``COZY_*`` environment the stack would give a konnector job of this instance (and nothing
        else: run the command under ``env -i``); options as :func:`._emulator_job.job_environment`."""
        return job_environment(self.url, self.token, {"konnector": self.app_info.slug, **message}, **options)

    def expire_token(self) -> None:
        """From now on the current token is refused with 401 ``The access token expired``."""
        self._expired = True

    def oauth_credentials(self) -> str:
        """``COZY_CREDENTIALS`` as cozy-jobs-cli's dev mode sets it (OAuth client + token)."""
        return json.dumps(
            {
                "oauthOptions": {
                    "clientID": self.client_id,
                    "clientSecret": self.client_secret,
                    "registrationAccessToken": "emu-registration",
                    "clientName": "browserkonnector",
                },
                "token": {
                    "tokenType": "bearer",
                    "accessToken": self.token,
                    "refreshToken": self.refresh_token,
                    "scope": "io.cozy.files io.cozy.bills",
                },
            }
        )

    async def check_quota(self, extra: int) -> None:
        """The stack refuses an upload whose announced size does not fit before reading it (413); the
        LocalStore (given the same quota) checks again on the bytes it actually receives."""
        if self.quota_bytes is not None and await (await self.open_store()).used_bytes() + extra > self.quota_bytes:
            raise QuotaExceeded("The file is too big and exceeds the disk quota", reason="quota_exceeded")

    def abort_connection(self, request: Request) -> None:
        request.scope["bk.abort"]()

    # -- serving ------------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        if path == _READY:
            self._loop = asyncio.get_running_loop()
            await self.open_store()
            return Response("ready")
        entry = LoggedRequest(
            method=request.method,
            path=path,
            query=parse_qs(request.url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        self._log.append(entry)
        try:
            response = await self._serve(request, entry, split_raw_path(raw_path))
        except Dropped:
            entry.dropped, entry.status = True, None
            for _ in range(3):
                await asyncio.sleep(0)  # let uvicorn notice the aborted transport before we return
            return Response(status_code=499)
        entry.status = response.status_code
        entry.duration = time.time() - entry.timestamp
        if entry.drop_after == -1:  # drop after acting: the answer is lost
            entry.dropped = True
            self.abort_connection(request)
            for _ in range(3):
                await asyncio.sleep(0)
        return response

    async def _serve(self, request: Request, entry: LoggedRequest, parts: list[str]) -> Response:
        is_files = bool(parts) and parts[0] == "files"
        if parts[:2] == ["auth", "access_token"] and request.method == "POST":
            return await self._token_endpoint(request)
        fault = self._faults.take(entry)
        if fault is not None:
            entry.fault = fault.label
            if not fault.drop:
                return fault_response(fault, is_files)
            entry.drop_after = fault.after_bytes
            if fault.after_bytes >= 0 and not is_upload(request, parts):
                await self._drop_while_reading(request, entry, fault.after_bytes)
        refused = self._check_auth(request, is_files) or permission_refusal(
            self.permissions, request.method, parts, request.headers.get("accept", "")
        )
        if refused is not None:
            return refused
        await self._read_json_for_log(request, entry, parts)
        if is_files:
            return await handle_files(self, request, parts[1:], entry)
        if parts and parts[0] == "data":
            return await handle_data(self, request, parts[1:])
        return jsonapi_error(404, f"the emulator has no route for {request.method} {request.url.path}")

    async def _drop_while_reading(self, request: Request, entry: LoggedRequest, after: int) -> None:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received >= after:
                break
        entry.body_size = received
        self.abort_connection(request)
        raise Dropped("connection dropped by an injected fault")

    @staticmethod
    async def _read_json_for_log(request: Request, entry: LoggedRequest, parts: list[str]) -> None:
        if is_upload(request, parts) or request.method in ("GET", "HEAD"):
            return
        body = await request.body()  # cached by Starlette: the route reads it again for free
        entry.body_size = len(body)
        if body and "json" in request.headers.get("content-type", "json"):
            try:
                entry.json = json.loads(body)
            except ValueError:
                entry.json = None

    def _check_auth(self, request: Request, is_files: bool) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() == "bearer" and secrets.compare_digest(given.strip(), self.token):
            if not self._expired:
                return None
            challenge = 'Bearer error="invalid_token", error_description="The access token expired"'
            detail = "Expired token"
        else:
            challenge, detail = 'Bearer error="invalid_token"', "Invalid JWT token"
        response = jsonapi_error(401, detail) if is_files else json_response({"error": detail}, 401)
        response.headers["WWW-Authenticate"] = challenge
        return response

    async def _token_endpoint(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode(), keep_blank_values=True).items()}
        ok = (
            form.get("grant_type") == "refresh_token"
            and form.get("client_id") == self.client_id
            and secrets.compare_digest(form.get("client_secret", ""), self.client_secret)
            and secrets.compare_digest(form.get("refresh_token", ""), self.refresh_token)
        )
        if not ok:
            return json_response({"error": "invalid_grant"}, 400)
        self.token = f"emu-access-token-{secrets.token_urlsafe(18)}"
        self._expired = False
        return json_response(
            {"access_token": self.token, "token_type": "bearer", "refresh_token": self.refresh_token, "scope": "*"}
        )


class EmulatedCozyStore(CozyStackStore):
    """A :class:`CozyStackStore` talking to its own :class:`StackEmulator`; closing it stops the emulator.
    What the contract suite's ``emulator`` backend runs on."""

    def __init__(self, emulator: StackEmulator, **kwargs: Any) -> None:
        super().__init__(emulator.url, emulator.token, **kwargs)
        self.emulator = emulator

    async def close(self) -> None:
        await super().close()
        await anyio.to_thread.run_sync(self.emulator.stop)


async def emulated_store(root: str | Path, *, app: AppInfo | None = None, **emulator_options: Any) -> EmulatedCozyStore:
    """Start a :class:`StackEmulator` over a LocalStore in ``root`` (acting for ``app``) and return a
    CozyStackStore connected to it."""
    app = app or AppInfo("demo-vendor", "1.0.0")
    emulator = StackEmulator(root, slug=app.slug, version=app.version, **emulator_options)
    await anyio.to_thread.run_sync(emulator.start)
    return EmulatedCozyStore(emulator, app=app)
