"""Baseline for the heavy SPA: the bank job done with raw Playwright and hand-written JavaScript.

What an author writes without the framework: the headless shell, one context, one page; unlock the app;
read the accounts from IndexedDB and every operation of each account from the virtualised table with a
JavaScript scroll-and-collect loop injected into the page (waiting for the previous account's rows to
go); write everything into ``--out/bank.json``. No store, no dedup, no trace, no failure bundle.

``python -m benchlib.baselines.raw_bank --url URL --out DIR --password PW``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from benchlib.baselines._common import HEADLESS_SHELL, OFFLINE_ARGS

READ_ACCOUNTS = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open('bank');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const req = open.result.transaction('accounts').objectStore('accounts').getAll();
    req.onsuccess = () => resolve(req.result);
  };
})"""
# The scroll-and-collect loop such a connector injects (what ctx.collect_rows replaces).
COLLECT = """async (account) => {
  const box = document.querySelector('#ops-scroll');
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const found = new Map();
  const rows = () => [...box.querySelectorAll('.op-row')];
  for (let i = 0; i < 600 && rows().some(r => r.dataset.accountId !== account); i++) await sleep(50);
  box.scrollTop = 0;
  await sleep(50);
  for (let round = 0; round < 1000; round++) {
    let fresh = 0;
    for (const r of rows()) {
      if (r.dataset.accountId !== account || found.has(r.dataset.opId)) continue;
      found.set(r.dataset.opId, {id: r.dataset.opId, date: r.querySelector('time').getAttribute('datetime'),
        label: r.querySelector('.label').textContent, amount: r.querySelector('.amount').dataset.amount});
      fresh++;
    }
    const before = box.scrollTop;
    box.scrollTop = before + box.clientHeight * 0.8;
    await sleep(50);
    if (!fresh && box.scrollTop === before) break;
  }
  return [...found.values()];
}"""


async def run(url: str, out: Path, password: str, chromium: str) -> None:
    started = time.perf_counter()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=OFFLINE_ARGS)
        context = await browser.new_context(locale="en-US")
        page = await context.new_page()
        await page.goto(url)
        await page.locator("#pw").fill(password, timeout=90_000)
        login_shown_s = time.perf_counter() - started
        await page.locator("#unlock").click()
        await page.locator("nav .account").first.wait_for(timeout=90_000)
        accounts: list[dict[str, Any]] = sorted(await page.evaluate(READ_ACCOUNTS), key=lambda a: a["id"])
        operations = []
        for account in accounts:
            await page.locator(f'nav .account[data-account-id="{account["id"]}"]').click()
            operations += [{**op, "account": account["id"]} for op in await page.evaluate(COLLECT, account["id"])]
        await browser.close()
    (out / "bank.json").write_text(json.dumps({"accounts": accounts, "operations": operations}), encoding="utf-8")
    print(
        json.dumps(
            {
                "accounts": len(accounts),
                "operations": len(operations),
                "login_shown_s": round(login_shown_s, 4),
                "total_s": round(time.perf_counter() - started, 4),
            }
        ),
        flush=True,
    )


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--url", required=True)
    cli.add_argument("--out", type=Path, required=True)
    cli.add_argument("--password", required=True)
    cli.add_argument("--chromium", default=HEADLESS_SHELL)
    args = cli.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args.url, args.out, args.password, args.chromium))


if __name__ == "__main__":
    main()
