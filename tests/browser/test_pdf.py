"""Print to PDF: real text in the PDF (the blank-PDF trap), A4, the Cozy header first, the printer pool."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from pypdf import PdfReader

from browserkonnector._errors import FILE_DOWNLOAD_FAILED, KonnectorError
from browserkonnector.browser import PdfPrinter, cozy_pdf_document, html_to_pdf, printer_for
from browserkonnector.save._pdfcheck import pdf_is_sound

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

BILL = """<!doctype html><html><head><meta charset="utf-8"><style>
  .total { background: #ffd; font-weight: bold }
  @media print { .screen-only { display: none } }
</style></head><body><h1>Facture 2024-01</h1><p class="total">Ünïcödé € é — 42,50 €</p>
<p class="screen-only">shown on screen only</p><img src="/img/logo.png"></body></html>"""


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _is_a4(pdf: bytes) -> bool:
    """210 × 297 mm is 595.3 × 841.9 pt; Chromium rounds to whole hundredths of an inch (595.9 × 842.9)."""
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    return abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2


async def test_html_prints_with_real_text_on_a4(ctx: Any, site: Any) -> None:
    before = site.state.hits.get("img", 0)
    async with PdfPrinter(ctx) as printer:
        pdf = await printer.from_html(BILL, base_url=site("/bill/1"))
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Facture 2024-01" in text
    assert "Ünïcödé € é" in text  # fonts found: not the silent blank PDF
    assert "shown on screen only" not in text  # print media
    assert _is_a4(pdf)
    # the context blocks images, the printer does not: the logo resolved against base_url and loaded
    assert site.state.hits.get("img", 0) == before + 1
    # what the save pipeline checks every print with: the quick reader vouches for Chromium's PDFs,
    # so pypdf is never loaded for them (docs/performance.md)
    assert pdf_is_sound(pdf)


async def test_screen_media_prints_what_print_css_hides(ctx: Any) -> None:
    async with PdfPrinter(ctx, media="screen") as printer:
        assert "shown on screen only" in _text(await printer.from_html(BILL))


async def test_from_url_and_from_page(tab: Any, site: Any) -> None:
    await tab.context.add_cookies([{"name": "session", "value": site.state.session_cookie, "url": site.url}])
    async with PdfPrinter(tab.context) as printer:
        from_url = await printer.from_url(site("/bill/7"))
        with pytest.raises(KonnectorError) as raised:
            await printer.from_url(site("/missing?token=abc"))
        await tab.goto(site("/bill/8"))
        from_page = await printer.from_page(tab)
    assert "Facture n°7" in _text(from_url)
    assert "Facture n°8" in _text(from_page)
    assert "Ünïcödé € é" in _text(from_page)
    assert raised.value.code == FILE_DOWNLOAD_FAILED
    assert "answered 404" in str(raised.value)
    assert "token" not in str(raised.value)
    assert tab.url == site("/bill/8")  # from_page leaves the connector's page where it was


async def test_one_call_form_and_pool_share_pages(ctx: Any) -> None:
    pdf = await html_to_pdf(ctx, "<p>Ünïcödé € é</p>")
    assert "Ünïcödé € é" in _text(pdf)
    again = await html_to_pdf(ctx, "<p>second</p>")
    assert "second" in _text(again)
    assert len(ctx.pages) == 1  # one printer page per context, shared by every one-call print
    assert printer_for(ctx) is printer_for(ctx)
    await printer_for(ctx).close()
    assert ctx.pages == []
    async with PdfPrinter(ctx, pages=2) as printer:
        pdfs = await asyncio.gather(*(printer.from_html(f"<h2>Bill {i}</h2>") for i in range(6)))
        assert len(ctx.pages) == 2
    assert [_text(p).strip() for p in pdfs] == [f"Bill {i}" for i in range(6)]
    assert ctx.pages == []


@pytest.mark.parametrize("source", ["html", "url"])
async def test_cozy_pdf_document_starts_with_headline_and_link(ctx: Any, site: Any, source: str) -> None:
    url = site("/bill/3")
    args: dict[str, Any] = {"html": "<h2>Facture n°3</h2><p>Ünïcödé € é</p>"} if source == "html" else {"url": url}
    pdf = await cozy_pdf_document(ctx, headline="Demo Énergie — facture de mars", source_url=url, **args)
    lines = [line.strip() for line in _text(pdf).splitlines() if line.strip()]
    assert lines[0] == "Demo Énergie — facture de mars"
    assert lines[1] == url
    assert "Facture n°3" in lines[2]
    assert "Ünïcödé € é" in _text(pdf)
    links = [a.get_object()["/A"]["/URI"] for a in PdfReader(io.BytesIO(pdf)).pages[0].get("/Annots", [])]
    assert url in links
    with pytest.raises(ValueError, match="exactly one of html= or url="):
        await cozy_pdf_document(ctx, headline="x", source_url=url)


async def test_isolated_printer_keeps_prints_out_of_the_trace_but_has_the_cookies(
    tab: Any, site: Any, tmp_path: Any
) -> None:
    """A traced run prints in a context of its own: the trace does not record the bills printed, and the
    print still carries the session (cookies copied in before each print)."""
    import zipfile

    await tab.context.add_cookies([{"name": "session", "value": site.state.session_cookie, "url": site.url}])
    await tab.context.tracing.start(screenshots=True, snapshots=True)
    printer = PdfPrinter(tab.context, isolated=True)
    try:
        pdf = await printer.from_url(site("/bill/7"))  # needs the session cookie
        await printer.from_html("<h1>Isolated 42</h1>")
        assert tab.context.pages == [tab]  # the printer's page is not in the run's context
    finally:
        await printer.close()
        await tab.context.tracing.stop(path=str(tmp_path / "trace.zip"))
    assert "Facture n°7" in _text(pdf)
    with zipfile.ZipFile(tmp_path / "trace.zip") as trace:
        recorded = b"".join(trace.read(name) for name in trace.namelist() if name.endswith((".trace", ".network")))
    assert b"Isolated 42" not in recorded
    assert b"/bill/7" not in recorded


@pytest.mark.parametrize(
    ("html", "loads"),
    [
        ("<h1>Facture</h1><style>h1 { color: red }</style>", False),
        ('<a href="/bills/7">a link is not fetched</a>', False),
        ('<img src="/logo.png">', True),
        ('<link rel="stylesheet" href="print.css">', True),
        ('<p style="background: url(/bg.png)">', True),
        ("<style>@import 'print.css';</style>", True),
        ('<IFRAME SRC="/frame">', True),
        ('<svg><image xlink:href="/logo.svg"/></svg>', True),
    ],
)
def test_loads_resources_tells_self_contained_html(html: str, loads: bool) -> None:
    """Only self-contained HTML skips the isolated printer's cookie copy: anything that may fetch counts."""
    from browserkonnector.browser.toolkit._pdf import loads_resources

    assert loads_resources(html) is loads


async def test_a_warmed_printer_prints_on_the_page_it_opened_ahead(tab: Any) -> None:
    """``warm()`` opens the printing page (and an isolated printer's context) in the background; the first
    print waits for it instead of opening a second one, and a close during the warming leaves nothing."""
    printer = PdfPrinter(tab.context, isolated=True)
    try:
        printer.warm()
        printer.warm()  # once is enough
        assert "Warm 1" in _text(await printer.from_html("<h1>Warm 1</h1>"))
        assert "Warm 2" in _text(await printer.from_html("<h1>Warm 2</h1>"))
        assert len(printer._made) == 1
    finally:
        await printer.close()
    closing = PdfPrinter(tab.context, isolated=True)
    closing.warm()
    await closing.close()  # cancels the warming
    assert closing._made == [] or all(page.is_closed() for page in closing._made)
    assert tab.context.pages == [tab]
