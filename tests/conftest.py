"""Shared fixtures of the project's own tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, the loop Playwright needs."""
    return "asyncio"


#: pytest-playwright's sync fixtures. Its session-scoped sync Playwright keeps an asyncio loop marked as
#: running in the main thread until the session ends, after which `asyncio.run` (and anyio's runner) refuse
#: to start there. Tests using them therefore run last.
SYNC_PLAYWRIGHT_FIXTURES = frozenset({"playwright", "browser_type", "browser", "context", "new_context", "page"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: bool(SYNC_PLAYWRIGHT_FIXTURES & set(getattr(item, "fixturenames", ()))))
