"""Tracer: a real login traced with screenshots and snapshots, kept on failure, scrubbed, still viewable."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from browserkonnector._redact import Redactor
from browserkonnector.browser import Tracer, fill_secret, find_secrets
from browserkonnector.browser.instrument._tracing import TRACE_PARTS, trace_parts

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


def leak_forms(secret: str) -> dict[str, str]:
    """The shapes a leak takes, computed here independently of the Redactor under test."""
    forms = {
        "plain": secret,
        "url-encoded": quote(secret, safe=""),
        "url-encoded (form)": quote_plus(secret),
        "json-escaped": json.dumps(secret)[1:-1],
        "json-escaped (utf-8)": json.dumps(secret, ensure_ascii=False)[1:-1],
        "base64": base64.b64encode(secret.encode()).decode().rstrip("="),
    }
    return {name: value for name, value in forms.items() if len(value) >= 6}


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_trace_parses(files: dict[str, bytes], *, bodies: bool = True) -> list[dict[str, Any]]:
    """Every line of every *.trace / *.network member is JSON, and every resource they cite exists (a
    trace without snapshots keeps no response bodies: it cites none)."""
    events: list[dict[str, Any]] = []
    for name, data in files.items():
        if name.endswith((".trace", ".network")):
            events += [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    cited = set(re.findall(r'"(resources/[0-9a-f]{40}\.\w+)"', json.dumps(events)))
    assert bool(cited) == bodies
    assert cited <= files.keys()
    return events


async def login(tab: Any, site: Any, redactor: Redactor) -> None:
    await tab.goto(site("/login"))
    await tab.fill("#username", site.state.username)
    await fill_secret(tab.locator("#password"), site.state.password, redactor=redactor)
    await tab.click("button[type=submit]")
    await tab.wait_for_selector("text=Welcome Alice")


@pytest.mark.parametrize("parts", [None, frozenset(TRACE_PARTS)], ids=["default", "screenshots+snapshots"])
async def test_failed_login_trace_is_kept_without_a_single_secret(
    tab: Any, site: Any, tmp_path: Path, parts: frozenset[str] | None
) -> None:
    """Password (form → JSON POST body), session cookie (Set-Cookie / Cookie), bearer token (in
    sessionStorage, then an Authorization header): none survives, in any form, in any member. The default
    of ``retain-on-failure`` records the actions and the network, not the screencast nor DOM snapshots."""
    redactor = Redactor()  # the run's: it only learns the password, through fill_secret
    tracer = Tracer(tab.context, "retain-on-failure", redactor, parts=parts)
    await tracer.start()
    await login(tab, site, redactor)
    kept = await tracer.stop(failed=True, path=tmp_path / "bundle" / "trace.zip")
    assert kept == tmp_path / "bundle" / "trace.zip"
    assert kept.is_file()

    files = members(kept)
    events = assert_trace_parses(files, bodies=parts is not None)
    # the flow really is in there: the fill, the masked headers, (with those parts) screenshots, snapshots
    fills = [e for e in events if e.get("method") == "fill" and e.get("type") == "before"]
    assert [f["params"]["value"] for f in fills] == [site.state.username, "***"]
    headers = [
        h
        for e in events
        if e.get("type") == "resource-snapshot"
        for h in e["snapshot"]["request"]["headers"]
        if h["name"] in ("Authorization", "Cookie")
    ]
    if parts is not None:  # without snapshots the trace has no network part: the bundle's HAR has it
        assert len(headers) >= 2
        assert {h["value"] for h in headers} == {"***"}
    else:
        assert headers == []
    assert any(name.startswith("screencast/") for name in files) == (parts is not None)
    assert any(e.get("type") == "frame-snapshot" for e in events) == (parts is not None)

    truth = {"password": site.state.password, "cookie": site.state.session_cookie, "token": site.state.token}
    for secret_name, secret in truth.items():
        for form, leak in leak_forms(secret).items():
            hits = [name for name, data in files.items() if leak.encode() in data]
            assert not hits, f"the {secret_name} ({form}) is in {hits}"
    assert find_secrets(kept, Redactor(truth.values())) == []


async def test_retain_on_failure_discards_a_success(ctx: Any, site: Any, tmp_path: Path) -> None:
    tracer = Tracer(ctx, "retain-on-failure", Redactor())
    await tracer.start()
    assert tracer.recording
    page = await ctx.new_page()
    await page.goto(site("/blank"))
    assert await tracer.stop(failed=False, path=tmp_path / "trace.zip") is None
    assert not (tmp_path / "trace.zip").exists()
    assert await tracer.stop(failed=True, path=tmp_path / "trace.zip") is None  # already stopped
    await tracer.start()  # tracing can start again: the discard really stopped it
    assert await tracer.stop(failed=True, path=tmp_path / "again.zip") == tmp_path / "again.zip"


async def test_on_keeps_and_off_records_nothing(ctx: Any, site: Any, tmp_path: Path) -> None:
    off = Tracer(ctx, "off", Redactor())
    await off.start()
    assert not off.recording
    assert await off.stop(failed=True, path=tmp_path / "off.zip") is None
    on = Tracer(ctx, "on", Redactor())
    await on.start()
    await (await ctx.new_page()).goto(site("/blank"))
    assert await on.stop(failed=False, path=tmp_path / "on.zip") == tmp_path / "on.zip"
    with pytest.raises(ValueError, match="trace mode='always'"):
        Tracer(ctx, "always", Redactor())  # type: ignore[arg-type]


async def test_the_scrubbed_trace_opens_in_the_trace_viewer(
    browser_session: Any, tab: Any, site: Any, tmp_path: Path
) -> None:
    redactor = Redactor()
    tracer = Tracer(tab.context, "on", redactor)
    await tracer.start()
    await login(tab, site, redactor)
    kept = await tracer.stop(failed=False, path=tmp_path / "trace.zip")
    assert kept is not None
    viewer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "playwright",
        "show-trace",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        str(kept),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    context = await browser_session.browser.new_context()
    try:
        assert viewer.stdout is not None
        url = None
        while url is None:
            line = await asyncio.wait_for(viewer.stdout.readline(), 30)
            assert line, "the trace viewer exited"
            found = re.search(r"(http://127\.0\.0\.1:\d+\S*)", line.decode())
            url = found.group(1) if found else None
        page = await context.new_page()
        await page.goto(url)
        await page.get_by_text('Fill "***"').wait_for(timeout=20_000)
        body = await page.inner_text("body")
        assert "Click" in body
        assert 'Fill "alice@example.org"' in body
        assert site.state.password not in body
    finally:
        await context.close()
        os.killpg(viewer.pid, signal.SIGTERM)  # the CLI wrapper leaves its node child otherwise
        await asyncio.wait_for(viewer.wait(), 10)


def test_trace_parts_from_the_environment() -> None:
    assert trace_parts(None, "retain-on-failure") == frozenset()
    assert trace_parts("", "on") == frozenset(TRACE_PARTS)
    assert trace_parts("screenshots, snapshots", "retain-on-failure") == frozenset(TRACE_PARTS)
    assert trace_parts("none", "on") == frozenset()
    with pytest.raises(ValueError, match="BROWSERKONNECTOR_TRACE_PARTS='video': unknown part"):
        trace_parts("video")
