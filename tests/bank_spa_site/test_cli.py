"""``browserkonnector bank-site``: serves the app, prints URL and password, refuses a bad knob by name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

BIN = str(Path(sys.executable).with_name("browserkonnector"))


def test_bank_site_serves_and_prints_url_and_password() -> None:
    proc = subprocess.Popen(
        [BIN, "bank-site", "--port", "0", "--operations", "3", "--bundle-kb", "8"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.rsplit(" ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[1].strip() == "Password: open-sesame-4242"
        assert "Demo Local Bank" in httpx.get(url + "/").text
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_bank_site_help_and_bad_knob() -> None:
    shown = subprocess.run([BIN, "bank-site", "--help"], capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0
    assert "--bundle-kb" in shown.stdout
    bad = subprocess.run([BIN, "bank-site", "--operations", "-1"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
    assert "BankConfig.operations must be >= 0" in bad.stderr
