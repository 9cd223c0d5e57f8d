"""The demo connector with one change, measured by workload 1 as the proposed fix of its printing.

``connectors/demo_vendor`` prints an HTML bill with ``ctx.url_to_pdf(print_url)``: a navigation of the
printer page per bill (``PdfPrinter.from_url`` → ``page.goto``). This variant fetches the printable page
through the logged-in session (``ctx.http``) and prints it with ``ctx.html_to_pdf`` (``set_content``, no
navigation), as ``raw_fast`` does. Everything else is the demo connector itself, loaded from its folder.

``browserkonnector run scripts/benchlib/demo_print_html ...`` (the same fields as the demo connector).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from browserkonnector import Bill, Fetched
from browserkonnector.runtime.loader import load_connector

DEMO = Path(__file__).resolve().parents[3] / "connectors" / "demo_vendor"

konnector = load_connector(str(DEMO))
_demo = sys.modules[konnector.main_fn.__module__]
_original_to_bill = _demo.to_bill


def to_bill(ctx: Any, base: str, bill: Any, ui: Any) -> Bill:
    """The demo's ``to_bill``, but an HTML bill is fetched over HTTP and printed with ``set_content``."""
    made: Bill = _original_to_bill(ctx, base, bill, ui)
    if bill.kind != "html":
        return made

    async def printed() -> Fetched:
        answer = await ctx.http.get(base + bill.links.print)
        answer.raise_for_status()
        fetched: Fetched = await ctx.html_to_pdf(answer.text, base_url=base + "/")
        return fetched

    return made.model_copy(update={"fetch_file": printed})


_demo.__dict__["to_bill"] = to_bill  # what start() calls: it looks the name up in its module
