"""Kaffeeladen, a server-rendered shop: log in through its form, walk the order pages, save each new
order's invoice.

The shop shows the invoice number and link only on an order's detail page, so the expensive part of a
run is one detail page per order. Orders saved before are skipped straight from the list (one indexed
query for the saved order numbers), so an incremental run fetches no detail page and no file for them.
Page 1 is the page the browser landed on after logging in; the other pages, the detail pages and the
invoices (served inline, for Chromium's PDF viewer) come through ``ctx.http``, the session's cookies.
Amounts and dates are read in the language the page declares (``<html lang>``), whatever it is.
"""

from __future__ import annotations

import asyncio

from parsel import Selector

from browserkonnector import Bill, Konnector, RunContext, parse_amount, parse_date

from .models import Fields

VENDOR = "Kaffeeladen"
LOGIN_PAGE = "**/accounts/login/**"

konnector = Konnector(fields=Fields, vendor=VENDOR)


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    await ctx.form_login(
        {"username": ctx.fields.login, "password": ctx.fields.password},
        url=f"{base}/accounts/login/",
        success_url="**/orders/**",
        alert="[role=alert]",
    )
    known = await ctx.saved_values("io.cozy.bills", "vendorRef", where={"vendor": VENDOR})
    page: Selector | None = await ctx.page_html()
    bills: list[Bill] = []
    listed = 0
    while page is not None:
        rows = page.css("tr.order")
        listed += len(rows)
        new = [
            row.css("a.details::attr(href)").get(default="")
            for row in rows
            if row.css("td.number::text").get() not in known
        ]
        bills += await asyncio.gather(*(order_bill(ctx, url) for url in new))  # a page's orders at once
        following = page.css("a[rel=next]::attr(href)").get()
        page = await ctx.get_html(following, login_url=LOGIN_PAGE) if following else None
    ctx.shapes.count("orders", listed)
    ctx.log.info("{} orders listed, {} new", listed, len(bills))
    await ctx.save_bills(
        bills,
        file_id_attributes=["vendorRef"],
        keys=["vendorRef"],
        identifiers=["kaffeeladen"],
        qualification_label="appliance_invoice",
    )


async def order_bill(ctx: RunContext[Fields], url: str) -> Bill:
    """One order's detail page: its facts, read in the page's own locale, and its invoice's URL."""
    detail = await ctx.get_html(url, login_url=LOGIN_PAGE)
    locale = detail.xpath("/html/@lang").get(default="")
    fact = {dd.attrib["class"]: dd.css("::text").get(default="") for dd in detail.css("#order dd")}
    amount, currency = parse_amount(fact["total"], locale=locale)
    day = parse_date(fact["date"], locale=locale)
    return Bill(
        vendor=VENDOR,
        date=day.isoformat(),
        amount=float(amount),
        currency=currency,
        vendor_ref=fact["order"],
        invoice_number=fact["invoice_number"],
        filename=f"{day}_kaffeeladen_{amount}{currency}_{fact['order']}.pdf",
        fileurl=detail.css("a.invoice::attr(href)").get(),
    )
