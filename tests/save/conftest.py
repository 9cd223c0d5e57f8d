"""Fixtures of the save pipeline tests: a real LocalStore (SQLite + folder) per test, an app, a vendor."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

from save_helpers import Vendor

from browserkonnector.store._base import AppInfo
from browserkonnector.testing._server import BackgroundServer

APP = AppInfo(slug="demo-vendor", version="1.2.3")


@pytest.fixture
def app() -> AppInfo:
    return APP


@pytest.fixture(params=["local", "emulator"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """A real LocalStore in a fresh folder, acting for :data:`APP` (as the stack acts for a token); or
    (``[emulator]``) a CozyStackStore talking HTTP to the stack emulator, itself over a LocalStore."""
    if request.param == "local":
        from browserkonnector.store._local import LocalStore

        async with LocalStore(tmp_path / "store", app=APP) as opened:
            yield opened
    else:
        from browserkonnector.testing._emulator import emulated_store

        emulated = await emulated_store(tmp_path / "emulated-cozy", app=APP)
        try:
            yield emulated
        finally:
            await emulated.close()


@pytest.fixture
def vendor() -> Iterator[tuple[Vendor, str]]:
    """The loopback vendor and its base URL."""
    site = Vendor()
    with BackgroundServer(site.app) as server:
        yield site, server.url
