"""The trace of a failed run opens in Playwright's trace viewer (served by `browserkonnector show-trace`,
rendered here by the system's Chromium) and shows the run's actions, the password masked."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from demo_vendor_site import DemoSite
from playwright.sync_api import sync_playwright

from browserkonnector.browser._discovery import find_chromium

from .conftest import CLI, run_args, run_cli

pytestmark = pytest.mark.browser


def test_failed_run_trace_opens_in_the_viewer(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path, password="not-the-password-123"))
    assert run.last["message"] == "LOGIN_FAILED"
    bundle = next(p for p in (tmp_path / "art").iterdir() if p.is_dir())
    viewer = subprocess.Popen(
        [*CLI, "show-trace", str(bundle), "--no-open"], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert viewer.stdout is not None
        url = re.search(r"http://127\.0\.0\.1:\d+\S*", viewer.stdout.readline())
        assert url, "the viewer printed no URL"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(find_chromium()))
            page = browser.new_page()
            page.goto(url.group(0))
            page.get_by_text("Fill").first.wait_for(timeout=30_000)
            actions = " ".join(page.locator(".action-title").all_inner_texts())
            browser.close()
    finally:
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=10)
    assert _stops_serving(url.group(0)), "the trace viewer kept serving after show-trace was terminated"
    assert "Navigate" in actions
    # the login form's fields, found by label (form_login looks up name, then id, then label)
    assert 'get_by_label("Password", exact=True)' in actions, actions
    assert 'Fill "***"' in actions, actions
    assert "not-the-password-123" not in actions


def _stops_serving(url: str, within: float = 10.0) -> bool:
    """True once nothing answers at ``url`` (the viewer's server is gone with its command)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            return True
        time.sleep(0.2)
    return False
