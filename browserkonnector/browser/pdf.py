"""Print HTML, a URL or the current page to PDF with the browser's own print engine.

This replaces konnector-libs' ``htmlToPDF``/``createCozyPDFDocument`` (which re-typeset a cheerio tree
with pdfjs): Chromium lays out the vendor's real HTML and CSS, with its JavaScript run, for about 12 ms a
page in the headless shell (env.md). :class:`PdfPrinter` keeps one page (or a tiny pool) for printing,
since opening a page costs more than printing one bill. Every PDF is A4, with backgrounds and margins.

The classic failure is a PDF with no text at all — Chromium prints blank glyphs when fontconfig finds no
font, without an error (env.md gotcha 1); the tests read the text back with pypdf.

The printer's pages load what the context blocks (images, fonts): a bill's logo belongs in its PDF.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import re
from types import TracebackType
from typing import Any, Final, Literal

from playwright.async_api import BrowserContext, Page, Route

from browserkonnector.errors import FILE_DOWNLOAD_FAILED, KonnectorError

__all__ = ["PDF_OPTIONS", "PdfPrinter", "cozy_header_html", "cozy_pdf_document", "html_to_pdf"]

Media = Literal["print", "screen"]
PDF_OPTIONS: Final[dict[str, Any]] = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
}
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
_BODY = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def _with_base(html: str, base_url: str) -> str:
    """``html`` with a ``<base href>`` so its relative links and images resolve against ``base_url``."""
    tag = f'<base href="{html_lib.escape(base_url, quote=True)}">'
    found = _HEAD.search(html)
    if found:
        return html[: found.end()] + tag + html[found.end():]
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
    """

    def __init__(self, context: BrowserContext, *, pages: int = 1, media: Media = "print") -> None:
        if pages < 1:
            raise ValueError(f"PdfPrinter pages={pages}: must be >= 1")
        if media not in ("print", "screen"):
            raise ValueError(f"PdfPrinter media={media!r}: expected 'print' or 'screen'")
        self.context = context
        self.media: Media = media
        self._size = pages
        self._made: list[Page] = []
        self._opened = 0
        self._free: asyncio.Queue[Page] = asyncio.Queue()

    async def _acquire(self) -> Page:
        if self._free.empty() and self._opened < self._size:
            self._opened += 1  # counted before the await, so concurrent callers do not all open one
            try:
                page = await self.context.new_page()
                await page.route("**/*", _unblocked)
                if self.media == "screen":
                    await page.emulate_media(media="screen")
            except BaseException:
                self._opened -= 1
                raise
            self._made.append(page)
            return page
        return await self._free.get()

    async def _print(self, load: Any) -> bytes:
        page = await self._acquire()
        try:
            await load(page)
            return await page.pdf(**PDF_OPTIONS)
        finally:
            self._free.put_nowait(page)

    async def from_html(self, html: str, *, base_url: str | None = None) -> bytes:
        """``html`` printed; ``base_url`` resolves its relative URLs (images, stylesheets)."""
        content = _with_base(html, base_url) if base_url else html

        async def load(page: Page) -> None:
            await page.set_content(content, wait_until="load")

        return await self._print(load)

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
        for page in self._made:
            if not page.is_closed():
                await page.close()
        self._made.clear()
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


async def _unblocked(route: Route) -> None:
    # A page route answers before the context's routes: continue_() skips the context's resource blocking.
    await route.continue_()


def _context(target: BrowserContext | Page) -> BrowserContext:
    return target.context if isinstance(target, Page) else target


async def html_to_pdf(context_or_page: BrowserContext | Page, html: str, *, base_url: str | None = None) -> bytes:
    """One call: ``html`` printed to PDF on a page opened for it (a loop should keep a PdfPrinter)."""
    async with PdfPrinter(_context(context_or_page)) as printer:
        return await printer.from_html(html, base_url=base_url)


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
    own = printer is None
    active = printer or PdfPrinter(_context(context_or_page))
    try:
        if html is not None:
            found = _BODY.search(html)
            document = (html[: found.end()] + header + html[found.end():]) if found else header + html
            return await active.from_html(document, base_url=source_url)

        async def load(page: Page) -> None:
            assert url is not None
            await _goto(page, url)
            await page.evaluate("(h) => document.body.insertAdjacentHTML('afterbegin', h)", header)

        return await active._print(load)
    finally:
        if own:
            await active.close()
