"""Baseline (b): the job done as fast as a skilled author can with raw Playwright, no framework.

What a careful author does after reading the same measurements the framework is built on (the headless
shell, one context, JSON through a cookie-sharing HTTP client rather than the page), and nothing a framework would add
(no store, no dedup, no trace, no validation beyond the PDF magic bytes):

- the headless shell, one context; images, fonts, media and stylesheets aborted by a URL
  regular expression (matched in the driver: no Python round trip per request);
- login in the page (the site's JavaScript does CSRF and keeps the API token in sessionStorage), the
  token read from the login answer itself, the session cookie lifted from the context;
- then no more page driving: the bills API and every PDF through httpx with the cookie and the bearer,
  ``--concurrency`` downloads at a time (2 by default here, measured best on 2 cores; 6 for the others);
- the HTML bills printed *while* the downloads run, on ``--lanes`` pages of the one context at once (2 by
  default: measured faster than 1 and than 3 on 2 cores, see docs/performance.md), each lane taking the
  next bill as soon as it is free; the login page is the first lane, the others open while the login runs.
  Each printable page is fetched over HTTP and laid out with ``set_content`` (measured ~4× faster than
  ``goto``, which makes a navigation per bill; ``--print-via goto`` does that instead), then ``page.pdf``.
  ``--lanes 1 --concurrency 6`` is this script as it was before the lanes.

``python -m benchlib.baselines.raw_fast --url URL --out DIR``
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, Route, async_playwright

from benchlib.baselines._common import OFFLINE_ARGS, check_pdf, filename, finish, parser, save
from benchlib.baselines.floor_httpx import list_bills

BLOCKED = re.compile(r"^[^?#]*\.(?:png|jpe?g|gif|svg|webp|ico|woff2?|ttf|otf|css|mp4|webm)(?:[?#]|$)", re.I)
#: The framework's PdfPrinter options, so both print the same document.
PDF_OPTIONS: dict[str, Any] = {
    "format": "A4",
    "print_background": True,
    "margin": {"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
}


async def abort(route: Route) -> None:
    await route.abort()


async def log_in(page: Page, url: str, login: str, password: str) -> str:
    await page.goto(f"{url}/login")
    await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(login)
    await page.get_by_label("Password").fill(password)
    async with page.expect_response("**/api/session/login") as info:
        await page.get_by_role("button", name="Sign in").click()
    answer = await info.value
    if answer.status != 200:
        raise RuntimeError(f"login answered {answer.status}")
    token: str = (await answer.json())["token"]
    return token


def with_base(html: str, base: str) -> str:
    """The page with a ``<base href>``, so relative links still resolve once set with ``set_content``."""
    head = html.lower().find("<head>")
    tag = f'<base href="{base}">'
    return html[: head + 6] + tag + html[head + 6 :] if head >= 0 else tag + html


async def run(
    url: str, out: Path, login: str, password: str, chromium: str, concurrency: int, print_via: str, lanes: int
) -> None:
    started = time.perf_counter()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=OFFLINE_ARGS)
        context = await browser.new_context()
        await context.route(BLOCKED, abort)
        page = await context.new_page()
        # the other print pages open while the login runs (each is a renderer round trip, not a cost to wait for)
        login_task = asyncio.ensure_future(log_in(page, url, login, password))
        extra_pages = await asyncio.gather(*(context.new_page() for _ in range(lanes - 1)))
        token = await login_task
        login_s = time.perf_counter() - started
        cookies = {c["name"]: c["value"] for c in await context.cookies()}
        limits = httpx.Limits(max_connections=concurrency + lanes + 1)
        async with httpx.AsyncClient(
            base_url=url, cookies=cookies, limits=limits, timeout=60, headers={"Authorization": f"Bearer {token}"}
        ) as client:
            bills = await list_bills(client)
            gate = asyncio.Semaphore(concurrency)

            async def download(bill: dict[str, Any]) -> None:
                async with gate:
                    data = (await client.get(bill["links"]["pdf"])).raise_for_status().content
                save(out / filename(bill), check_pdf(data, bill["id"]))

            async def print_lane(lane: Page, queue: Iterator[dict[str, Any]]) -> None:
                for bill in queue:  # one shared iterator: a lane takes the next bill as soon as it is free
                    if print_via == "goto":
                        response = await lane.goto(url + bill["links"]["print"], wait_until="load")
                        if response is None or response.status != 200:
                            raise RuntimeError(f"{bill['id']}: print page answered {response and response.status}")
                    else:  # the HTML through the session, laid out in place: no navigation
                        answer = (await client.get(bill["links"]["print"])).raise_for_status()
                        await lane.set_content(with_base(answer.text, url + "/"), wait_until="load")
                    save(out / filename(bill), check_pdf(await lane.pdf(**PDF_OPTIONS), bill["id"]))

            async def print_all(html_bills: list[dict[str, Any]]) -> float:
                begun = time.perf_counter()
                queue = iter(html_bills)
                await asyncio.gather(*(print_lane(lane, queue) for lane in [page, *extra_pages]))
                return time.perf_counter() - begun

            async def download_all(pdf_bills: list[dict[str, Any]]) -> float:
                begun = time.perf_counter()
                await asyncio.gather(*(download(b) for b in pdf_bills))
                return time.perf_counter() - begun

            to_print = [b for b in bills if not b["links"]["pdf"]]
            print_s, download_s = await asyncio.gather(
                print_all(to_print), download_all([b for b in bills if b["links"]["pdf"]])
            )
        await browser.close()
    finish(
        out,
        bills,
        started,
        login_s=round(login_s, 4),
        print_s=round(print_s, 4),
        download_s=round(download_s, 4),
        pdfs=len(bills) - len(to_print),
        printed=len(to_print),
    )


def main() -> None:
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument(
        "--print-via",
        choices=["html", "goto"],
        default="html",
        help="html: fetch the printable page over HTTP and set_content it (default); goto: navigate",
    )
    # 2 downloads at a time: on loopback they are short, and more of them only take CPU from the printing
    # (200 bills, 2 lanes: 2 at once measured 0.97x the wall time of 6 and 0.91x of 4; 1 no better than 2)
    cli.set_defaults(concurrency=2)
    cli.add_argument("--lanes", type=int, default=2, help="pages printing at once on the one context (default 2)")
    args = cli.parse_args()
    if args.lanes < 1:
        cli.error("--lanes must be >= 1")
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(
        run(args.url, args.out, args.login, args.password, args.chromium, args.concurrency, args.print_via, args.lanes)
    )


if __name__ == "__main__":
    main()
