"""The shop connector against a live shop site: every order's invoice saved with its facts, nothing
fetched per known order the second time (read from the site's counters), a wrong password, a session
that ends mid-run, a flaky login, and the second customer's orders never touched."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from shop_site import ShopSite

from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser
CONNECTOR = Path(__file__).resolve().parents[1]
Run = Callable[..., ConnectorRun]


def fields(shop: ShopSite, **extra: str) -> dict[str, str]:
    anna = shop.customers[0]
    return {"base_url": shop.url, "login": anna.email, "password": anna.password, **extra}


def assert_every_order_saved(run: ConnectorRun, shop: ShopSite) -> None:
    assert run.ok, run.explain()
    expected = {o.number: o for o in shop.orders()}
    saved = run.bills()
    assert sorted(b["vendorRef"] for b in saved) == sorted(expected)
    for bill in saved:
        order = expected[bill["vendorRef"]]
        assert bill["amount"] == float(order.total)
        assert bill["currency"] == "EUR"
        assert str(bill["date"])[:10] == order.placed.isoformat()
        assert bill["invoice_number"] == order.invoice_number
        text = run.pdf_text(bill)
        assert order.invoice_number in text
        assert bill["invoice"].startswith("io.cozy.files:")


@pytest.mark.shop_site(orders=45, other_orders=5)
def test_saves_every_order_then_fetches_nothing_per_known_order(
    shop_site: ShopSite, run_connector: Run, tmp_path: Path
) -> None:
    shop = shop_site
    first = run_connector(CONNECTOR, fields=fields(shop), store_dir=tmp_path / "store")
    assert_every_order_saved(first, shop)
    stats = shop.stats()
    assert (stats["order_detail"], stats["invoice"], stats["orders"]) == (45, 45, 3)
    assert stats.get("order_denied", 0) == 0
    bens = {o.number for o in shop.orders(shop.customers[1].email)}
    assert not bens & {b["vendorRef"] for b in first.bills()}

    shop.reset_stats()
    again = run_connector(CONNECTOR, fields=fields(shop), store_dir=tmp_path / "store")
    assert again.ok, again.explain()
    stats = shop.stats()
    assert stats.get("order_detail", 0) == 0
    assert stats.get("invoice", 0) == 0
    assert stats["orders"] == 3  # the list pages only
    assert (again.result.stats.bills_created, again.result.stats.files_created) == (0, 0)


@pytest.mark.shop_site(orders=3)
def test_a_wrong_password_is_login_failed(shop_site: ShopSite, run_connector: Run, tmp_path: Path) -> None:
    run = run_connector(
        CONNECTOR,
        fields=fields(shop_site, password="Not-Her-Password-1"),
        store_dir=tmp_path / "store",
        artifacts_dir=tmp_path / "artifacts",
    )
    assert run.code == "LOGIN_FAILED"
    assert shop_site.stats()["login_failures"] == 1
    assert shop_site.stats().get("orders", 0) == 0


@pytest.mark.shop_site(orders=30, session_max_requests=4)
def test_a_session_that_ends_mid_run_is_reported(shop_site: ShopSite, run_connector: Run, tmp_path: Path) -> None:
    run = run_connector(
        CONNECTOR, fields=fields(shop_site), store_dir=tmp_path / "store", artifacts_dir=tmp_path / "artifacts"
    )
    assert run.code == "VENDOR_DOWN"
    assert "session ended mid-run" in run.explain()
    for order in shop_site.orders():
        assert order.key not in run.explain()  # the per-order secret of the URL is masked
    assert shop_site.stats()["sessions_expired"] == 1


@pytest.mark.shop_site(orders=2, error_rate=1.0)
def test_a_login_answered_500_three_times_is_vendor_down(
    shop_site: ShopSite, run_connector: Run, tmp_path: Path
) -> None:
    run = run_connector(
        CONNECTOR, fields=fields(shop_site), store_dir=tmp_path / "store", artifacts_dir=tmp_path / "artifacts"
    )
    assert run.code == "VENDOR_DOWN"
    assert shop_site.stats()["status_500"] == 3


@pytest.mark.shop_site(orders=25)
@pytest.mark.parametrize(("locale", "lang"), [("en-GB", "en"), ("de-DE", "de")])
def test_every_page_comes_in_the_runs_language(
    shop_site: ShopSite, run_connector: Run, tmp_path: Path, locale: str, lang: str
) -> None:
    """The browser (page 1) and ctx.http (page 2, details, invoices) ask for the same language, and the
    amounts and dates are read in it."""
    run = run_connector(CONNECTOR, fields=fields(shop_site), store_dir=tmp_path / "store", locale=locale)
    assert_every_order_saved(run, shop_site)
    stats = shop_site.stats()
    other = "de" if lang == "en" else "en"
    assert stats.get(f"lang_{other}", 0) == 0
    assert stats[f"lang_{lang}"] == sum(
        v for k, v in stats.items() if k in ("login", "orders", "order_detail", "invoice")
    )
