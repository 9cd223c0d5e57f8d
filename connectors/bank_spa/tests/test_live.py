"""The bank connector against a live bank site: every account and operation, despite the virtualised
table, the stale rows and the toast; nothing written the second time (which keeps the profile: see
test_kept_profile.py); a wrong password; both languages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from bank_spa_site import BankConfig, BankSite

from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser
CONNECTOR = Path(__file__).resolve().parents[1]
Run = Callable[..., ConnectorRun]


def assert_everything_saved(run: ConnectorRun, site: BankSite) -> None:
    assert run.ok, run.explain()
    accounts = {a["vendorId"]: a for a in run.documents("io.cozy.bank.accounts")}
    expected_accounts = site.expected_accounts()
    assert sorted(accounts) == [a["id"] for a in expected_accounts]
    for account in expected_accounts:
        assert accounts[account["id"]]["balance"] == float(account["balance"])
    ops = run.documents("io.cozy.bank.operations")
    expected = {o["id"]: o for o in site.expected_operations()}
    assert sorted(o["vendorId"] for o in ops) == sorted(expected)
    for op in ops:
        want = expected[op["vendorId"]]
        assert op["account"] == accounts[want["accountId"]]["_id"]
        assert (op["amount"], op["date"][:10], op["label"]) == (float(want["amount"]), want["date"], want["label"])


@pytest.mark.parametrize("locale", ["en-US", "fr-FR"])
def test_saves_every_account_and_operation_then_nothing(locale: str, run_connector: Run, tmp_path: Path) -> None:
    """The app follows the browser's language; the connector's selectors do not depend on it."""
    with BankSite(BankConfig(bundle_kb=512, boot_requests=200, stale_ms=800)) as site:
        fields = {"base_url": site.url, "password": site.config.password}
        first = run_connector(CONNECTOR, fields=fields, store_dir=tmp_path / "store", locale=locale)
        assert_everything_saved(first, site)
        assert first.result.stats.doctypes["io.cozy.bank.operations"]["created"] == 300
        revs = {
            d["_id"]: d["_rev"]
            for t in ("io.cozy.bank.accounts", "io.cozy.bank.operations")
            for d in first.documents(t)
        }
        again = run_connector(CONNECTOR, fields=fields, store_dir=tmp_path / "store", locale=locale)
        assert site.stats()[f"shell_language:{locale}"] == 2
    assert again.ok, again.explain()
    # The kept profile: the app came up unlocked, synced nothing, and no table needed reading again.
    assert again.result.stats.doctypes["io.cozy.bank.accounts"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert again.result.stats.doctypes.get("io.cozy.bank.operations", {}).get("created", 0) == 0
    assert {
        d["_id"]: d["_rev"] for t in ("io.cozy.bank.accounts", "io.cozy.bank.operations") for d in again.documents(t)
    } == revs


def test_a_wrong_password_is_login_failed(run_connector: Run) -> None:
    with BankSite(BankConfig(bundle_kb=64, boot_requests=20)) as site:
        run = run_connector(CONNECTOR, fields={"base_url": site.url, "password": "not-it"})
        assert run.code == "LOGIN_FAILED", run.explain()
        assert site.stats()["logins_failed"] == 1
