"""A connector without a browser that saves files under hostile names, for a hostile vendor.

``NAMES_VENDOR`` is its vendor name (the default folder is ``/Administratif/<vendor>``) and
``NAMES_FILES`` a JSON list of file names; each file is a small valid PDF.
"""

from __future__ import annotations

import io
import json
import os

from pypdf import PdfWriter

from browserkonnector import Konnector, RunContext

konnector = Konnector(slug="names", vendor=os.environ.get("NAMES_VENDOR", "Names"), browser=False)


def pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=72, height=72)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@konnector.main
async def start(ctx: RunContext[object]) -> None:
    names = json.loads(os.environ.get("NAMES_FILES", '["bill.pdf"]'))
    await ctx.save_files([{"filename": name, "content": pdf()} for name in names], file_id_attributes=["filename"])
