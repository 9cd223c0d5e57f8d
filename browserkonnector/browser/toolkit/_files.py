"""Get a file out of a vendor's site, however the site hands it over.

Getting the PDF is the weak point users report everywhere: the same "download" button is,
depending on the site, an attachment (a download event), an inline PDF opened in the page or in a popup
(the PDF viewer swallows it; the headless shell turns it into a download instead: measured, see
``tests/browser/test_files.py``), or a ``blob:`` URL made by the page's JavaScript. Each helper here
returns a :class:`~browserkonnector.save._fetched.Fetched` with ``how`` set, and :func:`get_file` is the
one call that copes with all of them::

    bill = await get_file(page, click=page.get_by_role("link", name="Facture"))
    bill = await get_file(page, url="/api/bills/42/pdf", http=session_client)

A click that brings no file within ``timeout`` raises ``KonnectorError(FILE_DOWNLOAD_FAILED)`` naming
what was tried.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import mimetypes
import os
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urljoin

import httpx
from playwright.async_api import BrowserContext, Download, Frame, Locator, Page, Response
from playwright.async_api import Error as PlaywrightError

from browserkonnector._errors import FILE_DOWNLOAD_FAILED, KonnectorError
from browserkonnector._limits import FileTooLarge, max_file_bytes
from browserkonnector.browser.toolkit._http import fetch_file, fetched_from, media_type
from browserkonnector.save._fetched import SPILL_BYTES, Fetched, How, new_spool_file

__all__ = ["Trigger", "download", "fetch_blob", "fetch_inline", "get_file"]

#: What starts a file: a locator to click, a CSS selector to click, or an async callable.
Trigger: TypeAlias = Locator | str | Callable[[], Awaitable[Any]]
#: After a PDF response whose body the viewer (or a download) took, how long to wait for that download
#: before fetching the URL again (a second GET of a one-time link may fail; a download has the bytes).
REFETCH_GRACE_S = 1.0

#: A same-page ``<a href="blob:...">`` would unload the page that owns the blob (a blob URL dies with its
#: document), leaving only the PDF viewer with the bytes (headed Chromium, measured). While a race runs,
#: such a link opens in a new tab instead: its opener keeps the blob alive, and the popup path reads it.
_BLOB_LINKS_JS = """(on) => {
  if (!on) { document.removeEventListener('click', window.__bkBlobLinks, true); return; }
  window.__bkBlobLinks = window.__bkBlobLinks || ((e) => {
    const a = e.target instanceof Element ? e.target.closest('a[href^="blob:"]') : null;
    if (a && !a.hasAttribute('download') && (!a.target || a.target === '_self')) a.target = '_blank';
  });
  document.addEventListener('click', window.__bkBlobLinks, true);
}"""
_READ_BLOB_JS = """async (url) => {
  const blob = await (await fetch(url)).blob();
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return {type: blob.type, data: btoa(text)};
}"""


async def _pull(page: Page, trigger: Trigger) -> None:
    if isinstance(trigger, Locator):
        await trigger.click()
    elif isinstance(trigger, str):
        await page.locator(trigger).click()
    elif callable(trigger):
        await trigger()
    else:
        raise TypeError(f"trigger: expected a Locator, a selector or an async callable, not {type(trigger).__name__}")


def _guess_type(filename: str | None) -> str | None:
    return mimetypes.guess_type(filename)[0] if filename else None


async def _from_download(item: Download) -> Fetched:
    """The download's file: a small one read into memory, a big one kept on disk (a copy of our own,
    since the browser's copy goes with its context)."""
    cap = max_file_bytes()
    name = item.suggested_filename
    meta: dict[str, Any] = {"url": item.url, "content_type": _guess_type(name), "filename": name, "how": "download"}
    try:
        try:
            path = await item.path()  # waits for the end of the download; raises if it failed
            size = await asyncio.to_thread(os.path.getsize, path)
            if size > cap:  # never read a file over the cap into memory
                raise FileTooLarge(size, cap, item.url.split("?", 1)[0])
            if size <= SPILL_BYTES:
                return Fetched(await asyncio.to_thread(Path(path).read_bytes), **meta)
        except PlaywrightError as exc:
            if "connecting remotely" not in exc.message:
                raise
        # Big, or on a browser host's disk: streamed into a temporary file of ours.
        target = new_spool_file()
        try:
            await item.save_as(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return await asyncio.to_thread(Fetched.from_file, target, cap=cap, **meta)
    finally:
        with contextlib.suppress(PlaywrightError):  # never hide why the download itself failed
            await item.delete()  # the browser's copy is no longer needed


async def download(page: Page, trigger: Trigger, *, timeout: float = 30.0) -> Fetched:
    """The file of the download event that ``trigger`` causes (``filename`` = the suggested name)."""
    async with page.expect_download(timeout=timeout * 1000) as info:
        await _pull(page, trigger)
    return await _from_download(await info.value)


async def fetch_blob(page: Page, blob_url: str) -> Fetched:
    """The bytes behind a ``blob:`` URL, read inside ``page`` (a blob lives only in its origin's pages)."""
    if not blob_url.startswith("blob:"):
        raise ValueError(f"blob_url={blob_url!r}: not a blob: URL")
    try:
        result = await page.evaluate(_READ_BLOB_JS, blob_url)
    except PlaywrightError as exc:
        raise KonnectorError(FILE_DOWNLOAD_FAILED, f"reading {blob_url}: {exc.message.splitlines()[0]}") from None
    content_type = media_type(result.get("type")) or None
    extension = mimetypes.guess_extension(content_type) if content_type else None
    return Fetched(
        data=base64.b64decode(result["data"]),
        url=blob_url,
        content_type=content_type,
        filename=f"{blob_url.rsplit('/', 1)[-1]}{extension or ''}",
        how="blob",
    )


def _context_of(target: Page | BrowserContext) -> BrowserContext:
    return target.context if isinstance(target, Page) else target


async def _request_get(target: Page | BrowserContext, url: str, how: How, timeout: float) -> Fetched:
    if isinstance(target, Page):
        url = urljoin(target.url, url)
    response = await _context_of(target).request.get(url, timeout=timeout * 1000, fail_on_status_code=False)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_file_bytes():
            raise FileTooLarge(int(declared), max_file_bytes(), url.split("?", 1)[0])
        return fetched_from(await response.body(), response.url, response.status, response.headers, how)
    finally:
        await response.dispose()


async def fetch_inline(page_or_context: Page | BrowserContext, url: str, *, timeout: float = 30.0) -> Fetched:
    """A PDF the site shows inline, fetched with the context's cookies instead of navigating to it.

    ``page.goto(pdf_url)`` raises "Download is starting" in the headless shell and shows the viewer in
    full Chromium; the context's request API gets the bytes in both. ``url`` may be relative to the page.
    """
    return await _request_get(page_or_context, url, "inline", timeout)


def _is_pdf(response: Response) -> bool:
    return "pdf" in (response.headers.get("content-type") or "").lower()


class _FileRace:
    """Listens for every way a file can arrive after a click; the first one that delivers wins."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.context = page.context
        self.others = {p for p in self.context.pages if p is not page}  # pages that are not ours
        self.popups: list[Page] = []
        self.result: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        self.errors: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> _FileRace:
        self.page.on("download", self._on_download)
        self.page.on("framenavigated", self._on_navigated)
        self.context.on("page", self._on_page)
        self.context.on("response", self._on_response)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.page.remove_listener("download", self._on_download)
        self.page.remove_listener("framenavigated", self._on_navigated)
        self.context.remove_listener("page", self._on_page)
        self.context.remove_listener("response", self._on_response)
        for popup in self.popups:
            popup.remove_listener("download", self._on_download)
            popup.remove_listener("framenavigated", self._on_navigated)
        for task in self.tasks:
            task.cancel()

    def _spawn(self, source: str, work: Coroutine[Any, Any, Fetched]) -> None:
        async def run() -> None:
            try:
                fetched = await work
            except Exception as exc:  # one way failing must not end the race: another may deliver
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                self.errors.append(f"{source}: {first_line}")
                return
            if not self.result.done():
                self.result.set_result(fetched)

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _ours(self, page: Page | None) -> bool:
        return page is not None and page not in self.others

    def _on_page(self, popup: Page) -> None:
        self.popups.append(popup)
        popup.on("download", self._on_download)
        popup.on("framenavigated", self._on_navigated)
        if popup.url.startswith("blob:"):
            self._spawn("blob popup", self._blob(popup.url, popup))

    def _on_download(self, item: Download) -> None:
        self._spawn("download", _from_download(item))

    def _on_navigated(self, frame: Frame) -> None:
        if frame.parent_frame is None and frame.url.startswith("blob:"):
            self._spawn("blob navigation", self._blob(frame.url, frame.page))

    def _on_response(self, response: Response) -> None:
        if not (response.request.is_navigation_request() and _is_pdf(response)):
            return
        try:
            frame = response.frame
        except PlaywrightError:  # a popup's first navigation, issued before its frame existed: a new page
            self._spawn("PDF popup", self._pdf_page(response))
            return
        if frame.parent_frame is None and self._ours(frame.page):
            self._spawn("PDF page", self._pdf_page(response))

    async def _blob(self, url: str, where: Page) -> Fetched:
        # The opener made the blob and is same-origin with it; the popup may be a PDF viewer.
        for page in (self.page, where):
            if not page.is_closed():
                try:
                    return await fetch_blob(page, url)
                except KonnectorError:
                    continue
        raise KonnectorError(FILE_DOWNLOAD_FAILED, f"the blob {url} could not be read")

    async def _pdf_page(self, response: Response) -> Fetched:
        status, headers = response.status, await response.all_headers()
        try:
            data = await response.body()
        except PlaywrightError:
            # A download took the body (headless shell). The download has the same bytes and costs no
            # second request (a one-time link may not answer twice): give it a moment to win the race.
            await asyncio.sleep(REFETCH_GRACE_S)
            return await _request_get(self.page, response.url, "inline", 30.0)
        if not data.lstrip().startswith(b"%PDF-"):
            # Headed Chromium's PDF viewer took the stream: the body reads as the viewer's own HTML
            # (measured). No download will come; ask the URL again with the context's cookies.
            return await _request_get(self.page, response.url, "inline", 30.0)
        return fetched_from(data, response.url, status, headers, "inline")

    async def close_popups(self) -> None:
        for popup in self.popups:
            if not popup.is_closed():
                await popup.close()


async def get_file(
    page: Page,
    *,
    click: Trigger | None = None,
    url: str | None = None,
    http: httpx.AsyncClient | None = None,
    timeout: float = 30.0,
) -> Fetched:
    """One call, whatever way the file arrives.

    ``url=``: fetched through the logged-in session — ``http`` (a :func:`~browserkonnector.browser.toolkit._http.
    session_http` client) when given, else the context's request API; a ``blob:`` URL is read in the
    page. ``click=`` (a locator, a selector or an async callable): races a download, a popup or a
    same-page navigation answered by a PDF, and a ``blob:`` page; popups opened meanwhile are closed.
    """
    if (click is None) == (url is None):
        raise ValueError("get_file: give exactly one of click= or url=")
    if url is not None:
        if url.startswith("blob:"):
            return await fetch_blob(page, url)
        if http is not None:
            return await fetch_file(http, urljoin(page.url, url))
        return await _request_get(page, url, "http", timeout)
    assert click is not None
    with _FileRace(page) as race:
        with contextlib.suppress(PlaywrightError):  # a page still loading: no blob link to redirect
            await page.evaluate(_BLOB_LINKS_JS, True)
        await _pull(page, click)
        try:
            return await asyncio.wait_for(asyncio.shield(race.result), timeout)
        except TimeoutError:
            tried = "; ".join(race.errors) or "no download, no PDF page, no blob: URL came"
            raise KonnectorError(
                FILE_DOWNLOAD_FAILED, f"no file within {timeout:g} s after the click ({tried})"
            ) from None
        finally:
            await race.close_popups()
            if not page.is_closed():
                with contextlib.suppress(PlaywrightError):
                    await page.evaluate(_BLOB_LINKS_JS, False)
