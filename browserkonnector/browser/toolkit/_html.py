"""Server-rendered pages as parsel selectors: the page the browser shows, or a page fetched through the
session's HTTP client — noticing when that client was sent to the login page.

``ctx.http`` follows redirects (as a browser does). When a session ends mid-run, a classic site
redirects every page to its login form, which answers **200**: without a check, a connector parses a
login page, finds no orders, and reports a silent success. :func:`get_html` takes the login page's URL
pattern and raises :class:`SessionLost` (``VENDOR_DOWN``, naming the page asked for) when an answer
landed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector._parsing import html_of
from browserkonnector.browser._scrub_rules import mask_url_query
from browserkonnector.browser._urlmatch import url_matches  # Playwright's documented glob semantics
from browserkonnector.browser.toolkit._capture import UrlPattern

if TYPE_CHECKING:
    from parsel import Selector

__all__ = ["SessionLost", "get_html", "landed_on", "page_html"]


class SessionLost(KonnectorError):
    """A page of the logged-in session was answered with the login page: the session ended mid-run.

    Its code is ``VENDOR_DOWN`` (the credentials were good a moment ago; a later run may well succeed);
    a connector that wants to carry on catches it, logs in again and asks for the page once more.
    """

    def __init__(self, asked: str, landed: str) -> None:
        # The login page's own query is dropped: its ``next=`` repeats the asked URL, secrets included.
        login_page = urlsplit(landed)._replace(query="", fragment="").geturl()
        super().__init__(
            errors.VENDOR_DOWN,
            f"the session ended mid-run: {mask_url_query(asked)} was redirected to the login page {login_page}",
        )
        self.asked, self.landed = asked, landed


def landed_on(response: httpx.Response, pattern: UrlPattern) -> bool:
    """Whether ``response`` (after the redirects the client followed) is a page matching ``pattern``,
    reached through at least one redirect."""
    return bool(response.history) and url_matches(str(response.url), pattern)


async def get_html(
    client: httpx.AsyncClient, url: str, *, params: Mapping[str, Any] | None = None, login_url: UrlPattern | None = None
) -> Selector:
    """GET ``url`` through ``client`` and parse it; a non-2xx answer raises ``httpx.HTTPStatusError``
    (after the client's retries), a redirect to ``login_url`` raises :class:`SessionLost`."""
    response = await client.get(url, params=dict(params) if params is not None else None)
    if login_url is not None and landed_on(response, login_url):
        raise SessionLost(str(response.history[0].url), str(response.url))
    response.raise_for_status()
    return html_of(response)


async def page_html(page: Page) -> Selector:
    """The page's current DOM (after its scripts ran) as a selector whose ``base_url`` is the page's."""
    return html_of(await page.content(), base_url=page.url)
