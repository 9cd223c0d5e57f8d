"""Print HTML, a URL or the current page to PDF with the browser's own print engine.

This replaces konnector-libs' ``htmlToPDF``/``createCozyPDFDocument`` (which re-typeset a cheerio tree
with pdfjs): Chromium lays out the vendor's real HTML and CSS, with its JavaScript run, for about 12 ms a
page in the headless shell (measured here). :class:`PdfPrinter` keeps one page (or a tiny pool) for printing,
since opening a page costs more than printing one bill. Every PDF is A4, with backgrounds and margins.

The classic failure is a PDF with no text at all — Chromium prints blank glyphs when fontconfig finds no
font, without an error; the tests read the text back with pypdf.

The printer's pages load what the context blocks (images, fonts): a bill's logo belongs in its PDF. The
context's network owner (:class:`~._network.Network`) exempts them from its blocking, and holds the
context's shared printer (:func:`printer_for`).
"""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from types import TracebackType
from typing import Any, Final, Literal

from loguru import logger
from playwright.async_api import BrowserContext, Page

from browserkonnector._errors import FILE_DOWNLOAD_FAILED, KonnectorError

__all__ = ["PDF_OPTIONS", "PdfPrinter", "cozy_header_html", "cozy_pdf_document", "html_to_pdf", "printer_for"]

Media = Literal["print", "screen"]
PDF_OPTIONS: Final[dict[str, Any]] = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
}
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


_RESOURCE = re.compile(
    r"<(?:img|script|link|iframe|frame|video|audio|source|track|object|embed|input|image|use)\b[^>]*?"
    r"\b(?:src|srcset|href|data|poster|xlink:href)\s*=|url\s*\(|@import",
    re.IGNORECASE,
)


def loads_resources(html: str) -> bool:
    """Whether ``html`` may fetch anything once laid out (an image, a stylesheet, a frame, a CSS ``url()``).
    Errs on the side of yes: only a document with none of those is self-contained."""
    return _RESOURCE.search(html) is not None


def _with_base(html: str, base_url: str) -> str:
    """``html`` with a ``<base href>`` so its relative links and images resolve against ``base_url``."""
    tag = f'<base href="{html_lib.escape(base_url, quote=True)}">'
    found = _HEAD.search(html)
    if found:
        return html[: found.end()] + tag + html[found.end() :]
    return f"<head>{tag}</head>{html}"


def cozy_header_html(headline: str, source_url: str) -> str:
    """The block ``createCozyPDFDocument`` starts a document with: a bold headline, then the source link."""
    url = html_lib.escape(source_url, quote=True)
    return (
        '<div class="bk-cozy-header" style="font-family: Helvetica, Arial, sans-serif; '
        'margin: 0 0 6mm 0; color: #000">'
        f'<div style="font-weight: bold; font-size: 14pt">{html_lib.escape(headline)}</div>'
        f'<a href="{url}" style="color: #0645ad; font-size: 10pt">{url}</a></div>'
    )


class PdfPrinter:
    """Prints on pages of ``context`` kept for that purpose (``pages`` of them, created on first use).

    ``media="screen"`` prints with the screen stylesheet, for sites whose print CSS hides the bill.
    Concurrent calls share the pool: each waits for a free page.

    ``isolated=True`` prints in a context of its own, made on first use, with the source context's
    cookies copied in before every print: what is printed then stays out of the source context's trace
    (a traced run otherwise records a DOM snapshot and screencast frames of every bill it prints: about
    half the print rate, docs/performance.md workload 7) and out of its network log.
    """

    def __init__(
        self, context: BrowserContext, *, pages: int = 1, media: Media = "print", isolated: bool = False
    ) -> None:
        if pages < 1:
            raise ValueError(f"PdfPrinter pages={pages}: must be >= 1")
        if media not in ("print", "screen"):
            raise ValueError(f"PdfPrinter media={media!r}: expected 'print' or 'screen'")
        self.context = context
        self.media: Media = media
        self.isolated = isolated and context.browser is not None  # a persistent context has no browser
        self._own: BrowserContext | None = None
        self._synced: str | None = None  # the cookies last copied into ``_own``
        self._size = pages
        self._made: list[Page] = []
        self._opened = 0
        self._free: asyncio.Queue[Page] = asyncio.Queue()
        self._warming: asyncio.Task[None] | None = None

    async def _print_context(self) -> BrowserContext:
        if not self.isolated:
            return self.context
        if self._own is None:
            browser = self.context.browser
            assert browser is not None
            self._own = await browser.new_context(accept_downloads=False)
        return self._own

    async def _sync_cookies(self) -> None:
        """Copy the source context's cookies in, when they changed since the last print."""
        if self._own is None:
            return
        cookies = await self.context.cookies()
        fingerprint = repr(sorted((c.get("name"), c.get("domain"), c.get("path"), c.get("value")) for c in cookies))
        if fingerprint == self._synced:
            return
        await self._own.clear_cookies()
        await self._own.add_cookies(cookies)  # type: ignore[arg-type]
        self._synced = fingerprint

    async def _open_page(self) -> Page:
        self._opened += 1  # counted before the await, so concurrent callers do not all open one
        try:
            target = await self._print_context()
            page = await target.new_page()
            if target is self.context:  # the owner's blocking leaves this page alone
                from browserkonnector.browser._network import Network

                network = Network.existing(target)
                if network is not None:
                    network.exempt(page)
            if self.media == "screen":
                await page.emulate_media(media="screen")
        except BaseException:
            self._opened -= 1
            raise
        self._made.append(page)
        return page

    async def _acquire(self) -> Page:
        if self._warming is not None and not self._warming.done() and self._free.empty():
            await asyncio.wait({self._warming})  # the page being opened ahead, or its failure
        if self._free.empty() and self._opened < self._size:
            return await self._open_page()
        return await self._free.get()

    def warm(self) -> None:
        """Open a printing page now, in the background (its context too, when isolated), so that the
        first print does not wait for it: a run calls this while it logs in. Failures are left to the
        first print, which opens its page again."""
        if self._warming is not None or self._opened:
            return

        async def open_one() -> None:
            try:
                self._free.put_nowait(await self._open_page())
            except Exception as exc:  # the first print will try again, and say why
                logger.debug("opening the printer's page ahead failed: {}", exc)

        self._warming = asyncio.ensure_future(open_one())

    async def _print(self, load: Any, *, needs_cookies: bool = True) -> bytes:
        page = await self._acquire()
        try:
            if needs_cookies:
                await self._sync_cookies()
            await load(page)
            return await page.pdf(**PDF_OPTIONS)
        finally:
            self._free.put_nowait(page)

    async def from_html(self, html: str, *, base_url: str | None = None) -> bytes:
        """``html`` printed; ``base_url`` resolves its relative URLs (images, stylesheets)."""
        content = _with_base(html, base_url) if base_url else html

        async def load(page: Page) -> None:
            await page.set_content(content, wait_until="load")

        # Self-contained HTML (inline styles, no image, no stylesheet link) fetches nothing, so it needs
        # no cookies: an isolated printer then skips reading the source context's cookies (a round trip).
        return await self._print(load, needs_cookies=base_url is not None and loads_resources(html))

    async def from_url(self, url: str) -> bytes:
        """The page at ``url`` (with the context's cookies), printed once loaded; an HTTP error raises."""

        async def load(page: Page) -> None:
            await _goto(page, url)

        return await self._print(load)

    async def from_page(self, page: Page) -> bytes:
        """The current state of ``page`` (the connector's own page, left where it is)."""
        if self.media == "screen":
            await page.emulate_media(media="screen")
            try:
                return await page.pdf(**PDF_OPTIONS)
            finally:
                await page.emulate_media(media=None)
        return await page.pdf(**PDF_OPTIONS)

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.wait({self._warming})
            self._warming = None
        for page in self._made:
            if not page.is_closed():
                await page.close()
        self._made.clear()
        if self._own is not None:
            own, self._own = self._own, None
            await own.close()
        self._opened = 0
        self._free = asyncio.Queue()

    async def __aenter__(self) -> PdfPrinter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _goto(page: Page, url: str) -> None:
    response = await page.goto(url, wait_until="load")
    if response is not None and response.status >= 400:  # never print an error page as a bill
        raise KonnectorError(FILE_DOWNLOAD_FAILED, f"printing {url.split('?')[0]}: it answered {response.status}")


def _context(target: BrowserContext | Page) -> BrowserContext:
    return target.context if isinstance(target, Page) else target


#: Pages of the shared printer. Two were measured no faster on 2 cores (the run is CPU-bound in Python
#: by then) and cost a page more: one.
PRINTER_PAGES = 1


def printer_for(context_or_page: BrowserContext | Page, *, isolated: bool = False) -> PdfPrinter:
    """The context's shared printer, held by its network owner, made on first use (``isolated`` applies
    then) and closed with the run: opening a page per bill costs 4x the printing itself (measured: 8 vs 31
    bills/s)."""
    from browserkonnector.browser._network import Network

    context = _context(context_or_page)
    return Network.of(context).attached(PdfPrinter, lambda: PdfPrinter(context, pages=PRINTER_PAGES, isolated=isolated))


async def html_to_pdf(context_or_page: BrowserContext | Page, html: str, *, base_url: str | None = None) -> bytes:
    """One call: ``html`` printed to PDF (``htmlToPDF``), on the context's shared printer page."""
    return await printer_for(context_or_page).from_html(html, base_url=base_url)


async def cozy_pdf_document(
    context_or_page: BrowserContext | Page,
    *,
    headline: str,
    source_url: str,
    html: str | None = None,
    url: str | None = None,
    printer: PdfPrinter | None = None,
) -> bytes:
    """``createCozyPDFDocument``: a PDF whose first page opens with ``headline`` (bold, larger) and
    ``source_url`` as a link, above the printed ``html`` — or the page at ``url``."""
    if (html is None) == (url is None):
        raise ValueError("cozy_pdf_document: give exactly one of html= or url=")
    header = cozy_header_html(headline, source_url)
    active = printer or printer_for(context_or_page)
    if html is not None:
        found = _BODY.search(html)
        document = (html[: found.end()] + header + html[found.end() :]) if found else header + html
        return await active.from_html(document, base_url=source_url)

    async def load(page: Page) -> None:
        assert url is not None
        await _goto(page, url)
        await page.evaluate("(h) => document.body.insertAdjacentHTML('afterbegin', h)", header)

    return await active._print(load)
