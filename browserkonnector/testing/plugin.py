"""pytest plugin for connector authors (registered through the ``pytest11`` entry point).

It makes pytest-playwright's browser fixtures drive the Chromium of the system (see
:mod:`browserkonnector.browser.discovery`) instead of a browser that ``playwright install`` would have
downloaded, keeping pytest-playwright's own options (``--headed``, ``--slowmo``, ``--tracing``,
``--output``).
"""

from __future__ import annotations

import pytest

from browserkonnector.testing import _browser_overrides


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, after every entry-point plugin, so that its fixtures override pytest-playwright's.
    if config.pluginmanager.hasplugin("playwright"):
        config.pluginmanager.register(_browser_overrides, "browserkonnector-browser-overrides")
