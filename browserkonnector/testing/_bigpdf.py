"""A valid one-page PDF of any size, produced in chunks, for tests and benchmarks of big downloads.

The page's content stream is ``size`` bytes of PDF comments, so the file opens in any reader (and in
pypdf, which is what the save pipeline checks a PDF with) while never being built in memory: a
300 MB statement can be served, and its md5 computed, with flat memory. :func:`big_pdf_app` serves it
at ``GET /big.pdf`` with a ``Content-Length``, as a vendor would.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

__all__ = ["BigPdf", "big_pdf_app"]

_LINE = b"%" + b"0" * 62 + b"\n"  # a comment line: harmless in a content stream
_BLOCK = _LINE * (1 << 14)  # 1 MiB


class BigPdf:
    """A PDF whose page content is ``payload`` bytes of comments; ``length`` is the whole file's size."""

    def __init__(self, payload: int, *, truncated: bool = False) -> None:
        self.payload = payload
        objects = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        ]
        head = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(head))
            head += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(len(head))
        head += b"4 0 obj\n<< /Length %d >>\nstream\n" % payload
        self._head = bytes(head)
        start = len(head) + payload
        tail = bytearray(b"\nendstream\nendobj\n")
        xref_at = start + len(tail)
        tail += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
        tail += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
        # A truncated copy stops before its end: what a cut connection leaves behind.
        self._tail = bytes(tail) if not truncated else b""
        self.length = len(self._head) + payload + len(self._tail)

    def chunks(self) -> Iterator[bytes]:
        """The file, 1 MiB at a time."""
        yield self._head
        left = self.payload
        while left > 0:
            piece = _BLOCK if left >= len(_BLOCK) else _BLOCK[:left]
            left -= len(piece)
            yield piece
        if self._tail:
            yield self._tail

    def md5_hex(self) -> str:
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()


def big_pdf_app(pdf: BigPdf, *, attachment: bool = False) -> object:
    """A Starlette app answering ``GET /big.pdf`` with ``pdf``, streamed, with its ``Content-Length``
    (``attachment``: and a ``Content-Disposition`` that makes a browser download it)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def body() -> AsyncIterator[bytes]:
        for chunk in pdf.chunks():
            yield chunk

    async def big(_: Request) -> StreamingResponse:
        headers = {"content-length": str(pdf.length)}
        if attachment:
            headers["content-disposition"] = 'attachment; filename="big.pdf"'
        return StreamingResponse(body(), media_type="application/pdf", headers=headers)

    return Starlette(routes=[Route("/big.pdf", big)])
