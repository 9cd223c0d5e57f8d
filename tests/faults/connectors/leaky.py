"""A connector that tries every way there is to print a secret: the redactor must catch them all.

It logs in to the demo site (the password typed key by key), then, *before* any call through
``ctx.http`` (the first point where cookies used to become known), reads the session cookie with
``context.cookies()`` and the API token with a raw ``page.evaluate``, and prints them: with the
logger at every level, in an f-string, with ``print`` on stdout and stderr, in a URL it navigates
to, typed into a page field, and in the text of the exception that ends the run.
"""

from __future__ import annotations

import sys

from loguru import logger
from pydantic import BaseModel, SecretStr

from browserkonnector import Konnector, RunContext


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


konnector = Konnector(fields=Fields, slug="leaky", vendor="Leaky", secret_storage_keys=["apiToken"])


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    page, base = ctx.page, ctx.fields.base_url.rstrip("/")
    password = ctx.fields.password.get_secret_value()
    await page.goto(f"{base}/login")
    await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(ctx.fields.login)
    await ctx.fill_secret(page.get_by_label("Password"), ctx.fields.password, press_sequentially=True)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/bills**", timeout=30_000)
    cookies = {c["name"]: c["value"] for c in await ctx.browser_context.cookies()}
    token = await page.evaluate("() => sessionStorage.getItem('apiToken')")
    session = cookies.get("session", "")
    leaks = f"session={session} token={token} password={password}"
    ctx.log.info(f"info: {leaks}")
    ctx.log.debug("debug: {}", leaks)
    ctx.log.warning("warning: " + leaks)
    logger.error(f"plain loguru: {leaks} cookies={cookies}")
    print(f"print stdout: {leaks}")
    print(f"print stderr: {leaks}", file=sys.stderr)
    print(repr(cookies), flush=True)
    await page.goto(f"{base}/bills?token={token}&session={session}&pw={password}")
    await page.evaluate("() => { const i = document.createElement('input'); i.id = 'leak'; document.body.append(i); }")
    await page.locator("#leak").fill(f"{token} {session}")
    await page.locator("#leak").focus()
    await page.keyboard.type(password)
    raise RuntimeError(f"giving up, holding {leaks}")
