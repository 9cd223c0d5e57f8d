"""Log in only when needed, and again when the vendor drops the session mid-run.

A connector that declares how it logs in (``@konnector.login``) and, better, how to tell that it is
logged in (``@konnector.is_logged_in``, or :func:`logged_in_if` for the usual checks) gets, from the
:class:`SessionKeeper`:

- its session kept in the vault after every login, and restored at the next run: the check runs on the
  restored session and the login (with its second factor) only when the check says logged out;
- re-login mid-run: an answer of ``ctx.http`` that says the session is gone (401, 403, or a redirect to
  the connector's ``login_page``) triggers one login, then the request is sent again with the new
  session; requests that failed at the same time wait for that one login and are retried too. ``ctx.goto``
  does the same for page loads. A login that fails ends the run with its code; a request that fails
  again right after a fresh login is returned as it is (no loop), and ``max_relogins`` bounds a run.

Requests made by the login function or the check themselves never trigger a re-login (a 401 is what a
check expects when logged out).
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from loguru import logger

from browserkonnector._request import KonnectorClient
from browserkonnector.browser._urlmatch import url_matches  # Playwright's documented glob semantics

if TYPE_CHECKING:
    from playwright.async_api import Page, Response

    from browserkonnector.runtime._context import RunContext

__all__ = ["CheckFn", "LoginFn", "LoginPage", "SessionKeeper", "logged_in_if", "matches_login_page", "page_shows"]

LoginFn = Callable[["RunContext[Any]"], Coroutine[Any, Any, None]]
CheckFn = Callable[["RunContext[Any]"], Coroutine[Any, Any, bool]]
#: A URL glob (``"**/login**"``, Playwright's syntax), a regular expression, or a predicate of the URL.
LoginPage = str | re.Pattern[str] | Callable[[str], bool]
LOST_STATUSES = frozenset({401, 403})
log = logger.bind(namespace="session")
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("browserkonnector_login_quiet", default=False)


def matches_login_page(url: str, login_page: LoginPage | None) -> bool:
    """Playwright's own URL matching (``page.wait_for_url``'s): a glob (``"**/login**"``: a ``*`` stops
    at ``/`` and ``?``), a regular expression (searched), or a predicate of the URL."""
    if login_page is None or not url:
        return False
    return bool(url_matches(url, login_page))


def _expand(template: str, fields: Any) -> str:
    """``"{base_url}/api/me"`` with the run's fields (a pydantic model or a dict)."""
    values: Mapping[str, Any] = fields.model_dump() if hasattr(fields, "model_dump") else dict(fields)
    try:
        return template.format_map({k: (str(v).rstrip("/") if isinstance(v, str) else v) for k, v in values.items()})
    except KeyError as exc:
        raise ValueError(
            f"logged_in_if: the URL {template!r} names the field {exc.args[0]!r}, which the fields do not have"
        ) from None


async def page_shows(
    ctx: RunContext[Any], url: str, element: str | None, *, login_page: LoginPage | None = None, timeout: float = 15.0
) -> bool:
    """Open ``url``; logged in when ``element`` shows (or, without one, when the page answered < 400),
    logged out as soon as the page is the login page. Bounded by ``timeout`` seconds."""
    page = ctx.page
    response = await page.goto(url)
    if response is not None and response.status in LOST_STATUSES:
        return False
    end = time.monotonic() + timeout
    while True:
        if matches_login_page(page.url, login_page):
            return False
        if element is None:
            return response is None or response.status < 400
        if await page.locator(element).first.is_visible():
            return True
        if time.monotonic() >= end:
            return False
        await asyncio.sleep(0.1)


def logged_in_if(
    *, url: str | None = None, element: str | None = None, api: str | None = None, timeout: float = 15.0
) -> CheckFn:
    """A logged-in check from a declaration: ``api`` (GET through ``ctx.http``: logged in on a 2xx that is
    not the login page), or ``url`` (opened in the page; with ``element``, logged in when it shows). URLs
    may name fields: ``"{base_url}/api/me"``."""
    if (url is None) == (api is None):
        raise ValueError("logged_in_if: give either url= (with an optional element=) or api=")
    if element is not None and url is None:
        raise ValueError("logged_in_if: element= needs url= (the page to look for it on)")

    async def check(ctx: RunContext[Any]) -> bool:
        login_page = ctx.session.login_page if ctx.session is not None else None
        if api is not None:
            response = await ctx.http.get(_expand(api, ctx.fields))
            landed = bool(response.history) and matches_login_page(str(response.url), login_page)
            return response.is_success and not landed
        assert url is not None
        return await page_shows(ctx, _expand(url, ctx.fields), element, login_page=login_page, timeout=timeout)

    check.__name__ = f"logged_in_if({'api' if api else 'url'})"
    return check


class SessionKeeper:
    """The login side of one run: check, login, re-login, and the vault's save points."""

    def __init__(
        self,
        *,
        login: LoginFn | None,
        check: CheckFn | None,
        login_page: LoginPage | None,
        max_relogins: int,
        save: Callable[[], Coroutine[Any, Any, None]] | None,
    ) -> None:
        self.login_fn, self.check_fn, self.login_page = login, check, login_page
        self.max_relogins = max_relogins
        self._save = save
        self.ctx: RunContext[Any] | None = None
        self.restored = False  # a kept session was put back into the browser
        self.generation = 0  # +1 at every login of this run
        self.logins = 0
        self.relogins = 0
        #: The restored session's web storage, origin → {key: value} (localStorage and sessionStorage).
        self.kept_storage: dict[str, dict[str, str]] = {}
        self._lock = asyncio.Lock()

    def kept(self, key: str, origin: str | None = None) -> str | None:
        """A web-storage value of the restored session (an API token), read from the vault without
        loading a page: a logged-in check can then be one API call. ``None`` when nothing was restored."""
        for where, items in self.kept_storage.items():
            if (origin is None or where == origin.rstrip("/")) and key in items:
                return items[key]
        return None

    # -- start of the run ----------------------------------------------------------------------------------
    async def start(self, ctx: RunContext[Any]) -> None:
        """Before ``main``: trust, check or log in."""
        self.ctx = ctx
        if self.login_fn is None:
            return
        if self.restored:
            if self.check_fn is None:
                log.info("session restored (no logged-in check declared: a lost session shows on the first 401)")
                return
            if await self._quietly(self.check_fn(ctx)):
                log.info("session restored: logged in without a login")
                ctx.stats.extra["session_restored"] = 1
                return
            log.info("the kept session has expired: logging in")
        await self._login()

    async def _quietly(self, coro: Coroutine[Any, Any, Any]) -> Any:
        token = _QUIET.set(True)
        try:
            return await coro
        finally:
            _QUIET.reset(token)

    async def _login(self) -> None:
        assert self.ctx is not None
        assert self.login_fn is not None
        await self._quietly(self.login_fn(self.ctx))
        log.info("logged in")
        self.generation += 1
        self.logins += 1
        self.ctx.stats.extra["logins"] = self.logins
        if self._save is not None:
            await self._save()

    # -- mid-run --------------------------------------------------------------------------------------------
    async def relogin(self, seen_generation: int, why: str) -> bool:
        """Log in again unless another task already did since ``seen_generation``; ``False``: not allowed."""
        if self.login_fn is None or _QUIET.get():
            return False
        async with self._lock:
            if self.generation != seen_generation:
                return True
            if self.relogins >= self.max_relogins:
                log.warning("the session was lost again ({}); {} re-login(s) already: not retrying", why, self.relogins)
                return False
            self.relogins += 1
            assert self.ctx is not None
            self.ctx.stats.extra["relogins"] = self.relogins
            log.warning("the session was lost mid-run ({}): logging in again", why)
            await self._login()
            return True

    def lost(self, status: int, url: str, *, redirected: bool = True) -> bool:
        """401/403, or an answer that was redirected to the login page."""
        return status in LOST_STATUSES or (redirected and matches_login_page(url, self.login_page))

    def wrap_http(self, client: httpx.AsyncClient) -> None:
        """Make ``client`` re-login and retry once when an answer says the session is gone."""
        if self.login_fn is None:
            return
        if not isinstance(client, KonnectorClient):
            raise TypeError(
                f"re-login needs a client made by session_http or request_factory, not a {type(client).__name__}"
            )

        async def stamp(request: httpx.Request) -> None:
            # Which login the request went out under: requests that fail together share one re-login.
            request.extensions["bk_login_generation"] = self.generation

        async def guard(
            request: httpx.Request, response: httpx.Response, resend: Callable[[], Awaitable[httpx.Response]]
        ) -> httpx.Response:
            generation = request.extensions.get("bk_login_generation", self.generation)
            if _QUIET.get() or not self.lost(
                response.status_code, str(response.url), redirected=bool(response.history)
            ):
                return response
            why = f"{response.status_code} from {request.url.copy_with(query=None)}"
            if not await self.relogin(generation, why):
                return response
            await response.aclose()
            for name, value in client.headers.items():  # a new token (Authorization) set by the login
                request.headers[name] = value
            return await resend()

        client.event_hooks["request"] = [stamp, *client.event_hooks.get("request", [])]
        client.add_answer_guard(guard)

    async def goto(self, page: Page, url: str, **kwargs: Any) -> Response | None:
        """``page.goto(url)``; when it lands on the login page (or answers 401/403), log in and go again."""
        generation = self.generation
        response = await page.goto(url, **kwargs)
        status = response.status if response is not None else 200
        moved = page.url.split("#")[0] != url.split("#")[0]
        if _QUIET.get() or not self.lost(status, page.url, redirected=moved):
            return response
        if await self.relogin(generation, f"{status} at {url.split('?')[0]}"):
            response = await page.goto(url, **kwargs)
        return response
