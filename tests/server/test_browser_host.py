"""``browserkonnector browser-server``: a real host process, real runs through it, a real kill."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_vendor_site import DemoSite, SiteConfig

from browserkonnector import _errors as errors
from browserkonnector._errors import KonnectorError
from browserkonnector.browser import BrowserOptions, BrowserSession
from browserkonnector.server._host import HostStartError, driver_command
from browserkonnector.server._process import HostProcess

pytestmark = [pytest.mark.browser, pytest.mark.anyio]
REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "connectors" / "demo_vendor"


@pytest.fixture(scope="module")
def host() -> Iterator[HostProcess]:
    with HostProcess(max_clients=2, queue_timeout=30) as running:
        yield running


@pytest.fixture
def site() -> Iterator[DemoSite]:
    with DemoSite(SiteConfig(bills=8)) as demo:
        yield demo


def _run(
    site: DemoSite, store: Path, *, connect: str | None = None, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    user = next(u for u in site.users if u.otp_secret is None)
    command = [
        sys.executable,
        "-m",
        "browserkonnector.cli",
        "run",
        str(DEMO),
        "--store",
        str(store),
        "--artifacts",
        str(store.parent / "art"),
        "--field",
        f"base_url={site.url}",
        "--field",
        f"login={user.email}",
        "--field",
        f"password={user.password}",
        "--log",
        "json",
    ]
    if connect:
        command += ["--connect", connect]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COZY_", "BROWSERKONNECTOR_CONNECT"))}
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env={**environ, **(env or {})})


def _critical(done: subprocess.CompletedProcess[str]) -> str | None:
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return next((str(e["message"]) for e in lines if e["type"] == "critical"), None)


def test_runs_through_the_host_with_connect_or_the_environment(
    host: HostProcess, site: DemoSite, tmp_path: Path
) -> None:
    first = _run(site, tmp_path / "a" / "store", connect=host.endpoint)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "saved 8 new bill(s)" in first.stdout
    second = _run(site, tmp_path / "b" / "store", env={"BROWSERKONNECTOR_CONNECT": host.endpoint})
    assert second.returncode == 0, second.stdout[-2000:]
    assert "saved 8 new bill(s)" in second.stdout
    # The endpoint's path is the host's secret: never in a run's output.
    path = host.endpoint.split("/", 3)[3]
    assert path not in first.stdout + first.stderr + second.stdout + second.stderr


async def test_each_run_gets_a_fresh_context_never_another_accounts_cookies(host: HostProcess, site: DemoSite) -> None:
    async with (
        BrowserSession(BrowserOptions(connect=host.endpoint)) as one,
        BrowserSession(BrowserOptions(connect=host.endpoint)) as two,
    ):
        context = await one.new_context()
        page = await context.new_page()
        await page.goto(f"{site.url}/login")
        await page.evaluate("document.cookie = 'session_of=alice; path=/'")
        assert "session_of" in [c["name"] for c in await context.cookies(site.url)]
        other = await two.new_context()
        assert two.browser.contexts == [other]  # the other run's context is not even visible
        assert await other.cookies(site.url) == []
        other_page = await other.new_page()
        await other_page.goto(f"{site.url}/login")
        assert "session_of" not in await other_page.evaluate("document.cookie")


async def test_the_cap_is_respected_extra_runs_wait_then_get_a_clear_code() -> None:
    with HostProcess(max_clients=1, queue_timeout=1) as capped:
        async with BrowserSession(BrowserOptions(connect=capped.endpoint)) as first:
            await first.new_context()
            with pytest.raises(KonnectorError) as refused:
                async with BrowserSession(BrowserOptions(connect=capped.endpoint)):
                    pass
            assert refused.value.code == errors.BROWSER_UNAVAILABLE
            assert "full" in str(refused.value)
            assert capped.endpoint.split("/", 3)[3] not in str(refused.value)
        async with BrowserSession(BrowserOptions(connect=capped.endpoint)) as after:  # the slot is free again
            assert await after.new_context()
    with HostProcess(max_clients=1, queue_timeout=60) as queued:
        async with BrowserSession(BrowserOptions(connect=queued.endpoint)) as first:
            waiting = asyncio.create_task(BrowserSession(BrowserOptions(connect=queued.endpoint)).start())
            await asyncio.sleep(2)
            assert not waiting.done()  # past the cap: it waits, it is not let in
        second = await asyncio.wait_for(waiting, 60)  # the first left: the waiting run gets in
        try:
            assert await second.new_context()
        finally:
            await second.close()


def test_a_host_that_dies_mid_run_ends_the_run_with_a_retryable_code(tmp_path: Path) -> None:
    with DemoSite(SiteConfig(bills=40, latency_ms=150)) as slow, HostProcess(max_clients=2) as dying:
        user = next(u for u in slow.users if u.otp_secret is None)
        command = [
            sys.executable,
            "-m",
            "browserkonnector.cli",
            "run",
            str(DEMO),
            "--store",
            str(tmp_path / "store"),
            "--artifacts",
            str(tmp_path / "art"),
            "--connect",
            dying.endpoint,
            "--field",
            f"base_url={slow.url}",
            "--field",
            f"login={user.email}",
            "--field",
            f"password={user.password}",
            "--log",
            "json",
        ]
        run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while slow.stats()["requests"].get("bill_pdf", 0) + slow.stats()["requests"].get("print", 0) < 3:
                assert run.poll() is None, run.communicate()
                assert time.monotonic() < deadline, "the run never reached its files"
                time.sleep(0.1)
            dying.kill()  # mid-run: files are being fetched
            stdout, _ = run.communicate(timeout=60)  # never a hang: bounded here, and it ends in seconds
        finally:
            if run.poll() is None:
                run.kill()
        done = subprocess.CompletedProcess(command, run.returncode, stdout, "")
        assert run.returncode == 1
        assert _critical(done) == errors.BROWSER_UNAVAILABLE
        assert errors.KonnectorError(errors.BROWSER_UNAVAILABLE).no_retry is False
        # The retry (here on a new host) saves what the lost run did not, and nothing twice.
        saved_before = sorted(p.name for p in (tmp_path / "store" / "files").rglob("*.pdf"))
        with HostProcess(max_clients=2) as again:
            retried = subprocess.run(
                [
                    *command[: command.index("--connect") + 1],
                    again.endpoint,
                    *command[command.index("--connect") + 2 :],
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
        assert retried.returncode == 0, retried.stdout[-3000:]
        pdfs = sorted(p.name for p in (tmp_path / "store" / "files").rglob("*.pdf"))
        assert len(pdfs) == len(set(pdfs)) == 40
        assert set(saved_before) <= set(pdfs)
        refs = [
            json.loads(line)["vendorRef"]
            for line in subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "browserkonnector.cli",
                    "store",
                    "export",
                    "--store",
                    str(tmp_path / "store"),
                    "--doctype",
                    "io.cozy.bills",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout.splitlines()
        ]
        assert len(refs) == len(set(refs)) == 40


def test_bad_options_are_named() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "browserkonnector.cli", "browser-server", "--max-clients", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--max-clients=0: must be >= 1" in done.stderr


def test_the_driver_is_found_where_the_playwright_wheel_puts_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    node, cli = driver_command()
    assert Path(node).is_file()
    assert cli.endswith("cli.js")
    assert Path(cli).is_file()
    monkeypatch.setenv("PLAYWRIGHT_NODEJS_PATH", str(tmp_path / "no-node"))
    with pytest.raises(HostStartError, match="no-node is missing"):
        driver_command()
