"""Workload 5: HTML bills printed to PDF per second — the framework's helpers against bare ``page.pdf``.

All variants print the same documents (the demo site's printable bills, generated in-process: no
network, pure printing) with the same PDF options, in one browser (headless shell), in turn, round
after round, so that load noise hits them alike:

- ``floor``: one page reused, ``set_content`` + ``page.pdf`` (the bare minimum);
- ``printer``: ``PdfPrinter.from_html`` on one printer kept for the loop (what ``ctx.html_to_pdf`` does);
- ``html_to_pdf``: the one-call function, once per bill (it opens and closes a page each time).

``python -m benchlib.w_print --bills 50 --rounds 3`` prints one JSON line: bills/s per variant (median).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from demo_vendor_site.config import SiteConfig
from demo_vendor_site.invoice import print_html
from demo_vendor_site.state import SiteState
from playwright.async_api import BrowserContext, async_playwright

from benchlib.report import Row
from browserkonnector.browser import LAUNCH_ARGS, PDF_OPTIONS, PdfPrinter, find_chromium, html_to_pdf

PDF_MAGIC = b"%PDF-"


def documents(count: int, seed: int = 42) -> list[str]:
    """``count`` printable bills of the demo site's first user."""
    state = SiteState(SiteConfig(bills=count, seed=seed))
    account = state.account(None)
    bills = state.catalog.newest_first(seed, account, count, 0, count)
    return [print_html(bill, seed) for bill in bills]


async def _timed(docs: list[str], one: Callable[[str], Awaitable[bytes]]) -> float:
    started = time.perf_counter()
    for html in docs:
        data = await one(html)
        if not data.startswith(PDF_MAGIC):
            raise RuntimeError("a print gave no PDF")
    return len(docs) / (time.perf_counter() - started)


async def run(count: int, rounds: int) -> dict[str, Any]:
    docs = documents(count)
    rates: dict[str, list[float]] = {"floor": [], "printer": [], "html_to_pdf": []}
    async with async_playwright() as playwright:
        executable = find_chromium(headless=True)
        browser = await playwright.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
        context: BrowserContext = await browser.new_context()
        page = await context.new_page()

        async def floor(html: str) -> bytes:
            await page.set_content(html, wait_until="load")
            return await page.pdf(**PDF_OPTIONS)

        printer = PdfPrinter(context)

        async def reused(html: str) -> bytes:
            return await printer.from_html(html)

        async def one_call(html: str) -> bytes:
            return await html_to_pdf(context, html)

        variants: dict[str, Callable[[str], Awaitable[bytes]]] = {
            "floor": floor,
            "printer": reused,
            "html_to_pdf": one_call,
        }
        for variant in variants.values():  # warm-up: first page, fonts, code paths
            await _timed(docs[:2], variant)
        for number in range(rounds):
            order = list(variants)
            order = order[number % len(order) :] + order[: number % len(order)]  # rotate who goes first
            for name in order:
                rates[name].append(await _timed(docs, variants[name]))
        await printer.close()
        version = browser.version
        await browser.close()
    return {
        "bills": count,
        "rounds": rounds,
        "chromium": version,
        "executable": str(executable),
        **{f"{name}_per_s": round(statistics.median(values), 2) for name, values in rates.items()},
        "samples": {name: [round(v, 2) for v in values] for name, values in rates.items()},
    }


def printing(bills: int, rounds: int, log: Callable[[str], None]) -> list[Row]:
    """Workload 5's rows (the worker runs in its own process, like every measured variant)."""
    from benchlib.common import worker

    log(f"workload 5: print to PDF, {bills} HTML bills, {rounds} rounds")
    result = worker("w_print", "--bills", str(bills), "--rounds", str(rounds))
    samples = result["samples"]
    log(f"  bills/s: floor {samples['floor']}, PdfPrinter {samples['printer']}, html_to_pdf {samples['html_to_pdf']}")
    return [
        Row(
            "5",
            "print HTML bills to PDF: html_to_pdf() per bill vs bare page.pdf on one reused page",
            "/s",
            samples["html_to_pdf"],
            value_label="html_to_pdf",
            baseline=samples["floor"],
            baseline_label="bare page.pdf",
            target_op=">=",
            target=0.8,
            target_text="≥ 0.8",
        ),
        Row(
            "5",
            "… PdfPrinter.from_html on one printer (what ctx.html_to_pdf uses) vs the same floor",
            "/s",
            samples["printer"],
            value_label="PdfPrinter",
            baseline=samples["floor"],
            baseline_label="bare page.pdf",
            target_op=">=",
            target=0.8,
            target_text="≥ 0.8",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bills", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.bills, args.rounds))), flush=True)


if __name__ == "__main__":
    main()
