"""The shop site driven through the browser only: the form filled by hand and judged with
``ctx.act_and_wait``, each invoice taken from Chromium's PDF viewer with ``ctx.get_file(click=...)``.

``connectors/shop_vendor`` is the cheaper way (``ctx.form_login``, then the pages and invoices through
``ctx.http``); this example shows the browser-side tools for a site where the session's HTTP client is
not enough (a page that needs its JavaScript, a link that only works when clicked). Three newest orders
only, to keep it short. Run it against ``browserkonnector shop-site --port 8001``:

    browserkonnector run docs/examples/html_viewer --field base_url=http://127.0.0.1:8001 \\
        --field login=anna@shop.test --field 'password=Anna-Shop-Pass-7!'
"""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from browserkonnector import Bill, Konnector, KonnectorError, RunContext, errors, parse_amount, parse_date


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


konnector = Konnector(slug="shop-html-viewer", vendor="Kaffeeladen", fields=Fields)


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    page = ctx.page
    await page.goto(ctx.fields.base_url.rstrip("/") + "/accounts/login/")
    form = page.locator("#login-form")  # not the header's GET form, whose button is labelled the same
    await form.locator("[name=username]").fill(ctx.fields.login)
    await ctx.fill_secret(form.locator("[name=password]"), ctx.fields.password)
    waited = await ctx.act_and_wait(
        form.locator("button[type=submit]"), url="**/orders/**", alert="[role=alert]", timeout=30
    )
    if waited.kind == "alert":
        raise KonnectorError(errors.LOGIN_FAILED, waited.text)
    if waited.kind == "server_error":
        raise KonnectorError(errors.VENDOR_DOWN, "the shop answered 5xx to the login")
    listing = await ctx.page_html()
    bills = []
    for href in listing.css("tr.order a.details::attr(href)").getall()[:3]:
        await page.goto(href)  # in this tab, not the new one target="_blank" would open
        detail = await ctx.page_html()
        locale = detail.xpath("/html/@lang").get(default="")
        amount, currency = parse_amount(detail.css("dd.total::text").get(default=""), locale=locale)
        day = parse_date(detail.css("dd.date::text").get(default=""), locale=locale)
        number = detail.css("dd.order::text").get(default="")
        invoice = await ctx.get_file(click=page.locator("a.invoice"))  # the viewer's popup, read and closed
        bills.append(
            Bill(
                vendor="Kaffeeladen",
                date=day.isoformat(),
                amount=float(amount),
                currency=currency,
                vendor_ref=number,
                filename=f"{day}_{number}.pdf",
                content=invoice.data,
            )
        )
    await ctx.save_bills(bills, keys=["vendorRef"], file_id_attributes=["vendorRef"])
