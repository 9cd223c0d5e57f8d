"""Collect the rows of a virtualised or infinite list, and read what a page keeps in IndexedDB.

A virtualised table keeps only the rows near the viewport in the DOM (30 of 150, say): reading it once
misses most rows, and a row read twice must count once. :func:`collect_rows` scrolls the list's container
from the top, reads every row it shows (fields declared as CSS selectors, not JavaScript; many screens per
round trip to the page), keeps new rows by key, and stops when a scroll to the end brings nothing new — bounded by
time and by a row count. Rows that fail ``keep`` (the previous account's rows, still shown for a moment
after a switch) are *stale*: the collector waits for them to go instead of reading them.

Field specs, relative to a row: ``"@data-id"`` (an attribute of the row), ``".amount"`` (the text of the
first match), ``"time@datetime"`` (an attribute of the first match), ``""`` (the row's own text). A missing
element or attribute reads as ``None``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

__all__ = ["ListNotStable", "collect_rows", "read_indexeddb"]

Row = dict[str, Any]

# A sweep, in one round trip: from ``start``, read the rows shown, scroll by most of a screen, wait until the
# page has rendered rows where the viewport now is, and again, until the end of the list or ``maxSteps``.
# "Rendered" means a row crosses the top quarter of the viewport and one the bottom quarter (or the list
# ends above it): a virtualised list renders on the scroll event, a frame or more after the scroll, and
# reading before that would skip the rows in between. A step whose rows never come within ``waitMs`` is
# returned not ``covered`` and the sweep stops there (the caller reads again from it).
# Each step: [scrollTop, scrollHeight, clientHeight, rows, covered]; fields are [name, selector,
# attribute|null], the row itself when the selector is empty. ``start`` null: one read in place.
_SWEEP = """async (box, [rowSel, fields, start, maxSteps, waitMs]) => {
  const frame = () => new Promise(done => { requestAnimationFrame(() => setTimeout(done, 0)); setTimeout(done, 50); });
  const covered = () => {
    const view = box.getBoundingClientRect();
    const top = view.top + box.clientTop, bottom = top + box.clientHeight, quarter = box.clientHeight / 4;
    let high = false, low = false, lowest = -Infinity;
    for (const row of box.querySelectorAll(rowSel)) {
      const r = row.getBoundingClientRect();
      if (r.height === 0) continue;
      lowest = Math.max(lowest, r.bottom);
      if (r.bottom > top && r.top < top + quarter) high = true;
      if (r.bottom > bottom - quarter && r.top < bottom) low = true;
    }
    const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 1;
    if (lowest === -Infinity) return box.scrollHeight <= box.clientHeight + 1;  // an empty list, not a gap
    return high && (low || (atEnd && lowest <= bottom + 1));
  };
  const settled = async () => {
    const until = performance.now() + waitMs;
    while (!covered()) {
      if (performance.now() > until) return false;
      await frame();
    }
    return true;
  };
  const read = (ok) => {
    const rows = [];
    for (const row of box.querySelectorAll(rowSel)) {
      const out = {};
      for (const [name, sel, attr] of fields) {
        const el = sel ? row.querySelector(sel) : row;
        out[name] = !el ? null : attr ? el.getAttribute(attr) : el.textContent.trim();
      }
      rows.push(out);
    }
    return [box.scrollTop, box.scrollHeight, box.clientHeight, rows, ok];
  };
  if (start === null) return [read(covered())];
  if (box.scrollTop !== start) { box.scrollTop = start; await frame(); }
  const steps = [read(await settled())];
  for (let i = 1; i < maxSteps && steps[steps.length - 1][4]; i++) {
    const before = box.scrollTop;
    if (before + box.clientHeight >= box.scrollHeight - 1) break;
    box.scrollTop = before + Math.max(box.clientHeight * 0.9, 1);
    await frame();
    if (box.scrollTop === before) break;
    steps.push(read(await settled()));
  }
  return steps;
}"""
#: Steps per sweep: bounds the time of one round trip (and what is read again after stale rows).
_STEPS = 25
#: How long a step waits for the page to render rows where it scrolled, before the sweep hands back.
_WAIT_MS = 1000
#: Times a position whose rows never showed is read again before the sweep goes on past it.
_RETRIES = 3


class ListNotStable(TimeoutError):
    """The list did not settle in time (stale rows never went away, or rows kept coming)."""


def _parse_fields(fields: Mapping[str, str]) -> list[list[str | None]]:
    parsed: list[list[str | None]] = []
    for name, spec in fields.items():
        selector, _, attribute = spec.partition("@")
        parsed.append([name, selector.strip(), attribute.strip() or None])
    return parsed


def _has_values(wanted: Mapping[str, Any], row: Row) -> bool:
    return all(row.get(name) == value for name, value in wanted.items())


async def collect_rows(
    container: Locator,
    rows: str,
    fields: Mapping[str, str],
    *,
    key: str,
    keep: Callable[[Row], bool] | Mapping[str, Any] | None = None,
    timeout: float = 60.0,
    settle: float = 0.3,
    max_rows: int = 100_000,
) -> list[Row]:
    """Every row of the list in ``container`` (the scrolling element), in list order, once each.

    ``rows`` is a CSS selector of a row inside the container; ``fields`` maps a name to a field spec (see
    the module docstring) and ``key`` names the field that identifies a row (rows without it are
    skipped). ``keep`` says whether a row belongs to the list wanted now — a predicate, or the field values
    it must have (``keep={"account": "A-1"}``): while any row shown fails it,
    the rows are read again (the page is still replacing them). Scrolling and reading happen in the page,
    up to 25 screens per round trip. At the end of the list the collector waits up to ``settle`` seconds
    for more rows (an infinite list fetches them). Raises :class:`ListNotStable`
    when ``timeout`` passes first, and stops (with a warning) at ``max_rows``.
    """
    if isinstance(keep, Mapping):
        wanted = dict(keep)
        unknown = sorted(set(wanted) - set(fields))
        if unknown:
            raise ValueError(f"collect_rows: keep names {unknown}, which are not fields {sorted(fields)}")
        keep = functools.partial(_has_values, wanted)
    spec = _parse_fields(fields)
    if key not in fields:
        raise ValueError(f"collect_rows: key {key!r} is not one of the fields {sorted(fields)}")
    deadline = time.monotonic() + timeout
    found: dict[str, Row] = {}

    def add(shown: list[Row]) -> int:
        new = 0
        for row in shown:
            k = row.get(key)
            if k is not None and k not in found:
                found[k] = row
                new += 1
        return new

    def check_time(what: str) -> None:
        if time.monotonic() > deadline:
            raise ListNotStable(f"collect_rows: {what} after {timeout:g} s ({len(found)} rows so far)")

    while keep is not None:  # stale rows first go, or a sweep would scroll through them for nothing
        [(_top, _height, _client, shown, _ok)] = await container.evaluate(_SWEEP, [rows, spec, None, 1, 0])
        stale = [r for r in shown if not keep(r)]
        if not stale:
            break
        check_time(f"{len(stale)} row(s) shown still fail `keep` (first: {stale[0]!r})")
        await asyncio.sleep(0.1)
    position: float | None = 0
    retries: dict[float, int] = {}  # a layout the coverage test misreads (a tall header) must not stall us
    while len(found) < max_rows:
        steps = await container.evaluate(_SWEEP, [rows, spec, position, _STEPS, _WAIT_MS])
        again_at = None
        for top, _height, _client, shown, covered in steps:
            stale = [r for r in shown if keep is not None and not keep(r)]
            if stale:
                check_time(f"{len(stale)} row(s) shown still fail `keep` (first: {stale[0]!r})")
                again_at = top
                break
            add(shown)
            if not covered and retries.get(top, 0) < _RETRIES:  # not drawn there yet: read again from there
                check_time(f"no row was drawn at scroll position {top:g}")
                retries[top] = retries.get(top, 0) + 1
                again_at = top
                break
        if again_at is not None:
            await asyncio.sleep(0.1)
            position = again_at
            continue
        check_time("the list was still growing")
        top, height, client, _, _ = steps[-1]
        if top + client < height - 1 and len(steps) == _STEPS:
            position = top
            continue
        # At the end: an infinite list may still be fetching more rows; a virtualised one is done.
        settle_until, grown, new = time.monotonic() + settle, height, 0
        while not new and grown == height and time.monotonic() < settle_until:
            await asyncio.sleep(0.05)
            [(top, grown, client, shown, _ok)] = await container.evaluate(_SWEEP, [rows, spec, None, 1, 0])
            if not any(keep is not None and not keep(r) for r in shown):
                new = add(shown)
        if not new and grown == height:
            break
        position = top
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
