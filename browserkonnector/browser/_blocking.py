"""Abort the requests a connector never needs (images, media, fonts), never the ones it does.

Blocking is by Playwright *resource type*, not by URL list: crawlee's default URL list blocks ``.pdf``,
which is exactly what a bills framework must fetch. Some types are never blocked
whatever the caller asks — ``document`` (pages, iframes), ``xhr`` and ``fetch`` (the site's API, which
the connector captures) — and neither is a PDF: a request whose URL path ends in ``.pdf`` always goes
through, and for the types that can carry an embedded document (``other``: ``<embed>``/``<object>``),
the response is fetched and let through when it turns out to be a PDF.

Cost (``tests/browser/bench_browser.py blocking``, a page with 40 images, a font, a video, a CSS and an
XHR): routing *every* request through Python and letting it all pass costs +50 % (~1.5 ms a request);
blocking that way still wins (−2 % to −50 % against no blocking, the machine's load decides), and
routing only what can be blocked wins most (−17 % to −55 %). The route is therefore a regular expression
of the blocked types' file extensions, matched by the driver (no round trip for a miss); the Python
handler then checks the resource type. An image served without an extension (``/avatar?id=3``) is not
blocked that way: ``route_all=True`` trades speed for that. Types without a reliable extension
(``script``, ``other``...) always route all requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Request, Route

__all__ = ["BLOCKABLE", "DEFAULT_BLOCKED", "NEVER_BLOCKED", "Blocking", "check_block_types", "install_blocking"]

#: Never aborted, whatever the caller asks: the page itself, its frames, and the site's API calls.
NEVER_BLOCKED: Final = frozenset({"document", "xhr", "fetch", "preflight"})
#: What may be blocked (Chromium's resource types as Playwright reports them, minus :data:`NEVER_BLOCKED`;
#: ``<link rel=prefetch>`` reports ``other``, ``sendBeacon`` ``ping``).
BLOCKABLE: Final = frozenset(
    {
        "stylesheet",
        "image",
        "media",
        "font",
        "script",
        "texttrack",
        "eventsource",
        "websocket",
        "manifest",
        "prefetch",
        "signedexchange",
        "ping",
        "cspviolationreport",
        "fedcm",
        "other",
    }
)
DEFAULT_BLOCKED: Final = frozenset({"image", "media", "font"})

#: File extensions by type, for the cheap route (the regex is matched in the driver, not in Python).
_EXTENSIONS: Final[dict[str, tuple[str, ...]]] = {
    "image": ("png", "jpe?g", "gif", "webp", "avif", "svg", "ico", "bmp", "tiff?"),
    "media": ("mp4", "webm", "ogg", "ogv", "mp3", "wav", "m4a", "m4v", "mov", "aac", "flac", "m3u8"),
    "font": ("woff2?", "ttf", "otf", "eot"),
    "stylesheet": ("css",),
    "texttrack": ("vtt", "srt"),
}
#: Types that may hold an embedded PDF (``<embed>``, ``<object>``): check the response before aborting.
_MAY_BE_DOCUMENT: Final = frozenset({"other"})
BLOCKED_ERROR: Final = "blockedbyclient"  # net::ERR_BLOCKED_BY_CLIENT: PageLog tells it from real failures


def check_block_types(types: Iterable[str], *, field_name: str = "types") -> frozenset[str]:
    """Validate resource types to block; the error names the field and the offending value."""
    if isinstance(types, str):
        raise ValueError(f"{field_name}: expected a set of resource types, not the string {types!r}")
    found = frozenset(types)
    never = found & NEVER_BLOCKED
    if never:
        raise ValueError(
            f"{field_name}: {sorted(never)} can never be blocked (pages, frames, the site's API calls "
            "and their CORS preflights are what a connector reads)"
        )
    unknown = found - BLOCKABLE
    if unknown:
        raise ValueError(f"{field_name}: unknown resource type(s) {sorted(unknown)}; known: {sorted(BLOCKABLE)}")
    return found


def is_pdf_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


def url_filter(types: frozenset[str]) -> re.Pattern[str] | str:
    """What to route: a regex of the blocked types' extensions, or every URL when a type has none."""
    if not types <= _EXTENSIONS.keys():
        return "**/*"
    exts = "|".join(ext for t in sorted(types) for ext in _EXTENSIONS[t])
    return re.compile(rf"^[^?#]*\.(?:{exts})(?:[?#]|$)", re.IGNORECASE)


class Blocking:
    """What a context blocks, as the context's network owner (:class:`~._network.Network`) applies it.

    ``pattern`` is what the owner routes when nothing else needs routing (the cheap regex, see the module
    docstring); :meth:`blocks` is the decision, taken in Python for a routed request. Pages exempted by
    the owner (the PDF printer's) are never asked.
    """

    def __init__(self, types: Iterable[str] = (), *, route_all: bool = False) -> None:
        self.types = check_block_types(types)
        self.route_all = route_all

    @property
    def pattern(self) -> re.Pattern[str] | str | None:
        """The URL filter of the blocked types (``None``: nothing is blocked)."""
        if not self.types:
            return None
        return "**/*" if self.route_all else url_filter(self.types)

    def blocks(self, request: Request) -> bool:
        """Whether ``request`` is of a blocked type (a PDF URL never is)."""
        return request.resource_type in self.types and not is_pdf_url(request.url)

    @staticmethod
    def may_be_document(request: Request) -> bool:
        """A type that can carry an embedded PDF: its answer is looked at before it is aborted."""
        return request.resource_type in _MAY_BE_DOCUMENT


async def install_blocking(target: BrowserContext | Page, types: frozenset[str], *, route_all: bool = False) -> None:
    """Abort requests whose resource type is in ``types`` on every page of ``target``.

    ``route_all`` routes every request through Python instead of the extension regex: slower (see the
    module docstring), but it also blocks, say, an image served from ``/avatar?id=3``. On a context, the
    blocking becomes part of the context's network owner (:meth:`~._network.Network.block`), so that the
    owner's other handlers (record/replay, JSON capture) and exemptions (the PDF printer's pages) see it.
    """
    types = check_block_types(types)
    if not types:
        return
    if isinstance(target, BrowserContext):
        from browserkonnector.browser._network import Network

        await Network.of(target).block(types, route_all=route_all)
        return
    blocking = Blocking(types, route_all=route_all)

    async def handle(route: Route) -> None:
        request = route.request
        if not blocking.blocks(request):
            await route.fallback()
            return
        if blocking.may_be_document(request):
            response = await route.fetch()
            if "pdf" in response.headers.get("content-type", "").lower():
                await route.fulfill(response=response)
                return
        await route.abort(BLOCKED_ERROR)

    pattern = blocking.pattern
    assert pattern is not None
    await target.route(pattern, handle)
