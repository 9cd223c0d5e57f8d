"""A connector without a browser: the demo site's API through ``ctx.http`` (``request_factory``).

Some vendors need no JavaScript: their login is a form or a JSON API. ``Konnector(..., browser=False)``
then starts no Chromium; ``ctx.http`` is an httpx client with a cookie jar, a desktop User-Agent and
retries with backoff (5xx, 429 with Retry-After, connection errors). The save pipeline is the same.

    browserkonnector run docs/examples/http_only --field base_url=http://127.0.0.1:8000 \\
        --field login=alice@demo-energie.test --field 'password=Correct-Horse-Battery-42!'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from browserkonnector import Bill, Konnector, KonnectorError, RunContext, errors


class Fields(BaseModel):
    login: str
    password: SecretStr
    base_url: str


konnector = Konnector(slug="demo-http-only", vendor="Demo Énergie", fields=Fields, browser=False)


@konnector.main
async def start(ctx: RunContext[Fields]) -> None:
    base, http = ctx.fields.base_url.rstrip("/"), ctx.http
    csrf = (await http.get(f"{base}/api/session/csrf")).raise_for_status().json()["csrf"]
    ctx.secret(csrf)
    answer = await http.post(
        f"{base}/api/session/login",
        headers={"X-CSRF-Token": csrf},
        json={"email": ctx.fields.login, "password": ctx.fields.password.get_secret_value()},
    )
    if answer.status_code == 401:
        raise KonnectorError(errors.LOGIN_FAILED)
    token = answer.raise_for_status().json()["token"]
    ctx.secret(token)
    http.headers["Authorization"] = f"Bearer {token}"

    items: list[dict[str, Any]] = []
    page, pages = 1, 1
    while page <= pages:
        data = (await http.get(f"{base}/api/bills", params={"page": page})).raise_for_status().json()
        ctx.shapes.observe("bills api", data)
        items += data["items"]
        pages, page = data["pages"], page + 1
    ctx.shapes.count("bills", len(items))

    with_pdf = [i for i in items if i["links"]["pdf"]]  # HTML-only bills need a browser to be printed
    ctx.log.info("{} bills, {} with a PDF", len(items), len(with_pdf))
    await ctx.save_bills(
        [
            Bill(
                vendor="Demo Énergie",
                date=i["date"],
                amount=i["amount"],
                vendor_ref=i["vendorRef"],
                filename=f"{i['date']}_{i['vendorRef']}.pdf",
                fileurl=base + i["links"]["pdf"],
            )
            for i in with_pdf
        ],
        file_id_attributes=["vendorRef"],
        keys=["vendorRef"],
    )
