"""BrowserSession: launch from the system's Chromium, contexts with the run's settings, connect, errors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from browserkonnector.browser import BrowserOptions, BrowserSession, HeadedWithoutDisplay, find_chromium
from browserkonnector.browser._discovery import LAUNCH_ARGS

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def test_launches_the_headless_shell_and_reports_it(browser_session: BrowserSession) -> None:
    assert browser_session.executable == Path("/usr/lib/chromium/chromium-headless-shell")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", browser_session.version)


async def test_context_forces_no_locale_and_allows_downloads(tab: Any, site: Any) -> None:
    # No country is hard-coded: the runtime passes the run's choice (tests/runtime/test_locale.py).
    assert (BrowserOptions().locale, BrowserOptions().timezone_id) == (None, None)
    await tab.goto(site("/blank"))
    async with tab.expect_download() as info:  # accept_downloads: a download is not refused
        await tab.evaluate("location.href = '/files/attach.pdf'")
    assert (await info.value).suggested_filename == "facture-2024-01.pdf"


async def test_default_timeout_applies_and_context_args_override(site: Any) -> None:
    options = BrowserOptions(default_timeout=0.3, locale="en-GB")
    async with BrowserSession(options) as session:
        context = await session.new_context(timezone_id="America/New_York")
        tab = await context.new_page()
        await tab.goto(site("/blank"))
        assert await tab.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
        assert await tab.evaluate("navigator.language") == "en-GB"
        with pytest.raises(PlaywrightTimeout, match="300ms"):
            await tab.locator("#never-there").click()
    with pytest.raises(RuntimeError, match="not started"):
        session.browser  # noqa: B018 - the property raises once closed


def test_options_are_checked_field_by_field() -> None:
    with pytest.raises(ValueError, match=r"BrowserOptions\.connect='ftp://x'"):
        BrowserOptions(connect="ftp://x")
    with pytest.raises(ValueError, match=r"BrowserOptions\.block_resources: \['document'\] can never"):
        BrowserOptions(block_resources=frozenset({"image", "document"}))
    with pytest.raises(ValueError, match="unknown resource type"):
        BrowserOptions(block_resources=frozenset({"images"}))
    with pytest.raises(ValueError, match="default_timeout"):
        BrowserOptions(default_timeout=0)
    with pytest.raises(ValueError, match="extra_args"):
        BrowserOptions(extra_args="--foo")  # type: ignore[arg-type]


def test_offline_dns_rule_is_dropped_for_real_sites() -> None:
    offline = BrowserOptions(extra_args=["--lang=fr"]).launch_args()
    online = BrowserOptions(offline_dns=False).launch_args()
    assert offline == [*LAUNCH_ARGS, "--lang=fr"]
    assert not any(a.startswith("--host-resolver-rules") for a in online)
    assert "--disable-component-update" in online


async def test_headed_without_a_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(HeadedWithoutDisplay, match=r"no X server: run under `xvfb-run -a` or drop --headed"):
        async with BrowserSession(BrowserOptions(headless=False)):
            pass


async def test_connects_over_cdp_to_a_running_chromium(site: Any, tmp_path: Path) -> None:
    """``connect="http://..."``: a Chromium someone else started with a DevTools port."""
    proc = await asyncio.create_subprocess_exec(
        str(find_chromium(headless=True)),
        "--no-sandbox",
        "--remote-debugging-port=0",
        f"--user-data-dir={tmp_path}",
        *LAUNCH_ARGS,
        "about:blank",
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        endpoint = None
        for _ in range(200):
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            found = re.search(r"DevTools listening on ws://(127\.0\.0\.1:\d+)/", line)
            if found:
                endpoint = f"http://{found.group(1)}"
                break
        assert endpoint, "Chromium did not print its DevTools endpoint"
        async with BrowserSession(BrowserOptions(connect=endpoint)) as session:
            assert session.executable is None
            context = await session.new_context()
            tab = await context.new_page()
            await tab.goto(site("/images?n=2"))
            await tab.wait_for_function("document.querySelector('#data').textContent.startsWith('items')")
            # blocking applies to connected browsers too: the images never loaded
            assert await tab.evaluate("document.querySelector('img').naturalWidth") == 0
            await context.close()
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_connects_to_a_playwright_server_over_ws(site: Any) -> None:
    """``connect="ws://..."``: a ``playwright run-server``; the launch options ride in the URL."""
    cli = Path(sys.executable).with_name("playwright")
    proc = await asyncio.create_subprocess_exec(
        str(cli),
        "run-server",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--unsafe",
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        found = re.search(r"(ws://127\.0\.0\.1:\d+/)", line)
        assert found, f"no endpoint in {line!r}"
        launch = {"executablePath": str(find_chromium(headless=True)), "args": list(LAUNCH_ARGS)}
        endpoint = f"{found.group(1)}?launch-options={quote(json.dumps(launch))}"
        async with BrowserSession(BrowserOptions(connect=endpoint)) as session:
            context = await session.new_context()
            page = await context.new_page()
            await page.goto(site("/spa/done"))
            assert await page.text_content("#done") == "done"
            assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", session.version)
    finally:
        # The whole group: the CLI wrapper leaves its node child otherwise; SIGKILL because the
        # server closes its browsers on SIGTERM first, and keeps the pipe open meanwhile.
        os.killpg(proc.pid, signal.SIGKILL)
        await asyncio.wait_for(proc.wait(), 10)


async def test_a_bad_driver_node_option_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Node exits on an option it does not know, which Playwright reports as a closed connection: the
    error says which variable put the option there, and the environment is left as it was."""
    from browserkonnector.browser._session import _start_playwright

    monkeypatch.setenv("BROWSERKONNECTOR_DRIVER_NODE_OPTIONS", "--no-such-node-flag")
    monkeypatch.delenv("NODE_OPTIONS", raising=False)
    named = r"NODE_OPTIONS='--no-such-node-flag' \(BROWSERKONNECTOR_DRIVER_NODE_OPTIONS"
    with pytest.raises(RuntimeError, match=named):
        await _start_playwright()
    assert "NODE_OPTIONS" not in os.environ
