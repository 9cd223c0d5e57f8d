"""``browserkonnector shop-site``: its own argparse options (``--port``, ``--help``), the banner, a real
process served then stopped by a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from shop_site import ShopConfig
from shop_site.__main__ import build_parser, config_from_args

from browserkonnector.cli import main as cli_main

BIN = Path(sys.executable).parent / "browserkonnector"


def test_arguments_map_to_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--orders",
            "7",
            "--other-orders",
            "2",
            "--seed",
            "3",
            "--per-page",
            "5",
            "--latency-ms",
            "10",
            "--error-rate",
            "0.25",
            "--session-max-requests",
            "9",
        ]
    )
    assert config_from_args(args) == ShopConfig(
        seed=3, orders=7, other_orders=2, per_page=5, latency_ms=10, error_rate=0.25, session_max_requests=9
    )


def test_help_and_a_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli_main(["shop-site", "--help"])
    assert exited.value.code == 0
    assert "--port" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli_main(["shop-site", "--orders", "-1"])
    assert exited.value.code == 2
    assert "ShopConfig.orders" in capsys.readouterr().err


def test_the_command_serves_until_sigterm() -> None:
    process = subprocess.Popen(
        [str(BIN), "shop-site", "--port", "0", "--orders", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = "".join(process.stdout.readline() for _ in range(5))
        url = re.search(r"serving on (http://127\.0\.0\.1:\d+)", banner)
        assert url, banner
        assert "anna@shop.test / Anna-Shop-Pass-7!" in banner
        assert httpx.get(url.group(1) + "/accounts/login/").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0
