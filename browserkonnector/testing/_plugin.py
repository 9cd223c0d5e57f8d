"""pytest plugin for connector authors (registered through the ``pytest11`` entry point).

It follows pytest-playwright's conventions — ``--headed``, ``--slowmo``, ``--tracing``, ``--output`` —
and gives:

- ``run_connector(connector, fields=..., replay=..., store_dir=...)``: run a connector (a ``Konnector``, a
  folder or a module path) into a temporary embedded store; returns a
  :class:`~browserkonnector.testing._runner.ConnectorRun` to assert on (bills, files, PDF text, bundle).
  ``--headed``/``--slowmo`` drive the browser, ``--tracing on|off|retain-on-failure`` the trace (default
  ``retain-on-failure``, unlike pytest-playwright's ``off``), and traces and failure bundles go under
  ``--output`` (``test-results/<test>``).
- ``demo_site``: the bundled demo vendor site on 127.0.0.1 (configure it with
  ``@pytest.mark.demo_site(bills=10, layout="redesign", ...)``).
- ``shop_site``: the bundled server-rendered shop on 127.0.0.1 (``@pytest.mark.shop_site(orders=45, ...)``,
  the fields of ``shop_site.ShopConfig``).
- pytest-playwright's own ``browser``/``page`` fixtures, pointed at the system's Chromium.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from browserkonnector.testing import _browser_overrides

if TYPE_CHECKING:
    from demo_vendor_site import DemoSite
    from shop_site import ShopSite

    from browserkonnector.testing._runner import ConnectorRun

# The runtime is imported inside the fixtures, not here: this module loads in every pytest session of
# every project that installs browserkonnector, and must stay cheap and unbreakable.

__all__ = ["demo_site", "run_connector", "shop_site"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "demo_site(**config): options of the demo vendor site (SiteConfig)")
    config.addinivalue_line("markers", "shop_site(**config): options of the shop site (ShopConfig)")
    # Registered here, after every entry-point plugin, so that its fixtures override pytest-playwright's.
    if config.pluginmanager.hasplugin("playwright"):
        config.pluginmanager.register(_browser_overrides, "browserkonnector-browser-overrides")


def _option(config: pytest.Config, name: str, default: Any) -> Any:
    try:
        value = config.getoption(name)
    except ValueError:  # pytest-playwright not loaded: its options do not exist
        return default
    return default if value is None else value


def _test_output(config: pytest.Config, node: pytest.Item) -> Path:
    root = Path(_option(config, "--output", "test-results"))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", node.nodeid).strip("-")[:120]
    return root / slug


@pytest.fixture
def run_connector(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., ConnectorRun]:
    """Run a connector into a temporary store: ``run_connector(connector, fields={...})``.

    Call it twice with the same ``store_dir`` to test an incremental run.
    """
    config = request.config
    # pytest-playwright's --tracing defaults to "off"; a connector run keeps its trace on failure unless
    # --tracing is given explicitly (a failure bundle without a trace explains little).
    explicit = any(arg.startswith("--tracing") for arg in config.invocation_params.args)
    tracing = _option(config, "--tracing", "off") if explicit else "retain-on-failure"
    headed = bool(_option(config, "--headed", False))
    slow_mo = float(_option(config, "--slowmo", 0) or 0) / 1000  # pytest-playwright's option is in ms

    def run(connector: Any, **kwargs: Any) -> ConnectorRun:
        from browserkonnector.testing._runner import run_connector as _run_connector

        kwargs.setdefault("store_dir", tmp_path / "store")
        kwargs.setdefault("artifacts_dir", _test_output(config, request.node))
        kwargs.setdefault("headed", headed)
        kwargs.setdefault("slow_mo", slow_mo)
        kwargs.setdefault("trace", tracing if tracing in ("on", "off", "retain-on-failure") else "retain-on-failure")
        return _run_connector(connector, **kwargs)

    return run


@pytest.fixture
def demo_site(request: pytest.FixtureRequest) -> Iterator[DemoSite]:
    """The demo vendor site, started for this test (``@pytest.mark.demo_site(...)`` configures it)."""
    from demo_vendor_site import DemoSite, SiteConfig

    marker = request.node.get_closest_marker("demo_site")
    site = DemoSite(SiteConfig(**(marker.kwargs if marker else {})))
    site.start()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def shop_site(request: pytest.FixtureRequest) -> Iterator[ShopSite]:
    """The server-rendered shop site, started for this test (``@pytest.mark.shop_site(...)`` configures it)."""
    from shop_site import ShopConfig, ShopSite

    marker = request.node.get_closest_marker("shop_site")
    site = ShopSite(ShopConfig(**(marker.kwargs if marker else {})))
    site.start()
    try:
        yield site
    finally:
        site.stop()
