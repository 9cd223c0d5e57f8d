"""``python -m demo_vendor_site``: arguments, banner, and a real process served then stopped by a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest
from demo_vendor_site import DemoSite, SiteConfig
from demo_vendor_site.__main__ import build_parser, config_from_args, format_banner, main

from .client import ALICE, BOB, BOB_SECRET


def test_arguments_map_to_the_site_config() -> None:
    args = build_parser().parse_args(
        ["--bills", "5000", "--seed", "7", "--layout", "redesign", "--latency-ms", "15", "--error-rate", "0.1",
         "--rate-limit-every", "9", "--session-max-requests", "40", "--per-page", "25", "--no-otp",
         "--full-login-navigation"]
    )  # fmt: skip
    assert config_from_args(args) == SiteConfig(
        seed=7, bills=5000, per_page=25, latency_ms=15, error_rate=0.1, rate_limit_every=9,
        session_max_requests=40, layout="redesign", otp_accounts=False, login_navigation="full",
    )  # fmt: skip
    assert config_from_args(build_parser().parse_args([])) == SiteConfig()


def test_a_bad_value_exits_2_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bills", "-3"])
    assert exited.value.code == 2
    assert "SiteConfig.bills" in capsys.readouterr().err


def test_the_banner_names_the_url_and_every_login(site: DemoSite) -> None:
    banner = format_banner(site)
    assert site.url in banner
    assert f"{ALICE[0]} / {ALICE[1]}" in banner
    assert f"{BOB[0]} / {BOB[1]}  (TOTP secret {BOB_SECRET})" in banner
    assert "24 bills per user" in banner
    site.config.otp_accounts = False
    site.config.error_rate = 0.2
    banner = format_banner(site)
    assert BOB_SECRET not in banner
    assert "error rate 0.2" in banner


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_the_module_serves_until_a_signal(stop_with: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "demo_vendor_site", "--port", "0", "--bills", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        shell = httpx.get(match.group(1) + "/login", timeout=10)
        assert shell.status_code == 200
        assert httpx.get(match.group(1) + "/__demo__/config", timeout=10).json()["bills"] == 3
        process.send_signal(stop_with)
        assert process.wait(timeout=15) == 0
        assert process.stderr is not None
        assert "Stopped." in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_cli_command_takes_the_sites_own_options() -> None:
    """``browserkonnector demo-site --port N`` as the README writes it (argparse's REMAINDER refused
    options placed first: "unrecognized arguments: --port"), and ``--help`` shows the site's options."""
    cli = [sys.executable, "-m", "browserkonnector.cli", "demo-site"]
    helped = subprocess.run([*cli, "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "usage: browserkonnector demo-site" in helped.stdout
    assert "--port" in helped.stdout
    process = subprocess.Popen(
        [*cli, "--port", "0", "--bills", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", process.stdout.readline())
        assert match
        assert httpx.get(match.group(1) + "/__demo__/config", timeout=10).json()["bills"] == 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    refused = subprocess.run([*cli, "--bills", "-3"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "bills" in refused.stderr
