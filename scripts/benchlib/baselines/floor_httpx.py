"""Baseline (a), the floor: no browser at all, only httpx on the site's API with the session cookie.

It logs in the way the page's JavaScript does (CSRF token, then ``POST /api/session/login``), lists the
bills through the API, and fetches every PDF with bounded concurrency. HTML bills cannot be printed
without a browser: their printable page is fetched (so the floor pays the same requests) and saved as
``.html``. Nothing a connector does can beat this; the ratio to it says what the browser and the
framework cost on top of the network.

``python -m benchlib.baselines.floor_httpx --url URL --out DIR``
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from benchlib.baselines._common import check_pdf, filename, finish, parser, save


async def list_bills(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    first = (await client.get("/api/bills", params={"page": 1})).raise_for_status().json()

    async def page(number: int) -> list[dict[str, Any]]:
        answer = await client.get("/api/bills", params={"page": number, "per_page": first["per_page"]})
        items: list[dict[str, Any]] = answer.raise_for_status().json()["items"]
        return items

    rest = await asyncio.gather(*(page(n) for n in range(2, first["pages"] + 1)))
    return [*first["items"], *(bill for items in rest for bill in items)]


async def run(url: str, out: Path, login: str, password: str, concurrency: int) -> None:
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        csrf = (await client.get("/api/session/csrf")).raise_for_status().json()["csrf"]
        answer = await client.post(
            "/api/session/login", json={"email": login, "password": password}, headers={"X-CSRF-Token": csrf}
        )
        token = answer.raise_for_status().json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        login_s = time.perf_counter() - started
        bills = await list_bills(client)
        gate = asyncio.Semaphore(concurrency)

        async def one(bill: dict[str, Any]) -> None:
            async with gate:
                if bill["links"]["pdf"]:
                    data = (await client.get(bill["links"]["pdf"])).raise_for_status().content
                    save(out / filename(bill), check_pdf(data, bill["id"]))
                else:
                    page = (await client.get(bill["links"]["print"])).raise_for_status().content
                    save((out / filename(bill)).with_suffix(".html"), page)

        await asyncio.gather(*(one(bill) for bill in bills))
    finish(out, bills, started, login_s=round(login_s, 4), pdfs=sum(1 for b in bills if b["links"]["pdf"]), printed=0)


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.url, args.out, args.login, args.password, args.concurrency))


if __name__ == "__main__":
    main()
