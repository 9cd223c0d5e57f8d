"""A test connector: the server-rendered shop (connectors/shop_vendor) with its login *declared*.

On this site a lost session is not a 401: every page redirects to the login form, which answers 200.
Declaring ``login_page`` is what lets the framework see it, log in again and fetch the page once more
(``ctx.get_html`` then never meets the login page). The logged-in check is one request that must not be
redirected there (``logged_in_if(api=...)``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

from parsel import Selector

from browserkonnector import Bill, Konnector, RunContext, logged_in_if

_DIR = Path(__file__).resolve().parents[3] / "connectors" / "shop_vendor"
_SPEC = importlib.util.spec_from_file_location(
    "shop_vendor_for_sessions", _DIR / "__init__.py", submodule_search_locations=[str(_DIR)]
)
assert _SPEC is not None
assert _SPEC.loader is not None
_PACKAGE = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _PACKAGE
_SPEC.loader.exec_module(_PACKAGE)
shop = sys.modules["shop_vendor_for_sessions.konnector"]
Fields = shop.Fields

konnector: Konnector[Any] = Konnector(slug="shop-kept", fields=Fields, vendor=shop.VENDOR, login_page=shop.LOGIN_PAGE)
konnector.is_logged_in(logged_in_if(api="{base_url}/orders/"))


@konnector.login
async def log_in(ctx: RunContext[Any]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    await ctx.form_login(
        {"username": ctx.fields.login, "password": ctx.fields.password},
        url=f"{base}/accounts/login/",
        success_url="**/orders/**",
        alert="[role=alert]",
    )


@konnector.main
async def start(ctx: RunContext[Any]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    known = await ctx.saved_values("io.cozy.bills", "vendorRef", where={"vendor": shop.VENDOR})
    page: Selector | None = await ctx.get_html(f"{base}/orders/", login_url=shop.LOGIN_PAGE)
    bills: list[Bill] = []
    while page is not None:
        new = [
            row.css("a.details::attr(href)").get(default="")
            for row in page.css("tr.order")
            if row.css("td.number::text").get() not in known
        ]
        bills += await asyncio.gather(*(shop.order_bill(ctx, url) for url in new))
        following = page.css("a[rel=next]::attr(href)").get()
        page = await ctx.get_html(following, login_url=shop.LOGIN_PAGE) if following else None
    await ctx.save_bills(
        bills, file_id_attributes=["vendorRef"], keys=["vendorRef"], qualification_label="appliance_invoice"
    )
