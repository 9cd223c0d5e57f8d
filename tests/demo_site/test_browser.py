"""The single-page app in a real Chromium (Debian's, through pytest-playwright's sync ``page`` fixture)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp
import pytest
from demo_vendor_site import DemoSite
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .client import ALICE, BOB, BOB_SECRET, ClientFactory, SiteFactory

pytestmark = pytest.mark.browser


def consent(page: Page, site: DemoSite) -> None:
    """Accept cookies ahead (the overlay has its own test), as a returning visitor would have."""
    page.context.add_cookies([{"name": "consent", "value": "yes", "url": site.url}])


def sign_in(page: Page, site: DemoSite, user: tuple[str, str] = ALICE) -> None:
    page.goto(site.url + "/login")
    page.get_by_label("Email").fill(user[0])
    page.get_by_label("Password").fill(user[1])
    page.get_by_role("button", name="Sign in").click()


def shown_ids(page: Page, selector: str = "tr.bill", attribute: str = "data-bill-id") -> list[str | None]:
    return [row.get_attribute(attribute) for row in page.locator(selector).all()]


def test_the_cookie_overlay_blocks_clicks_until_accepted(page: Page, site: DemoSite) -> None:
    page.goto(site.url + "/login")
    submit = page.locator("#login-form button[type=submit]")
    expect(submit).to_be_visible()
    expect(page.locator("#cookie-consent")).to_be_visible()
    with pytest.raises(PlaywrightTimeoutError) as blocked:
        submit.click(timeout=1500)
    assert "intercepts pointer events" in str(blocked.value)
    page.get_by_role("button", name="Accept all").click()
    expect(page.locator("#cookie-consent")).to_have_count(0)
    assert {"name": "consent", "value": "yes"}.items() <= next(
        c for c in page.context.cookies() if c["name"] == "consent"
    ).items()
    submit.click(timeout=5000)  # empty fields: the server says no, but the click went through
    expect(page.locator("div[role=alert].login-error")).to_have_text("Invalid email or password")
    page.reload()
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#cookie-consent")).to_have_count(0)


def test_login_shows_the_bills_with_the_token_in_session_storage(page: Page, site: DemoSite) -> None:
    consent(page, site)
    loaded: list[str] = []
    page.on("requestfinished", lambda request: loaded.append(request.url))
    page.goto(site.url + "/")
    expect(page).to_have_url(site.url + "/login")  # redirected client-side
    page.get_by_label("Email").fill(ALICE[0])
    page.get_by_label("Password").fill(ALICE[1])
    with page.expect_request(re.compile(r"/api/bills\?page=1&per_page=10&_=\d+$")) as bills_request:
        page.get_by_role("button", name="Sign in").click()
    assert bills_request.value.headers["authorization"].startswith("Bearer ")
    expect(page).to_have_url(site.url + "/bills")
    expect(page.locator("tr.bill")).to_have_count(10)
    expected = site.expected_bills()[:10]
    assert shown_ids(page) == [b["id"] for b in expected]
    first = page.locator("tr.bill").first
    expect(first.locator("td.amount")).to_have_text(f"{expected[0]['amount']:.2f}".replace(".", ",") + " €")
    expect(first.locator("td.label")).to_have_text(expected[0]["label"])
    expect(first.locator("td.date time")).to_have_attribute("datetime", expected[0]["date"])
    token = page.evaluate("sessionStorage.getItem('apiToken')")
    assert re.fullmatch(r"[0-9a-f]{40}", token)
    session = next(c for c in page.context.cookies() if c["name"] == "session")
    assert session["httpOnly"] is True
    assert token not in json.dumps(page.context.storage_state())  # the trap: storage_state misses it
    assert any(url.endswith("/static/font.woff2") for url in loaded)
    assert any(url.endswith("/static/logo.png") for url in loaded)


def test_a_wrong_password_shows_the_alert(page: Page, site: DemoSite) -> None:
    consent(page, site)
    sign_in(page, site, (ALICE[0], "not-the-password"))
    expect(page.locator("div[role=alert].login-error")).to_have_text("Invalid email or password")
    expect(page).to_have_url(site.url + "/login")
    assert page.evaluate("sessionStorage.getItem('apiToken')") is None


def test_the_totp_flow_logs_bob_in(page: Page, site: DemoSite) -> None:
    consent(page, site)
    sign_in(page, site, BOB)
    expect(page.locator("#otp-form")).to_be_visible()
    code = page.get_by_label("Code")
    expect(code).to_have_attribute("autocomplete", "one-time-code")
    expect(code).to_have_attribute("inputmode", "numeric")
    good = pyotp.TOTP(BOB_SECRET).now()
    code.fill(f"{(int(good) + 500_000) % 1_000_000:06d}")
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("div[role=alert].login-error")).to_have_text("Invalid code")
    code.fill(pyotp.TOTP(BOB_SECRET).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.locator("tr.bill")).to_have_count(10)
    assert shown_ids(page) == [b["id"] for b in site.expected_bills(BOB[0])[:10]]


def test_load_more_appends_the_next_pages_then_hides(page: Page, site: DemoSite) -> None:
    consent(page, site)
    sign_in(page, site)
    expect(page.locator("tr.bill")).to_have_count(10)
    load_more = page.get_by_role("button", name="Load more")
    load_more.click()
    expect(page.locator("tr.bill")).to_have_count(20)
    expect(load_more).to_be_visible()
    load_more.click()
    expect(page.locator("tr.bill")).to_have_count(24)
    expect(load_more).to_be_hidden()
    assert shown_ids(page) == [b["id"] for b in site.expected_bills()]


def test_the_blob_button_gives_a_pdf_download(page: Page, site: DemoSite, make_client: ClientFactory) -> None:
    consent(page, site)
    sign_in(page, site)
    bill = next(b for b in site.expected_bills()[:10] if b["kind"] == "blob")
    row = page.locator(f'tr.bill[data-bill-id="{bill["id"]}"]')
    with page.expect_download() as info:
        row.get_by_role("button", name="Get PDF").click()
    download = info.value
    assert download.suggested_filename == f"facture-{bill['id']}.pdf"
    assert download.url.startswith("blob:")
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-1.4")
    client = make_client(site)
    client.login()
    assert data == client.api(bill["links"]["pdf"]).content
    expect(row.locator("a.bill-blob-link")).to_have_attribute("href", re.compile(r"^blob:"))


def test_download_link_and_detail_page(page: Page, site: DemoSite) -> None:
    consent(page, site)
    sign_in(page, site)
    bills = site.expected_bills()[:10]
    downloadable = next(b for b in bills if b["kind"] == "download")
    with page.expect_download() as info:
        page.locator(f'tr.bill[data-bill-id="{downloadable["id"]}"] a.bill-download').click()
    assert info.value.suggested_filename == f"facture-{downloadable['id']}.pdf"
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    html_bill = next(b for b in bills if b["kind"] == "html")
    page.locator(f'tr.bill[data-bill-id="{html_bill["id"]}"]').get_by_role("link", name="Details").click()
    expect(page).to_have_url(f"{site.url}/bills/{html_bill['id']}")
    invoice = page.locator("article.invoice")
    expect(invoice.locator(".bill-id")).to_have_text(html_bill["id"])
    expect(invoice.locator(".vendor-ref")).to_have_text(html_bill["vendorRef"])
    expect(invoice.locator(".vendor")).to_have_text("Demo Énergie")
    expect(invoice.locator(".total-amount")).to_have_text(f"{html_bill['amount']:.2f}".replace(".", ",") + " €")
    expect(invoice.locator("tr.line")).to_have_count(4)
    page.go_back()
    expect(page).to_have_url(site.url + "/bills")
    expect(page.locator("tr.bill")).to_have_count(10)


def test_a_failing_api_shows_service_unavailable(page: Page, make_site: SiteFactory) -> None:
    site = make_site(error_rate=1.0)
    consent(page, site)
    page.goto(site.url + "/login")
    alert = page.locator("div[role=alert].login-error")
    expect(alert).to_have_text("Service unavailable, try again later")
    page.get_by_label("Email").fill(ALICE[0])
    page.get_by_label("Password").fill(ALICE[1])
    page.get_by_role("button", name="Sign in").click()
    expect(alert).to_have_text("Service unavailable, try again later")
    assert site.stats()["status_500"] >= 2


def test_an_expired_session_sends_back_to_login(page: Page, make_site: SiteFactory) -> None:
    site = make_site(session_max_requests=1)
    consent(page, site)
    sign_in(page, site)
    expect(page.locator("tr.bill")).to_have_count(10)
    page.get_by_role("button", name="Load more").click()
    expect(page).to_have_url(site.url + "/login")
    expect(page.locator(".notice")).to_have_text("Your session has expired. Please sign in again.")
    assert page.evaluate("sessionStorage.getItem('apiToken')") is None


def test_the_redesign_renders_cards(page: Page, make_site: SiteFactory) -> None:
    site = make_site(layout="redesign")
    consent(page, site)
    sign_in(page, site)
    expect(page.locator("div.invoice-card")).to_have_count(10)
    expect(page.locator("#bills")).to_have_count(0)
    ids = shown_ids(page, "div.invoice-card", "data-invoice-id")
    assert ids == [b["id"] for b in site.expected_bills()[:10]]
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("div.invoice-card")).to_have_count(20)


# --- the traps the site sets on purpose (what connector authors trip on): if Chromium stops springing them, the site
# must change


@pytest.mark.parametrize("navigation", ["spa", "full"])
def test_the_login_body_is_gone_after_a_full_post_login_navigation(
    page: Page, make_site: SiteFactory, navigation: str
) -> None:
    """``login_navigation="full"`` sets the trap; the default (client-side move) does not."""
    site = make_site(login_navigation=navigation)
    consent(page, site)
    page.goto(site.url + "/login")
    page.get_by_label("Email").fill(ALICE[0])
    page.get_by_label("Password").fill(ALICE[1])
    with page.expect_response("**/api/session/login") as login:
        page.get_by_role("button", name="Sign in").click()
    expect(page.locator("tr.bill")).to_have_count(10)  # sessionStorage survives the page load
    if navigation == "spa":
        assert login.value.json()["status"] == "ok"
    else:
        with pytest.raises(PlaywrightError, match="No resource with given identifier"):
            login.value.json()


def test_opening_an_inline_pdf_is_a_download_in_headless_chromium(page: Page, site: DemoSite) -> None:
    consent(page, site)
    sign_in(page, site)
    bill = next(b for b in site.expected_bills()[:10] if b["kind"] == "inline")
    with page.expect_download() as info:
        page.locator(f'tr.bill[data-bill-id="{bill["id"]}"]').get_by_role("link", name="View PDF").click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")
    other = page.context.new_page()
    with pytest.raises(PlaywrightError, match="Download is starting"):
        other.goto(site.url + bill["links"]["pdf"])
