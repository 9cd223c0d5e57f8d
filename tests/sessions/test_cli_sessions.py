"""The command line of docs/sessions.md: a second factor typed at a terminal prompt, ``--full-sync`` and
incremental runs — the real CLI in a subprocess, a real Chromium, the demo site on loopback."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest
from demo_vendor_site import DemoSite

from browserkonnector.runtime._sync import SYNC_KEY
from browserkonnector.testing._runner import ConnectorRun

from .test_kept_session import EXAMPLE, account, alice, bob

pytestmark = pytest.mark.browser
CLI = [sys.executable, "-m", "browserkonnector.cli", "run", str(EXAMPLE)]


def field_args(fields: dict[str, str]) -> list[str]:
    return [arg for key, value in fields.items() for arg in ("--field", f"{key}={value}")]


@pytest.mark.slow
@pytest.mark.demo_site(bills=4)
def test_a_terminal_run_asks_for_the_code_and_a_second_run_does_not(demo_site: DemoSite, tmp_path: Path) -> None:
    """The person types the code after longer than Playwright's default timeout (30 s): the page waited,
    logged in the same, and the run went on."""
    fields = bob(demo_site)
    seed = fields.pop("otp_secret")  # no seed: the code must come from the person at the terminal
    store = tmp_path / "store"
    env = {**os.environ, "BROWSERKONNECTOR_VAULT_KEY_FILE": str(tmp_path / "vault.key")}
    command = [*CLI, *field_args(fields), "--store", str(store), "--offline-dns", "--log", "json"]
    master, slave = os.openpty()
    proc = subprocess.Popen(command, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    try:
        seen = b""
        end = time.monotonic() + 90
        assert proc.stderr is not None
        while b"Second-factor code" not in seen:
            assert time.monotonic() < end, seen.decode(errors="replace")
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                assert chunk, f"stderr closed before the prompt: {seen!r}"
                seen += chunk
        time.sleep(32)  # a person finding their phone: longer than any Playwright timeout of the run
        os.write(master, (pyotp.TOTP(seed).now() + "\n").encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out.decode()[-3000:] + err.decode()[-2000:]
    assert demo_site.stats()["otp_challenges"] == 1
    assert demo_site.stats()["logins_ok"] == 1

    demo_site.reset_stats()  # the kept session: no prompt, no second factor (stdin is not even a terminal)
    again = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=120, check=False)
    assert again.returncode == 0, again.stdout.decode()[-3000:]
    assert b"Second-factor code" not in again.stderr
    assert demo_site.stats()["otp_challenges"] == 0


@pytest.mark.demo_site(bills=120)
def test_an_incremental_run_reads_only_the_newest_page_unless_full_sync_is_forced(
    demo_site: DemoSite, run_connector: Callable[..., ConnectorRun], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    first = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert first.ok, first.explain()
    assert demo_site.stats()["requests"]["bills"] == 1 + 3  # the page's own call after the login, pages 1-3
    assert account(store)["data"][SYNC_KEY]["last_run_ok"] is True
    demo_site.reset_stats()

    second = run_connector(EXAMPLE, fields=alice(demo_site), store_dir=store)
    assert second.ok, second.explain()
    assert demo_site.stats()["requests"]["bills"] == 1  # the newest page only (the check was one API call)
    assert second.result.stats.bills_unchanged == 0  # known bills are not even handed to save_bills
    assert demo_site.stats()["requests"].get("bill", 0) == 0
    demo_site.reset_stats()

    env = {**os.environ, "BROWSERKONNECTOR_VAULT_KEY_FILE": str(store / "vault.key")}
    forced = subprocess.run(
        [*CLI, *field_args(alice(demo_site)), "--store", str(store), "--offline-dns", "--full-sync", "--log", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert forced.returncode == 0, forced.stdout[-3000:]
    assert "full sync: forced (--full-sync)" in forced.stdout
    assert demo_site.stats()["requests"]["bills"] == 3  # every page again
    assert demo_site.stats()["logins_ok"] == 0  # and the session was kept all along
