"""The bank connector keeps its whole browser profile (``keep_profile=True``), against a live bank site.

The site's counters tell what the second run did: no bundle or module download (Chromium's HTTP cache,
kept in the profile), no login (the vault's session cookie), no full sync (the worker's cursors, kept in
the profile's IndexedDB). The archive in the store is encrypted; a corrupt one is discarded with a
warning and the run still succeeds; ``--fresh-session`` discards it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bank_spa_site import BankConfig, BankSite

from browserkonnector.runtime import PROFILES_DIR, KeptProfile
from browserkonnector.testing import ConnectorRun

pytestmark = pytest.mark.browser
CONNECTOR = Path(__file__).resolve().parents[1]
Run = Callable[..., ConnectorRun]
MODULES = 40


def small_bank() -> BankSite:
    return BankSite(BankConfig(bundle_kb=512, boot_requests=MODULES, toast_ms=300, stale_ms=200))


def archive_of(store: Path) -> Path:
    (archive,) = (store / PROFILES_DIR).glob("*.profile")
    assert isinstance(archive, Path)
    return archive


def test_the_second_run_finds_the_bundle_cached_the_session_kept_and_nothing_to_sync(
    run_connector: Run, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    with small_bank() as site:
        fields = {"base_url": site.url, "password": site.config.password}
        first = run_connector(CONNECTOR, fields=fields, store_dir=store)
        assert first.ok, first.explain()
        cold = site.stats()
        assert (cold["vendor"], cold["module"], cold["logins_ok"], cold["operations"]) == (1, MODULES, 1, 6)
        (token,) = site.session_tokens()  # the session cookie's value, as the site issued it
        site.reset_stats()

        second = run_connector(CONNECTOR, fields=fields, store_dir=store)
        assert second.ok, second.explain()
        warm = site.stats()
    assert warm.get("vendor", 0) == 0  # the bundle and the modules come from the kept HTTP cache
    assert warm.get("module", 0) == 0
    assert warm.get("login", 0) == 0  # the kept session is still alive
    assert warm["session_check"] == 1
    assert warm["operations_unchanged"] == 2  # one ?since= per account, answered "unchanged"
    assert warm["operations"] == 2
    assert second.result.stats.extra["session_restored"] == 1
    assert len(second.documents("io.cozy.bank.operations")) == 300  # all still there, none rewritten

    archive = archive_of(store)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    blob = archive.read_bytes()
    for secret in (token, site.config.password, "bank_session", "acc-7-1-op0000", "vendor bundle"):
        assert secret.encode() not in blob, f"{secret!r} is in clear in the kept profile"
    kept = KeptProfile(archive_of(store), (store / "vault.key").read_bytes().strip())  # the vault's key
    opened = kept.open()
    try:
        assert kept.restored
        assert (opened / "Default" / "IndexedDB").is_dir()
        assert (opened / "Default" / "Cache").is_dir()
        assert not (opened / "SingletonLock").exists()
    finally:
        kept.close()  # not kept: the clear copy is removed, the archive stays


def test_a_corrupt_profile_is_discarded_with_a_warning_and_the_run_succeeds(
    run_connector: Run, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    with small_bank() as site:
        fields = {"base_url": site.url, "password": site.config.password}
        assert run_connector(CONNECTOR, fields=fields, store_dir=store).ok
        archive = archive_of(store)
        blob = bytearray(archive.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        archive.write_bytes(bytes(blob))
        site.reset_stats()
        capfd.readouterr()

        run = run_connector(CONNECTOR, fields=fields, store_dir=store)
        out = capfd.readouterr().out
        assert run.ok, run.explain()
        stats = site.stats()
    assert "the kept browser profile cannot be read (corrupt, or encrypted with another key" in out
    assert stats["vendor"] == 1  # a fresh profile downloads everything again
    assert stats["module"] == MODULES
    assert len(run.documents("io.cozy.bank.operations")) == 300
    assert archive_of(store).read_bytes() != bytes(blob)  # and a good profile is kept anew


def test_fresh_session_discards_the_kept_profile(run_connector: Run, tmp_path: Path) -> None:
    store = tmp_path / "store"
    with small_bank() as site:
        fields = {"base_url": site.url, "password": site.config.password}
        assert run_connector(CONNECTOR, fields=fields, store_dir=store).ok
        site.reset_stats()
        # The command docs/sessions.md shows (the key file named, for a hermetic test).
        env = {**os.environ, "BROWSERKONNECTOR_VAULT_KEY_FILE": str(store / "vault.key")}
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "browserkonnector.cli",
                "run",
                str(CONNECTOR),
                "--field",
                f"base_url={site.url}",
                "--field",
                f"password={site.config.password}",
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
            timeout=180,
            check=False,
        )
        stats = site.stats()
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    assert "discarded the kept browser profile" in cli.stdout
    assert stats["vendor"] == 1
    assert stats["module"] == MODULES
    assert stats["logins_ok"] == 1
    assert site.config.password not in cli.stdout + cli.stderr
