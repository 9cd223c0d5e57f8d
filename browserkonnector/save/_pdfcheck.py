"""A quick structural check of a PDF — enough to vouch for a sound file without pypdf.

Every downloaded or printed PDF is checked before it is stored (``_validate``): it must have a page.
pypdf answers that well but dearly for a check: ~1 ms a PDF in a run (it builds its whole object model
and flattens the page tree to count pages) and ~14 MiB more in the process (its import pulls in the
``cryptography`` package) — measured, ``docs/performance.md``. This module reads only what the
question needs, as a PDF reader finds a page:

``startxref`` → the cross-reference (a classic table or a cross-reference stream, ``/Prev`` and
``/XRefStm`` sections included) → the trailer's ``/Root`` → its ``/Pages`` → every node of the page
tree, each a dictionary, with at least one page among the leaves (pypdf counts pages the same way, by
walking the whole tree), the first of them with a media box of four numbers (its own or inherited).
Objects inside object streams and Flate-compressed streams with PNG predictors are read; nothing else
is decoded. Where pypdf is stricter than the specification (fixed 20-byte cross-reference entries,
``startxref`` on a line of its own, every object closed by ``endobj``, the document information
readable), so is this reader: fuzzed files showed each of those rules.

It can only say *sound* or *not sure*: anything it does not follow (an encrypted file, another stream
filter, a broken offset that a reader would repair by scanning, an unexpected token) makes it step
aside, and pypdf decides as before. So a PDF is never refused by this module, and what it accepts has
an intact chain from the trailer to every page — which is what pypdf's check looks at (tests compare the
two on sound, damaged and fuzzed files).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = ["pdf_is_sound"]

_MAX_DEPTH = 32  # nesting of arrays/dictionaries, and of the page tree
_MAX_SECTIONS = 64  # cross-reference sections followed through /Prev
_MAX_NODES = 100_000  # page tree nodes visited
_MAX_STREAM = 16 * 1024 * 1024  # inflated bytes of one cross-reference or object stream (a zip bomb stops here)
_DELIMS = rb"()<>\[\]{}/%"
_END = rb"(?=[\s" + _DELIMS + rb"]|\Z)"
_WS = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_NUMBER = re.compile(rb"[+-]?(?:\d+(?:\.\d*)?|\.\d+)" + _END)
_REF_TAIL = re.compile(rb"\s+(\d+)\s+R" + _END)
_NAME = re.compile(rb"/([^\s" + _DELIMS + rb"]*)")
_HEX = re.compile(rb"<([0-9A-Fa-f\s]*)>")
_KEYWORD = re.compile(rb"(true|false|null)" + _END)
_OBJ_HEAD = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj" + _END)
#: The file's last lines, as a reader reads them backwards: ``startxref`` on its own line, the offset, ``%%EOF``.
_STARTXREF = re.compile(rb"(?:^|(?<=[\r\n]))startxref[ \t]*(?:\r\n|\r|\n)[ \t]*(\d+)[ \t]*[\r\n]+[ \t]*%%EOF")
_XREF = re.compile(rb"xref" + _END)
_SUBSECTION = re.compile(rb"\s*(\d+) (\d+)[ \t]*(?:\r\n|\r|\n)")
#: Exactly the spec's 20-byte entry: a reader that reads fixed records (pypdf does) sees what this sees.
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])(?: \r| \n|\r\n)")
_TRAILER = re.compile(rb"\s*trailer" + _END)
_STREAM = re.compile(rb"\s*stream(?:\r\n|\n|\r)")
_ENDSTREAM = re.compile(rb"\s*endstream\s*endobj" + _END)
_ENDOBJ = re.compile(rb"\s*endobj" + _END)


class _Unsure(Exception):
    """The quick reader cannot vouch for the file: the full reader decides."""


@dataclass(frozen=True)
class _Ref:
    num: int
    gen: int


class _Name(str):
    """A PDF name (``/Type``), kept apart from strings."""


class _Parser:
    """Objects read from ``buf`` (bytes, or an mmap of a spilled download) at a given offset."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.pos = 0

    def skip(self) -> None:
        self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # matches the empty string

    def value(self, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _Unsure("nested too deep")
        self.skip()
        buf, pos = self.buf, self.pos
        head = buf[pos : pos + 2]
        if head == b"<<":
            return self._dict(depth)
        first = head[:1]
        if first == b"[":
            self.pos += 1
            items: list[Any] = []
            while True:
                self.skip()
                if self.buf[self.pos : self.pos + 1] == b"]":
                    self.pos += 1
                    return items
                items.append(self.value(depth + 1))
        if first == b"/":
            found = _NAME.match(buf, pos)
            assert found is not None  # a slash always matches
            self.pos = found.end()
            return _Name(_unescape_name(found.group(1)))
        if first == b"(":
            return self._literal()
        if first == b"<":
            found = _HEX.match(buf, pos)
            if found is None:
                raise _Unsure("bad hex string")
            self.pos = found.end()
            return found.group(1)
        found = _NUMBER.match(buf, pos)
        if found is not None:
            self.pos = found.end()
            text = found.group(0)
            if text.isdigit():
                ref = _REF_TAIL.match(buf, self.pos)
                if ref is not None:
                    self.pos = ref.end()
                    return _Ref(int(text), int(ref.group(1)))
                return int(text)
            return float(text)
        found = _KEYWORD.match(buf, pos)
        if found is not None:
            self.pos = found.end()
            return {b"true": True, b"false": False, b"null": None}[found.group(1)]
        raise _Unsure(f"unexpected token at {pos}")

    def _dict(self, depth: int) -> dict[str, Any]:
        self.pos += 2
        out: dict[str, Any] = {}
        while True:
            self.skip()
            if self.buf[self.pos : self.pos + 2] == b">>":
                self.pos += 2
                return out
            key = self.value(depth + 1)
            if not isinstance(key, _Name):
                raise _Unsure("a dictionary key that is not a name")
            out[key] = self.value(depth + 1)

    def _literal(self) -> bytes:
        """A ``(...)`` string, skipped over (balanced parentheses, backslash escapes); its bytes raw."""
        buf, start, level, pos = self.buf, self.pos, 0, self.pos
        size = len(buf)
        while pos < size:
            char = buf[pos : pos + 1]
            if char == b"\\":
                pos += 2
                continue
            if char == b"(":
                level += 1
            elif char == b")":
                level -= 1
                if level == 0:
                    self.pos = pos + 1
                    return bytes(buf[start + 1 : pos])
            pos += 1
        raise _Unsure("unterminated string")


def _unescape_name(raw: bytes) -> str:
    if b"#" in raw:
        raw = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("latin-1")


class _Document:
    """The cross-reference of ``buf`` and the objects it points to."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.size = len(buf)
        #: object number -> ("at", byte offset, generation) or ("in", object stream number, index in it)
        self.xref: dict[int, tuple[str, int, int]] = {}
        self.trailer: dict[str, Any] = {}
        self._streams: dict[int, tuple[bytes, list[int], int]] = {}
        self._xref_objects: list[tuple[int, int]] = []  # (number, offset) of each cross-reference stream

    def read_xref(self) -> None:
        tail_start = max(0, self.size - 2048)
        found = None
        for found in _STARTXREF.finditer(self.buf, tail_start):  # noqa: B007  (the last one counts)
            continue
        # As a reader reads the end: the last %%EOF, right after ``startxref`` and its offset.
        if found is None or found.end() != self.buf.rfind(b"%%EOF", tail_start) + 5:
            raise _Unsure("no startxref right before the last %%EOF")
        offset: int | None = int(found.group(1))
        seen: set[int] = set()
        while offset is not None:
            if offset in seen or len(seen) >= _MAX_SECTIONS or offset >= self.size:
                raise _Unsure("a cross-reference loop or a bad offset")
            seen.add(offset)
            trailer = self._section(offset)
            for key, value in trailer.items():
                self.trailer.setdefault(key, value)  # the newest section's keys win
            hybrid = trailer.get("XRefStm")
            if isinstance(hybrid, int) and hybrid not in seen:
                seen.add(hybrid)
                self._section(hybrid)
            previous = trailer.get("Prev")
            offset = previous if isinstance(previous, int) else None
        for number, at in self._xref_objects:  # a reader caches them by number: it must be theirs
            if self.xref.get(number) != ("at", at, 0):
                raise _Unsure(f"cross-reference stream {number} is not listed at its offset")

    def _section(self, offset: int) -> dict[str, Any]:
        """One cross-reference section; its entries fill what newer sections left unset."""
        table = _XREF.match(self.buf, offset)
        if table is not None:
            return self._table(table.end())
        return self._xref_stream(offset)

    def _table(self, pos: int) -> dict[str, Any]:
        while (section := _SUBSECTION.match(self.buf, pos)) is not None:
            start, count = int(section.group(1)), int(section.group(2))
            if count * 18 > self.size:
                raise _Unsure("an impossible cross-reference count")
            pos = section.end()
            for number in range(start, start + count):
                entry = _ENTRY.match(self.buf, pos)
                if entry is None:
                    raise _Unsure("a bad cross-reference entry")
                pos = entry.end()
                if entry.group(3) == b"n":
                    self.xref.setdefault(number, ("at", int(entry.group(1)), int(entry.group(2))))
        trailer = _TRAILER.match(self.buf, pos)
        if trailer is None:
            raise _Unsure("no trailer after the table")
        parser = _Parser(self.buf)
        parser.pos = trailer.end()
        found = parser.value()
        if not isinstance(found, dict):
            raise _Unsure("the trailer is not a dictionary")
        return found

    def _xref_stream(self, offset: int) -> dict[str, Any]:
        own, head, data = self._stream_at(offset)
        self._xref_objects.append((own, offset))
        if head.get("Type") != "XRef":
            raise _Unsure("startxref points at neither a table nor a cross-reference stream")
        widths = head.get("W")
        if not (isinstance(widths, list) and len(widths) == 3 and all(_small_int(w) for w in widths)):
            raise _Unsure("bad /W")
        size = head.get("Size")
        index = head.get("Index", [0, size])
        if not (isinstance(index, list) and len(index) % 2 == 0 and all(isinstance(i, int) for i in index)):
            raise _Unsure("bad /Index")
        row = sum(widths)
        if row == 0:
            raise _Unsure("empty /W")
        pos = 0
        for start, count in zip(index[::2], index[1::2], strict=True):
            for number in range(start, start + count):
                if pos + row > len(data):
                    raise _Unsure("a short cross-reference stream")
                fields: list[int] = []
                cursor = pos
                for width in widths:
                    fields.append(int.from_bytes(data[cursor : cursor + width], "big"))
                    cursor += width
                pos += row
                kind = fields[0] if widths[0] else 1
                if kind == 1:
                    self.xref.setdefault(number, ("at", fields[1], fields[2] if widths[2] else 0))
                elif kind == 2:
                    self.xref.setdefault(number, ("in", fields[1], fields[2]))
        return head

    def _stream_at(self, offset: int, number: int | None = None) -> tuple[int, dict[str, Any], bytes]:
        """The number, dictionary and decoded data of the stream object at ``offset``."""
        parser, own = self._object_parser(offset, number)
        head = parser.value()
        if not isinstance(head, dict):
            raise _Unsure("a stream without a dictionary")
        opened = _STREAM.match(self.buf, parser.pos)
        if opened is None:
            raise _Unsure("no stream keyword")
        start = opened.end()
        length = head.get("Length")
        if isinstance(length, _Ref):
            length = self.resolve(length)
        if not isinstance(length, int) or length < 0 or _ENDSTREAM.match(self.buf, start + length) is None:
            raise _Unsure("a stream length that does not end at endstream")
        return own, head, _decode(head, bytes(self.buf[start : start + length]))

    def _object_parser(self, offset: int, number: int | None, generation: int = 0) -> tuple[_Parser, int]:
        """A parser just past the ``N G obj`` at ``offset`` (which must be ``number``, when given), and N."""
        head = _OBJ_HEAD.match(self.buf, offset)
        if head is None or (number is not None and (int(head.group(1)), int(head.group(2))) != (number, generation)):
            raise _Unsure(f"no object {number} {generation} at {offset}")
        parser = _Parser(self.buf)
        parser.pos = head.end()
        return parser, int(head.group(1))

    def resolve(self, value: Any) -> Any:
        """``value``, or the object it refers to."""
        if not isinstance(value, _Ref):
            return value
        where = self.xref.get(value.num)
        if where is None:
            raise _Unsure(f"object {value.num} is not in the cross-reference")
        kind, first, second = where
        if kind == "at":
            if second != value.gen:
                raise _Unsure(f"object {value.num} {value.gen} has generation {second} in the cross-reference")
            parser, _ = self._object_parser(first, value.num, value.gen)
            found = parser.value()
            if _ENDOBJ.match(self.buf, parser.pos) is None:
                raise _Unsure(f"object {value.num} does not end with endobj")
            return found
        if value.gen != 0:
            raise _Unsure(f"object {value.num} {value.gen} in an object stream")
        data, offsets, base = self._object_stream(first)
        if second >= len(offsets):
            raise _Unsure("an index past the object stream")
        parser = _Parser(data)
        parser.pos = base + offsets[second]
        return parser.value()

    def _object_stream(self, number: int) -> tuple[bytes, list[int], int]:
        cached = self._streams.get(number)
        if cached is not None:
            return cached
        where = self.xref.get(number)
        if where is None or where[0] != "at":
            raise _Unsure("an object stream that is not at an offset")
        _, head, data = self._stream_at(where[1], number)
        count, first = head.get("N"), head.get("First")
        if head.get("Type") != "ObjStm" or not isinstance(count, int) or not isinstance(first, int):
            raise _Unsure("a bad object stream")
        numbers = _Parser(data)
        offsets = []
        for _ in range(count):
            numbers.value()  # the object's number
            offset = numbers.value()
            if not isinstance(offset, int):
                raise _Unsure("a bad object stream header")
            offsets.append(offset)
        self._streams[number] = (data, offsets, first)
        return self._streams[number]


def _small_int(value: Any) -> bool:
    return isinstance(value, int) and 0 <= value <= 8


def _decode(head: dict[str, Any], data: bytes) -> bytes:
    filters = head.get("Filter")
    params = head.get("DecodeParms")
    if isinstance(filters, list):
        if len(filters) > 1:
            raise _Unsure("chained filters")
        filters = filters[0] if filters else None
        params = params[0] if isinstance(params, list) and params else params
    if filters is None:
        return data
    if filters != "FlateDecode":
        raise _Unsure(f"filter {filters}")
    inflater = zlib.decompressobj()
    data = inflater.decompress(data, _MAX_STREAM)
    if inflater.unconsumed_tail:
        raise _Unsure("a stream that inflates past the quick reader's limit")
    predictor = params.get("Predictor", 1) if isinstance(params, dict) else 1
    if predictor == 1:
        return data
    if predictor not in range(10, 16):  # the PNG predictors; TIFF's (2) and unknown ones: not sure
        raise _Unsure(f"predictor {predictor}")
    columns = params.get("Columns", 1) if isinstance(params, dict) else 1
    if not isinstance(columns, int) or columns < 1:
        raise _Unsure("bad /Columns")
    return _unpredict_png(data, columns)


def _unpredict_png(data: bytes, columns: int) -> bytes:
    """PNG row filters (one byte per sample, as cross-reference streams use them) undone."""
    out = bytearray()
    previous = bytearray(columns)
    width = columns + 1
    for start in range(0, len(data) - len(data) % width, width):
        kind, row = data[start], bytearray(data[start + 1 : start + width])
        for i in range(columns):
            left = row[i - 1] if i else 0
            up = previous[i]
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - 1] if i else 0
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                row[i] = (row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
            elif kind != 0:
                raise _Unsure("an unknown PNG filter")
        out += row
        previous = row
    return bytes(out)


def _count_pages(document: _Document) -> int:
    """The leaves of the page tree, every node visited (as pypdf flattens it to count pages); the first
    page must have a media box, its own or inherited (pypdf's check reads it)."""
    root = document.resolve(document.trailer.get("Root"))
    if not isinstance(root, dict):
        raise _Unsure("no catalog")
    pending: list[tuple[Any, int, Any]] = [(root.get("Pages"), 0, None)]
    seen: set[int] = set()
    leaves = 0
    while pending:
        ref, depth, inherited_box = pending.pop()
        if isinstance(ref, _Ref):
            if ref.num in seen:
                raise _Unsure("a page tree with a cycle")
            seen.add(ref.num)
        if depth > _MAX_DEPTH or len(seen) > _MAX_NODES:
            raise _Unsure("a page tree too deep or too big")
        node = document.resolve(ref)
        if not isinstance(node, dict):
            raise _Unsure("a page tree node that is not a dictionary")
        box = node.get("MediaBox", inherited_box)
        kind = node.get("Type")
        if kind == "Page" or (kind is None and "Kids" not in node and depth > 0):
            if leaves == 0 and not _is_rectangle(document.resolve(box)):
                raise _Unsure("a first page without a media box")
            leaves += 1
            continue
        if kind not in ("Pages", None):
            raise _Unsure(f"a /{kind} in the page tree")
        kids = document.resolve(node.get("Kids"))
        if not isinstance(kids, list):
            raise _Unsure("a page tree node without kids")
        pending.extend((kid, depth + 1, box) for kid in reversed(kids))
    return leaves


def _is_rectangle(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(n, int | float) and not isinstance(n, bool) for n in value)
    )


def pdf_is_sound(buf: Any) -> bool:
    """Whether ``buf`` (bytes, or an mmap of the file) is a PDF whose structure reaches a first page.

    ``False`` means *not sure*, never *broken*: the caller then asks the full reader.
    """
    try:
        document = _Document(buf)
        document.read_xref()
        if "Encrypt" in document.trailer:
            return False  # object streams and strings are encrypted: the full reader decides
        if "Info" in document.trailer and not isinstance(document.resolve(document.trailer["Info"]), dict):
            return False  # a reader opens the document information too
        return _count_pages(document) >= 1
    except (_Unsure, ValueError, IndexError, TypeError, zlib.error, RecursionError, OverflowError):
        return False
