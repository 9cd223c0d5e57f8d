"""PageLog: console, page errors, failed requests and HTTP errors — bounded, redacted, blocking ignored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from browserkonnector._redact import Redactor
from browserkonnector.browser import PageLog

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def _noisy(tab: Any, site: Any, log: PageLog, until: Callable[[], bool]) -> None:
    await tab.goto(site("/noisy?token=tok-sekret-99&page=2"))
    for _ in range(100):
        if until():
            return
        await tab.wait_for_timeout(50)
    raise AssertionError(f"the noisy page's events did not all arrive: {log.entries()}")


async def test_collects_what_the_page_complained_about(tab: Any, site: Any) -> None:
    log = PageLog(tab.context, redactor=Redactor())
    await _noisy(
        tab, site, log, lambda: {"console", "pageerror", "requestfailed", "http"} <= {e.kind for e in log.events()}
    )
    await tab.goto(site("/images?n=3"))  # its blocked images are not failures
    entries = log.entries()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_kind.setdefault(entry["kind"], []).append(entry)
    assert {e["text"] for e in by_kind["console"]} >= {"hello from the page"}
    assert any(e.get("level") == "error" for e in by_kind["console"])
    assert by_kind["pageerror"][0]["text"] == "Error: boom in page"
    http = by_kind["http"][0]
    assert (http["status"], http["method"]) == (404, "GET")
    assert http["url"] == site("/missing?token=***")  # the secret-named query value is gone
    failed = {e["url"]: e["text"] for e in by_kind["requestfailed"]}
    assert failed["http://127.0.0.1:9/refused"] == "net::ERR_UNSAFE_PORT"  # refused by Chromium itself
    # the blocked images of /images are not failures (a request cut by the navigation may be: ERR_ABORTED)
    assert set(failed.values()) <= {"net::ERR_UNSAFE_PORT", "net::ERR_ABORTED"}
    assert all(json.dumps(e) for e in entries)  # ready for console.jsonl
    log.detach()


async def test_redacts_late_secrets_and_stays_bounded(tab: Any, site: Any) -> None:
    redactor = Redactor()
    log = PageLog(tab.context, redactor=redactor, max_entries=3, max_text=20)
    # 2 console lines, a page error, a 404, a refused request: 5 at least
    await _noisy(tab, site, log, lambda: len(log) + log.dropped >= 5)
    assert len(log) == 3
    assert log.dropped >= 2
    redactor.add("tok-sekret-99")  # learnt after the events were recorded
    text = json.dumps(log.entries())
    assert "tok-sekret-99" not in text
    assert all(len(e["text"]) <= 20 for e in log.entries())
    with pytest.raises(ValueError, match="max_entries=0"):
        PageLog(tab.context, max_entries=0)
