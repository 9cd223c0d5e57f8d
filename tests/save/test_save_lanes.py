"""save_files keeps a slow fetcher fed: entries fetched by a callable (a print, a UI click) go first, on
at most half of the slots, while downloads by URL fill the others (see ``files._Lanes``).

A real LocalStore and a real vendor on loopback; the "printer" is a callable that takes a while, as
Chromium's printing does, and records how many of its calls overlap.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from save_helpers import Vendor, make_pdf, summary

from browserkonnector.save import Fetched, save_files
from browserkonnector.store._base import AppInfo

pytestmark = pytest.mark.anyio


class SlowPrinter:
    """A ``fetch_file`` factory whose calls take ``seconds`` each; records overlap and start order."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.running = 0
        self.most = 0
        self.started: list[str] = []

    def fetch(self, name: str) -> Any:
        async def fetch_file() -> Fetched:
            self.started.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
            try:
                await asyncio.sleep(self.seconds)
                return Fetched(make_pdf(name), how="print")
            finally:
                self.running -= 1

        return fetch_file


def _mixed(base: str, printer: SlowPrinter, n: int = 16) -> list[dict[str, Any]]:
    """Every fourth entry printed, the others downloaded: the demo vendor's mix."""
    return [
        {"filename": f"p{i}.pdf", "fetchFile": printer.fetch(f"p{i}")}
        if i % 4 == 3
        else {"fileurl": f"{base}/bill/d{i}.pdf", "filename": f"d{i}.pdf"}
        for i in range(n)
    ]


async def test_printed_entries_go_first_on_half_of_the_slots(
    store: Any, app: AppInfo, vendor: tuple[Vendor, str]
) -> None:
    _site, base = vendor
    printer = SlowPrinter()

    async def fetch(url: str, entry: Any) -> Fetched:
        printer.started.append(entry.filename.removesuffix(".pdf"))
        return await _get(url)

    entries = _mixed(base, printer)
    saved = await save_files(entries, "/lanes", store=store, app=app, concurrency=4, backoff=0, fetch=fetch)
    assert summary(saved) == ["created"] * 16
    assert [s.file.name for s in saved] == [e["filename"] for e in entries]  # results still in input order
    assert printer.started[:2] == ["p3", "p7"]  # the slow lane starts at once, not after 3 downloads
    assert [n for n in printer.started if n.startswith("p")] == ["p3", "p7", "p11", "p15"]
    assert printer.started.index("d0") == 2  # downloads fill the other two slots meanwhile
    assert printer.most == 2  # half of the 4 slots, never more


async def _get(url: str) -> Fetched:
    from browserkonnector._request import request_factory

    async with request_factory(retries=0) as client:
        answer = await client.get(url)
    return Fetched(answer.content, url=url, status=answer.status_code, content_type=answer.headers.get("content-type"))


async def test_with_one_slot_the_input_order_is_kept(store: Any, app: AppInfo, vendor: tuple[Vendor, str]) -> None:
    _site, base = vendor
    printer = SlowPrinter(0.01)
    seen: list[str] = []

    async def fetch(url: str, entry: Any) -> Fetched:
        seen.append(entry.filename)
        return await _get(url)

    entries = _mixed(base, printer, 8)
    original = {e["filename"]: e.get("fetchFile") for e in entries}
    for entry in entries:
        if entry.get("fetchFile") is not None:
            inner = original[entry["filename"]]

            async def traced(inner: Any = inner, name: str = entry["filename"]) -> Fetched:
                seen.append(name)
                return await inner()

            entry["fetchFile"] = traced
    saved = await save_files(entries, "/lanes", store=store, app=app, concurrency=1, backoff=0, fetch=fetch)
    assert summary(saved) == ["created"] * 8
    assert seen == [e["filename"] for e in entries]
    assert printer.most == 1
