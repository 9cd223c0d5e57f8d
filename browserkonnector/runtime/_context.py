"""The :class:`RunContext`: everything a connector's ``main`` needs, in one object.

A connector is one async function of a context. The context carries the run's fields and secrets, the
browser page, an HTTP client that shares the page's cookies, the store, a logger, the account (its data
persists between runs) — and bound versions of the framework's helpers, so connector code reads as what
it does, not as plumbing::

    await ctx.fill_secret("#password", ctx.fields.password)     # never reaches logs or traces
    async with ctx.capture_json("**/api/bills*") as bills:       # the site's own API answer
        await page.get_by_role("button", name="Sign in").click()
    await ctx.save_bills(bills_from(bills.values), file_id_attributes=["vendorRef"])

The save helpers inject what the Cozy contract needs (store, app slug and version, destination folder,
``sourceAccount``, ``sourceAccountIdentifier``, a downloader through the logged-in session), and add
their counts to the run's summary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack

import httpx
from loguru import logger

from browserkonnector._redact import Redactor
from browserkonnector.runtime._context_account import AccountMixin
from browserkonnector.runtime._job import Account, JobEnv
from browserkonnector.runtime._manifest import Manifest
from browserkonnector.runtime._missing import MissingFiles
from browserkonnector.runtime._progress import Progress
from browserkonnector.runtime._sitechange import ShapeRecorder
from browserkonnector.save import (
    BankSaveResult,
    Fetched,
    SaveBillsResult,
    SaveCounts,
    SavedFile,
    add_data,
    hydrate_and_filter,
    save_bank_data,
    save_bills,
    save_files,
    upsert,
)
from browserkonnector.save._options import BillOptions, DocumentOptions, FileOptions, HydrateOptions
from browserkonnector.store._base import AppInfo, Doc, Store

if TYPE_CHECKING:
    from parsel import Selector
    from playwright.async_api import BrowserContext, Locator, Page, Response

    from browserkonnector.browser import Action, JsonCapture, PdfPrinter, Waited
    from browserkonnector.browser.toolkit._capture import CapturedResponse, UrlPattern
    from browserkonnector.browser.toolkit._files import Trigger
    from browserkonnector.runtime._login import SessionKeeper
    from browserkonnector.runtime._sync import SyncMemory

__all__ = ["RunContext", "RunStats"]

F = TypeVar("F")
_Contracted = TypeVar("_Contracted", BillOptions, FileOptions, DocumentOptions)


@dataclass
class RunStats(SaveCounts):
    """What the run saved, for the summary line and the result.

    ``doctypes`` counts the documents of every other doctype (bank accounts, operations, anything saved
    with ``add_data`` / ``update_or_create``) by outcome: ``created``, ``updated``, ``unchanged``,
    ``saved`` (written without telling which). A summary naming only bills said "saved 0 new bill(s)"
    after a run that saved 159 operations.
    """

    documents_saved: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    doctypes: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_documents(self, doctype: str, outcome: str, n: int = 1) -> None:
        per = self.doctypes.setdefault(doctype, {})
        per[outcome] = per.get(outcome, 0) + n

    def documents_summary(self) -> str:
        """``io.cozy.bank.operations: 150 new, 0 updated, 0 unchanged; ...`` (empty when none)."""
        names = {"created": "new", "updated": "updated", "unchanged": "unchanged", "saved": "saved"}
        parts = []
        for doctype, per in sorted(self.doctypes.items()):
            parts.append(f"{doctype}: " + ", ".join(f"{per[k]} {label}" for k, label in names.items() if k in per))
        return "; ".join(parts)


class RunContext(AccountMixin, Generic[F]):
    """The run, as seen by a connector. Built by the runtime; connectors only read and call it."""

    def __init__(
        self,
        *,
        fields: F,
        parameters: Mapping[str, Any],
        store: Store,
        app: AppInfo,
        manifest: Manifest | None,
        account: Account,
        identifier: str | None,
        folder_path: str,
        job: JobEnv,
        redactor: Redactor,
        http: httpx.AsyncClient,
        progress: Progress,
        shapes: ShapeRecorder,
        page: Page | None = None,
        context: BrowserContext | None = None,
        printer: PdfPrinter | None = None,
    ) -> None:
        self.fields = fields
        self.parameters = dict(parameters)
        self.secrets: dict[str, Any] = dict(parameters.get("secret") or {})
        self.store = store
        self.app = app
        self.manifest = manifest
        self.account = account
        self.identifier = identifier
        self.folder_path = folder_path
        self.job = job
        self.redactor = redactor
        self.http = http
        self.progress = progress
        self.shapes = shapes
        self._page = page
        self._context = context
        self._printer = printer
        self.log = logger.bind(namespace=app.slug)
        self.stats = RunStats()
        self.missing = MissingFiles()  # files the save helpers could not save: the run then fails
        self.account_data: dict[str, Any] = account.data
        #: The login keeper and the sync memory of the run (docs/sessions.md), set by the runtime.
        self.session: SessionKeeper | None = None
        self.sync: SyncMemory | None = None
        #: ``time.monotonic()`` by which the connector must be done (the run's time limit), or None.
        self.deadline: float | None = None

    # -- the browser ----------------------------------------------------------------------------------
    @property
    def page(self) -> Page:
        """The run's page (one context, reused: opening contexts costs memory and time)."""
        if self._page is None:
            raise RuntimeError("this connector runs without a browser (Konnector(..., browser=False))")
        return self._page

    @property
    def browser_context(self) -> BrowserContext:
        if self._context is None:
            raise RuntimeError("this connector runs without a browser (Konnector(..., browser=False))")
        return self._context

    @property
    def browser_context_or_none(self) -> BrowserContext | None:
        return self._context

    def secret(self, *values: str | None) -> None:
        """Declare values secret (a token read from the page, a cookie...): redacted from logs and traces."""
        self.redactor.add_all(values)

    async def fill_secret(self, target: str | Locator, value: Any, *, press_sequentially: bool = False) -> None:
        """Type a secret into the page; the value never reaches a log line and is scrubbed from traces."""
        from browserkonnector.browser import fill_secret

        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
        locator = self.page.locator(target) if isinstance(target, str) else target
        await fill_secret(locator, raw, redactor=self.redactor, press_sequentially=press_sequentially)

    async def secrets_from_storage(self, *keys: str, storage: str = "sessionStorage") -> dict[str, str | None]:
        """Read values the site keeps in session/local storage (an API token), declared secret at once."""
        from browserkonnector.browser import register_storage_secrets

        return await register_storage_secrets(self.page, list(keys), self.redactor, storage=storage)

    @asynccontextmanager
    async def capture_json(
        self,
        url_pattern: UrlPattern,
        *,
        step: str | None = None,
        predicate: Callable[[CapturedResponse], bool] | None = None,
        give_up_after: int = 3,
    ) -> AsyncIterator[JsonCapture]:
        """Collect the JSON answers of the site's own API while the block runs (bodies read at once).

        With ``step``, the shape of every answer is recorded for the site-change report: a later run
        whose answers lost a property or changed a type says so, naming the step. After ``give_up_after``
        server errors in a row (and no good answer), ``wait()`` raises ``KonnectorError(VENDOR_DOWN)``.
        """
        from browserkonnector.browser import capture_json

        async with capture_json(
            self.page, url_pattern, predicate=predicate, give_up_after=give_up_after, redactor=self.redactor
        ) as capture:
            try:
                yield capture
            finally:
                if step is not None:
                    for value in capture.values:
                        self.shapes.observe(step, value)

    async def get_file(self, *, click: Trigger | None = None, url: str | None = None, timeout: float = 30.0) -> Fetched:
        """A file however the site hands it over: download, inline PDF, ``blob:`` URL, or plain URL."""
        from browserkonnector.browser import get_file

        return await get_file(self.page, click=click, url=url, http=self.http, timeout=timeout)

    async def fetch(self, url: str) -> Fetched:
        """GET ``url`` through the logged-in session (cookies shared with the browser)."""
        from browserkonnector.browser import fetch_file

        return await fetch_file(self.http, url)

    # -- server-rendered pages (docs/guide-html-sites.md) ----------------------------------------------
    async def page_html(self) -> Selector:
        """The current page's DOM as a :class:`parsel.Selector` (CSS and XPath)."""
        from browserkonnector.browser import page_html

        return await page_html(self.page)

    def parse_html(self, source: str | bytes | httpx.Response) -> Selector:
        """Page source or a ``ctx.http`` answer as a :class:`parsel.Selector`."""
        from browserkonnector._parsing import html_of

        return html_of(source)

    async def get_html(
        self, url: str, *, params: Mapping[str, Any] | None = None, login_url: UrlPattern | None = None
    ) -> Selector:
        """GET a page through the logged-in session and parse it. ``ctx.http`` follows redirects: with
        ``login_url``, an answer that landed on the login page raises ``SessionLost`` (``VENDOR_DOWN``)
        instead of being parsed as an empty page."""
        from browserkonnector.browser import get_html

        return await get_html(self.http, url, params=params, login_url=login_url)

    async def act_and_wait(
        self,
        action: Action,
        *,
        response: UrlPattern | None = None,
        url: UrlPattern | None = None,
        element: str | Locator | None = None,
        alert: str | Locator | None = None,
        unavailable: str | Locator | None = None,
        timeout: float = 30.0,
    ) -> Waited:
        """Run ``action`` (a locator or selector to click, or an async callable), then return the first
        of: an answer matching ``response``, a navigation to ``url``, a new ``element`` or ``alert``, or
        the page answered 5xx (``kind="server_error"``) — within ``timeout`` seconds, else
        ``NothingHappened``."""
        from browserkonnector.browser import act_and_wait

        return await act_and_wait(
            self.page,
            action,
            response=response,
            url=url,
            element=element,
            alert=alert,
            unavailable=unavailable,
            timeout=timeout,
        )

    async def form_login(
        self,
        values: Mapping[str, Any],
        *,
        url: str | None = None,
        form: str | Locator | None = None,
        submit: str | Locator | None = None,
        success_url: UrlPattern | None = None,
        success_element: str | Locator | None = None,
        alert: str | Locator | None = None,
        api: UrlPattern | None = None,
        unavailable: str | Locator | None = None,
        timeout: float = 30.0,
        retries: int = 2,
    ) -> Waited:
        """Fill and submit the login form (scoped to the form holding the password field), then judge the
        outcome: a refusal ``alert`` or a 4xx ``api`` answer → ``LOGIN_FAILED``; 5xx, retried ``retries``
        times → ``VENDOR_DOWN``. ``SecretStr`` values and password fields are typed as secrets."""
        from browserkonnector.browser import form_login

        return await form_login(
            self.page,
            values,
            redactor=self.redactor,
            url=url,
            form=form,
            submit=submit,
            success_url=success_url,
            success_element=success_element,
            alert=alert,
            api=api,
            unavailable=unavailable,
            timeout=timeout,
            retries=retries,
        )

    @property
    def printer(self) -> PdfPrinter:
        """Prints HTML, URLs or the current page to PDF on a page reused for printing."""
        if self._printer is None:
            raise RuntimeError("printing to PDF needs the browser (Konnector(..., browser=True))")
        return self._printer

    async def html_to_pdf(self, html: str, *, base_url: str | None = None) -> Fetched:
        """An HTML string printed by the browser (``htmlToPDF``), as a fetched PDF for the save helpers."""
        data = await self.printer.from_html(html, base_url=base_url)
        return Fetched(data=data, url=base_url, content_type="application/pdf", how="print")

    async def url_to_pdf(self, url: str, *, static: bool = False) -> Fetched:
        """The page at ``url`` printed by the browser (with the session's cookies), as a fetched PDF.

        ``static=True`` is for server-rendered pages that need no JavaScript (a "printable version"):
        the HTML comes through the session client and is printed without a navigation — about 3x faster
        per bill (docs/performance.md). An HTTP error is returned as is (not ``ok``), so the save helpers
        refuse it, naming the entry, instead of storing an error page as a bill.
        """
        if static:
            page = await self.fetch(url)
            if not page.ok:
                return page
            return await self.html_to_pdf(page.data.decode("utf-8", errors="replace"), base_url=page.url or url)
        data = await self.printer.from_url(url)
        return Fetched(data=data, url=url, content_type="application/pdf", how="print")

    async def cozy_pdf(
        self, headline: str, source_url: str, *, html: str | None = None, url: str | None = None
    ) -> Fetched:
        """``createCozyPDFDocument``: a PDF opening with ``headline`` and ``source_url`` as a link, above
        the printed ``html`` (or the page at ``url``)."""
        from browserkonnector.browser import cozy_pdf_document

        data = await cozy_pdf_document(
            self.browser_context, headline=headline, source_url=source_url, html=html, url=url, printer=self.printer
        )
        return Fetched(data=data, url=source_url, content_type="application/pdf", how="print")

    # -- saving ---------------------------------------------------------------------------------------
    def _contract(self, options: _Contracted) -> _Contracted:
        options.setdefault("source_account", self.account.id)
        options.setdefault("source_account_identifier", self.identifier)
        return options

    async def _fetch_url(self, url: str, entry: Any) -> Fetched:
        return await self.fetch(url)

    async def save_bills(
        self, bills: Iterable[Any], *, folder_path: str | None = None, **options: Unpack[BillOptions]
    ) -> SaveBillsResult:
        """``saveBills`` bound to this run (folder, store, account, session downloader, progress)."""
        options = self._contract(options)
        if self.manifest is not None and self.manifest.banks_transaction_regexp:
            options.setdefault("bank_transaction_regexp", self.manifest.banks_transaction_regexp)
        options.setdefault("fetch", self._fetch_url)
        bills = list(bills)
        options.setdefault("progress", self.progress.tracker("bills", len(bills)))
        result = await save_bills(bills, folder_path or self.folder_path, store=self.store, app=self.app, **options)
        self.stats.add(result)
        self.missing.note(result.saved_files)
        return result

    async def save_files(
        self, entries: Iterable[Any], *, folder_path: str | None = None, **options: Unpack[FileOptions]
    ) -> list[SavedFile]:
        """``saveFiles`` bound to this run."""
        options = self._contract(options)
        options.setdefault("fetch", self._fetch_url)
        entries = list(entries)
        options.setdefault("progress", self.progress.tracker("files", len(entries)))
        saved = await save_files(entries, folder_path or self.folder_path, store=self.store, app=self.app, **options)
        self.stats.add_files(saved)
        self.missing.note(saved)
        return saved

    async def add_data(self, entries: Iterable[Any], doctype: str, **options: Unpack[DocumentOptions]) -> list[Doc]:
        docs = await add_data(list(entries), doctype, store=self.store, app=self.app, **self._contract(options))
        self.stats.documents_saved += len(docs)
        self.stats.count_documents(doctype, "saved", len(docs))
        return docs

    async def hydrate_and_filter(
        self, documents: Iterable[Any], doctype: str, **options: Unpack[HydrateOptions]
    ) -> list[Any]:
        return await hydrate_and_filter(list(documents), doctype, store=self.store, **options)

    async def update_or_create(
        self,
        entries: Iterable[Any],
        doctype: str,
        matching_attributes: Sequence[str],
        **options: Unpack[DocumentOptions],
    ) -> list[Doc]:
        done = await upsert(
            list(entries), doctype, matching_attributes, store=self.store, app=self.app, **self._contract(options)
        )
        for _, outcome in done:
            self.stats.count_documents(doctype, outcome)
        return [doc for doc, _ in done]

    async def save_bank_data(self, accounts: Iterable[Any], operations: Iterable[Any]) -> BankSaveResult:
        """Save :class:`~browserkonnector.BankAccount` and :class:`~browserkonnector.BankOperation`
        records: deduplicated on ``vendorId``, each operation linked to its account's ``_id``, nothing
        rewritten when unchanged; counted in the run's summary."""
        result = await save_bank_data(
            accounts, operations, store=self.store, app=self.app, **self._contract(DocumentOptions())
        )
        for doctype, per in result.counts.items():
            for outcome, n in per.items():
                self.stats.count_documents(doctype, outcome, n)
        return result

    # -- lists and local data -----------------------------------------------------------------------
    async def collect_rows(
        self,
        container: str | Locator,
        rows: str,
        fields: Mapping[str, str],
        *,
        key: str,
        keep: Callable[[dict[str, Any]], bool] | Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        settle: float = 0.3,
        max_rows: int = 100_000,
    ) -> list[dict[str, Any]]:
        """Every row of a virtualised or infinite list, scrolled and read until stable, once each by
        ``key``; rows failing ``keep`` (stale ones) are waited out. See docs/guide-local-first-spa.md."""
        from browserkonnector.browser.toolkit._lists import collect_rows

        box = self.page.locator(container) if isinstance(container, str) else container
        return await collect_rows(
            box, rows, fields, key=key, keep=keep, timeout=timeout, settle=settle, max_rows=max_rows
        )

    async def read_indexeddb(self, database: str, store: str) -> list[Any]:
        """Every record of an object store the page keeps in IndexedDB (the page's origin)."""
        from browserkonnector.browser.toolkit._lists import read_indexeddb

        return await read_indexeddb(self.page, database, store)

    async def saved_values(self, doctype: str, attribute: str, *, where: Mapping[str, Any] | None = None) -> set[str]:
        """The values of ``attribute`` already saved in ``doctype`` (one indexed query), to skip known
        items before fetching anything for them: ``known = await ctx.saved_values("io.cozy.bills",
        "vendorRef", where={"vendor": VENDOR})``."""
        from browserkonnector.save import saved_values

        return await saved_values(self.store, doctype, attribute, where=where)

    async def goto(self, url: str, **kwargs: Any) -> Response | None:
        """``page.goto(url)`` that logs in again, once, when it lands on the login page or gets 401/403
        (with a declared ``@konnector.login``)."""
        if self.session is None:
            return await self.page.goto(url, **kwargs)
        return await self.session.goto(self.page, url, **kwargs)
