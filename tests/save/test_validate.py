"""Checks before storing (status, HTML, PDF), dedup keys and names (ports of saveFiles.spec pieces)."""

from __future__ import annotations

import pytest
from save_helpers import ERROR_PAGE, make_pdf

from browserkonnector.save import Fetched, FileEntry
from browserkonnector.save._lookup import file_key, file_name, sanitize_file_name
from browserkonnector.save._validate import InvalidContent, check_content, default_validate_file, upload_mime
from browserkonnector.store._base import FileDoc

PDF = make_pdf("ok")


@pytest.mark.parametrize(
    ("fetched", "name", "reason"),
    [
        (Fetched(PDF, status=404), "a.pdf", "HTTP status 404"),
        (Fetched(PDF, status=500), "a.pdf", "HTTP status 500"),
        (Fetched(b"", status=200), "a.pdf", "empty file"),
        (Fetched(ERROR_PAGE, status=200, content_type="text/html"), "a.pdf", "an HTML page"),
        (Fetched(ERROR_PAGE, status=200, content_type="application/pdf"), "a.pdf", "an HTML page"),
        (Fetched(b"  <html><body>login</body></html>", status=200), "scan.png", "an HTML page"),
        (Fetched(b"hello", status=200, content_type="application/pdf"), "a.pdf", "not a PDF"),
        (Fetched(PDF[: len(PDF) // 2], status=200), "a.pdf", "truncated PDF"),
        (Fetched(b"%PDF-1.4\ngarbage\n%%EOF", status=200), "a.pdf", "unreadable PDF"),
    ],
)
def test_bad_downloads_are_refused_before_storing(fetched: Fetched, name: str, reason: str) -> None:
    """The JS library's "vendor answers 404" case: an HTML error page is never stored as the PDF of a bill."""
    with pytest.raises(InvalidContent, match=reason):
        check_content(fetched, name=name)


def test_error_page_refused_even_with_a_forced_pdf_content_type() -> None:
    with pytest.raises(InvalidContent, match="an HTML page"):
        check_content(Fetched(ERROR_PAGE, status=200), name="bill", forced_mime="application/pdf")


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (403, True), (429, False), (503, False)])
def test_client_errors_are_permanent_server_errors_are_not(status: int, permanent: bool) -> None:
    with pytest.raises(InvalidContent) as info:
        check_content(Fetched(PDF, status=status), name="a.pdf")
    assert info.value.permanent is permanent


@pytest.mark.parametrize(
    ("fetched", "name"),
    [
        (Fetched(PDF, status=200, content_type="application/pdf"), "a.pdf"),
        (Fetched(PDF, status=None, how="print"), "a.pdf"),
        (Fetched(PDF, status=200, content_type="text/html"), "a.pdf"),  # a mislabelled but real PDF
        (Fetched(ERROR_PAGE, status=200, content_type="text/html"), "receipt.html"),
        (Fetched(b"a,b\n1,2\n", status=200, content_type="text/csv"), "export.csv"),
    ],
)
def test_good_downloads_pass(fetched: Fetched, name: str) -> None:
    check_content(fetched, name=name)


def test_upload_mime_follows_content_and_name() -> None:
    assert upload_mime("a.pdf", Fetched(PDF, content_type="application/x-download"), None) == "application/pdf"
    assert upload_mime("a.jpg", Fetched(b"x", content_type="image/jpg"), None) == "image/jpeg"
    assert upload_mime("noext", Fetched(b"x", content_type="text/plain; charset=utf-8"), None) == "text/plain"
    assert upload_mime("noext", Fetched(b"x"), None) == "application/octet-stream"
    assert upload_mime("a.pdf", Fetched(PDF), "application/x-custom") == "application/x-custom"
    assert upload_mime("a.txt", Fetched(b"x"), True) == "text/plain"


def _file(name: str, mime: str | None, size: int) -> FileDoc:
    return FileDoc(id="f", rev="1-a", type="file", name=name, dir_id="d", size=size, mime=mime)


@pytest.mark.parametrize(
    ("file", "valid"),
    [
        (_file("201701_freemobile.pdf", "application/pdf", 10), True),  # saveFiles.spec rightMimeFile
        (_file("201701_freemobile.pdf", "image/png", 10), False),  # saveFiles.spec badMimeFile
        (_file("a.pdf", "application/pdf", 0), False),  # BAD_FILE_SIZE
        (_file("noextension", "application/pdf", 3), True),
    ],
)
def test_default_validate_file(file: FileDoc, valid: bool) -> None:
    """JS defaultValidateFile: checkFileSize && checkMimeWithPath."""
    assert default_validate_file(file) is valid


def test_sanitize_control_characters() -> None:
    """Ports saveFiles.spec.js 'filename sanitization / should sanitize control characters'."""
    assert sanitize_file_name("AAA\x00BBB\x0aCCC.pdf") == "AAABBBCCC.pdf"
    assert sanitize_file_name("\x0fAAA") == "AAA"
    assert sanitize_file_name('a/b?c<d>e\\f:g*h|i"j.pdf') == "abcdefghij.pdf"
    assert sanitize_file_name("...") == ""


def test_file_name_from_url_when_no_filename() -> None:
    """saveFiles.spec 'subPath handling': entry {fileurl: 'randomfileurl.txt'} is named after the URL."""
    assert file_name(FileEntry(fileurl="randomfileurl.txt")) == "randomfileurl.txt"
    assert file_name(FileEntry(fileurl="https://v.example/dl/bill-42.pdf?token=s3cr3t#x")) == "bill-42.pdf"
    assert file_name(FileEntry(fileurl="https://v.example/", filename="mine.pdf")) == "mine.pdf"


def test_file_key_one_and_multiple_attributes() -> None:
    """Ports saveFiles.spec 'getFileIfExists when in metadata mode' keys: 'uniquevendorref' and
    '42####uniquevendorref' (attribute names sorted: amount before vendorRef)."""
    entry = FileEntry.model_validate({"filename": "testfile.txt", "vendorRef": "uniquevendorref", "amount": 42})
    assert file_key(entry, ["vendorRef"]) == "uniquevendorref"
    assert file_key(entry, ["vendorRef", "amount"]) == "42####uniquevendorref"
    assert file_key(entry, ["vendor_ref"]) == "uniquevendorref"
