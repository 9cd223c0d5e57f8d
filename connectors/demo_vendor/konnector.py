"""Demo Énergie: log in through the JavaScript form, read the bills API, save every bill with its PDF.

How it gets each file, cheapest correct way first:

- ``download`` and ``inline`` bills: the PDF URL, fetched through the logged-in session (the browser's
  cookies), which sidesteps download events and the inline PDF viewer;
- ``blob`` bills: the site's JavaScript builds a ``blob:`` URL from ``/api/bills/ID/pdf`` with the API
  token kept in ``sessionStorage``; the connector fetches that same URL with the same token;
- ``html`` bills have no PDF: their server-rendered printable page is fetched through the session and
  printed to PDF by the browser (no navigation: ~3x faster than loading it in a page).

With the field ``ui_downloads`` it instead clicks through the UI for every file (download event, popup
with an inline PDF, ``blob:`` link), which is slower and is what the tests use to prove those paths.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyotp
from playwright.async_api import Page, Response

from browserkonnector import Bill, Fetched, Konnector, KonnectorError, RunContext, errors
from browserkonnector.browser import read_json

from .models import ApiBill, BillsPage, Fields, LoginAnswer

VENDOR = "Demo Énergie"
LOGIN_TRIES = 3

konnector = Konnector(fields=Fields, vendor=VENDOR, secret_storage_keys=["apiToken"])


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    first = await log_in(ctx, base)
    pages = [first, *await other_pages(ctx, base, first)]
    found = [bill for page in pages for bill in page.items]
    ctx.shapes.count("bills", len(found))
    ctx.log.info("{} bills listed on {} page(s)", len(found), len(pages))
    ui = UiFiles(ctx, base) if ctx.fields.ui_downloads else None
    bills = [to_bill(ctx, base, bill, ui) for bill in found]
    await ctx.save_bills(
        bills,
        file_id_attributes=["vendorRef"],
        keys=["vendorRef"],
        identifiers=["demo energie"],
        qualification_label="energy_invoice",
        concurrency=1 if ui else 6,
    )


async def log_in(ctx: RunContext[Fields], base: str) -> BillsPage:
    """Fill the JS-rendered form (past the cookie overlay), pass the second factor, and capture the
    first page of bills the site's own JavaScript asks for after login."""
    page = ctx.page
    await page.goto(f"{base}/login")
    await accept_cookies(page)
    await page.get_by_label("Email").fill(ctx.fields.login)
    await ctx.fill_secret(page.get_by_label("Password"), ctx.fields.password)
    async with ctx.capture_json("**/api/bills?*", step="bills api", give_up_after=1) as bills:
        answer = await submit(page, "Sign in", "**/api/session/login")
        if answer.status == "otp_required":
            await second_factor(ctx)
        try:
            first = await bills.wait(timeout=20)
        except KonnectorError as exc:  # the page's own call failed: retry it ourselves, with backoff
            if exc.code != errors.VENDOR_DOWN:
                raise
            first = None
    token = (await ctx.secrets_from_storage("apiToken")).get("apiToken")
    if not token:
        raise KonnectorError(errors.VENDOR_DOWN, "logged in, but the site kept no API token")
    ctx.http.headers["Authorization"] = f"Bearer {token}"
    if first is None:
        first = await bills_page(ctx, base, 1, per_page=10)
    await ctx.notify_login_success()
    return BillsPage.model_validate(first)


async def accept_cookies(page: Page) -> None:
    """The consent overlay covers the page and swallows clicks until it is accepted."""
    button = page.locator("#accept-cookies")
    try:
        await button.click(timeout=5_000)
    except Exception:  # already accepted (cookie set): nothing to do
        if await button.is_visible():
            raise


async def submit(page: Page, button: str, api: str) -> LoginAnswer:
    """Click ``button`` and read the answer of ``api``: 401 → LOGIN_FAILED; 5xx, or the page's own
    "unavailable" alert (its CSRF call failed, so it never posted), retried → VENDOR_DOWN."""
    status, body = 0, {}
    for attempt in range(1, LOGIN_TRIES + 1):
        status, body = await answer_or_alert(page, button, api)
        if status and status < 500:
            break
        await asyncio.sleep(0.5 * attempt)
    if not status or status >= 500:
        raise KonnectorError(errors.VENDOR_DOWN, f"login failed {LOGIN_TRIES} times (last answer: {status or 'none'})")
    if status in (401, 403):
        if body.get("error") == "invalid_otp":
            raise KonnectorError(errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE)
        raise KonnectorError(errors.LOGIN_FAILED)
    return LoginAnswer.model_validate(body)


async def answer_or_alert(page: Page, button: str, api: str) -> tuple[int, dict[str, Any]]:
    """Click, then whichever comes first: the API's answer ``(status, json)``, or a *new* alert on the
    page without any answer ``(0, {})`` (an alert already shown before the click does not count)."""
    answered: asyncio.Future[Response] = asyncio.get_running_loop().create_future()

    def on_response(response: Response) -> None:
        # A 429 is retried by the page's own client after Retry-After: wait for its next answer (the 429's
        # body is never read by the page, so it may never finish: do not wait for it either).
        if (not answered.done() and response.status != 429
                and response.url.split("?")[0].endswith(api.lstrip("*"))):
            answered.set_result(response)

    old_alert = await page.query_selector("[role=alert]")
    page.on("response", on_response)
    try:
        await page.get_by_role("button", name=button).click()
        alert = asyncio.ensure_future(page.wait_for_function(
            "old => { const a = document.querySelector('[role=alert]'); return !!a && a !== old; }",
            arg=old_alert, timeout=30_000))
        await asyncio.wait({answered, alert}, return_when=asyncio.FIRST_COMPLETED, timeout=30)
        alert.cancel()
        if answered.done():
            response = answered.result()
            try:
                return response.status, await read_json(response)  # bounded: never waits forever
            except (TimeoutError, ValueError):
                return (response.status if response.status >= 500 else 0), {}
        return 0, {}
    finally:
        page.remove_listener("response", on_response)


async def second_factor(ctx: RunContext[Fields]) -> None:
    """A TOTP code from the account's secret when it has one, else asked to the user (manual runs)."""
    secret = ctx.fields.otp_secret
    if secret is not None:
        ctx.secret(secret.get_secret_value())
        code = pyotp.TOTP(secret.get_secret_value()).now()
    else:
        code = await ctx.wait_for_two_fa_code(type="app_code")
    await ctx.page.get_by_label("Code").fill(code)
    await submit(ctx.page, "Verify", "**/api/session/otp")


async def bills_page(ctx: RunContext[Fields], base: str, number: int, *, per_page: int) -> dict[str, Any]:
    """One page of the bills API through the logged-in session (retried with backoff on 5xx and 429
    by the session client; a page that still fails ends the run as VENDOR_DOWN)."""
    response = await ctx.http.get(f"{base}/api/bills", params={"page": number, "per_page": per_page})
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    ctx.shapes.observe("bills api", data)
    return data


async def other_pages(ctx: RunContext[Fields], base: str, first: BillsPage) -> list[BillsPage]:
    """Pages 2..N straight from the API through the logged-in session (≈30× cheaper than the UI)."""
    pages = await asyncio.gather(*(bills_page(ctx, base, n, per_page=first.per_page)
                                   for n in range(2, first.pages + 1)))
    return [BillsPage.model_validate(page) for page in pages]


def to_bill(ctx: RunContext[Fields], base: str, bill: ApiBill, ui: UiFiles | None) -> Bill:
    fields: dict[str, Any] = {
        "vendor": VENDOR,
        "date": bill.date,
        "amount": bill.amount,
        "currency": bill.currency,
        "vendor_ref": bill.vendor_ref,
        "filename": f"{bill.date.isoformat()}_demo-energie_{bill.amount:.2f}{bill.currency}_{bill.vendor_ref}.pdf",
        "content_label": bill.label,
    }
    if bill.kind == "html":
        # A server-rendered printable page: fetched through the session, printed without a navigation.
        return Bill(**fields, fetch_file=lambda: ctx.url_to_pdf(base + bill.links.print, static=True))
    if ui is not None:
        return Bill(**fields, fetch_file=lambda: ui.get(bill))
    assert bill.links.pdf is not None
    return Bill(**fields, fileurl=base + bill.links.pdf)


class UiFiles:
    """Files through the UI, one at a time (they share the page): what ``ui_downloads`` exercises."""

    def __init__(self, ctx: RunContext[Fields], base: str) -> None:
        self.ctx, self.base = ctx, base
        self.lock = asyncio.Lock()

    async def get(self, bill: ApiBill) -> Fetched:
        async with self.lock:
            page = self.ctx.page
            row = page.locator(f'tr.bill[data-bill-id="{bill.id}"]')
            while not await row.count():
                more = page.locator("#load-more")
                if not await more.is_visible():
                    raise KonnectorError(errors.FILE_DOWNLOAD_FAILED, f"bill {bill.id} is not on the page")
                await more.click()
                await page.wait_for_timeout(50)
            selector = {"download": "a.bill-download", "inline": "a.bill-view", "blob": "button.bill-blob"}
            return await self.ctx.get_file(click=row.locator(selector[bill.kind]))
