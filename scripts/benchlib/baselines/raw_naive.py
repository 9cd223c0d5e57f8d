"""Baseline (c): raw Playwright as most tutorials write it — drive the UI, click every link.

Same browser binary as the others (the headless shell), so the comparison is about the approach, not
the binary. Nothing blocked, one bill at a time, every file through the UI:

- log in through the form, wait for the bills table, click "Load more" until every row is there;
- for each row, the bill's date, label and amount are read from the table (scraping, as tutorials do),
  then its link is clicked: "Download" and "Get PDF" (a ``blob:`` made by the page) give a download
  event (``expect_download`` + ``save_as``); "View PDF" opens a popup on the inline PDF, whose URL is
  then fetched with the context's request API (the tutorials' answer to the PDF viewer);
- each HTML bill's page is opened and its "Printable version" link clicked: the popup is printed with
  ``page.pdf``.

``python -m benchlib.baselines.raw_naive --url URL --out DIR``
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, async_playwright

from benchlib.baselines._common import OFFLINE_ARGS, check_file, check_pdf, finish, parser, save
from benchlib.baselines.raw_fast import PDF_OPTIONS


async def log_in(page: Page, url: str, login: str, password: str) -> None:
    await page.goto(f"{url}/login")
    await page.locator("#accept-cookies").click()
    await page.get_by_label("Email").fill(login)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("tr.bill").first.wait_for()


async def load_all_rows(page: Page) -> Locator:
    rows = page.locator("tr.bill")
    more = page.locator("#load-more")
    while await more.is_visible():
        before = await rows.count()
        await more.click()
        await page.wait_for_function(f"document.querySelectorAll('tr.bill').length > {before}")
    return rows


async def scrape(row: Locator) -> dict[str, Any]:
    return {
        "id": await row.get_attribute("data-bill-id"),
        "date": await row.locator("td.date").inner_text(),
        "label": await row.locator("td.label").inner_text(),
        "amount": await row.locator("td.amount").inner_text(),
    }


async def save_row_file(page: Page, row: Locator, target: Path) -> str:
    """Click the row's link and save what comes; returns the bill's kind."""
    for kind, selector in (("download", "a.bill-download"), ("blob", "button.bill-blob")):
        link = row.locator(selector)
        if await link.count():
            async with page.expect_download() as info:
                await link.click()
            download = await info.value
            await download.save_as(target)
            check_file(target)
            return kind
    view = row.locator("a.bill-view")
    if await view.count():
        async with page.expect_popup() as popup_info:
            await view.click()
        popup = await popup_info.value
        response = await page.context.request.get(await view.get_attribute("href") or "")
        save(target, check_pdf(await response.body(), target.name))
        await popup.close()
        return "inline"
    return "html"


async def print_bill(page: Page, url: str, bill_id: str, target: Path) -> None:
    await page.goto(f"{url}/bills/{bill_id}")
    async with page.expect_popup() as popup_info:
        await page.locator("a.bill-print").click()
    popup = await popup_info.value
    await popup.wait_for_load_state("load")
    save(target, check_pdf(await popup.pdf(**PDF_OPTIONS), target.name))
    await popup.close()


async def run(url: str, out: Path, login: str, password: str, chromium: str) -> None:
    started = time.perf_counter()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=OFFLINE_ARGS)
        context = await browser.new_context(accept_downloads=True, base_url=url)
        page = await context.new_page()
        await log_in(page, url, login, password)
        login_s = time.perf_counter() - started
        rows = await load_all_rows(page)
        bills: list[dict[str, Any]] = []
        to_print: list[dict[str, Any]] = []
        for index in range(await rows.count()):
            row = rows.nth(index)
            bill = await scrape(row)
            bill["kind"] = await save_row_file(page, row, out / f"{bill['id']}.pdf")
            bills.append(bill)
            if bill["kind"] == "html":
                to_print.append(bill)
        for bill in to_print:
            await print_bill(page, url, bill["id"], out / f"{bill['id']}.pdf")
        await browser.close()
    finish(out, bills, started, login_s=round(login_s, 4), pdfs=len(bills) - len(to_print), printed=len(to_print))


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.url, args.out, args.login, args.password, args.chromium))


if __name__ == "__main__":
    main()
