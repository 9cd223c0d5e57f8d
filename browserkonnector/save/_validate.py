"""Checks on downloaded bytes *before* they are stored, and on files already in the Cozy.

konnector-libs stored whatever came back and validated afterwards (size and extension only): with a
forced content type an HTML error page was kept as the ``.pdf`` of a bill (the JS library's "vendor answers 404" case).
Here a download is refused before it reaches the store when:

- the HTTP status is not 2xx, or the body is empty;
- it is an HTML page (``text/html``, or ``<!doctype``/``<html`` at the start) and the file is not
  meant to be HTML (its name ends in ``.html``/``.htm`` or its type is forced to ``text/html``);
- it should be a PDF (``.pdf`` name, or a PDF type) and is not one pypdf can open with at least one
  page and an ``%%EOF`` marker (so a truncated download is caught too). A quick reader
  (:mod:`._pdfcheck`) vouches for a sound file first, at a fraction of pypdf's cost; pypdf is asked
  only when it is not sure.

:func:`default_validate_file` is the JS ``validateFile`` for files already stored: not empty, and a
mime consistent with the extension (an existing file that fails it is downloaded again).
"""

from __future__ import annotations

import contextlib
import io
import mimetypes
import mmap
from dataclasses import dataclass

from browserkonnector.save._fetched import Fetched
from browserkonnector.save._pdfcheck import pdf_is_sound
from browserkonnector.store._base import FileDoc

__all__ = ["InvalidContent", "check_content", "default_validate_file", "looks_like_pdf", "pypdf_problem", "upload_mime"]

PDF_MIMES = frozenset({"application/pdf", "application/x-pdf"})
HTML_MIMES = frozenset({"text/html", "application/xhtml+xml"})
#: Content types that say nothing about the content: the name's extension decides instead.
_GENERIC = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/download",
        "application/x-download",
        "application/force-download",
        "application/unknown",
    }
)


@dataclass
class InvalidContent(Exception):
    """A download that must not be stored. ``permanent`` failures (a 404) are not retried."""

    reason: str
    permanent: bool = False
    status: int | None = None  # the HTTP status, when that is what was wrong

    def __str__(self) -> str:
        return self.reason


def _mime_of(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def looks_like_pdf(data: bytes) -> bool:
    """A PDF header in the first KiB (the spec allows leading garbage before ``%PDF-``)."""
    return b"%PDF-" in data[:1024]


def looks_like_html(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        head.startswith(b"<!doctype") and b"html" in head[:64]
    )


def _pdf_problem(fetched: Fetched) -> str | None:
    if not looks_like_pdf(fetched.head()):
        return "not a PDF (no %PDF- header)"
    if b"%%EOF" not in fetched.tail(2048):
        return "a truncated PDF (no %%EOF at the end)"
    if _quick_sound(fetched):
        return None
    return pypdf_problem(fetched)


def pypdf_problem(fetched: Fetched) -> str | None:
    """pypdf's verdict, the full reader's: at least one page and a readable first one, else why not.
    (``tests/save/test_pdfcheck.py`` holds the quick reader to it.)"""
    from pypdf import PdfReader  # ~0.1 s and ~14 MiB to import: paid only when the quick reader is not sure

    with contextlib.ExitStack() as stack:
        # A spilled file is handed to pypdf as an open file, which it seeks in (given a path, it would
        # read the whole file into memory).
        stream = stack.enter_context(fetched.path.open("rb")) if fetched.path is not None else io.BytesIO(fetched.data)
        try:
            reader = PdfReader(stream, strict=False)
            if len(reader.pages) < 1:
                return "a PDF without any page"
            reader.pages[0].mediabox  # noqa: B018 - touching the first page parses it
        except Exception as exc:  # pypdf raises many types on broken files
            return f"an unreadable PDF ({type(exc).__name__})"
    return None


def _quick_sound(fetched: Fetched) -> bool:
    """The quick reader's verdict; a spilled file is mapped, not read (only the pages it visits load)."""
    if fetched.path is None:
        return pdf_is_sound(fetched.data)
    with fetched.path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        return pdf_is_sound(mapped)


def _is_pdf_target(name: str, mime: str) -> bool:
    return name.lower().endswith(".pdf") or mime in PDF_MIMES


def check_content(fetched: Fetched, *, name: str, forced_mime: str | None = None) -> None:
    """Raise :class:`InvalidContent` when ``fetched`` must not be stored as file ``name``.

    CPU-bound for PDFs (pypdf): call it in a thread for large files.
    """
    if not fetched.ok:
        status = fetched.status or 0
        raise InvalidContent(
            f"HTTP status {status}", permanent=400 <= status < 500 and status not in (408, 429), status=status
        )
    if not fetched.size:
        raise InvalidContent("empty file")
    head = fetched.head()  # only the first KiB and the last bytes of a big file are read here
    declared = _mime_of(forced_mime) or _mime_of(fetched.content_type)
    wants_html = name.lower().endswith((".html", ".htm")) or _mime_of(forced_mime) in HTML_MIMES
    is_pdf = looks_like_pdf(head)
    if not wants_html and not is_pdf and (looks_like_html(head) or _mime_of(fetched.content_type) in HTML_MIMES):
        raise InvalidContent(f"an HTML page ({_mime_of(fetched.content_type) or 'sniffed'}) instead of {name!r}")
    if _is_pdf_target(name, declared):
        problem = _pdf_problem(fetched)
        if problem:
            raise InvalidContent(f"{problem} for {name!r}")


def upload_mime(name: str, fetched: Fetched, forced: str | bool | None) -> str:
    """The mime to store: forced > sniffed PDF > the name's extension > the vendor's header.

    Following the extension keeps the stored mime consistent with the name, which is what the
    ``validateFile`` rule checks on the next run (a vendor's ``image/jpg`` for ``x.jpg`` would otherwise
    make the file look invalid, and be downloaded again, forever).
    """
    if isinstance(forced, str) and forced:
        return _mime_of(forced)
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if forced is True and guessed:
        return guessed
    if looks_like_pdf(fetched.head()) and name.lower().endswith(".pdf"):
        return "application/pdf"
    if guessed:
        return guessed
    declared = _mime_of(fetched.content_type)
    return declared if declared not in _GENERIC else "application/octet-stream"


def default_validate_file(file: FileDoc) -> bool:
    """JS ``defaultValidateFile``: size ≠ 0 and, when the extension is known, a matching mime.

    An extension Python's ``mimetypes`` does not know passes (the JS library failed it, which with a
    smaller table than mime-db's would re-download such files on every run).
    """
    if file.size == 0:
        return False
    ext_mime, _ = mimetypes.guess_type(file.name, strict=False)
    return not (ext_mime and file.mime and file.mime != ext_mime)
