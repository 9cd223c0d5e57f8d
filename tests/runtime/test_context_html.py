"""The HTML helpers as a connector meets them, on the run context, against the live shop site:
ctx.form_login, ctx.parse_html on a ctx.http answer, ctx.saved_values before and after saving, and
ctx.act_and_wait seeing rows of a reloaded page as new (the same rows before the reload were not)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from shop_site import ShopSite

from browserkonnector import Konnector, RunContext
from browserkonnector.testing._runner import ConnectorRun

pytestmark = pytest.mark.browser


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


probe = Konnector(slug="shop-probe", vendor="Kaffeeladen", fields=Fields)
SEEN: dict[str, Any] = {}


@probe.main
async def start(ctx: RunContext[Fields]) -> None:
    base = ctx.fields.base_url
    await ctx.form_login(
        {"username": ctx.fields.login, "password": ctx.fields.password},
        url=f"{base}/accounts/login/",
        success_url="**/orders/**",
        alert="[role=alert]",
    )
    answer = await ctx.http.get(f"{base}/orders/", params={"page": 2})
    SEEN["numbers"] = ctx.parse_html(answer).css("td.number::text").getall()
    SEEN["known"] = await ctx.saved_values("io.cozy.bills", "vendorRef")
    await ctx.add_data([{"vendor": "Kaffeeladen", "vendorRef": n} for n in SEEN["numbers"][:2]], "io.cozy.bills")
    SEEN["known_after"] = await ctx.saved_values("io.cozy.bills", "vendorRef", where={"vendor": "Kaffeeladen"})
    waited = await ctx.act_and_wait(
        lambda: ctx.page.goto(f"{base}/orders/?page=1"), url="**/never/**", element="tr.order", timeout=10
    )
    SEEN["first_of"] = (waited.kind, waited.text[:6])


@pytest.mark.shop_site(orders=25)
def test_the_context_helpers(shop_site: ShopSite, run_connector: Callable[..., ConnectorRun], tmp_path: Path) -> None:
    anna = shop_site.customers[0]
    run = run_connector(
        probe,
        fields={"base_url": shop_site.url, "login": anna.email, "password": anna.password},
        store_dir=tmp_path / "store",
    )
    assert run.ok, run.explain()
    orders = shop_site.orders()
    assert SEEN["numbers"] == [o.number for o in orders[20:]]
    assert SEEN["known"] == set()
    assert SEEN["known_after"] == {orders[20].number, orders[21].number}
    assert SEEN["first_of"] == ("element", orders[0].number)
