"""A connector that awaits ``response.json()`` of the demo site's login answer, whatever its status.

With ``--rate-limit-every 2`` the login is answered 429 first; the page's own client retries it without
ever reading that answer's body, so Playwright's ``response.json()`` waits forever. The run time limit
must end it (``UNKNOWN_ERROR.TIMEOUT``) rather than let it hang.
"""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

from browserkonnector import Konnector, RunContext


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


konnector = Konnector(fields=Fields, slug="naive429", vendor="Naive")


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    page, base = ctx.page, ctx.fields.base_url.rstrip("/")
    await page.goto(f"{base}/login")
    await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(ctx.fields.login)
    await ctx.fill_secret(page.get_by_label("Password"), ctx.fields.password)
    async with page.expect_response("**/api/session/login") as answer:
        await page.get_by_role("button", name="Sign in").click()
    response = await answer.value
    ctx.log.info("login answered {}", response.status)
    await response.json()  # no bound of its own: the run's time limit is the one
