"""A connector that logs in once and keeps its session between runs (docs/sessions.md), on the demo site.

It declares how to log in (``@konnector.login``) and how to tell it is logged in (``logged_in_if``): the
framework restores the kept session, checks it, and logs in — second factor included — only when the
site dropped it; when the site drops it mid-run (a 401), it logs in again and retries the request.
``ctx.should_full_sync`` and ``ctx.saved_values`` let a run that follows a good one read only the newest
page and ask nothing for the bills it already has.

    browserkonnector run docs/examples/kept_session --field base_url=http://127.0.0.1:8000 \\
        --field login=alice@demo-energie.test --field 'password=Correct-Horse-Battery-42!'
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, SecretStr

from browserkonnector import Bill, Konnector, KonnectorError, RunContext, errors


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str
    otp_secret: SecretStr | None = None  # the account's TOTP seed, when it has a second factor


VENDOR = "Demo Énergie"
konnector = Konnector(
    slug="demo-kept-session", vendor=VENDOR, fields=Fields, secret_storage_keys=["apiToken"], login_page="**/login**"
)


@konnector.is_logged_in
async def logged_in(ctx: RunContext[Fields]) -> bool:
    """One API call with the token the kept session holds: no page is loaded when the session lives.
    (Without such a token, ``logged_in_if(url="{base_url}/bills", element="#bills")`` checks on the page.)"""
    token = ctx.session.kept("apiToken") if ctx.session is not None else None
    if not token:
        return False
    ctx.http.headers["Authorization"] = f"Bearer {token}"
    return (await ctx.http.get(f"{ctx.fields.base_url.rstrip('/')}/api/me")).is_success


@konnector.login
async def log_in(ctx: RunContext[Fields]) -> None:
    page, base = ctx.page, ctx.fields.base_url.rstrip("/")
    await page.goto(f"{base}/login")
    await page.get_by_label("Email").wait_for()
    if await page.locator("#accept-cookies").is_visible():  # not when the kept consent cookie came back
        await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(ctx.fields.login)
    await ctx.fill_secret(page.get_by_label("Password"), ctx.fields.password)
    async with page.expect_response("**/api/session/login") as answer:
        await page.get_by_role("button", name="Sign in").click()
    response = await answer.value
    if response.status in (401, 403):
        raise KonnectorError(errors.LOGIN_FAILED)
    if (await response.json()).get("status") == "otp_required":

        async def submit(code: str) -> bool:
            await page.get_by_label("Code").fill(code)
            async with page.expect_response("**/api/session/otp") as otp:
                await page.get_by_role("button", name="Verify").click()
            return (await otp.value).ok

        # A TOTP seed in the fields, else the Home app (Cozy job) or a prompt (terminal).
        await ctx.second_factor(submit, totp_secret=ctx.fields.otp_secret)
    await page.locator("#bills, #invoices").first.wait_for()
    await use_api_token(ctx)


async def use_api_token(ctx: RunContext[Fields]) -> None:
    """The site's API wants the bearer token its page keeps in sessionStorage (restored with the session)."""
    token = (await ctx.secrets_from_storage("apiToken")).get("apiToken")
    if not token:
        raise KonnectorError(errors.VENDOR_DOWN, "logged in, but the site kept no API token")
    ctx.http.headers["Authorization"] = f"Bearer {token}"


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base = ctx.fields.base_url.rstrip("/")
    if "Authorization" not in ctx.http.headers:  # logged in by a check that read no token (logged_in_if)
        await use_api_token(ctx)
    # A full sync looks at every bill; an incremental one stops at the first page of known bills (the API
    # lists the newest first) and asks nothing for a bill already saved.
    full = ctx.should_full_sync(max_age=timedelta(days=30))
    known = set() if full else await ctx.saved_values("io.cozy.bills", "vendorRef", where={"vendor": VENDOR})
    items: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        data = (
            (await ctx.http.get(f"{base}/api/bills", params={"page": page, "per_page": 50})).raise_for_status().json()
        )
        new = [i for i in data["items"] if i["vendorRef"] not in known]
        items += new
        pages, page = data["pages"], page + 1
        if len(new) < len(data["items"]):
            break  # reached what earlier runs saved
    await ctx.save_bills(
        [
            Bill(
                vendor=VENDOR,
                date=i["date"],
                amount=i["amount"],
                vendor_ref=i["vendorRef"],
                filename=f"{i['date']}_{i['vendorRef']}.pdf",
                fileurl=base + i["links"]["pdf"],
            )
            for i in items
            if i["links"]["pdf"]
        ],
        file_id_attributes=["vendorRef"],
        keys=["vendorRef"],
        qualification_label="energy_invoice",
    )
