"""The runnable examples of docs/ run, against the demo site, as their docstrings say."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from browserkonnector.testing._runner import ConnectorRun

from .conftest import REPO, alice

pytestmark = pytest.mark.browser
EXAMPLES = REPO / "docs" / "examples"


@pytest.mark.demo_site(bills=8)
def test_http_only_connector_needs_no_browser(
    demo_site: DemoSite, run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    login, password = alice(demo_site)
    fields = {"base_url": demo_site.url, "login": login, "password": password}
    run = run_connector(EXAMPLES / "http_only", fields=fields, store_dir=tmp_path / "store")
    assert run.ok, run.explain()
    expected = [b for b in demo_site.expected_bills(login) if b["links"]["pdf"]]
    assert sorted(b["vendorRef"] for b in run.bills()) == sorted(b["vendorRef"] for b in expected)
    for bill in run.bills():
        assert bill["vendorRef"] in run.pdf_text(bill)
    assert demo_site.stats()["requests"].get("shell", 0) == 0  # no page was ever loaded: no browser
    wrong = run_connector(
        EXAMPLES / "http_only", fields={**fields, "password": "nope-nope"}, store_dir=tmp_path / "store2"
    )
    assert wrong.code == "LOGIN_FAILED"


@pytest.mark.demo_site(bills=8)
def test_printed_statements_have_the_cozy_headline(
    demo_site: DemoSite, run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    login, password = alice(demo_site)
    fields = {"base_url": demo_site.url, "login": login, "password": password}
    run = run_connector(EXAMPLES / "printed_statements", fields=fields, store_dir=tmp_path / "store")
    assert run.ok, run.explain()
    files = run.files()
    printable = [b for b in demo_site.expected_bills(login) if b["kind"] == "html"]
    assert len(files) == len(printable) == 2
    for file in files:
        assert file.path is not None
        assert file.path.startswith("/Administratif/Demo Énergie/Statements/")
        text = run.pdf_text(file)
        assert "Demo Énergie — " in text  # the headline, then the source URL, above the printed page
        assert f"{demo_site.url}/bills/" in text
        assert "/print" in text
        assert text.index("Demo Énergie — ") < text.index("Total TTC")
        assert file.metadata["qualification"]["label"] == "energy_invoice"
        assert file.metadata["fileIdAttributes"]
    again = run_connector(EXAMPLES / "printed_statements", fields=fields, store_dir=tmp_path / "store")
    assert again.ok
    assert again.result.stats.files_created == 0
    assert again.result.stats.files_kept == 2


def test_html_viewer_example_takes_invoices_from_the_pdf_viewer(
    run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    from shop_site import ShopConfig, ShopSite

    with ShopSite(ShopConfig(orders=5)) as shop:
        anna = shop.customers[0]
        fields = {"base_url": shop.url, "login": anna.email, "password": anna.password}
        run = run_connector(EXAMPLES / "html_viewer", fields=fields, store_dir=tmp_path / "store")
        assert run.ok, run.explain()
        newest = shop.orders()[:3]
        saved = {b["vendorRef"]: b for b in run.bills()}
        assert sorted(saved) == sorted(o.number for o in newest)
        for order in newest:
            assert saved[order.number]["amount"] == float(order.total)
            assert order.invoice_number in run.pdf_text(saved[order.number])
        assert shop.stats()["invoices_served"] == 3
        wrong = run_connector(
            EXAMPLES / "html_viewer", fields={**fields, "password": "nope-nope"}, store_dir=tmp_path / "store2"
        )
        assert wrong.code == "LOGIN_FAILED"
