"""The CLI's stdout in job mode, read for real: one JSON object per line, a failure ends with one
critical line carrying the error code, exit status 1 — the Cozy stack's protocol."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite

from browserkonnector._redact import Redactor
from browserkonnector.browser import find_secrets

from .conftest import CLI, DEMO_CONNECTOR, alice, run_args, run_cli

pytestmark = pytest.mark.browser

WRONG_PASSWORD = "Wr0ng-Passw0rd/with+special&chars"


def test_wrong_password_ends_with_login_failed(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path, password=WRONG_PASSWORD))
    assert run.returncode == 1, run.stderr
    assert run.last["type"] == "critical"
    assert run.last["message"] == "LOGIN_FAILED"
    assert run.last.get("no_retry") is True
    assert len(run.messages("critical")) == 1
    assert WRONG_PASSWORD not in run.stdout + run.stderr
    assert site.stats()["logins_failed"] >= 1
    bundles = [p for p in (tmp_path / "art").iterdir() if p.is_dir()]
    assert len(bundles) == 1
    assert (bundles[0] / "trace.zip").is_file()
    assert any(str(bundles[0]) in message for message in run.messages("info"))


@pytest.mark.site(error_rate=1.0)
def test_persistent_500s_end_with_vendor_down_after_bounded_retries(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path))
    assert run.returncode == 1
    assert run.last["type"] == "critical"
    assert run.last["message"] == "VENDOR_DOWN"
    stats = site.stats()
    attempts = stats["requests"].get("csrf", 0) + stats["requests"].get("login", 0)
    assert 2 <= attempts <= 10, stats  # retried, but a bounded number of times


def test_missing_field_fails_before_the_browser_starts(site: DemoSite, tmp_path: Path) -> None:
    connector = tmp_path / "demo_vendor"
    shutil.copytree(DEMO_CONNECTOR, connector, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (connector / "konnector-dev-config.json").unlink()
    login, _ = alice(site)
    started = time.monotonic()
    run = run_cli(
        [
            "run",
            str(connector),
            "--store",
            str(tmp_path / "store"),
            "--artifacts",
            str(tmp_path / "art"),
            "--field",
            f"base_url={site.url}",
            "--field",
            f"login={login}",
        ]
    )
    assert run.returncode == 1
    assert run.last["type"] == "critical"
    assert run.last["message"] == "USER_ACTION_NEEDED.INVALID_FIELDS"
    errors = " ".join(run.messages("error"))
    assert "missing field 'password'" in errors
    assert "konnector-dev-config.json (absent)" in errors
    assert "--field" in errors
    assert site.stats()["requests_total"] == 0  # nothing reached the site: no browser was started
    assert not (tmp_path / "art").exists()
    assert time.monotonic() - started < 60  # sanity bound only (no browser launch involved)


def test_failed_run_trace_has_no_secret_in_any_encoding(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path, password=WRONG_PASSWORD, extra=["--trace", "retain-on-failure"]))
    assert run.last["message"] == "LOGIN_FAILED"
    bundle = next(p for p in (tmp_path / "art").iterdir() if p.is_dir())
    _, good_password = alice(site)
    findings = find_secrets(bundle, Redactor([WRONG_PASSWORD, good_password]))
    assert findings == []
    findings = find_secrets(bundle.with_suffix(".zip"), Redactor([WRONG_PASSWORD]))
    assert findings == []


def test_sigterm_ends_with_a_critical_line(tmp_path: Path) -> None:
    from demo_vendor_site import SiteConfig

    slow = DemoSite(SiteConfig(bills=8, latency_ms=3_000))
    slow.start()
    try:
        process = subprocess.Popen(
            [*CLI, *run_args(slow, tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while slow.stats()["requests"].get("csrf", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        slow.stop()
    import json

    last = json.loads(out.strip().splitlines()[-1])
    assert process.returncode == 143
    assert last == {**last, "type": "critical", "message": "UNKNOWN_ERROR.STOPPED"}


@pytest.mark.site(latency_ms=2_000)
def test_timeout_ends_cleanly_with_a_critical_line(site: DemoSite, tmp_path: Path) -> None:
    run = run_cli(run_args(site, tmp_path, extra=["--timeout", "3"]))
    assert run.returncode == 1
    assert run.last["type"] == "critical"
    assert run.last["message"] == "UNKNOWN_ERROR.TIMEOUT"


@pytest.mark.site(bills=30, latency_ms=150)
def test_vendor_down_after_login_leaves_a_complete_bundle_without_secrets(site: DemoSite, tmp_path: Path) -> None:
    """The API falls over once the connector is logged in: the bundle then holds a session cookie and an
    API token in its trace and HAR — none of them, nor the password, may be readable in any file."""
    import threading

    def break_api_after_login() -> None:
        deadline = time.monotonic() + 60
        while site.stats()["logins_ok"] == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        site.config.error_rate = 1.0

    watcher = threading.Thread(target=break_api_after_login, daemon=True)
    watcher.start()
    run = run_cli(run_args(site, tmp_path))
    watcher.join(timeout=5)
    assert run.returncode == 1
    assert run.last["message"] == "VENDOR_DOWN", run.stdout[-3000:]
    bundle = next(p for p in (tmp_path / "art").iterdir() if p.is_dir())
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
    } <= names
    issued = site._state.auth  # test-only look at what the site handed out: session ids and API tokens
    sessions = list(issued._sessions.values())
    secrets = [alice(site)[1], *(s.id for s in sessions), *(s.token for s in sessions)]
    assert len(secrets) >= 3
    assert find_secrets(bundle, Redactor(secrets)) == []
    assert find_secrets(bundle.with_suffix(".zip"), Redactor(secrets)) == []
    har = (bundle / "network.har").read_text()
    assert "/api/bills" in har  # the failing calls are there, scrubbed, not dropped
