"""Fixtures for the bank app's tests: real sites on 127.0.0.1:0, small by default (quick to boot)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from bank_spa_site import BankConfig, BankSite


@pytest.fixture
def make_bank() -> Iterator[Callable[..., BankSite]]:
    """Start sites with the given ``BankConfig`` fields; all are stopped after the test."""
    sites: list[BankSite] = []

    def make(**config: Any) -> BankSite:
        site = BankSite(BankConfig(**config))
        site.start()
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop()
