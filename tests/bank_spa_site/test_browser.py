"""The bank app in a real Chromium: slow boot, password-only login, worker + IndexedDB, the virtualised
table, stale rows after a switch, the toast, and the two languages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from bank_spa_site import BankSite
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser


def open_app(browser: Browser, site: BankSite, locale: str) -> Page:
    page = browser.new_context(locale=locale, timezone_id="UTC").new_page()
    page.goto(site.url)
    return page


def rows(page: Page) -> list[dict[str, Any]]:
    return [
        {"id": r.get_attribute("data-op-id"), "account": r.get_attribute("data-account-id")}
        for r in page.locator(".op-row").all()
    ]


def test_boot_login_sync_and_virtualised_table_in_english(browser: Browser, make_bank: Callable[..., BankSite]) -> None:
    site = make_bank(boot_requests=210, bundle_kb=2048, stale_ms=1500, toast_ms=3000)
    page = open_app(browser, site, "en-US")
    expect(page.get_by_label("Password")).to_be_visible(timeout=30_000)
    stats = site.stats()
    assert stats["module"] + stats["vendor"] + stats["static"] >= 200  # before the login shows
    assert page.locator("form").count() == 0
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password")
    page.get_by_label("Password").fill(site.config.password)
    page.get_by_role("button", name="Unlock").click()
    expect(page.locator(".toast")).to_have_text("Welcome back! Your accounts are up to date.")
    first, second = (a["id"] for a in site.expected_accounts())
    # the rows come from the store a moment after the toast: wait for them before counting
    expect(page.locator(f'.op-row[data-account-id="{first}"]').first).to_be_attached()
    shown = rows(page)
    assert 20 <= len(shown) <= 40
    assert {r["account"] for r in shown} == {first}
    assert page.evaluate("self.__bankTables.count") > 100
    assert page.evaluate("self.__bankModules.length") == 210
    page.locator("#ops-scroll").evaluate("e => { e.scrollTop = e.scrollHeight }")
    expect(page.locator(f'.op-row[data-op-id="{first}-op0149"]')).to_have_count(1)
    page.get_by_role("button", name="Savings").click()
    expect(page.locator("#account-title")).to_have_attribute("data-account-id", second)
    assert {r["account"] for r in rows(page)} == {first}  # stale rows, for a moment
    expect(page.locator(f'.op-row[data-account-id="{second}"]').first).to_be_attached()
    assert {r["account"] for r in rows(page)} == {second}
    expect(page.locator(".toast")).to_have_count(0)
    stored = page.evaluate("""() => new Promise(r => { const o = indexedDB.open('bank');
        o.onsuccess = () => { const q = o.result.transaction('operations').objectStore('operations').count();
        q.onsuccess = () => r(q.result); }; })""")
    assert stored == 300
    assert site.stats()["operations"] == 6


def test_the_ui_follows_the_browser_language(browser: Browser, make_bank: Callable[..., BankSite]) -> None:
    site = make_bank(boot_requests=5, bundle_kb=32, toast_ms=200)
    page = open_app(browser, site, "fr-FR")
    page.get_by_label("Mot de passe").fill(site.config.password)
    page.get_by_role("button", name="Déverrouiller").click()
    first = page.locator(".op-row").first
    expect(first.locator(".amount")).to_contain_text("€")
    amount = first.locator(".amount").get_attribute("data-amount")
    assert amount is not None
    assert amount.replace("-", "").replace(".", ",") in first.locator(".amount").inner_text().replace(
        "\u202f", ""
    ).replace("\xa0", "")
    assert page.evaluate("document.documentElement.lang") == "fr"
