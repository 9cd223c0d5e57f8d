"""The PDFs: real files pypdf parses (strictly), with the bill's facts as text, byte for byte stable."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pypdf
import pytest
from demo_vendor_site import DemoSite
from demo_vendor_site.data import ACCOUNTS, BillCatalog
from demo_vendor_site.invoice import bill_pdf
from demo_vendor_site.pdf import PdfCanvas, pdf_string

from .client import BOB, ClientFactory, SiteClient, SiteFactory


def _french(amount: float) -> str:
    return f"{amount:.2f}".replace(".", ",") + " €"


def _fetch_pdf(client: SiteClient, bill: dict[str, Any]) -> bytes:
    """Through the route the bill's kind offers (bearer for the blob route, cookie for the files)."""
    path = bill["links"]["pdf"]
    response = client.api(path) if path.startswith("/api/") else client.http.get(path)
    assert response.status_code == 200, response.text
    return response.content


def _check_pdf(data: bytes, bill: dict[str, Any]) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for fact in (
        "Demo Énergie",
        "Facture",
        bill["id"],
        bill["vendorRef"],
        bill["date"],
        _french(bill["amount"]),
        f"{bill['amount']:.2f}",
        bill["label"],
    ):
        assert fact in text, (fact, text)
    return text


@pytest.mark.parametrize("user", ["alice@demo-energie.test", BOB[0]])
def test_every_pdf_kind_parses_and_carries_the_bill(
    make_site: SiteFactory, make_client: ClientFactory, user: str
) -> None:
    site = make_site(bills=12)
    client = make_client(site)
    client.login(BOB if user == BOB[0] else ("alice@demo-energie.test", "Correct-Horse-Battery-42!"))
    bills = [b for b in site.expected_bills(user) if b["kind"] != "html"]
    assert {b["kind"] for b in bills} == {"download", "inline", "blob"}
    for bill in bills:
        text = _check_pdf(_fetch_pdf(client, bill), bill)
        assert ("Bob Durand" if user == BOB[0] else "Alice Martin") in text


def test_pdf_bytes_are_identical_across_starts_and_volatile_seeds(
    make_site: SiteFactory, make_client: ClientFactory
) -> None:
    digests = []
    for volatile_seed in (0, 99):
        site = make_site(volatile_seed=volatile_seed)
        client = make_client(site)
        client.login()
        digests.append(
            {
                b["id"]: hashlib.md5(_fetch_pdf(client, b)).hexdigest()
                for b in site.expected_bills()
                if b["kind"] != "html"
            }
        )
        site.stop()
    assert digests[0] == digests[1]
    assert len(set(digests[0].values())) == 18  # every bill has its own file


def test_pdfs_are_rendered_once_then_served_from_memory(site: DemoSite, client: SiteClient) -> None:
    client.login()
    bill = next(b for b in site.expected_bills() if b["kind"] == "download")
    first, second = (_fetch_pdf(client, bill) for _ in range(2))
    assert first == second
    stats = site.stats()
    assert (stats["pdfs_rendered"], stats["pdfs_served"]) == (1, 2)


def test_printable_page_carries_the_same_facts(site: DemoSite, client: SiteClient) -> None:
    client.login()
    for bill in site.expected_bills()[:4]:
        html = client.http.get(bill["links"]["print"]).text
        assert html.startswith("<!doctype html>")
        for fact in ("Demo Énergie", "Facture", bill["id"], bill["vendorRef"], bill["date"], _french(bill["amount"])):
            assert fact in html


def test_the_writer_escapes_and_encodes_in_winansi() -> None:
    assert pdf_string("a(b)c\\d") == b"(a\\(b\\)c\\\\d)"
    assert pdf_string("Énergie 12 €") == b"(\\311nergie 12 \\200)"
    with pytest.raises(ValueError, match="'✓' at 3"):
        pdf_string("ok ✓")


def test_the_xref_table_points_at_every_object() -> None:
    bill = BillCatalog().bill(42, ACCOUNTS[0], 0)
    data = bill_pdf(bill, 42)
    assert data == bill_pdf(bill, 42)
    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))  # type: ignore[union-attr]
    assert data[startxref:].startswith(b"xref\n0 8\n")
    entries = re.findall(rb"(\d{10}) 00000 n \n", data[startxref:])
    assert len(entries) == 7
    for number, offset in enumerate(entries, start=1):
        assert data[int(offset) :].startswith(b"%d 0 obj\n" % number)
    assert b"/CreationDate" not in data
    assert b"/ID" not in data


def test_a_canvas_renders_a_valid_minimal_pdf() -> None:
    canvas = PdfCanvas()
    canvas.text(40, 800, "Bonjour (été) à 3,50 €", size=14, bold=True)
    canvas.text(555, 780, "99,99 €", align="right")
    canvas.rect(40, 770, 515, 1, rgb=(0, 0, 0))
    reader = pypdf.PdfReader(io.BytesIO(canvas.render(title="Essai")), strict=True)
    text = reader.pages[0].extract_text()
    assert "Bonjour (été) à 3,50 €" in text
    assert "99,99 €" in text
    assert reader.metadata is not None
    assert reader.metadata.title == "Essai"
