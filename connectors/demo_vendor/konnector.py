"""Demo Énergie: log in through the JavaScript form, read the bills API, save every bill with its PDF.

How it gets each file, cheapest correct way first:

- ``download`` and ``inline`` bills: the PDF URL, fetched through the logged-in session (the browser's
  cookies), which sidesteps download events and the inline PDF viewer;
- ``blob`` bills: the site's JavaScript builds a ``blob:`` URL from ``/api/bills/ID/pdf`` with the API
  token kept in ``sessionStorage``; the connector fetches that same URL with the same token;
- ``html`` bills have no PDF: their server-rendered printable page is fetched through the session and
  printed to PDF by the browser (no navigation: ~3x faster than loading it in a page).

The login is judged by the site's own API answer (``ctx.form_login``): 401 is ``LOGIN_FAILED`` (a refused
second-factor code ``WRONG_TWOFA_CODE``); a 5xx, a 429 or the page's "unavailable" message (its CSRF call
failed, so nothing was posted) is retried, then ``VENDOR_DOWN``.
With the field ``ui_downloads`` it instead clicks through the UI for every file (``ui_files.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pyotp

from browserkonnector import Bill, BillOptions, Konnector, LoginFailed, RunContext, TwoFactorFailed, VendorDown

from .models import ApiBill, BillsPage, Fields, LoginAnswer
from .ui_files import UiFiles

VENDOR = "Demo Énergie"
UNAVAILABLE = "[role=alert]:has-text('unavailable')"  # its CSRF call failed: nothing was posted
SAVE = BillOptions(keys=["vendorRef"], file_id_attributes=["vendorRef"], identifiers=["demo energie"], concurrency=6)

konnector = Konnector(fields=Fields, vendor=VENDOR, secret_storage_keys=["apiToken"])


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    first = await log_in(ctx, base)
    rest = await asyncio.gather(*(bills_page(ctx, base, n, first.per_page) for n in range(2, first.pages + 1)))
    found = [bill for page in (first, *rest) for bill in page.items]
    ctx.shapes.count("bills", len(found))
    ui = UiFiles(ctx) if ctx.fields.ui_downloads else None
    await ctx.save_bills([to_bill(ctx, base, bill, ui) for bill in found], **SAVE)  # UI clicks take turns


async def log_in(ctx: RunContext[Fields], base: str) -> BillsPage:
    """The JS-rendered form (past the cookie overlay), the second factor, then the first page of bills
    the site's own JavaScript asks for (or asked again through the session, with retries)."""
    await ctx.page.goto(f"{base}/login")
    await ctx.page.get_by_label("Email").wait_for()
    if await ctx.page.locator("#accept-cookies").is_visible():  # the overlay swallows clicks until accepted
        await ctx.page.locator("#accept-cookies").click()
    first = None
    async with ctx.capture_json("**/api/bills?*", step="bills api", give_up_after=1) as bills:
        credentials = {"Email": ctx.fields.login, "Password": ctx.fields.password}
        login = await ctx.form_login(credentials, api="**/api/session/login", unavailable=UNAVAILABLE)
        if LoginAnswer.model_validate(await login.json()).status == "otp_required":
            secret = ctx.fields.otp_secret
            code = pyotp.TOTP(secret.get_secret_value()).now() if secret else await ctx.wait_for_two_fa_code()
            try:
                await ctx.form_login({"Code": code}, api="**/api/session/otp", retries=0)
            except LoginFailed as refused:
                raise TwoFactorFailed() from refused
        with contextlib.suppress(VendorDown):  # the page's own call failed: asked again below
            first = BillsPage.model_validate(await bills.wait(timeout=20))
    token = (await ctx.secrets_from_storage("apiToken")).get("apiToken")
    if not token:
        raise VendorDown("logged in, but the site kept no API token")
    ctx.http.headers["Authorization"] = f"Bearer {token}"
    await ctx.notify_login_success()
    return first or await bills_page(ctx, base, 1, 10)


async def bills_page(ctx: RunContext[Fields], base: str, number: int, per_page: int) -> BillsPage:
    """One page of the bills API through the logged-in session (retried on 5xx and 429 by the client)."""
    response = await ctx.http.get(f"{base}/api/bills", params={"page": number, "per_page": per_page})
    data = response.raise_for_status().json()
    ctx.shapes.observe("bills api", data)
    return BillsPage.model_validate(data)


def to_bill(ctx: RunContext[Fields], base: str, bill: ApiBill, ui: UiFiles | None) -> Bill:
    """``html`` bills are printed from their page (fetched through the session); the others are PDF URLs,
    or clicks through the UI with ``ui_downloads``."""
    name = f"{bill.date}_demo-energie_{bill.amount:.2f}{bill.currency}_{bill.vendor_ref}.pdf"
    facts = bill.model_dump(include={"date", "amount", "currency", "vendor_ref"}) | {"content_label": bill.label}
    common: dict[str, Any] = {"vendor": VENDOR, "filename": name, "qualification_label": "energy_invoice", **facts}
    if bill.kind == "html":
        return Bill(**common, fetch_file=lambda: ctx.url_to_pdf(base + bill.links.print, static=True))
    if ui:
        return Bill(**common, fetch_file=lambda: ui.get(bill))
    return Bill(**common, fileurl=base + (bill.links.pdf or ""))
