"""Record & replay with a real Chromium against the local test site: both network paths, secrets turned
into placeholders, offline replay (with another password, at another origin), misses, repeated calls,
re-recording with a diff, and a HAR that Playwright's own ``route_from_har`` reads."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from browserkonnector._redact import Redactor
from browserkonnector._request import request_factory
from browserkonnector.browser import (
    DEFAULT_BLOCKED,
    BrowserSession,
    PdfPrinter,
    Recorder,
    Recording,
    Replayer,
    ReplayMiss,
    capture_json,
    find_secrets,
    session_http,
)
from browserkonnector.browser.instrument._recording import DIFF_NAME, HAR_NAME, META_NAME, Exchange

from .conftest import Site

pytestmark = pytest.mark.anyio
USER = "alice@example.org"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused(origin: str) -> bool:
    host, port = origin.rsplit("//", 1)[1].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


async def flow(context: BrowserContext, http: httpx.AsyncClient, base: str, password: str) -> dict[str, Any]:
    """A connector's worth of traffic: a JS login (password in a JSON body, a session cookie, a token in
    sessionStorage), HTTP calls with cookie and bearer, a captured XHR followed by a navigation (a page
    route that fetches), an attachment download, and a page printed to PDF (a page route that continues)."""
    page = context.pages[0]
    await page.goto(base + "/login")
    await page.fill("#username", USER)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_function("document.querySelector('#welcome').textContent.length > 0")
    token = await page.evaluate("sessionStorage.getItem('token')")
    me = await http.get(base + "/api/me", headers={"Authorization": f"Bearer {token}"})
    pdf = await http.get(base + "/files/protected.pdf")
    async with capture_json(page, "**/api/bills*") as bills:
        await page.goto(base + "/spa")
        captured = await bills.wait(10)
    await page.wait_for_url("**/spa/done")
    # (not the site's /downloads page: its inline-PDF iframe is a download too in the headless shell)
    async with page.expect_download() as info:
        await page.evaluate("""() => { const a = document.createElement('a'); a.href = '/files/attach.pdf';
                                        document.body.appendChild(a); a.click(); }""")
    download = await info.value
    downloaded = await asyncio.to_thread(Path(await download.path()).read_bytes)
    async with PdfPrinter(context) as printer:
        printed = await printer.from_url(base + "/bill/3")
    # a classic form post (password form-encoded) answered by a 303 the browser follows itself
    await page.goto(base + "/login-form")
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/spa/done")
    return {
        "welcome": await page.evaluate("document.title"),
        "me": me.json(),
        "pdf": pdf.content,
        "pdf_status": pdf.status_code,
        "bills": captured,
        "download": downloaded,
        "printed": printed,
        "token": token,
    }


async def record_flow(
    browser_session: BrowserSession, site: Site, folder: Path, password: str | None = None
) -> tuple[dict[str, Any], Redactor, Recorder]:
    redactor = Redactor()
    password = password or site.state.password
    redactor.add(password)  # as the runtime registers fields before the browser starts
    context = await browser_session.new_context()
    try:
        await context.new_page()
        http = session_http(context, redactor=redactor)
        recorder = Recorder(
            folder,
            redactor,
            fields={"password": password, "login": USER},
            block_resources=DEFAULT_BLOCKED,
            secret_storage_keys=["token"],
            connector={"slug": "test", "version": "0"},
        )
        await recorder.attach(context, http, context.pages[0])
        result = await flow(context, http, site.url, password)
        await recorder.finish()
        await http.aclose()
    finally:
        await context.close()
    return result, redactor, recorder


async def replay_flow(
    browser_session: BrowserSession, folder: Path, base: str, password: str
) -> tuple[dict[str, Any], Replayer]:
    redactor = Redactor()
    redactor.add(password)
    context = await browser_session.new_context()
    try:
        await context.new_page()
        http = session_http(context, redactor=redactor)
        replayer = Replayer(
            folder, redactor, fields={"password": password, "login": USER}, block_resources=DEFAULT_BLOCKED
        )
        await replayer.attach(context, http)
        result = await flow(context, http, base, password)
        await http.aclose()
    finally:
        await context.close()
    return result, replayer


@pytest.fixture(scope="module")
async def recorded(
    browser_session: BrowserSession, site: Site, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any], Redactor]:
    folder = tmp_path_factory.mktemp("rec") / "recording"
    result, redactor, _ = await record_flow(browser_session, site, folder)
    return folder, result, redactor


@pytest.mark.browser
async def test_both_paths_are_recorded_into_one_har(
    recorded: tuple[Path, dict[str, Any], Redactor], site: Site
) -> None:
    folder, result, _ = recorded
    assert result["me"] == {"name": "Alice"}
    assert result["pdf_status"] == 200
    assert result["bills"]["items"]
    assert result["download"].startswith(b"%PDF")
    assert result["printed"].startswith(b"%PDF")
    har = json.loads((folder / HAR_NAME).read_text())
    assert har["log"]["version"] == "1.2"
    entries = har["log"]["entries"]
    sources = {(e["_source"], e["request"]["url"].split("?")[0].removeprefix(site.url)) for e in entries}
    assert {
        ("browser", "/login"),
        ("browser", "/api/login"),
        ("browser", "/api/bills"),
        ("browser", "/spa/done"),
        ("browser", "/files/attach.pdf"),
        ("browser", "/bill/3"),
        ("http", "/api/me"),
        ("http", "/files/protected.pdf"),
    } <= sources
    # the printer's page unblocks images (route.continue_): recorded; the main page's images are blocked
    assert ("browser", "/img/logo.png") in sources
    form = next(e for e in entries if e["request"]["method"] == "POST" and "/login-form" in e["request"]["url"])
    assert form["response"]["status"] == 303
    # the form's anti-forgery token is a placeholder like the CSRF cookie (it used to stay in clear)
    assert form["request"]["postData"]["text"] == (
        "csrfmiddlewaretoken={{csrf:csrfmiddlewaretoken}}&password=%7B%7Bpassword%7D%7D"
    )
    assert site.state.form_csrf not in (folder / HAR_NAME).read_text()
    # big and binary bodies live beside the HAR, named by content; the recording reads back whole
    recording = Recording.load(folder)
    pdf = next(e for e in recording.exchanges if e.url.endswith("/files/attach.pdf"))
    assert pdf.response_body == result["download"]
    assert all(e["response"]["content"].get("_file", "bodies/").startswith("bodies/") for e in entries)
    meta = json.loads((folder / META_NAME).read_text())
    assert meta["fields"] == ["login", "password"]
    assert meta["origins"] == [site.url]
    assert meta["outcome"] == {"ok": True, "error": None}
    assert meta["version"] == 1


@pytest.mark.browser
async def test_no_secret_of_the_recording_run_remains_in_any_form(
    recorded: tuple[Path, dict[str, Any], Redactor], site: Site
) -> None:
    folder, result, redactor = recorded
    # an independent redactor that knows the real secrets, whatever the recorder registered
    truth = Redactor([site.state.password, site.state.session_cookie, site.state.token, result["token"]])
    assert truth.values <= redactor.values
    assert find_secrets(folder, truth) == []
    assert find_secrets(folder, redactor) == []
    text = (folder / HAR_NAME).read_text()
    assert "{{password}}" in text
    assert "{{cookie:session}}" in text
    assert "{{storage:token}}" in text


@pytest.mark.browser
async def test_the_replay_report_lists_what_it_blocked(
    recorded: tuple[Path, dict[str, Any], Redactor], browser_session: BrowserSession, site: Site
) -> None:
    """An unrecorded image is blocked, not a miss; the report used to count such requests without naming
    them."""
    folder, _, _ = recorded
    context = await browser_session.new_context()
    try:
        page = await context.new_page()
        replayer = Replayer(folder, Redactor(), block_resources=DEFAULT_BLOCKED)
        await replayer.attach(context, session_http(context))
        await page.goto(site.url + "/login")
        failed = asyncio.get_running_loop().create_future()
        page.on("requestfailed", lambda r: failed.done() or failed.set_result(r.url))
        await page.evaluate("url => { new Image().src = url }", site.url + "/img/never-recorded.png")
        assert await asyncio.wait_for(failed, 10) == site.url + "/img/never-recorded.png"
    finally:
        await context.close()
    report = replayer.report()
    assert report["misses"] == []
    assert report["blocked"] == 1
    assert report["blocked_requests"] == [f"image GET {site.url}/img/never-recorded.png"]


@pytest.mark.browser
async def test_replay_is_offline_and_tolerates_another_password(
    recorded: tuple[Path, dict[str, Any], Redactor], browser_session: BrowserSession, site: Site
) -> None:
    folder, live, _ = recorded
    hits = dict(site.state.hits)
    replayed, replayer = await replay_flow(browser_session, folder, site.url, "not-the-recorded-password")
    assert site.state.hits == hits  # same origin as recorded, the site is up: still not one request reached it
    report = replayer.report()
    assert report["misses"] == []
    assert report["passed_to_network"] == 0
    assert report["served"]["http"] == 2
    assert report["served"]["browser"] >= 8
    assert replayed["me"] == live["me"]
    assert replayed["pdf"] == live["pdf"]
    assert replayed["bills"] == live["bills"]
    assert replayed["download"] == live["download"]
    assert replayed["printed"].startswith(b"%PDF")
    assert replayed["token"] == "{{storage:token}}"  # the server-issued token came back as its placeholder


@pytest.mark.browser
async def test_replay_at_another_origin_rewrites_it(
    recorded: tuple[Path, dict[str, Any], Redactor], browser_session: BrowserSession
) -> None:
    folder, live, _ = recorded
    origin = f"http://127.0.0.1:{closed_port()}"
    replayed, replayer = await replay_flow(browser_session, folder, origin, "whatever-password")
    assert refused(origin)
    assert replayer.report()["misses"] == []
    assert replayed["me"] == live["me"]
    assert replayed["download"] == live["download"]


@pytest.mark.browser
async def test_a_miss_names_the_request_and_the_closest_candidate(
    recorded: tuple[Path, dict[str, Any], Redactor], browser_session: BrowserSession, site: Site
) -> None:
    folder, _, _ = recorded
    redactor = Redactor(["s3cret-typed-at-replay"])
    context = await browser_session.new_context()
    try:
        page = await context.new_page()
        http = session_http(context, redactor=redactor)
        replayer = Replayer(folder, redactor, block_resources=DEFAULT_BLOCKED)
        await replayer.attach(context, http)
        with pytest.raises(ReplayMiss) as caught:
            await http.get(site.url + "/files/protected.pdf?token=s3cret-typed-at-replay")
        message = caught.value.message
        assert caught.value.code == "UNKNOWN_ERROR.REPLAY_MISS"
        assert message.startswith(f"replay: no recorded exchange for GET {site.url}/files/protected.pdf?token=")
        assert "s3cret-typed-at-replay" not in message  # the URL is shown without secrets
        assert f"closest recorded: GET {site.url}/files/protected.pdf" in message
        assert "differs by: query token=" in message
        assert f"--record {folder}" in message
        with pytest.raises(PlaywrightError):
            await page.goto(site.url + "/nowhere")  # the browser's request is aborted, not sent
        assert len(replayer.misses) == 2
        assert "GET " + site.url + "/nowhere (browser)" in replayer.misses[1].message
        await http.aclose()
    finally:
        await context.close()


async def test_repeated_calls_are_served_in_recorded_order(tmp_path: Path) -> None:
    """An endpoint polled three times answers 1, 2, 3 (not 1, 1, 1 as playwright#32272), then 3 again."""

    def status(n: int) -> Exchange:
        return Exchange(
            "http",
            "GET",
            f"http://127.0.0.1:1/api/status?_={1718030301000 + n}",
            (),
            None,
            200,
            "OK",
            (("Content-Type", "application/json"),),
            json.dumps({"step": n}).encode(),
        )

    Recording([status(1), status(2), status(3)]).save(tmp_path)
    async with request_factory(retries=0) as http:
        replayer = Replayer(tmp_path, Redactor())
        await replayer.attach(None, http)
        answers = [(await http.get(f"http://127.0.0.1:1/api/status?_={n}")).json()["step"] for n in range(4)]
    assert answers == [1, 2, 3, 3]
    assert len(replayer.report()["repeats"]) == 1


@pytest.mark.browser
async def test_rerecording_prints_what_changed(browser_session: BrowserSession, site: Site, tmp_path: Path) -> None:
    folder = tmp_path / "recording"
    await record_flow(browser_session, site, folder)
    # the second run asks one more thing of the site
    redactor = Redactor([site.state.password])
    context = await browser_session.new_context()
    try:
        await context.new_page()
        http = session_http(context, redactor=redactor)
        recorder = Recorder(
            folder,
            redactor,
            fields={"password": site.state.password},
            block_resources=DEFAULT_BLOCKED,
            secret_storage_keys=["token"],
        )
        await recorder.attach(context, http, context.pages[0])
        await flow(context, http, site.url, site.state.password)
        await http.get(site.url + "/api/other")
        diff = await recorder.finish(failed=True, error="LOGIN_FAILED")
        await http.aclose()
    finally:
        await context.close()
    assert diff is not None
    text = (folder / DIFF_NAME).read_text()
    assert text == diff.text()
    assert "+ GET /api/other: 1 added (0 → 1)" in text
    assert "GET /api/bills" not in text  # a new cache buster or session is no change
    meta = json.loads((folder / META_NAME).read_text())
    assert meta["outcome"] == {"ok": False, "error": "LOGIN_FAILED"}


@pytest.mark.browser
async def test_playwrights_own_har_replay_reads_the_recording(
    recorded: tuple[Path, dict[str, Any], Redactor], browser_session: BrowserSession, site: Site
) -> None:
    folder, _, _ = recorded
    context = await browser_session.new_context()
    try:
        await context.route_from_har(folder / HAR_NAME, not_found="abort")
        page = await context.new_page()
        await page.goto(site.url + "/login")
        assert await page.locator("#password").count() == 1
        body = await page.evaluate("fetch('/files/attach.pdf').then(r => r.arrayBuffer()).then(b => b.byteLength)")
        assert body == len(site.state.pdf("attach"))
    finally:
        await context.close()


@pytest.mark.browser
async def test_replayed_cookies_reach_the_browser(browser_session: BrowserSession, tmp_path: Path) -> None:
    """Several ``Set-Cookie`` of one answer all land in the context, and the page is served at any origin."""
    page_html = b"<!doctype html><title>hi</title><p id=p>http://127.0.0.1:1/x</p>"
    Recording(
        [
            Exchange(
                "browser",
                "GET",
                "http://127.0.0.1:1/",
                (),
                None,
                200,
                "OK",
                (
                    ("Content-Type", "text/html"),
                    ("Set-Cookie", "a=first-cookie; Path=/"),
                    ("Set-Cookie", "b=second-cookie; Path=/; HttpOnly"),
                ),
                page_html,
            )
        ]
    ).save(tmp_path)
    origin = f"http://127.0.0.1:{closed_port()}"
    context = await browser_session.new_context()
    try:
        page = await context.new_page()
        async with request_factory(retries=0) as http:
            replayer = Replayer(tmp_path, Redactor())
            await replayer.attach(context, http)
            await page.goto(origin + "/")
            cookies = {c["name"]: c["value"] for c in await context.cookies()}
            assert cookies == {"a": "first-cookie", "b": "second-cookie"}
            assert await page.text_content("#p") == origin + "/x"  # the recorded origin, rewritten
    finally:
        await context.close()
