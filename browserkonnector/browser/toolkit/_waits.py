"""Act, then wait for the first of several outcomes: an API answer, a navigation, a new element.

A login button may end in an API answer (a SPA), a full page load to another URL (a classic form), an
alert re-rendered on the same page (a refused password), or a server error page; which one comes first
is the outcome. Writing that race by hand takes futures, listeners to remove, URL glob matching and an
"is this alert new?" check — about 25 lines per connector, easy to get subtly wrong. Here it is one call::

    waited = await act_and_wait(page, page.locator("#login-form button[type=submit]"),
                                url="**/orders/**", alert="[role=alert]", timeout=30)
    if waited.kind == "alert":
        raise KonnectorError(errors.LOGIN_FAILED, waited.text)

Outcomes, checked in this order when several are already there:

- ``response``: a response whose URL matches ``response`` (Playwright's URL patterns: glob, regex or
  predicate), any status — the caller reads ``waited.response.status`` (and ``await .json()`` at once:
  a later navigation may take the body with it);
- ``server_error``: the page itself (a main-frame navigation) was answered 5xx — always watched, since
  nothing else would then ever happen and the caller would sit out the timeout;
- ``url``: the main frame navigated, after the action started, to a URL matching ``url`` (returned
  once that document's DOM is ready, so the page can be read at once);
- ``element`` / ``alert``: an element matching the selector (a CSS selector or a ``Locator``) is visible
  and was **not** already there before the action (an alert left over from a previous try does not
  count; the check is by element identity, so a re-rendered page's alert is new). Three names, so a form
  can wait for its success marker, its refusal alert and its "service unavailable" message in one race
  (``unavailable``: the site says it cannot serve now, which a caller retries rather than reports as a
  refusal).

Nothing within ``timeout`` seconds raises :class:`NothingHappened` naming what was awaited and where the
page is. Listeners are removed on every path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Locator, Page, Response

from browserkonnector._limits import BODY_TIMEOUT_S
from browserkonnector.browser._scrub_rules import mask_url_query
from browserkonnector.browser._urlmatch import url_matches  # Playwright's documented glob semantics
from browserkonnector.browser.toolkit._capture import UrlPattern, describe_pattern, read_json

__all__ = ["Action", "NothingHappened", "WaitKind", "Waited", "act_and_wait"]

#: What starts it: a locator or CSS selector to click, or an async callable (``lambda: page.goto(...)``).
Action: TypeAlias = Locator | str | Callable[[], Awaitable[Any]]
WaitKind: TypeAlias = Literal["response", "server_error", "url", "element", "alert", "unavailable"]
#: How often a new element is looked for (one round trip to the page each time).
POLL_S = 0.1
_MARK = "els => els.forEach(e => { e.__bkSeen = true; })"
_NEW_VISIBLE = "els => els.some(e => !e.__bkSeen && e.getClientRects().length > 0)"


class NothingHappened(TimeoutError):
    """None of the awaited outcomes came within the timeout."""


@dataclass(frozen=True)
class Waited:
    """Which outcome came first. ``response`` is set for ``response`` and ``server_error``; ``url`` is
    the page's URL at that moment; ``text`` is the element's or alert's text (empty otherwise)."""

    kind: WaitKind
    url: str
    response: Response | None = None
    text: str = ""

    async def json(self, *, timeout: float = BODY_TIMEOUT_S) -> Any:
        """The JSON body of the answer that came first, read with a bound (a body the page never reads
        may never finish); ``ValueError`` when the outcome was not an answer, or not JSON."""
        if self.response is None:
            raise ValueError(
                f"act_and_wait: the outcome was {self.kind!r} at {mask_url_query(self.url)}, not an answer with a body"
            )
        return await read_json(self.response, timeout=timeout)


def _locator(page: Page, target: str | Locator) -> Locator:
    return page.locator(target) if isinstance(target, str) else target


async def _new_element(locator: Locator) -> str:
    """Poll until a new, visible element matches; its text. Survives navigations (the locator is
    resolved again on each poll, in whatever document the page then shows)."""
    while True:
        with contextlib.suppress(PlaywrightError):  # mid-navigation: no document to ask yet
            if await locator.evaluate_all(_NEW_VISIBLE):
                texts = await locator.evaluate_all(
                    "els => els.filter(e => !e.__bkSeen && e.getClientRects().length > 0).map(e => e.innerText.trim())"
                )
                return str(texts[0]) if texts else ""
        await asyncio.sleep(POLL_S)


async def act_and_wait(
    page: Page,
    action: Action,
    *,
    response: UrlPattern | None = None,
    url: UrlPattern | None = None,
    element: str | Locator | None = None,
    alert: str | Locator | None = None,
    unavailable: str | Locator | None = None,
    timeout: float = 30.0,
) -> Waited:
    """Run ``action`` and return the first outcome among those asked for (see the module doc)."""
    if response is None and url is None and element is None and alert is None and unavailable is None:
        raise ValueError("act_and_wait: give at least one of response=, url=, element=, alert=, unavailable=")
    if timeout <= 0:
        raise ValueError(f"act_and_wait: timeout must be > 0 seconds, got {timeout!r}")
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Waited] = loop.create_future()

    def settle(waited: Waited) -> None:
        if not done.done():
            done.set_result(waited)

    def on_response(answer: Response) -> None:
        request = answer.request
        if response is not None and request.method != "OPTIONS" and url_matches(answer.url, response):
            settle(Waited("response", page.url, answer))
        elif answer.status >= 500 and request.is_navigation_request() and request.frame == page.main_frame:
            settle(Waited("server_error", answer.url, answer))

    def on_navigated(frame: Frame) -> None:
        if url is not None and frame == page.main_frame and url_matches(frame.url, url):
            settle(Waited("url", frame.url))

    async def watch(kind: WaitKind, locator: Locator) -> None:
        text = await _new_element(locator)
        settle(Waited(kind, page.url, text=text))

    targets: list[tuple[WaitKind, str | Locator | None]] = [
        ("element", element),
        ("alert", alert),
        ("unavailable", unavailable),
    ]
    watchers: list[asyncio.Task[None]] = []
    for kind, target in targets:
        if target is not None:
            locator = _locator(page, target)
            with contextlib.suppress(PlaywrightError):  # what is there now is old: marked, never counted
                await locator.evaluate_all(_MARK)
            watchers.append(loop.create_task(watch(kind, locator)))
    page.on("response", on_response)
    page.on("framenavigated", on_navigated)
    try:
        await _run(page, action)
        started = loop.time()
        try:
            waited = await asyncio.wait_for(asyncio.shield(done), timeout)
        except TimeoutError:
            raise NothingHappened(
                f"nothing of {_describe(response, url, element, alert, unavailable)} within {timeout:g} s "
                f"(the page is at {mask_url_query(page.url)})"
            ) from None
        if waited.kind == "url":
            # ``framenavigated`` fires when the new document commits, before its HTML is parsed: reading
            # the page right away could see an empty DOM. Its DOM is ready soon after (bounded anyway).
            remaining = max(0.1, timeout - (loop.time() - started))
            await page.wait_for_load_state("domcontentloaded", timeout=remaining * 1000)
        return waited
    finally:
        page.remove_listener("response", on_response)
        page.remove_listener("framenavigated", on_navigated)
        for task in watchers:
            task.cancel()
        if not done.done():
            done.cancel()


async def _run(page: Page, action: Action) -> None:
    if isinstance(action, Locator):
        await action.click()
    elif isinstance(action, str):
        await page.locator(action).click()
    elif callable(action):
        await action()
    else:
        raise TypeError(
            f"act_and_wait: action must be a Locator, a selector or an async callable, not {type(action).__name__}"
        )


def _describe(
    response: UrlPattern | None,
    url: UrlPattern | None,
    element: str | Locator | None,
    alert: str | Locator | None,
    unavailable: str | Locator | None = None,
) -> str:
    parts = []
    if response is not None:
        parts.append(f"an answer of {describe_pattern(response)}")
    if url is not None:
        parts.append(f"a navigation to {describe_pattern(url)}")
    for name, target in (("element", element), ("alert", alert), ("unavailable message", unavailable)):
        if target is not None:
            parts.append(f"a new {name} {target if isinstance(target, str) else repr(target)}")
    return ", ".join(parts)
