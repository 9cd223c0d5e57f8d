"""collect_rows on a virtualised table with stale rows (the bank app) and on an infinite list; read_indexeddb."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bank_spa_site import BankConfig, BankSite

from browserkonnector import ListNotStable, collect_rows, read_indexeddb

pytestmark = [pytest.mark.browser, pytest.mark.anyio]
ROW = {
    "id": "@data-op-id",
    "account": "@data-account-id",
    "date": "time@datetime",
    "amount": ".amount@data-amount",
    "missing": ".nothing-here",
}

# An infinite list: 25 more rows each time the end is reached, fetched "later" (a timer), up to 110.
INFINITE = """<div id="feed" style="height:300px;overflow-y:auto"></div><script>
const feed = document.getElementById('feed'); let n = 0;
function more() { for (let i = 0; i < 25 && n < 110; i++, n++) {
  const d = document.createElement('div'); d.className = 'item'; d.dataset.k = 'k' + n; d.style.height = '40px';
  d.textContent = 'item ' + n; feed.append(d); } }
more(); feed.addEventListener('scroll', () => {
  if (feed.scrollTop + feed.clientHeight >= feed.scrollHeight - 5) setTimeout(more, 150); });
</script>"""


# A virtualised list that draws its rows 150 ms after a scroll (a busy main thread): reading right after a
# scroll sees the old rows, and scrolling on from there skips those in between.
SLOW_VIRTUAL = """<div id="list" style="height:300px;overflow-y:auto;position:relative">
<div id="spacer" style="position:relative;height:8000px"></div></div><script>
const list = document.getElementById('list'), spacer = document.getElementById('spacer');
function draw() { spacer.replaceChildren(); const first = Math.floor(list.scrollTop / 40);
  for (let i = first; i < Math.min(200, first + 8); i++) { const d = document.createElement('div');
    d.className = 'v'; d.dataset.k = 'r' + i; d.style = `position:absolute;top:${i * 40}px;height:40px`;
    spacer.append(d); } }
draw(); list.addEventListener('scroll', () => setTimeout(draw, 150));
</script>"""


@pytest.fixture
def bank() -> Iterator[BankSite]:
    with BankSite(BankConfig(bundle_kb=16, boot_requests=4, stale_ms=1200, toast_ms=500)) as site:
        yield site


async def unlock(tab: Any, site: BankSite) -> None:
    await tab.goto(site.url)
    await tab.locator("#pw").fill(site.config.password)
    await tab.locator("#unlock").click()
    await tab.locator(".op-row").first.wait_for()


async def test_every_row_of_a_virtualised_table_once_waiting_out_stale_rows(tab: Any, bank: BankSite) -> None:
    await unlock(tab, bank)
    first, second = (a["id"] for a in bank.expected_accounts())
    assert await tab.locator(".op-row").count() < 60  # virtualised: most rows are not in the DOM
    rows = await collect_rows(tab.locator("#ops-scroll"), ".op-row", ROW, key="id")
    assert [r["id"] for r in rows] == [o["id"] for o in bank.expected_operations(first)]
    assert rows[0]["missing"] is None
    assert rows[0]["amount"] == bank.expected_operations(first)[0]["amount"]
    await tab.locator(f'nav [data-account-id="{second}"]').click()
    rows = await collect_rows(
        tab.locator("#ops-scroll"), ".op-row", ROW, key="id", keep={"account": second}
    )  # the field values a row of the wanted list has
    assert [r["id"] for r in rows] == [o["id"] for o in bank.expected_operations(second)]


async def test_stale_rows_that_never_go_end_in_a_clear_timeout(tab: Any, bank: BankSite) -> None:
    await unlock(tab, bank)
    with pytest.raises(ListNotStable, match="still fail `keep`"):
        await collect_rows(tab.locator("#ops-scroll"), ".op-row", ROW, key="id", keep=lambda r: False, timeout=0.5)
    with pytest.raises(ValueError, match="key 'ref' is not one of the fields"):
        await collect_rows(tab.locator("#ops-scroll"), ".op-row", ROW, key="ref")


async def test_an_infinite_list_is_scrolled_until_nothing_new_comes(tab: Any) -> None:
    await tab.set_content(INFINITE)
    rows = await collect_rows(tab.locator("#feed"), ".item", {"k": "@data-k", "text": ""}, key="k")
    assert [r["k"] for r in rows] == [f"k{n}" for n in range(110)]
    assert rows[3]["text"] == "item 3"


async def test_rows_drawn_late_after_a_scroll_are_waited_for_not_skipped(tab: Any) -> None:
    await tab.set_content(SLOW_VIRTUAL)
    rows = await collect_rows(tab.locator("#list"), ".v", {"k": "@data-k"}, key="k")
    assert [r["k"] for r in rows] == [f"r{n}" for n in range(200)]


async def test_an_empty_list_is_empty_not_a_timeout(tab: Any) -> None:
    await tab.set_content('<div id="list" style="height:300px;overflow-y:auto"></div>')
    assert await collect_rows(tab.locator("#list"), ".v", {"k": "@data-k"}, key="k", timeout=5) == []


async def test_read_indexeddb_and_its_errors(tab: Any, bank: BankSite) -> None:
    await unlock(tab, bank)
    accounts = await read_indexeddb(tab, "bank", "accounts")
    assert sorted(a["id"] for a in accounts) == [a["id"] for a in bank.expected_accounts()]
    with pytest.raises(Exception, match="has no object store nope"):
        await read_indexeddb(tab, "bank", "nope")
    with pytest.raises(Exception, match="no IndexedDB elsewhere"):
        await read_indexeddb(tab, "elsewhere", "x")


async def test_keep_as_field_values_names_unknown_fields(tab: Any, bank: BankSite) -> None:
    await unlock(tab, bank)
    with pytest.raises(ValueError, match=r"keep names \['acount'\], which are not fields"):
        await collect_rows(tab.locator("#ops-scroll"), ".op-row", ROW, key="id", keep={"acount": "A-1"})
