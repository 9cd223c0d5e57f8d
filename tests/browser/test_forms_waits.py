"""act_and_wait, form_login and the HTML helpers in a real Chromium, against the shop site (a classic
form site) and a small single-page app whose password field sits outside any form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from shop_site import ShopConfig, ShopSite
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector._redact import Redactor
from browserkonnector.browser import (
    NothingHappened,
    SessionLost,
    act_and_wait,
    form_login,
    get_html,
    page_html,
    session_http,
)
from browserkonnector.testing._server import BackgroundServer

pytestmark = [pytest.mark.anyio, pytest.mark.browser]
PIN = "4711-secret"


@pytest.fixture
def shop() -> Iterator[ShopSite]:
    with ShopSite(ShopConfig(orders=25, other_orders=2)) as site:
        yield site


def pin_app() -> Starlette:
    """A password-only unlock screen: no <form>, Enter sends it with fetch(); a wrong PIN shows an alert."""
    page = """<!doctype html><html><body><label for=pin>PIN</label><input id=pin type=password>
<div id=out></div><script>
pin.addEventListener('keydown', async (e) => {
  if (e.key !== 'Enter') return;
  const r = await fetch('/api/unlock', {method: 'POST', body: pin.value});
  out.innerHTML = r.ok ? '<h1 id=accounts>Accounts</h1>' : '<p role=alert>Wrong PIN</p>';
});</script></body></html>"""

    late = """<!doctype html><html><body><main id=app></main><script>
setTimeout(() => {
  app.innerHTML = '<form><label for=user>User</label><input id=user><label for=pw>Password</label>' +
    '<input id=pw type=password><button>Sign in</button></form>';
  document.querySelector('form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch('/api/late-login', {method: 'POST'});
    app.innerHTML = r.ok ? '<h1 id=welcome>Welcome</h1>' : '<p class=down>Service unavailable</p>';
  });
}, 700);</script></body></html>"""
    calls = {"late-login": 0}

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def late_page(request: Request) -> Response:
        return HTMLResponse(late)

    async def unlock(request: Request) -> Response:
        ok = (await request.body()).decode() == PIN
        return JSONResponse({"ok": ok}, status_code=200 if ok else 401)

    async def late_login(request: Request) -> Response:
        calls["late-login"] += 1
        return JSONResponse({}, status_code=503 if calls["late-login"] == 1 else 200)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/late", late_page),
            Route("/api/unlock", unlock, methods=["POST"]),
            Route("/api/late-login", late_login, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def pin_site() -> Iterator[str]:
    with BackgroundServer(pin_app()) as server:
        yield server.url


def anna(shop: ShopSite, password: str | None = None) -> dict[str, Any]:
    customer = shop.customers[0]
    return {"username": customer.email, "password": SecretStr(password or customer.password)}


async def test_form_login_is_scoped_to_the_password_form(tab: Any, shop: ShopSite) -> None:
    """The header's GET form has a "Log in" button too; only the login form's is clicked."""
    redactor = Redactor()
    waited = await form_login(
        tab,
        anna(shop),
        redactor=redactor,
        url=shop.url + "/accounts/login/",
        success_url="**/orders/**",
        alert="[role=alert]",
        timeout=15,
    )
    assert waited.kind == "url"
    assert waited.url == shop.url + "/orders/"
    assert shop.stats()["logins"] == 1
    assert shop.customers[0].password not in redactor.redact(f"typed {shop.customers[0].password}")
    document = await page_html(tab)
    assert len(document.css("tr.order")) == 20


async def test_a_refused_password_is_login_failed_with_the_sites_message(tab: Any, shop: ShopSite) -> None:
    with pytest.raises(KonnectorError) as raised:
        await form_login(
            tab,
            anna(shop, "wrong-one"),
            redactor=Redactor(),
            url=shop.url + "/accounts/login/",
            success_url="**/orders/**",
            alert="[role=alert]",
            timeout=15,
        )
    assert raised.value.code == errors.LOGIN_FAILED
    assert "korrekte E-Mail-Adresse" in str(raised.value)  # the shop's own language: no en in the browser's
    assert shop.stats()["login_failures"] == 1


async def test_an_old_alert_does_not_count_but_a_re_rendered_one_does(tab: Any, shop: ShopSite) -> None:
    await form_login_expecting_failure(tab, shop)  # an alert is now on the page
    submit = tab.locator("#login-form button[type=submit]")
    await tab.locator("#id_password").fill("still-wrong")
    waited = await act_and_wait(tab, submit, url="**/orders/**", alert="[role=alert]", timeout=15)
    assert waited.kind == "alert"  # the second refusal: a new page, a new alert
    with pytest.raises(NothingHappened, match="a new alert"):
        await act_and_wait(tab, lambda: tab.locator("#id_username").fill("x"), alert="[role=alert]", timeout=1)


async def form_login_expecting_failure(tab: Any, shop: ShopSite) -> None:
    with pytest.raises(KonnectorError):
        await form_login(
            tab,
            anna(shop, "wrong"),
            redactor=Redactor(),
            url=shop.url + "/accounts/login/",
            success_url="**/orders/**",
            alert="[role=alert]",
            timeout=15,
        )


async def test_a_5xx_login_is_retried_then_vendor_down(tab: Any, shop: ShopSite) -> None:
    shop.config.error_rate = 1.0
    with pytest.raises(KonnectorError) as raised:
        await form_login(
            tab,
            anna(shop),
            redactor=Redactor(),
            url=shop.url + "/accounts/login/",
            success_url="**/orders/**",
            alert="[role=alert]",
            timeout=15,
            retries=1,
        )
    assert raised.value.code == errors.VENDOR_DOWN
    assert "500" in str(raised.value)
    assert shop.stats()["status_500"] == 2


async def test_a_5xx_then_success_logs_in(tab: Any, shop: ShopSite) -> None:
    shop.config.error_rate = 0.34  # knobbed requests 3 and 6 fail
    async with httpx.AsyncClient() as client:  # knobbed requests 1 and 2: the login POST is the 3rd
        for _ in range(2):
            await client.get(shop.url + "/orders/")
    waited = await form_login(
        tab,
        anna(shop),
        redactor=Redactor(),
        url=shop.url + "/accounts/login/",
        success_url="**/orders/**",
        alert="[role=alert]",
        timeout=15,
    )
    assert waited.kind == "url"
    assert shop.stats()["status_500"] == 1
    assert shop.stats()["logins"] == 1


async def test_password_only_field_outside_a_form(tab: Any, pin_site: str) -> None:
    await tab.goto(pin_site)
    with pytest.raises(KonnectorError) as raised:
        await form_login(
            tab, {"PIN": SecretStr("0000")}, redactor=Redactor(), api="**/api/unlock", alert="[role=alert]", timeout=10
        )
    assert raised.value.code == errors.LOGIN_FAILED
    waited = await form_login(
        tab, {"pin": SecretStr(PIN)}, redactor=Redactor(), api="**/api/unlock", alert="[role=alert]", timeout=10
    )
    assert waited.kind == "response"
    assert waited.response is not None
    assert waited.response.status == 200


async def test_a_retry_waits_for_a_form_its_script_renders_late(tab: Any, pin_site: str) -> None:
    """Each attempt reloads the login page, whose script draws the form 0.7 s later: the fields are waited
    for (within the attempt's timeout), not judged missing at once as a changed site."""
    waited = await form_login(
        tab,
        {"User": "anna", "Password": SecretStr("pw-for-anna-77")},
        redactor=Redactor(),
        url=pin_site + "/late",
        success_element="#welcome",
        unavailable=".down",
        timeout=10,
    )
    assert waited.kind == "element"
    with pytest.raises(KonnectorError) as raised:
        await form_login(
            tab,
            {"Nickname": "anna"},
            redactor=Redactor(),
            url=pin_site + "/late",
            success_element="#welcome",
            timeout=2,
            retries=0,
        )
    assert raised.value.code == errors.SITE_CHANGED
    assert "'Nickname'" in str(raised.value)


async def test_act_and_wait_element_and_response(tab: Any, pin_site: str) -> None:
    await tab.goto(pin_site)
    await tab.locator("#pin").fill(PIN)
    waited = await act_and_wait(tab, lambda: tab.locator("#pin").press("Enter"), element="#accounts", timeout=10)
    assert (waited.kind, waited.text) == ("element", "Accounts")
    with pytest.raises(ValueError, match="at least one"):
        await act_and_wait(tab, "#pin")


async def test_get_html_notices_the_login_page(ctx: Any, tab: Any, shop: ShopSite) -> None:
    await form_login(
        tab, anna(shop), redactor=Redactor(), url=shop.url + "/accounts/login/", success_url="**/orders/**", timeout=15
    )
    http = session_http(ctx)
    try:
        second = await get_html(http, shop.url + "/orders/", params={"page": 2}, login_url="**/accounts/login/**")
        assert len(second.css("tr.order")) == 5
        same = await http.get_parsed(shop.url + "/orders/?page=2", parse="html")
        assert same.css("tr.order td.number::text").getall() == second.css("tr.order td.number::text").getall()
        with pytest.raises(httpx.HTTPStatusError):
            await get_html(http, shop.url + "/orders/", params={"page": 99})
        shop.expire_sessions()
        order = shop.orders()[0]
        with pytest.raises(SessionLost) as lost:
            await get_html(http, f"{shop.url}/orders/{order.number}/?key={order.key}", login_url="**/accounts/login/**")
        assert lost.value.code == errors.VENDOR_DOWN
        assert order.key not in str(lost.value)
        unchecked = await get_html(http, shop.url + "/orders/")  # without login_url: the login page, parsed
        assert unchecked.css("#id_password")
    finally:
        await http.aclose()
