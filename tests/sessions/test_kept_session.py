"""Sessions that last, end to end: a real Chromium, the demo site on loopback, the embedded store.

The connector is docs/examples/kept_session (so the documented example runs here); the demo site's
counters say whether a run logged in, and with which second factor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_vendor_site import DemoSite

from browserkonnector.browser._state import BrowserState
from browserkonnector.runtime._job import ACCOUNTS_DOCTYPE
from browserkonnector.runtime._options import RunOptions
from browserkonnector.runtime._profile import PROFILES_DIR
from browserkonnector.runtime._vault import VAULT_DATA_KEY, open_envelope
from browserkonnector.store._base import AppInfo
from browserkonnector.store._local import LocalStore
from browserkonnector.testing._runner import ConnectorRun, _run_in_thread

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "kept_session"
Run = Callable[..., ConnectorRun]


def bob(site: DemoSite) -> dict[str, Any]:
    """The account with a TOTP second factor."""
    user = next(u for u in site.users if u.otp_secret is not None)
    return {"base_url": site.url, "login": user.email, "password": user.password, "otp_secret": user.otp_secret}


def alice(site: DemoSite) -> dict[str, Any]:
    user = next(u for u in site.users if u.otp_secret is None)
    return {"base_url": site.url, "login": user.email, "password": user.password}


def _in_store(store: Path, action: Callable[[LocalStore], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        local = LocalStore(store, app=AppInfo("test", "0"))
        try:
            return await action(local)
        finally:
            await local.close()

    return _run_in_thread(go())


def account(store: Path) -> dict[str, Any]:
    """The store's only account document."""

    async def read(local: LocalStore) -> list[dict[str, Any]]:
        return [doc async for doc in local.all_docs(ACCOUNTS_DOCTYPE)]

    docs = _in_store(store, read)
    assert len(docs) == 1, docs
    return dict(docs[0])


def rewrite_account(store: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = account(store)
    change(doc)
    _in_store(store, lambda local: local.update(ACCOUNTS_DOCTYPE, {k: v for k, v in doc.items() if k != "_type"}))


def kept_state(store: Path) -> BrowserState:
    """The vault of the store's account, opened with the key the run made next to the store."""
    key = (store / "vault.key").read_bytes().strip()
    return open_envelope(account(store)["data"][VAULT_DATA_KEY], key)


@pytest.mark.demo_site(bills=12)
def test_second_run_restores_the_session_without_login_or_second_factor(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    first = run_connector(EXAMPLE, fields=bob(demo_site), store_dir=store)
    assert first.ok, first.explain()
    cold = demo_site.stats()
    assert cold["logins_ok"] == 1
    assert cold["otp_challenges"] == 1
    assert first.result.stats.extra["logins"] == 1
    demo_site.reset_stats()

    second = run_connector(EXAMPLE, fields=bob(demo_site), store_dir=store)
    assert second.ok, second.explain()
    warm = demo_site.stats()
    assert warm["requests"].get("login", 0) == 0
    assert warm["requests"].get("otp", 0) == 0
    assert warm["logins_ok"] == warm["otp_challenges"] == 0
    assert second.result.stats.extra["session_restored"] == 1
    assert "logins" not in second.result.stats.extra
    assert first.result.stats.bills_created > 0
    assert second.result.stats.bills_created == second.result.stats.bills_unchanged == 0  # nothing asked again
    # The API token lives in sessionStorage, which Playwright's storage_state leaves out: the vault has it,
    # even after a run whose page never showed the site (the check was one API call).
    demo_site.reset_stats()
    third = run_connector(EXAMPLE, fields=bob(demo_site), store_dir=store)
    assert third.ok, third.explain()
    assert demo_site.stats()["logins_ok"] == 0
    assert demo_site.stats()["requests"].get("shell", 0) == 0  # no page loaded at all
    state = kept_state(store)
    assert any("apiToken" in items for items in state.session_storage.values())
    assert any(c["name"] == "session" for c in state.cookies)


@pytest.mark.demo_site(bills=6)
def test_a_session_the_site_expired_is_replaced_by_a_login(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store).ok
    assert demo_site.expire_sessions() == 1
    demo_site.reset_stats()
    again = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert again.ok, again.explain()
    assert demo_site.stats()["logins_ok"] == 1
    assert demo_site.stats()["session_expired_401"] >= 1  # the check met the expired session
    assert again.result.stats.extra["logins"] == 1
    assert "session_restored" not in again.result.stats.extra


@pytest.mark.demo_site(bills=6)
def test_a_corrupt_vault_is_discarded_with_a_warning_and_the_run_succeeds(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store).ok

    def flip_a_byte(doc: dict[str, Any]) -> None:
        token = doc["data"][VAULT_DATA_KEY]["token"]
        doc["data"][VAULT_DATA_KEY]["token"] = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]

    rewrite_account(store, flip_a_byte)
    capfd.readouterr()
    demo_site.reset_stats()
    again = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert again.ok, again.explain()
    out = capfd.readouterr()
    assert "the kept session cannot be read (corrupt (decryption failed))" in out.out + out.err
    assert demo_site.stats()["logins_ok"] == 1


PAGE_CHECK = Path(__file__).resolve().parent / "page_check"


@pytest.mark.demo_site(bills=6)
def test_a_page_check_and_a_page_load_that_meets_a_lost_session(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert run_connector(PAGE_CHECK, fields=alice(demo_site), store_dir=store).ok
    demo_site.reset_stats()
    restored = run_connector(PAGE_CHECK, fields=alice(demo_site), store_dir=store)
    assert restored.ok, restored.explain()
    assert restored.result.stats.extra["session_restored"] == 1  # logged_in_if(url=, element=) said so
    assert demo_site.stats()["logins_ok"] == 0
    assert demo_site.stats()["requests"]["shell"] >= 1  # the check loaded the page

    bill = demo_site.expected_bills()[0]["id"]
    rewrite_account(store, lambda doc: doc["data"].update(drop_session=bill))
    demo_site.reset_stats()
    dropped = run_connector(PAGE_CHECK, fields=alice(demo_site), store_dir=store)
    assert dropped.ok, dropped.explain()
    assert dropped.result.stats.extra["relogins"] == 1
    assert dropped.result.stats.extra["print_status"] == 200  # loaded again after the login
    assert demo_site.stats()["logins_ok"] == 1


@pytest.fixture
def idb_site() -> Iterator[str]:
    """A page on loopback for the IndexedDB app (the app itself is the connector's script)."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from browserkonnector.testing._server import BackgroundServer

    async def home(request: Any) -> HTMLResponse:
        return HTMLResponse("<!doctype html><title>IDB app</title><p>local-first</p>")

    server = BackgroundServer(Starlette(routes=[Route("/", home)]), port=0)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def test_keep_profile_keeps_indexeddb_and_skips_the_login(idb_site: str, run_connector: Run, tmp_path: Path) -> None:
    from tests.sessions.idb_app import with_profile, without_profile

    for konnector, kept in ((with_profile, True), (without_profile, False)):
        store = tmp_path / konnector.slug
        first = run_connector(konnector, fields={"base_url": idb_site}, store_dir=store)
        assert first.ok, first.explain()
        assert first.result.stats.extra["logins"] == 1
        second = run_connector(konnector, fields={"base_url": idb_site}, store_dir=store)
        assert second.ok, second.explain()
        assert second.result.stats.extra["idb_ok"] == 1
        if kept:  # IndexedDB came back with the kept profile: no login
            assert second.result.stats.extra["session_restored"] == 1
            assert "logins" not in second.result.stats.extra
            assert account(store)["data"][VAULT_DATA_KEY]["profile"] is True
            assert len(list((store / PROFILES_DIR).glob("*.profile"))) == 1
        else:  # cookies and storage only: the IndexedDB session is gone, the run logs in
            assert second.result.stats.extra["logins"] == 1


def test_keep_profile_in_a_shared_browser_keeps_indexeddb_in_the_vault(idb_site: str, tmp_path: Path) -> None:
    """A worker's shared browser has no profile directory of the run's: ``keep_profile`` then keeps the
    IndexedDB databases in the vault (Playwright's ``storage_state(indexed_db=True)``), and still skips
    the login."""
    from browserkonnector.browser._session import BrowserOptions, BrowserSession
    from browserkonnector.runtime._browsing import shared_session
    from tests.sessions.idb_app import with_profile

    store = tmp_path / "store"

    async def twice() -> list[Any]:
        results = []
        async with BrowserSession(BrowserOptions()) as browser:
            token = shared_session.set(browser)
            try:
                for _ in range(2):
                    results.append(
                        await with_profile.execute(
                            RunOptions(
                                cli_fields=(f"base_url={idb_site}",),
                                store_dir=store,
                                offline_dns=True,
                                progress=False,
                                log_mode="json",
                                trace="off",
                                environ={},
                            )
                        )
                    )
            finally:
                shared_session.reset(token)
        return results

    first, second = _run_in_thread(twice())
    assert first.ok
    assert second.ok
    assert first.stats.extra["logins"] == 1
    assert second.stats.extra["session_restored"] == 1
    assert second.stats.extra["idb_ok"] == 1
    state = open_envelope(account(store)["data"][VAULT_DATA_KEY], (store / "vault.key").read_bytes().strip())
    (origin,) = state.storage_state["origins"]
    assert [db["name"] for db in origin["indexedDB"]] == ["app"]
    assert not (store / PROFILES_DIR).exists()
