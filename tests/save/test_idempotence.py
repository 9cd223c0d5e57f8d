"""Property: saving the same bills twice creates no document and no file the second time, and rewrites
nothing (bills, files and bank operations keep their revisions). Random bill lists from hypothesis,
each example in a fresh real LocalStore."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from save_helpers import make_pdf

from browserkonnector.save import save_bills
from browserkonnector.store._base import AppInfo
from browserkonnector.store._local import LocalStore

APP = AppInfo("demo-vendor", "1.0.0")

bills_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "vendor": st.sampled_from(["EDF", "Free Mobile", "Ameli", "Démo Énergie"]),
            "date": st.one_of(
                st.dates(dt.date(2015, 1, 1), dt.date(2025, 12, 31)),
                st.datetimes(dt.datetime(2015, 1, 1), dt.datetime(2025, 12, 31)).map(lambda d: d.isoformat()),
            ),
            "amount": st.one_of(st.integers(1, 500), st.decimals("0.01", "9999.99", places=2).map(float)),
            "currency": st.sampled_from(["€", "EUR", "$", "£", "CHF", None]),
            "vendorRef": st.text("ABC123", min_size=1, max_size=3),
        },
        optional={"isRefund": st.booleans(), "type": st.sampled_from(["phone", "health_costs", "energy"])},
    ),
    min_size=1,
    max_size=8,
)


async def _snapshot(store: LocalStore) -> dict[str, Any]:
    snap: dict[str, Any] = {}
    for doctype in ("io.cozy.bills", "io.cozy.bank.operations", "io.cozy.files"):
        async for doc in store.all_docs(doctype):
            snap[f"{doctype}/{doc['_id']}"] = (doc["_rev"], doc.get("md5sum"))
    return snap


async def _twice(root: Path, raw: list[dict[str, Any]], by_key: bool, with_operations: bool) -> None:
    entries = [
        {**b, "filename": f"{b['vendorRef']}.pdf", "filestream": make_pdf(f"{i}-{b['vendorRef']}")}
        for i, b in enumerate(raw)
    ]
    options: dict[str, Any] = {
        "store": None,
        "app": APP,
        "source_account": "acc",
        "source_account_identifier": "me",
        "file_id_attributes": ["vendorRef"] if by_key else None,
        "identifiers": ["edf", "free", "ameli", "demo"],
        "backoff": 0,
    }
    async with LocalStore(root, app=APP) as store:
        options["store"] = store
        if with_operations:
            for b in raw[:3]:
                await store.create(
                    "io.cozy.bank.operations",
                    {
                        "date": dt.datetime.fromisoformat(str(b["date"])).date().isoformat() + "T00:00:00.000Z",
                        "label": f"PRLV {b['vendor']}",
                        "amount": -float(b["amount"]),
                        "automaticCategoryId": "0",
                    },
                )
        first = await save_bills(entries, "/Administratif/Bills", **options)
        after_first = await _snapshot(store)
        second = await save_bills(entries, "/Administratif/Bills", **options)
        after_second = await _snapshot(store)
    assert (second.bills_created, second.bills_updated) == (0, 0)
    assert (second.files_created, second.files_replaced, second.files_failed) == (0, 0, 0)
    assert second.bills_unchanged == len(first.bills)
    assert after_second == after_first, "the second run wrote something"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=bills_strategy, by_key=st.booleans(), with_operations=st.booleans())
def test_saving_twice_writes_nothing_the_second_time(
    raw: list[dict[str, Any]], by_key: bool, with_operations: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_twice(Path(tmp) / "store", raw, by_key, with_operations))
