"""Collect the rows of a virtualised or infinite list, and read what a page keeps in IndexedDB.

A virtualised table keeps only the rows near the viewport in the DOM (30 of 150, say): reading it once
misses most rows, and a row read twice must count once. :func:`collect_rows` scrolls the list's container
from the top, reads every row it shows (one round trip per scroll: fields declared as CSS selectors, not
JavaScript), keeps new rows by key, and stops when a scroll to the end brings nothing new — bounded by
time and by a row count. Rows that fail ``keep`` (the previous account's rows, still shown for a moment
after a switch) are *stale*: the collector waits for them to go instead of reading them.

Field specs, relative to a row: ``"@data-id"`` (an attribute of the row), ``".amount"`` (the text of the
first match), ``"time@datetime"`` (an attribute of the first match), ``""`` (the row's own text). A missing
element or attribute reads as ``None``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

__all__ = ["ListNotStable", "collect_rows", "read_indexeddb"]

Row = dict[str, Any]

# One pass over the rows shown: [scrollTop, scrollHeight, clientHeight, rows]. Fields are [name, selector,
# attribute|null]; the row itself when the selector is empty.
_READ = """(box, [rowSel, fields]) => {
  const rows = [];
  for (const row of box.querySelectorAll(rowSel)) {
    const out = {};
    for (const [name, sel, attr] of fields) {
      const el = sel ? row.querySelector(sel) : row;
      out[name] = !el ? null : attr ? el.getAttribute(attr) : el.textContent.trim();
    }
    rows.push(out);
  }
  return [box.scrollTop, box.scrollHeight, box.clientHeight, rows];
}"""
_SCROLL = "(box, to) => { box.scrollTop = to; return box.scrollTop; }"


class ListNotStable(TimeoutError):
    """The list did not settle in time (stale rows never went away, or rows kept coming)."""


def _parse_fields(fields: Mapping[str, str]) -> list[list[str | None]]:
    parsed: list[list[str | None]] = []
    for name, spec in fields.items():
        selector, _, attribute = spec.partition("@")
        parsed.append([name, selector.strip(), attribute.strip() or None])
    return parsed


async def collect_rows(
    container: Locator,
    rows: str,
    fields: Mapping[str, str],
    *,
    key: str,
    keep: Callable[[Row], bool] | None = None,
    timeout: float = 60.0,
    settle: float = 0.4,
    max_rows: int = 100_000,
) -> list[Row]:
    """Every row of the list in ``container`` (the scrolling element), in list order, once each.

    ``rows`` is a CSS selector of a row inside the container; ``fields`` maps a name to a field spec (see
    the module docstring) and ``key`` names the field that identifies a row (rows without it are
    skipped). ``keep`` says whether a row belongs to the list wanted now: while any row shown fails it,
    the rows are read again (the page is still replacing them). After each scroll the collector waits up
    to ``settle`` seconds for new rows (an infinite list fetches them). Raises :class:`ListNotStable`
    when ``timeout`` passes first, and stops (with a warning) at ``max_rows``.
    """
    spec = _parse_fields(fields)
    if key not in fields:
        raise ValueError(f"collect_rows: key {key!r} is not one of the fields {sorted(fields)}")
    deadline = time.monotonic() + timeout
    found: dict[str, Row] = {}

    async def read() -> tuple[float, float, float, list[Row]]:
        """The rows shown, once none of them is stale."""
        while True:
            top, height, client, shown = await container.evaluate(_READ, [rows, spec])
            stale = [r for r in shown if keep is not None and not keep(r)]
            if not stale:
                return top, height, client, shown
            if time.monotonic() > deadline:
                raise ListNotStable(f"collect_rows: {len(stale)} row(s) shown still fail `keep` after {timeout:g} s "
                                    f"(first: {stale[0]!r})")
            await asyncio.sleep(0.1)

    def add(shown: list[Row]) -> int:
        new = 0
        for row in shown:
            k = row.get(key)
            if k is not None and k not in found:
                found[k] = row
                new += 1
        return new

    await container.evaluate(_SCROLL, 0)
    top, height, client, shown = await read()
    add(shown)
    while len(found) < max_rows:
        if time.monotonic() > deadline:
            raise ListNotStable(f"collect_rows: the list was still growing after {timeout:g} s "
                                f"({len(found)} rows so far)")
        target = top + max(client * 0.8, 1)
        moved = await container.evaluate(_SCROLL, target) != top
        settle_until = time.monotonic() + settle
        new = 0
        while True:
            top, height, client, shown = await read()
            new = add(shown)
            if new or time.monotonic() >= settle_until:
                break
            await asyncio.sleep(0.05)
        if not new and not moved and top + client >= height - 1:
            break
    else:
        logger.warning(f"collect_rows stopped at max_rows={max_rows}; the list may hold more")
    return list(found.values())[:max_rows]


# Every record of one object store, through the page's own IndexedDB (same origin as the page).
# Opening a database that does not exist would create it (and spoil the app's own first upgrade): check first.
_IDB = """async ([name, store]) => {
  const names = (await indexedDB.databases()).map(d => d.name);
  if (!names.includes(name)) throw new Error(`no IndexedDB ${name} on this page (there are: ${names})`);
  return await new Promise((resolve, reject) => {
  const open = indexedDB.open(name);
  open.onerror = () => reject(new Error(`cannot open IndexedDB ${name}: ${open.error}`));
  open.onsuccess = () => {
    const db = open.result;
    if (!db.objectStoreNames.contains(store)) {
      db.close();
      reject(new Error(`IndexedDB ${name} has no object store ${store} (it has: ${[...db.objectStoreNames]})`));
      return;
    }
    const req = db.transaction(store).objectStore(store).getAll();
    req.onsuccess = () => { db.close(); resolve(req.result); };
    req.onerror = () => { db.close(); reject(req.error); };
  };
  });
}"""


async def read_indexeddb(page: Page, database: str, store: str) -> list[Any]:
    """Every record of ``store`` in the page's IndexedDB ``database`` (values as JSON: dates become ISO
    strings, binary data is not supported). A missing store raises an error naming the stores there."""
    records: list[Any] = await page.evaluate(_IDB, [database, store])
    return records
