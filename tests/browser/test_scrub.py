"""Scrubbing and scanning: raw traces and HARs of a real login, synthetic leaks in every encoding."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from browserkonnector._redact import Redactor
from browserkonnector.browser import find_secrets, scrub_file, scrub_har, scrub_zip
from browserkonnector.browser._scrub_rules import mask_url_query

from .test_tracing import assert_trace_parses, members

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


def truth(site: Any) -> Redactor:
    """Every secret of the login, known from the site itself (the run's redactor knows less)."""
    return Redactor([site.state.password, site.state.session_cookie, site.state.token])


async def json_login(page: Any, site: Any) -> None:
    await page.goto(site("/login"))
    await page.fill("#username", site.state.username)
    await page.fill("#password", site.state.password)  # a plain fill: the scrubber must find it alone
    await page.click("button[type=submit]")
    await page.wait_for_selector("text=Welcome Alice")


async def test_scrub_zip_harvests_what_the_run_never_registered(ctx: Any, site: Any, tmp_path: Path) -> None:
    raw = tmp_path / "raw.zip"
    await ctx.tracing.start(screenshots=True, snapshots=True)
    await json_login(await ctx.new_page(), site)
    await ctx.tracing.stop(path=raw)
    found = {f.secret for f in find_secrets(raw, truth(site))}
    assert found == {0, 1, 2}  # the raw trace holds all three: the test below is not vacuous

    run_redactor = Redactor()  # knows nothing: not even the password (typed with a plain fill)
    scrub_zip(raw, run_redactor)
    assert find_secrets(raw, truth(site)) == []
    assert {site.state.password, site.state.session_cookie, site.state.token} <= run_redactor.values
    assert_trace_parses(members(raw))


async def test_har_of_form_and_json_logins_is_scrubbed(browser_session: Any, site: Any, tmp_path: Path) -> None:
    har = tmp_path / "network.har"
    context = await browser_session.new_context(record_har_path=har)
    page = await context.new_page()
    await page.goto(site("/login-form"))
    await page.fill("#password", site.state.password)
    await page.click("button[type=submit]")  # url-encoded form body, 303 with Set-Cookie
    await page.wait_for_url("**/spa/done")
    await json_login(page, site)
    await page.evaluate(f"fetch('/api/echo-cookies?access_token={site.state.token}&page=2')")
    await page.wait_for_timeout(200)
    await context.close()  # the HAR is written now
    assert {f.secret for f in find_secrets(har, truth(site))} == {0, 1, 2}

    scrub_har(har, Redactor([site.state.password]))
    assert find_secrets(har, truth(site)) == []
    entries = json.loads(har.read_text())["log"]["entries"]
    form_post = next(
        e for e in entries if e["request"]["url"].endswith("/login-form") and e["request"]["method"] == "POST"
    )
    # the form's anti-forgery token is masked too (a field whose name says it is a token)
    assert form_post["request"]["postData"]["text"] == "csrfmiddlewaretoken=%2A%2A%2A&password=%2A%2A%2A"
    assert {p["value"] for p in form_post["request"]["postData"].get("params", [])} <= {"***"}
    set_cookie = [h for h in form_post["response"]["headers"] if h["name"].lower() == "set-cookie"]
    assert [h["value"] for h in set_cookie] == ["***"]
    echo = next(e for e in entries if "/api/echo-cookies" in e["request"]["url"])
    assert "access_token=***&page=2" in echo["request"]["url"]
    assert {q["name"]: q["value"] for q in echo["request"]["queryString"]} == {"access_token": "***", "page": "2"}
    assert {c["value"] for c in echo["request"]["cookies"]} == {"***"}


def test_har_base64_bodies_are_decoded_scrubbed_and_reencoded(tmp_path: Path) -> None:
    token = "tok_9f8e7d6c5b4a"
    body = json.dumps({"token": token, "note": "Ünïcödé"}).encode()
    har = tmp_path / "x.har"
    har.write_text(
        json.dumps(
            {
                "log": {
                    "entries": [
                        {
                            "request": {
                                "method": "GET",
                                "url": "https://v.example/a",
                                "headers": [
                                    {"name": "Authorization", "value": f"Bearer {token}"},
                                    {"name": "X-CSRFToken", "value": "csrf-abcdef123456"},
                                ],
                                "cookies": [],
                                "queryString": [],
                            },
                            "response": {
                                "status": 200,
                                "headers": [{"name": "Access-Control-Allow-Credentials", "value": "true"}],
                                "cookies": [],
                                "content": {
                                    "mimeType": "application/json",
                                    "encoding": "base64",
                                    "text": base64.b64encode(body).decode(),
                                },
                            },
                        }
                    ]
                }
            }
        )
    )
    redactor = Redactor()
    scrub_har(har, redactor)  # the token is learnt from the Authorization header
    entry = json.loads(har.read_text())["log"]["entries"][0]
    decoded = json.loads(base64.b64decode(entry["response"]["content"]["text"]))
    assert decoded == {"token": "***", "note": "Ünïcödé"}
    assert [h["value"] for h in entry["request"]["headers"]] == ["***", "***"]
    assert entry["response"]["headers"][0]["value"] == "true"
    assert redactor.values == {f"Bearer {token}", token, "csrf-abcdef123456"}
    assert find_secrets(har, Redactor([token])) == []


def test_find_secrets_sees_every_form_everywhere(tmp_path: Path) -> None:
    secret = 'pa ss/wörd+"1'
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("deep/leak.txt", b"x" + base64.b64encode(b"pad" + secret.encode()))
    outer = tmp_path / "bundle.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("form.txt", f"password={quote_plus(secret)}")
    (tmp_path / "log.jsonl").write_text(json.dumps({"body": json.dumps({"password": secret})}) + "\n")
    (tmp_path / "plain.html").write_text(f"<input value='{secret}'>", encoding="utf-8")
    (tmp_path / "clean.txt").write_text("nothing here")

    findings = find_secrets(tmp_path, Redactor([secret, "other-secret"]))
    where = {
        (Path(f.path).name if "!" not in f.path else f.path.split(str(tmp_path) + "/")[1], f.form) for f in findings
    }
    assert where == {
        ("bundle.zip!inner.zip!deep/leak.txt", "base64"),
        ("bundle.zip!form.txt", "url-encoded"),
        ("log.jsonl", "inside-json"),  # escaped twice: only the decoded JSON string shows it
        ("plain.html", "plain"),
    }
    assert all(secret not in str(f) and secret not in repr(f) for f in findings)
    assert find_secrets(tmp_path, Redactor()) == []
    with pytest.raises(FileNotFoundError):
        find_secrets(tmp_path / "nope", Redactor([secret]))


def test_scrub_file_keeps_json_lines_valid(tmp_path: Path) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_text(
        json.dumps({"pin": 12345678, "ok": True, "msg": "pin 12345678 sent"})
        + "\n"
        + json.dumps({"url": "https://v.example/cb?code=abc123&state=xyz789&lang=fr"})
        + "\n"
    )
    scrub_file(lines, Redactor(["12345678"]))
    parsed = [json.loads(line) for line in lines.read_text().splitlines()]
    assert parsed[0] == {"pin": "***", "ok": True, "msg": "pin *** sent"}
    assert parsed[1]["url"] == "https://v.example/cb?code=***&state=***&lang=fr"
    text = tmp_path / "page.html"
    text.write_text("token=12345678")
    scrub_file(text, Redactor(["12345678"]))
    assert text.read_text() == "token=***"


def test_mask_url_query_touches_only_secret_names() -> None:
    assert mask_url_query("https://a.b/p?x=1&password=h%20i&Auth_Token=z#frag") == (
        "https://a.b/p?x=1&password=***&Auth_Token=***#frag"
    )
    assert mask_url_query("https://a.b/author?author=Zola") == "https://a.b/author?author=Zola"
    assert mask_url_query("https://a.b/plain") == "https://a.b/plain"
