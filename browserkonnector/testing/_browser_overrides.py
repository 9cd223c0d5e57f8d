"""Fixtures that override pytest-playwright's, registered last by :mod:`browserkonnector.testing._plugin`."""

from __future__ import annotations

from typing import Any

import pytest

from browserkonnector.browser._discovery import LAUNCH_ARGS, find_chromium


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config, browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments plus the system Chromium and the offline DNS rule."""
    headless = not pytestconfig.getoption("--headed", default=False)
    return {
        **browser_type_launch_args,
        "executable_path": str(find_chromium(headless=headless)),
        "args": [*browser_type_launch_args.get("args", []), *LAUNCH_ARGS],
    }
