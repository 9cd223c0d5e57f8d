"""The quick PDF reader (``save/_pdfcheck.py``) against pypdf: it vouches for sound files of several
writers, steps aside on anything damaged or unusual, and never vouches for a file pypdf cannot read."""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from demo_vendor_site.pdf import PdfCanvas
from pypdf import PdfWriter
from save_helpers import make_pdf

from browserkonnector.save import Fetched
from browserkonnector.save._pdfcheck import pdf_is_sound
from browserkonnector.save._validate import InvalidContent, check_content, pypdf_problem


def pypdf_reads(data: bytes) -> bool:
    """What the save pipeline's full check accepts (the very function it calls when the quick reader
    steps aside): pypdf opens it and finds a readable first page."""
    return pypdf_problem(Fetched(data, status=200)) is None


def _png_up(rows: list[bytes]) -> bytes:
    out, previous = bytearray(), bytes(len(rows[0]))
    for row in rows:
        out += b"\x02" + bytes((a - b) & 0xFF for a, b in zip(row, previous, strict=True))
        previous = row
    return bytes(out)


def xref_stream_pdf(*, object_stream: bool = True, predictor: bool = True, pages: int = 2, padding: int = 0) -> bytes:
    """A PDF 1.5 file as modern writers make them: a compressed cross-reference stream, and the
    catalog and page tree inside a compressed object stream."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        **{3 + i: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>" for i in range(pages)},
    }
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    entries: dict[int, tuple[int, int, int]] = {0: (0, 0, 65535)}
    stream_number = len(bodies) + 1
    if object_stream:
        header, payload = b"", b""
        for index, (number, body) in enumerate(bodies.items()):
            header += f"{number} {len(payload)} ".encode()
            payload += body + b"\n"
            entries[number] = (2, stream_number, index)
        packed = zlib.compress(header + payload + b" " * padding)
        entries[stream_number] = (1, len(out), 0)
        out += (
            f"{stream_number} 0 obj\n<< /Type /ObjStm /N {len(bodies)} /First {len(header)} "
            f"/Filter /FlateDecode /Length {len(packed)} >>\nstream\n"
        ).encode()
        out += packed + b"\nendstream\nendobj\n"
    else:
        entries[stream_number] = (0, 0, 0)  # unused: a free entry keeps the numbering dense
        for number, body in bodies.items():
            entries[number] = (1, len(out), 0)
            out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_number = stream_number + 1
    entries[xref_number] = (1, len(out), 0)
    rows = [
        bytes([k]) + a.to_bytes(4, "big") + b.to_bytes(2, "big") for k, a, b in (entries[n] for n in sorted(entries))
    ]
    data = _png_up(rows) if predictor else b"".join(rows)
    packed = zlib.compress(data)
    parms = " /DecodeParms << /Columns 7 /Predictor 12 >>" if predictor else ""
    out += (
        f"{xref_number} 0 obj\n<< /Type /XRef /Size {xref_number + 1} /W [1 4 2] /Root 1 0 R "
        f"/Filter /FlateDecode{parms} /Length {len(packed)} >>\nstream\n"
    ).encode()
    out += packed + b"\nendstream\nendobj\n"
    out += f"startxref\n{entries[xref_number][1]}\n%%EOF\n".encode()
    return bytes(out)


def incremental_update(base: bytes) -> bytes:
    """``base`` with an appended update (a new /Info object, a new cross-reference section whose
    /Prev points at the old one): the catalog is only found by following /Prev."""
    old = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    size = int(re.findall(rb"/Size (\d+)", base)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", base)[-1].decode()
    update = bytearray(base)
    offset = len(update)
    update += f"{size} 0 obj\n<< /Producer (an update) >>\nendobj\n".encode()
    xref = len(update)
    update += (
        f"xref\n{size} 1\n{offset:010d} 00000 n \ntrailer\n<< /Size {size + 1} /Root {root} /Info {size} 0 R "
        f"/Prev {old} >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(update)


def _demo_bill() -> bytes:
    """A bill as the demo vendor writes its PDFs (its own minimal writer: one content stream, a font)."""
    page = PdfCanvas()
    page.text(50, 700, "Facture FAC-1")
    page.text(50, 680, "Total 42,00 EUR")
    return page.render(title="Facture FAC-1")


SOUND = {
    "pypdf writer, 1 page": make_pdf("one"),
    "pypdf writer, 3 pages": make_pdf("three", pages=3),
    "demo vendor bill": _demo_bill(),
    "xref stream + object stream": xref_stream_pdf(),
    "xref stream, no predictor": xref_stream_pdf(predictor=False),
    "xref stream, plain objects": xref_stream_pdf(object_stream=False),
    "incremental update": incremental_update(make_pdf("upd")),
}


@pytest.mark.parametrize("name", SOUND)
def test_sound_pdfs_of_several_writers_are_vouched_for(name: str) -> None:
    data = SOUND[name]
    assert pypdf_reads(data), "the sample itself must be sound"
    assert pdf_is_sound(data)
    check_content(Fetched(data, status=200), name="a.pdf")


def _no_pages() -> bytes:
    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def _encrypted() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt("", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _shifted_startxref(data: bytes) -> bytes:
    offset = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    return data[: data.rindex(b"startxref")] + f"startxref\n{offset + 3}\n%%EOF\n".encode()


@pytest.mark.parametrize(
    ("damaged", "pypdf_accepts"),
    [
        (_no_pages(), False),  # a page tree with no page: refused, as before
        (_shifted_startxref(make_pdf("moved")), True),  # pypdf repairs the offset by scanning: kept, as before
        (_encrypted(), True),  # encrypted: the quick reader leaves it to pypdf
        (make_pdf("cut")[:300] + b"\n%%EOF\n", False),  # truncated, an %%EOF glued on
        (b"%PDF-1.4\ngarbage\n%%EOF", False),
    ],
    ids=["no pages", "wrong startxref", "encrypted", "truncated", "garbage"],
)
def test_damaged_or_unusual_files_are_left_to_pypdf(damaged: bytes, pypdf_accepts: bool) -> None:
    """The quick reader is never sure about these; the verdict is pypdf's, the same as before it existed."""
    assert not pdf_is_sound(damaged)
    assert pypdf_reads(damaged) is pypdf_accepts
    if pypdf_accepts:
        check_content(Fetched(damaged, status=200), name="a.pdf")
    else:
        with pytest.raises(InvalidContent, match="PDF"):
            check_content(Fetched(damaged, status=200), name="a.pdf")


def _mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    size = len(data)
    if kind == 0:  # cut short, an %%EOF glued on (a truncated download behind a proxy that closes it)
        return data[: rng.randrange(size)] + b"\n%%EOF\n"
    if kind == 1:  # a few random bytes overwritten
        out = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(size)] = rng.randrange(256)
        return bytes(out)
    if kind == 2:  # a slice gone
        start = rng.randrange(size)
        return data[:start] + data[start + rng.randint(1, 64) :]
    digits = [m.start() for m in re.finditer(rb"\d", data)]
    out = bytearray(data)
    if kind == 3:  # a digit changed (offsets, counts, object numbers)
        at = rng.choice(digits)
        out[at] = ord(str(rng.randrange(10)))
        return bytes(out)
    at = rng.choice([m.start() for m in re.finditer(rb"/[A-Z]", data)])  # a name's first letter changed
    out[at + 1] = rng.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return bytes(out)


@pytest.mark.parametrize("name", SOUND)
def test_fuzzed_files_are_never_vouched_for_when_pypdf_cannot_read_them(name: str) -> None:
    """Property: whatever the damage, *sound* from the quick reader implies pypdf finds a first page."""
    rng = random.Random(f"pdfcheck {name} {os.environ.get('PDFCHECK_SEED', '')}")
    base = SOUND[name]
    vouched = 0
    for _ in range(int(os.environ.get("PDFCHECK_FUZZ", "300"))):
        mutated = _mutate(base, rng)
        if pdf_is_sound(mutated):
            vouched += 1
            assert pypdf_reads(mutated), f"vouched for a file pypdf cannot read: {mutated!r}"
    assert vouched > 0  # damage in the content streams or metadata leaves the structure sound


def test_a_spilled_download_is_checked_in_place(tmp_path: Path) -> None:
    """A big download kept in a temporary file is mapped, not read into memory, and judged the same."""
    path = tmp_path / "big.pdf"
    path.write_bytes(xref_stream_pdf(pages=50))
    check_content(Fetched(path=path, status=200), name="big.pdf")
    path.write_bytes(xref_stream_pdf()[:-40] + b"\n%%EOF\n")
    with pytest.raises(InvalidContent, match="unreadable PDF"):
        check_content(Fetched(path=path, status=200), name="big.pdf")


def test_a_sound_pdf_is_checked_without_importing_pypdf() -> None:
    """The memory half of the point: pypdf (and the cryptography package it loads) stays out of a run
    whose PDFs are sound (docs/performance.md)."""
    script = (
        "import sys\n"
        "from browserkonnector.save import Fetched\n"
        "from browserkonnector.save._validate import check_content\n"
        f"check_content(Fetched({SOUND['demo vendor bill']!r}, status=200), name='a.pdf')\n"
        "assert 'pypdf' not in sys.modules, 'pypdf was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_a_stream_that_inflates_too_far_is_left_to_pypdf() -> None:
    """A compression bomb in an object stream: the quick reader stops at 16 MiB, not sure."""
    assert pdf_is_sound(xref_stream_pdf(padding=1024))
    assert not pdf_is_sound(xref_stream_pdf(padding=20 * 1024 * 1024))
