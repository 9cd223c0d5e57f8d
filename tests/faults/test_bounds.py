"""Each bound of docs/limits.md, on its own (finding 1 of the reliability issue).

- a connector awaiting Playwright's unbounded ``response.json()`` of a body that never finishes is
  ended by the run time limit that now exists outside job mode (``BROWSERKONNECTOR_TIMEOUT``);
- ``read_body`` gives up on such a body after its timeout, naming the URL;
- a ``Retry-After`` longer than the run's remaining time is not waited for;
- a body over the size cap is cut at the cap, before the rest is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from demo_vendor_site import DemoSite, SiteConfig
from playwright.async_api import async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from browserkonnector import _limits as limits
from browserkonnector._limits import read_capped
from browserkonnector._request import RetryTransport
from browserkonnector.browser import read_body
from browserkonnector.browser._discovery import find_chromium
from browserkonnector.testing._server import BackgroundServer
from tests.faults.conftest import run_demo

NAIVE = Path(__file__).parent / "connectors" / "naive429.py"


def stalling_app() -> Starlette:
    async def page(_: Request) -> Response:
        return HTMLResponse("<script>fetch('/stall')</script>")

    async def stall(_: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"partial": '
            await asyncio.sleep(3600)

        return StreamingResponse(body(), media_type="application/json")

    async def busy(_: Request) -> Response:
        return JSONResponse({"error": "rate_limited"}, status_code=429, headers={"Retry-After": "3600"})

    async def big(_: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b"0" * 65536

        return StreamingResponse(body(), media_type="application/pdf")

    return Starlette(routes=[Route("/", page), Route("/stall", stall), Route("/busy", busy), Route("/big", big)])


@pytest.mark.browser
def test_an_unbounded_body_read_is_ended_by_the_default_run_limit(tmp_path: Path) -> None:
    site = DemoSite(SiteConfig(bills=2, otp_accounts=False, rate_limit_every=2))
    site.start()
    try:
        out = run_demo(site, tmp_path, connector=NAIVE, env={"BROWSERKONNECTOR_TIMEOUT": "8"})
    finally:
        site.stop()
    assert out.code == "UNKNOWN_ERROR.TIMEOUT", out.run.stdout[-2000:]
    assert "login answered 429" in out.run.stdout


@pytest.mark.browser
@pytest.mark.anyio
async def test_read_body_gives_up_on_a_body_that_never_ends() -> None:
    with BackgroundServer(stalling_app()) as server:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(find_chromium()))
            try:
                page = await browser.new_page()
                async with page.expect_response("**/stall") as answer:
                    await page.goto(server.url + "/")
                response = await answer.value
                with pytest.raises(TimeoutError, match="/stall did not arrive within 1 s"):
                    await read_body(response, timeout=1)
            finally:
                await browser.close()


@pytest.mark.anyio
async def test_a_retry_after_past_the_run_deadline_is_not_waited_for() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with BackgroundServer(stalling_app()) as server:
        transport = RetryTransport(retries=3, sleep=sleep)
        async with httpx.AsyncClient(transport=transport) as client:
            with limits.deadline_scope(30):
                response = await client.get(server.url + "/busy")
            assert response.status_code == 429  # the vendor's answer, at once
            assert waits == []
            waits.clear()
            response = await client.get(server.url + "/busy")  # no deadline: capped waits, then the answer
            assert waits == [limits.MAX_RETRY_AFTER_S] * 3


@pytest.mark.anyio
async def test_a_body_over_the_size_cap_is_cut_at_the_cap() -> None:
    with BackgroundServer(stalling_app()) as server:
        async with httpx.AsyncClient() as client, client.stream("GET", server.url + "/big") as response:
            with pytest.raises(limits.FileTooLarge, match="1 MiB cap"):
                await read_capped(response, 1024 * 1024)
            assert not response.is_stream_consumed or response.num_bytes_downloaded <= 1024 * 1024 + 65536
