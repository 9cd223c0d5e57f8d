"""Fixtures for the shop site's tests: real shops on 127.0.0.1:0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from shop_site import ShopConfig, ShopSite


@pytest.fixture
def make_shop() -> Iterator[Callable[..., ShopSite]]:
    """Start shops with the given ``ShopConfig`` fields; all are stopped after the test."""
    shops: list[ShopSite] = []

    def make(**config: Any) -> ShopSite:
        shop = ShopSite(ShopConfig(**config))
        shop.start()
        shops.append(shop)
        return shop

    yield make
    for shop in shops:
        shop.stop()
