"""Fixtures for the demo vendor site's tests: real sites on 127.0.0.1:0 and clients of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from .client import SiteClient


@pytest.fixture
def make_site() -> Iterator[Callable[..., DemoSite]]:
    """Start sites with the given ``SiteConfig`` fields; all are stopped after the test."""
    sites: list[DemoSite] = []

    def make(**config: Any) -> DemoSite:
        site = DemoSite(SiteConfig(**config))
        site.start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()


@pytest.fixture
def site(make_site: Callable[..., DemoSite]) -> DemoSite:
    return make_site()


@pytest.fixture
def make_client() -> Iterator[Callable[[DemoSite], SiteClient]]:
    clients: list[SiteClient] = []

    def make(site: DemoSite) -> SiteClient:
        client = SiteClient(site.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(site: DemoSite, make_client: Callable[[DemoSite], SiteClient]) -> SiteClient:
    return make_client(site)
