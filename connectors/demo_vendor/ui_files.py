"""The demo connector's documented extra: files through the UI (field ``ui_downloads``).

Clicking through the site for every file is slower than fetching the PDF URLs through the session, and
is what the tests use to prove the framework's file paths: a download event, a popup with an inline PDF,
a ``blob:`` link. One file at a time: they share the page.
"""

from __future__ import annotations

import asyncio

from browserkonnector import Fetched, FileFailed, RunContext

from .models import ApiBill, Fields

BUTTONS = {"download": "a.bill-download", "inline": "a.bill-view", "blob": "button.bill-blob"}


class UiFiles:
    def __init__(self, ctx: RunContext[Fields]) -> None:
        self.ctx = ctx
        self.lock = asyncio.Lock()

    async def get(self, bill: ApiBill) -> Fetched:
        async with self.lock:
            page = self.ctx.page
            row = page.locator(f'tr.bill[data-bill-id="{bill.id}"]')
            while not await row.count():  # the list shows a page at a time: ask for more until it is there
                more = page.locator("#load-more")
                if not await more.is_visible():
                    raise FileFailed(f"bill {bill.id} is not on the page")
                await more.click()
                await page.wait_for_timeout(50)
            return await self.ctx.get_file(click=row.locator(BUTTONS[bill.kind]))
