"""Benchmarks of the browser layer (not a test: ``.venv/bin/python tests/browser/bench_browser.py [section...]``).

Medians over several runs against the local test site of ``conftest.py``, headless shell. The machine is
shared (2 cores): the load average is printed with the numbers, read them as upper bounds.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from conftest import SiteState, build_app

from browserkonnector._redact import Redactor
from browserkonnector._request import request_factory
from browserkonnector.browser import (
    BrowserOptions,
    BrowserSession,
    PdfPrinter,
    Tracer,
    capture_json,
    fill_secret,
    install_blocking,
    session_http,
    wait_for_json,
)
from browserkonnector.browser._blocking import DEFAULT_BLOCKED
from browserkonnector.browser.toolkit._pdf import PDF_OPTIONS
from browserkonnector.testing._server import BackgroundServer


async def timed(fn: Callable[[], Awaitable[Any]], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        await fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, values: list[float], unit: str = "ms") -> float:
    median = statistics.median(values)
    print(f"  {name:58s} median {median:8.2f} {unit}   min {min(values):8.2f}   (n={len(values)})")
    return median


async def bench_contexts(session: BrowserSession) -> None:
    print("context + page creation")

    async def with_ours() -> None:
        context = await session.new_context()
        await context.new_page()
        await context.close()

    async def bare() -> None:
        context = await session.browser.new_context()
        await context.new_page()
        await context.close()

    report("session.new_context() + new_page() (+ close)", await timed(with_ours, 15))
    report("browser.new_context() + new_page() (+ close), no blocking", await timed(bare, 15))


async def bench_blocking(session: BrowserSession, url: str) -> None:
    print("blocking: SPA with 40 images (20 ms each server-side), a font, a video, a CSS, one XHR")
    modes = ["none", "route-all, fallback only (pure overhead)", "route-all + block", "regex + block (default)"]
    results: dict[str, list[float]] = {m: [] for m in modes}

    async def one(mode: str) -> float:
        context = await session.browser.new_context()
        if mode.startswith("route-all, fallback"):

            async def passthrough(route: Any) -> None:
                await route.fallback()

            await context.route("**/*", passthrough)
        elif mode == "route-all + block":
            await install_blocking(context, DEFAULT_BLOCKED, route_all=True)
        elif mode.startswith("regex"):
            await install_blocking(context, DEFAULT_BLOCKED)
        page = await context.new_page()
        start = time.perf_counter()
        await page.goto(url + "/images?n=40&delay=0.02", wait_until="load")
        await page.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
        elapsed = (time.perf_counter() - start) * 1000
        await context.close()
        return elapsed

    for mode in modes:
        await one(mode)  # warm up
    for _ in range(9):
        for mode in modes:
            results[mode].append(await one(mode))
    for mode in modes:
        report(f"load until data visible, {mode}", results[mode])


async def bench_capture(session: BrowserSession, url: str) -> None:
    print("capture: the blocking page, default blocking, with and without an intercepting capture_json")
    modes = ["blocking only", "blocking + capture"]
    results: dict[str, list[float]] = {m: [] for m in modes}

    async def one(mode: str) -> float:
        context = await session.new_context()  # with its network owner and its blocking
        page = await context.new_page()
        start = time.perf_counter()
        if mode == "blocking only":
            await page.goto(url + "/images?n=40&delay=0.02", wait_until="load")
        else:
            async with capture_json(page, "**/api/bills*") as bills:
                await page.goto(url + "/images?n=40&delay=0.02", wait_until="load")
                await bills.wait(10)
        await page.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
        elapsed = (time.perf_counter() - start) * 1000
        await context.close()
        return elapsed

    for mode in modes:
        await one(mode)  # warm up
    for _ in range(9):
        for mode in modes:
            results[mode].append(await one(mode))
    for mode in modes:
        report(f"load until data visible, {mode}", results[mode])


async def bench_json(session: BrowserSession, url: str) -> None:
    print("JSON: capture by driving the page vs the session's HTTP client")
    context = await session.new_context()
    page = await context.new_page()

    async def capture(mode: str) -> None:
        await wait_for_json(page, "**/api/bills*", action=lambda: page.goto(url + "/images?n=0"), mode=mode)

    report("wait_for_json(goto page with the XHR), intercept mode", await timed(lambda: capture("intercept"), 15))
    report("wait_for_json(goto page with the XHR), listen mode", await timed(lambda: capture("listen"), 15))
    async with session_http(context) as http:
        report("session_http GET /api/bills + .json()", await timed(lambda: _get_json(http, url + "/api/bills"), 30))

    async def via_context() -> None:
        response = await context.request.get(url + "/api/bills")
        await response.json()

    report("context.request.get /api/bills + .json()", await timed(via_context, 30))
    await context.close()


async def _get_json(http: Any, url: str) -> Any:
    return (await http.get(url)).json()


async def bench_pdf(session: BrowserSession, url: str) -> None:
    print("print to PDF: 30 one-page HTML bills")
    async with request_factory() as http:
        bills = [(await http.get(f"{url}/bill/{n}")).text for n in range(30)]
    context = await session.new_context()
    floor_page = await context.new_page()

    async def bare() -> None:
        for html in bills:
            await floor_page.set_content(html, wait_until="load")
            await floor_page.pdf(**PDF_OPTIONS)

    printer = PdfPrinter(context)

    async def ours() -> None:
        for html in bills:
            await printer.from_html(html)

    bare_ms, ours_ms = [], []
    await bare()
    await ours()
    for _ in range(5):  # interleaved: the machine's load drifts
        bare_ms += await timed(bare, 1, warmup=0)
        ours_ms += await timed(ours, 1, warmup=0)
    floor = report("bare set_content + pdf, one reused page (30 bills)", bare_ms)
    mine = report("PdfPrinter.from_html (30 bills)", ours_ms)
    print(
        f"  -> {30_000 / floor:.1f} bills/s floor, {30_000 / mine:.1f} bills/s PdfPrinter "
        f"({floor / mine:.2f}x the floor)"
    )
    await printer.close()
    await context.close()


async def bench_tracing(session: BrowserSession, url: str, state: SiteState, tmp: Path) -> None:
    print("tracing: short login flow (goto, 2 fills, click, wait), tracer start..stop included")
    modes = ["off", "retain-on-failure (success: discarded)", "on (kept + scrubbed)"]
    results: dict[str, list[float]] = {m: [] for m in modes}
    stops: dict[str, list[float]] = {m: [] for m in modes}

    async def one(mode: str) -> float:
        context = await session.new_context()
        redactor = Redactor()
        tracer = Tracer(context, mode.split(" ")[0], redactor)  # type: ignore[arg-type]
        start = time.perf_counter()
        await tracer.start()
        page = await context.new_page()
        await page.goto(url + "/login")
        await page.fill("#username", state.username)
        await fill_secret(page.locator("#password"), state.password, redactor=redactor)
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=Welcome Alice")
        stop = time.perf_counter()
        await tracer.stop(failed=False, path=tmp / "trace.zip")
        stops[mode].append((time.perf_counter() - stop) * 1000)
        elapsed = (time.perf_counter() - start) * 1000
        await context.close()
        return elapsed

    for mode in modes:
        await one(mode)
    for _ in range(7):
        for mode in modes:
            results[mode].append(await one(mode))
    off = statistics.median(results["off"])
    for mode in modes:
        median = report(mode, results[mode])
        print(
            f"{'':62s}-> {100 * (median - off) / off:+.0f}% vs off; "
            f"stop() alone {statistics.median(stops[mode]):.1f} ms"
        )


async def bench_cookie_sync(session: BrowserSession, url: str) -> None:
    print("session HTTP: cost of sharing the browser's cookies, per request")
    context = await session.new_context()
    page = await context.new_page()
    await page.goto(url + "/blank")
    await context.add_cookies([{"name": f"c{i}", "value": f"value-{i}-abcdefgh", "url": url} for i in range(10)])
    report("context.cookies() round trip (10 cookies)", await timed(context.cookies, 50))
    target = url + "/api/bills"
    async with request_factory(cookies=await context.cookies()) as plain:
        report("request_factory client, cookies copied once (no sync)", await timed(lambda: plain.get(target), 50))
    async with session_http(context) as synced:
        report("session_http, browser idle (sync skipped)", await timed(lambda: synced.get(target), 50))
    async with session_http(context, max_age=0) as always:
        report("session_http, sync forced before every request", await timed(lambda: always.get(target), 50))

    async with session_http(context) as busy:

        async def after_browser_traffic() -> None:
            await page.evaluate("fetch('/api/other')")  # a browser response: cookies may have changed
            await busy.get(target)

        async def browser_only() -> None:
            await page.evaluate("fetch('/api/other')")

        with_sync = await timed(after_browser_traffic, 30)
        without = await timed(browser_only, 30)
        report("session_http after browser traffic (sync) incl. page fetch", with_sync)
        report("  the page fetch alone", without)
    await context.close()


async def main() -> None:
    state = SiteState()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / "bk-bench"
    tmp.mkdir(exist_ok=True)
    print(f"load average: {os.getloadavg()}")
    with BackgroundServer(build_app(state)) as server:
        async with BrowserSession(BrowserOptions()) as session:
            print(f"Chromium {session.version} ({session.executable})")
            url = server.url
            sections: dict[str, Callable[[], Awaitable[None]]] = {
                "contexts": lambda: bench_contexts(session),
                "blocking": lambda: bench_blocking(session, url),
                "capture": lambda: bench_capture(session, url),
                "json": lambda: bench_json(session, url),
                "pdf": lambda: bench_pdf(session, url),
                "tracing": lambda: bench_tracing(session, url, state, tmp),
                "cookies": lambda: bench_cookie_sync(session, url),
            }
            for name in sys.argv[1:] or list(sections):  # e.g. `bench_browser.py pdf cookies`
                await sections[name]()
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
