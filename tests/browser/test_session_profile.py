"""BrowserSession on a user-data directory (what ``keep_profile`` runs on): one persistent context, whose
state outlives the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browserkonnector.browser import BrowserOptions, BrowserSession

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def test_a_profile_directory_outlives_the_browser(site: Any, tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    async with BrowserSession(BrowserOptions(user_data_dir=profile, default_timeout=10)) as session:
        context = await session.new_context()
        page = await context.new_page()
        await page.goto(site("/blank"))
        await page.evaluate("localStorage.setItem('kept', 'across runs')")
        assert session.browser.is_connected()
        with pytest.raises(RuntimeError, match="one context"):
            await session.new_context()
    assert (profile / "Default").is_dir()
    async with BrowserSession(BrowserOptions(user_data_dir=profile)) as again:
        page = await (await again.new_context()).new_page()
        await page.goto(site("/blank"))
        assert await page.evaluate("localStorage.getItem('kept')") == "across runs"


async def test_a_profile_takes_no_storage_state(tmp_path: Path) -> None:
    async with BrowserSession(BrowserOptions(user_data_dir=tmp_path / "p")) as session:
        with pytest.raises(ValueError, match="takes no storage_state"):
            await session.new_context(storage_state={"cookies": [], "origins": []})


def test_a_profile_needs_a_launched_browser(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="user_data_dir needs a launched browser"):
        BrowserOptions(user_data_dir=tmp_path, connect="ws://127.0.0.1:1/x")
