"""Re-login mid-run, a refused second factor, discarding the kept session, and the vault's secrecy —
a real Chromium against the demo site on loopback (and, for the Cozy job, the stack *emulator*)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from demo_vendor_site import DemoSite

from browserkonnector import _errors as errors
from browserkonnector.runtime._vault import VAULT_DATA_KEY, derive_job_key, open_envelope
from browserkonnector.store._local import LocalStore
from browserkonnector.testing._emulator import StackEmulator
from browserkonnector.testing._runner import ConnectorRun

from .test_kept_session import EXAMPLE, account, alice, bob, kept_state, rewrite_account

pytestmark = pytest.mark.browser
Run = Callable[..., ConnectorRun]


@pytest.mark.demo_site(bills=60, session_max_requests=20)
def test_a_session_lost_mid_run_is_replaced_and_nothing_is_lost(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    run = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=tmp_path / "store")
    assert run.ok, run.explain()
    with_pdf = [b for b in demo_site.expected_bills() if b["links"]["pdf"]]
    assert run.result.stats.files_created == len(with_pdf) == len(run.bills())
    assert run.result.stats.files_failed == 0
    stats = demo_site.stats()
    assert stats["session_expired_401"] >= 1
    relogins = run.result.stats.extra["relogins"]
    assert relogins >= 2  # ~60 authenticated requests, 20 per session
    assert stats["logins_ok"] == 1 + relogins
    for bill in run.bills():
        assert bill["vendorRef"] in run.pdf_text(bill)


@pytest.mark.demo_site(bills=4)
def test_a_refused_one_time_code_ends_with_wrong_twofa_code(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    fields = {**bob(demo_site), "otp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}  # a valid seed, not the account's
    run = run_connector(EXAMPLE, fields=fields, store_dir=tmp_path / "store")
    assert run.code == errors.USER_ACTION_NEEDED_WRONG_TWOFA_CODE, run.explain()
    assert demo_site.stats()["otp_failed"] == 1  # a computed code is not retried: the seed is wrong
    assert VAULT_DATA_KEY not in account(tmp_path / "store")["data"]


@pytest.mark.demo_site(bills=4)
def test_fresh_session_and_reset_session_discard_the_kept_session(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    assert run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store).ok
    demo_site.reset_stats()
    # The command line, as docs/sessions.md shows it (the key file named, for a hermetic test).
    fields = [arg for key, value in alice(demo_site).items() for arg in ("--field", f"{key}={value}")]
    env = {**os.environ, "BROWSERKONNECTOR_VAULT_KEY_FILE": str(store / "vault.key")}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "browserkonnector.cli",
            "run",
            str(EXAMPLE),
            *fields,
            "--store",
            str(store),
            "--offline-dns",
            "--fresh-session",
            "--log",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout[-2000:] + cli.stderr[-2000:]
    assert "discarding the kept session (--fresh-session)" in cli.stdout
    assert demo_site.stats()["logins_ok"] == 1
    demo_site.reset_stats()

    rewrite_account(store, lambda doc: doc.update(state="RESET_SESSION"))
    reset = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert reset.ok, reset.explain()
    assert demo_site.stats()["logins_ok"] == 1
    assert account(store)["state"] != "RESET_SESSION"


@pytest.mark.demo_site(bills=6)
def test_the_vault_is_never_in_clear_on_disk_nor_its_secrets_in_logs_or_bundles(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    assert run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store).ok
    state = kept_state(store)
    secrets = [c["value"] for c in state.cookies if c["name"] == "session"]
    secrets += [v for items in state.session_storage.values() for k, v in items.items() if k == "apiToken"]
    assert len(secrets) == 2
    key_file = store / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    capfd.readouterr()

    # A second run restores the session, then fails (the site's API changed): its bundle (trace, HAR,
    # page) saw the restored cookie and token, and must hold neither.
    demo_site.config.layout = "redesign"
    failed = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert not failed.ok
    assert failed.result.stats.extra["session_restored"] == 1
    assert failed.result.bundle is not None
    out = capfd.readouterr()
    bundle = failed.result.bundle
    written = [*tmp_path.rglob("*"), *bundle.rglob("*"), bundle.with_name(bundle.name + ".zip")]
    assert any(p.name == "network.har" for p in written)
    assert any(p.name == "trace.zip" for p in written)
    for secret in secrets:
        assert secret not in out.out + out.err
        for path in written:
            if path.is_file() and path != key_file:
                assert secret.encode() not in path.read_bytes(), f"{secret[:4]}… in clear in {path}"


@pytest.mark.demo_site(bills=4)
def test_in_a_cozy_job_the_session_is_kept_encrypted_in_the_account_emulator(
    demo_site: DemoSite, run_connector: Run, tmp_path: Path
) -> None:
    fields = alice(demo_site)
    with StackEmulator(tmp_path / "cozy", slug="demo-kept-session", version="1.0.0") as emu:

        async def setup(store: LocalStore) -> str:
            await store.create(
                "io.cozy.accounts", {"_id": "acc", "account_type": "demo-kept-session", "auth": dict(fields)}
            )
            return (await store.mkdir_p("/Administratif/Demo")).id

        folder = emu.call(setup)
        env = {
            "COZY_URL": emu.url,
            "COZY_CREDENTIALS": emu.token,
            "COZY_JOB_MANUAL_EXECUTION": "false",
            "COZY_FIELDS": json.dumps({"konnector": "demo-kept-session", "account": "acc", "folder_to_save": folder}),
            "COZY_TIME_LIMIT": "600",
        }
        first = run_connector(EXAMPLE, environ=env, store_dir=tmp_path / "unused")
        assert first.ok, first.explain()
        demo_site.reset_stats()
        second = run_connector(EXAMPLE, environ=env, store_dir=tmp_path / "unused")
        assert second.ok, second.explain()
        assert demo_site.stats()["logins_ok"] == 0
        assert second.result.stats.extra["session_restored"] == 1

        async def read(store: LocalStore) -> dict[str, Any]:
            return dict(await store.get("io.cozy.accounts", "acc"))

        doc = emu.call(read)
        assert set(doc["data"][VAULT_DATA_KEY]) >= {"token", "key_id", "format"}
        key = derive_job_key(doc["auth"], "acc")
        assert key is not None
        state = open_envelope(doc["data"][VAULT_DATA_KEY], key)  # the derived key opens it...
        cookie = next(c["value"] for c in state.cookies if c["name"] == "session")
        assert cookie not in json.dumps(doc)  # ...and nothing of it is in the document in clear
        assert not (tmp_path / "unused" / "vault.key").exists()  # the job's key is derived, never written


SHOP_KEPT = Path(__file__).resolve().parent / "shop_kept"


def test_a_server_rendered_site_that_redirects_a_lost_session_to_its_login_form(
    run_connector: Run, tmp_path: Path
) -> None:
    from shop_site import ShopConfig, ShopSite

    with ShopSite(ShopConfig(orders=30, session_max_requests=15)) as site:
        customer = site.customers[0]
        fields = {"base_url": site.url, "login": customer.email, "password": customer.password}
        store = tmp_path / "store"
        run = run_connector(SHOP_KEPT, fields=fields, store_dir=store)
        assert run.ok, run.explain()
        assert sorted(b["vendorRef"] for b in run.bills()) == sorted(o.number for o in site.orders())
        assert site.stats()["sessions_expired"] >= 1  # redirected to the login form (a 200), not a 401
        assert run.result.stats.extra["relogins"] >= 1
        assert site.stats()["logins"] == 1 + run.result.stats.extra["relogins"]

        site.reset_stats()
        again = run_connector(SHOP_KEPT, fields=fields, store_dir=store)
        assert again.ok, again.explain()
        assert site.stats().get("logins", 0) == 0  # the kept cookie session, checked with one request
        assert again.result.stats.extra["session_restored"] == 1
