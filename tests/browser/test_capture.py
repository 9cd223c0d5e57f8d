"""JSON capture: the body survives a navigation away; patterns, predicates and errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from browserkonnector.browser import CapturedResponse, capture_json, wait_for_json

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


@pytest.mark.parametrize("leave", ["json", "headers"])
async def test_body_survives_the_navigation_that_follows_the_xhr(tab: Any, site: Any, leave: str) -> None:
    """The page fetches its bills then sets ``location.href`` (``headers``: as soon as the headers are in,
    without even reading the body). Reading in the response handler loses most of these (measured); the
    default interception must lose none, so run it several times."""
    for _ in range(5):
        async with capture_json(tab, "**/api/bills*") as bills:
            await tab.goto(site(f"/spa?wait={leave}"))
            await tab.wait_for_url("**/spa/done")
        assert bills.value["month"] == "2024-01"
        assert [r.status for r in bills.responses] == [200]
        assert bills.responses[0].url == site("/api/bills?month=2024-01")


async def test_the_page_still_gets_its_data_when_intercepted(tab: Any, site: Any) -> None:
    async with capture_json(tab.context, re.compile(r"/api/bills")) as bills:
        await tab.goto(site("/images?n=1"))
        first = await bills.wait(10)
        await tab.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
    assert first["items"][0]["label"] == "Ünïcödé € é"


async def test_listen_mode_reads_without_intercepting(tab: Any, site: Any) -> None:
    async with capture_json(tab, lambda url: url.endswith("/api/bills"), mode="listen") as bills:
        await tab.goto(site("/images?n=1"))
        assert (await bills.wait(10))["month"] == ""
    assert len(bills.values) == 1


async def test_wait_for_json_runs_the_action_with_the_capture_in_place(tab: Any, site: Any) -> None:
    await tab.goto(site("/blank"))
    data = await wait_for_json(
        tab,
        "**/api/bills*",
        action=lambda: tab.evaluate("fetch('/api/other'); fetch('/api/bills?month=03')"),
        timeout=10,
    )
    assert data["month"] == "03"


async def test_predicate_sees_the_parsed_data(tab: Any, site: Any) -> None:
    def march(response: CapturedResponse) -> bool:
        return bool(response.data and response.data.get("month") == "03")

    await tab.goto(site("/blank"))
    async with capture_json(tab, "**/api/bills*", predicate=march) as bills:
        await tab.evaluate("Promise.all(['01', '02', '03'].map(m => fetch('/api/bills?month=' + m)))")
    assert [v["month"] for v in bills.values] == ["03"]


async def test_unusable_answers_are_kept_and_explained(tab: Any, site: Any) -> None:
    await tab.goto(site("/blank"))
    async with capture_json(tab, "**/api/*") as capture:
        await tab.evaluate("Promise.all([fetch('/api/text'), fetch('/missing'), fetch('/api/me')])")
        with pytest.raises(TimeoutError) as raised:
            await capture.wait(0.5)
    message = str(raised.value)
    assert "no JSON response matching '**/api/*' within 0.5 s" in message
    assert "(not JSON)" in message
    assert "401 GET" in message
    with pytest.raises(LookupError, match="no JSON response matching"):
        _ = capture.value
    assert capture.values == []
    assert {r.status for r in capture.responses} == {200, 401}  # /missing is not under /api/


async def test_nothing_is_routed_after_the_block(tab: Any, site: Any) -> None:
    async with capture_json(tab, "**/api/bills*") as bills:
        await tab.goto(site("/images?n=1"))
        await bills.wait(10)
    await tab.reload()
    await tab.wait_for_function("document.querySelector('#data').textContent === 'items:3'")
    assert len(bills.values) == 1
