"""Bad input gets the right code, never a traceback (findings 4 and 5 of the reliability issue).

Each case failed before: a non-UTF-8 dev config and an empty password ended as UNKNOWN_ERROR; a 1 MB
password added about a minute (compiling it into the redaction pattern); a hostile vendor name ended as
UNKNOWN_ERROR (InvalidName); ``../escape.pdf`` was stored as the hidden ``..escape.pdf``; ``.``, ``..``
and names over 255 bytes dropped the file with a warning and exit 0; a SIGTERM's critical line was a
sentence and the bundle folder was named with its spaces.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector._redact import LONG_VARIANT, Redactor
from tests.e2e.conftest import CLI, DEMO_CONNECTOR, alice, run_cli
from tests.faults.conftest import Outcome, run_demo
from tests.faults.invariants import check_store

NAMES = Path(__file__).parent / "connectors" / "names.py"


def run_names(tmp_path: Path, files: list[str], vendor: str = "Names", connector: Path = NAMES) -> Outcome:
    return Outcome(
        run_cli(
            [
                "run",
                str(connector),
                "--store",
                str(tmp_path / "store"),
                "--artifacts",
                str(tmp_path / "art"),
                "--log",
                "json",
            ],
            env={"NAMES_FILES": json.dumps(files), "NAMES_VENDOR": vendor},
            timeout=60,
        )
    )


def stored_names(tmp_path: Path) -> set[str]:
    """The names of the stored files (the store's invariants checked on the way)."""
    report = check_store(tmp_path / "store")
    assert report.problems == []
    return {str(f["name"]) for f in report.files}


def test_a_dev_config_that_is_not_utf8_is_invalid_fields_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "conn"
    folder.mkdir()
    shutil.copy(NAMES, folder / "__init__.py")
    config = folder / "konnector-dev-config.json"
    config.write_bytes('{"fields": {"login": "hélène"}}'.encode("latin-1"))
    out = run_names(tmp_path, ["a.pdf"], connector=folder)
    assert out.code == "USER_ACTION_NEEDED.INVALID_FIELDS"
    assert any(str(config) in m and "not UTF-8" in m for m in out.messages("error"))
    assert "Traceback" not in out.run.stderr


def test_an_empty_password_is_invalid_fields_naming_the_field(tmp_path: Path) -> None:
    run = run_cli(
        [
            "run",
            str(DEMO_CONNECTOR),
            "--store",
            str(tmp_path / "s"),
            "--field",
            "base_url=http://127.0.0.1:9",
            "--field",
            "login=someone@example.test",
            "--field",
            "password=",
            "--log",
            "json",
        ],
        timeout=60,
    )
    out = Outcome(run)
    assert out.code == "USER_ACTION_NEEDED.INVALID_FIELDS"
    assert any("field 'password'" in m and "is empty" in m for m in out.messages("error"))


def test_a_long_secret_is_not_compiled_into_the_redaction_pattern() -> None:
    """Compiling the variants of a 1 MB password took ~60 s; they are now searched as substrings."""
    secret = "p" * (1024 * 1024)
    redactor = Redactor([secret, "short-secret"])
    pattern, _ = redactor._compiled()
    assert len(pattern.pattern) < 100 * LONG_VARIANT
    assert redactor.redact(f"a{secret}b short-secret") == "a***b ***"
    assert redactor.contains_secret(b"x" + secret.encode())


@pytest.mark.browser
def test_a_1_mb_password_fails_the_login_and_never_leaks(tmp_path: Path) -> None:
    password = "Pw-" + "x" * (1024 * 1024)
    site = DemoSite(SiteConfig(bills=2, otp_accounts=False))
    site.start()
    try:
        fields = tmp_path / "fields.json"
        login, _ = alice(site)
        fields.write_text(json.dumps({"base_url": site.url, "login": login, "password": password}))
        run = run_cli(
            [
                "run",
                str(DEMO_CONNECTOR),
                "--store",
                str(tmp_path / "s"),
                "--artifacts",
                str(tmp_path / "a"),
                "--offline-dns",
                "--fields",
                str(fields),
                "--log",
                "json",
            ],
            timeout=120,
        )
    finally:
        site.stop()
    assert Outcome(run).code == "LOGIN_FAILED"
    assert password[:1000] not in run.stdout + run.stderr


def test_a_hostile_vendor_name_becomes_a_safe_folder(tmp_path: Path) -> None:
    out = run_names(tmp_path, ["bill.pdf"], vendor="../../etc/Évil/Vendor")
    assert out.code is None, out.run.stdout[-2000:]
    assert stored_names(tmp_path) == {"bill.pdf"}
    assert sorted(p.name for p in (tmp_path / "store" / "files").iterdir()) == [".cozy_trash", "Administratif"]
    assert (tmp_path / "store" / "files" / "Administratif" / "etcÉvilVendor" / "bill.pdf").is_file()


def test_hostile_file_names_are_made_safe_or_fail_the_run(tmp_path: Path) -> None:
    long = "é" * 200 + ".pdf"  # 404 bytes
    out = run_names(tmp_path, ["../escape.pdf", long, ".hidden.pdf"])
    assert out.code is None, out.run.stdout[-2000:]
    names = stored_names(tmp_path)
    assert "escape.pdf" in names
    assert "hidden.pdf" in names
    cut = next(n for n in names if n.startswith("é"))
    assert cut.endswith(".pdf")
    assert len(cut.encode()) <= 255
    assert not any(n.startswith(".") for n in names)


@pytest.mark.parametrize("name", [".", "..", "/"])
def test_a_name_that_cannot_be_made_safe_fails_the_run_naming_it(tmp_path: Path, name: str) -> None:
    out = run_names(tmp_path, ["good.pdf", name])
    assert out.code == "SAVE_FILE_FAILED"
    assert out.run.returncode == 1
    assert any(f"file {name!r}" in m for m in out.messages("error"))
    assert "good.pdf" in stored_names(tmp_path)  # what could be saved was


@pytest.mark.browser
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_mid_save_leaves_a_consistent_store_and_a_rerun_completes_it(
    tmp_path: Path, sig: signal.Signals
) -> None:
    site = DemoSite(SiteConfig(bills=20, otp_accounts=False, latency_ms=150))
    site.start()
    try:
        login, password = alice(site)
        args = [
            "run",
            str(DEMO_CONNECTOR),
            "--store",
            str(tmp_path / "store"),
            "--artifacts",
            str(tmp_path / "art"),
            "--offline-dns",
            "--log",
            "json",
            "--field",
            f"base_url={site.url}",
            "--field",
            f"login={login}",
            "--field",
            f"password={password}",
        ]
        process = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while site.stats()["pdfs_served"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(sig)
        out, _ = process.communicate(timeout=60)
        assert check_store(tmp_path / "store").problems == []
        if sig == signal.SIGTERM:
            assert process.returncode == 143
            assert json.loads(out.strip().splitlines()[-1])["message"] == "UNKNOWN_ERROR.STOPPED"
            bundle = next(p for p in (tmp_path / "art").iterdir() if p.is_dir())
            assert re.fullmatch(r"[A-Za-z0-9_-]+", bundle.name)
            assert bundle.name.endswith("UNKNOWN_ERROR_STOPPED")
        else:
            assert process.returncode == -signal.SIGKILL
        site.config.latency_ms = 0
        again = run_demo(site, tmp_path)
    finally:
        site.stop()
    assert again.code is None, again.run.stdout[-2000:]
    report = check_store(tmp_path / "store")
    assert report.problems == []
    assert len(report.bills) == 20
