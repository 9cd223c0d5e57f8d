"""The demo connector against a live demo site, with the pytest plugin's fixtures (`demo_site`,
`run_connector`): every bill with a readable PDF, nothing new the second time, each way a PDF arrives
through the UI, the TOTP account, a wrong password, and the redesigned site."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from browserkonnector import Redactor
from browserkonnector.browser import find_secrets
from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser
CONNECTOR = Path(__file__).resolve().parents[1]
Run = Callable[..., ConnectorRun]


def fields(site: DemoSite, *, otp: bool = False, **extra: object) -> dict[str, object]:
    user = next(u for u in site.users if bool(u.otp_secret) == otp)
    values: dict[str, object] = {"base_url": site.url, "login": user.email, "password": user.password, **extra}
    if otp:
        values["otp_secret"] = user.otp_secret
    return values


def assert_every_bill_saved(run: ConnectorRun, site: DemoSite, email: str) -> None:
    assert run.ok, run.explain()
    expected = {b["vendorRef"]: b for b in site.expected_bills(email)}
    saved = run.bills()
    assert sorted(b["vendorRef"] for b in saved) == sorted(expected)
    for bill in saved:
        text = run.pdf_text(bill)
        assert bill["vendorRef"] in text
        assert f"{expected[bill['vendorRef']]['amount']:.2f}".replace(".", ",") in text
        assert bill["invoice"].startswith("io.cozy.files:")
        assert bill["currency"] == "EUR"
        assert bill["cozyMetadata"]["sourceAccountIdentifier"] == email
    qualification = run.file_for(saved[0]).metadata["qualification"]
    assert qualification["label"] == "energy_invoice"


@pytest.mark.demo_site(bills=12)
def test_saves_every_bill_then_nothing_new(demo_site: DemoSite, run_connector: Run, tmp_path: Path) -> None:
    first = run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store")
    assert_every_bill_saved(first, demo_site, "alice@demo-energie.test")
    assert first.result.stats.bills_created == 12
    before = {f.name: f.rev for f in first.files()}
    again = run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store")
    assert again.ok, again.explain()
    stats = again.result.stats
    assert (stats.bills_created, stats.bills_updated, stats.files_created, stats.files_replaced) == (0, 0, 0, 0)
    assert {f.name: f.rev for f in again.files()} == before


@pytest.mark.demo_site(bills=8)
def test_every_way_a_pdf_arrives_through_the_ui(demo_site: DemoSite, run_connector: Run) -> None:
    """download event, inline PDF in a popup, blob: URL built by JavaScript, and printed HTML bills."""
    run = run_connector(CONNECTOR, fields=fields(demo_site, ui_downloads=True))
    assert_every_bill_saved(run, demo_site, "alice@demo-energie.test")
    kinds = {b["vendorRef"]: b["kind"] for b in demo_site.expected_bills("alice@demo-energie.test")}
    assert set(kinds.values()) == {"download", "inline", "blob", "html"}


@pytest.mark.demo_site(bills=4)
def test_an_account_with_a_second_factor(demo_site: DemoSite, run_connector: Run) -> None:
    run = run_connector(CONNECTOR, fields=fields(demo_site, otp=True))
    assert_every_bill_saved(run, demo_site, "bob@demo-energie.test")
    assert demo_site.stats()["otp_challenges"] == 1


@pytest.mark.demo_site(bills=4)
def test_a_wrong_password_leaves_a_complete_bundle_without_secrets(demo_site: DemoSite, run_connector: Run) -> None:
    wrong = "Not/The+Password&42"
    run = run_connector(CONNECTOR, fields={**fields(demo_site), "password": wrong})
    assert run.code == "LOGIN_FAILED"
    bundle = run.result.bundle
    assert bundle is not None
    names = {p.name for p in bundle.iterdir()}
    assert {
        "trace.zip",
        "screenshot.png",
        "page.html",
        "console.jsonl",
        "network.har",
        "run.log",
        "error.txt",
        "metadata.json",
        "README.txt",
    } <= names
    assert find_secrets(bundle, Redactor([wrong])) == []
    assert find_secrets(bundle.with_suffix(".zip"), Redactor([wrong])) == []


@pytest.mark.demo_site(bills=6)
def test_the_redesigned_site_is_reported_as_a_site_change(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    good = run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store")
    assert good.ok, good.explain()
    assert "bills api" in good.account_data()["browserkonnector"]["shapes"]
    demo_site.config.layout = "redesign"
    changed = run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store")
    assert changed.code == "UNKNOWN_ERROR.SITE_CHANGED"
    detail = changed.result.detail
    assert "step 'bills api'" in detail
    assert "$.items: missing (was array)" in detail
    assert changed.result.bundle is not None
    report = (changed.result.bundle / "site-change.txt").read_text()
    assert "step 'bills api'" in report
    assert "$.data: new" in report
    assert len(changed.bills()) == 6  # what the good run saved is untouched


@pytest.mark.demo_site(bills=5)
def test_a_step_finding_nothing_is_a_site_change_not_a_silent_success(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    assert run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store").ok
    demo_site.config.bills = 0
    empty = run_connector(CONNECTOR, fields=fields(demo_site), store_dir=tmp_path / "store")
    assert empty.code == "UNKNOWN_ERROR.SITE_CHANGED"
    assert "step 'bills'" in empty.result.detail
    assert "found nothing (found 5 on the last good run)" in empty.result.detail
