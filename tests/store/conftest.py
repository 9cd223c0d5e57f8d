"""The ``store`` fixture: every contract test runs against each backend of :data:`BACKENDS`.

A backend is an async factory ``(tmp_path, app) -> Store`` in :data:`FACTORIES`; to add one (the stack
emulator, a live Cozy), add its factory there and its name to ``BACKENDS``. The factory opens the store;
the fixture closes it. Contract tests (``test_contract_*.py``) use only the ``Store`` protocol.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from browserkonnector.store._base import AppInfo, Store
from browserkonnector.store._cozy import CozyStackStore
from browserkonnector.store._local import LocalStore
from browserkonnector.testing._emulator import emulated_store

Factory = Callable[[Path, AppInfo], Awaitable[Store]]

#: The app the store acts for in contract tests (what a stack reads from the konnector's token).
TEST_APP = AppInfo(slug="contract-tests", version="1.2.3")


async def _local(tmp_path: Path, app: AppInfo) -> Store:
    return await LocalStore.open(tmp_path / "local-store", app=app)


async def _emulator(tmp_path: Path, app: AppInfo) -> Store:
    # CozyStackStore -> the stack emulator on 127.0.0.1:0 -> a LocalStore in tmp_path (closing stops it)
    return await emulated_store(tmp_path / "emulated-cozy", app=app)


async def _live(tmp_path: Path, app: AppInfo) -> Store:
    return CozyStackStore.from_env(app=app)  # a real test instance: COZY_URL + COZY_CREDENTIALS


_LIVE = bool(os.environ.get("COZY_URL") and os.environ.get("COZY_CREDENTIALS"))

FACTORIES: dict[str, Factory] = {
    "local": _local,
    "emulator": _emulator,
    "live": _live,
}
BACKENDS = [
    "local",
    "emulator",
    pytest.param(
        "live",
        marks=[
            pytest.mark.live,
            pytest.mark.skipif(not _LIVE, reason="no live Cozy: set COZY_URL and COZY_CREDENTIALS of a test instance"),
        ],
    ),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend's name (a test may skip a check a backend cannot make, saying why)."""
    return str(request.param)


@pytest.fixture
async def store(backend: str, tmp_path: Path) -> AsyncIterator[Store]:
    opened = await FACTORIES[backend](tmp_path, TEST_APP)
    try:
        yield opened
    finally:
        await opened.close()
