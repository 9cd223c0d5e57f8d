"""saved_values: the values of one attribute already saved, in one indexed query (local and emulated)."""

from __future__ import annotations

from typing import Any

import pytest
from demo_vendor_site.pdf import PdfCanvas

from browserkonnector.save import Bill, save_bills, saved_values
from browserkonnector.store._base import AppInfo

pytestmark = pytest.mark.anyio


def bill(ref: str, vendor: str = "Kaffeeladen", amount: float = 10.0) -> Bill:
    page = PdfCanvas()
    page.text(50, 700, f"Invoice {ref}")
    return Bill(
        vendor=vendor,
        date="2026-12-06",
        amount=amount,
        vendor_ref=ref,
        filename=f"{ref}.pdf",
        content=page.render(title=ref),
    )


async def test_known_values_scoped_by_where(store: Any, app: AppInfo) -> None:
    assert await saved_values(store, "io.cozy.bills", "vendorRef") == set()  # nothing saved: no error
    await save_bills(
        [bill("100001"), bill("100002", amount=12.0), bill("9", vendor="Other", amount=3.0)],
        "/Administratif/Kaffeeladen",
        store=store,
        app=app,
        keys=["vendorRef"],
    )
    assert await saved_values(store, "io.cozy.bills", "vendorRef") == {"100001", "100002", "9"}
    mine = await saved_values(store, "io.cozy.bills", "vendorRef", where={"vendor": "Kaffeeladen"})
    assert mine == {"100001", "100002"}
    await store.create("io.cozy.bills", {"vendor": "Kaffeeladen", "vendorRef": 42, "amount": 1})
    assert "42" in await saved_values(store, "io.cozy.bills", "vendorRef", where={"vendor": "Kaffeeladen"})
    with pytest.raises(ValueError, match="attribute must be a field path"):
        await saved_values(store, "io.cozy.bills", "")
