"""Scrub secrets out of what a run leaves on disk, and prove none is left.

- :func:`scrub_file` — one file, by kind: a zip (every member), a HAR, JSON lines, JSON, or bytes;
- :func:`scrub_zip` — a Playwright trace (or any zip): harvest the secrets its network log and snapshots
  reveal (cookies, ``Authorization``, typed passwords, see ``browser._scrub_rules``), then rewrite every
  member — JSON lines stay valid JSON so ``playwright show-trace`` still opens it;
- :func:`scrub_har` — a HAR, JSON-aware (headers, cookie arrays, query strings, ``postData``, base64
  bodies decoded → scrubbed → re-encoded);
- :func:`find_secrets` — the scanner: every file under a path, zip members included (recursively),
  searched for every variant of every secret the redactor knows (plain, URL-encoded, JSON-escaped,
  base64 at any alignment) *and* inside the decoded strings of JSON documents (a JSON body escaped a
  second time inside a trace line). A finding names the file and the form, never the value.

Files are rewritten through a temporary file and an atomic rename: a crash never leaves half a trace.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from browserkonnector._redact import LONG_VARIANT, Redactor, secret_variants
from browserkonnector.browser._scrub_rules import harvest, scrub

__all__ = ["Finding", "find_secrets", "scrub_bytes", "scrub_file", "scrub_har", "scrub_zip"]

Form = Literal["plain", "url-encoded", "json-escaped", "base64", "inside-json"]
_JSON_LINES_SUFFIXES = (".trace", ".network", ".jsonl")
_JSON_SUFFIXES = (".json", ".har")
_ZIP_MAGIC = b"PK\x03\x04"


# -- kinds of content -------------------------------------------------------------------------------------
def _kind(name: str, data: bytes) -> str:
    lowered = name.lower()
    if lowered.endswith(".zip") or data[:4] == _ZIP_MAGIC:
        return "zip"
    if lowered.endswith(_JSON_LINES_SUFFIXES):
        return "jsonl"
    if lowered.endswith(_JSON_SUFFIXES):
        return "json"
    return "bytes"


def _json_docs(kind: str, data: bytes) -> Iterator[Any]:
    """The parsed documents of a JSON or JSON-lines content (unparsable lines are skipped)."""
    text = data.decode("utf-8", errors="replace")
    chunks = text.splitlines() if kind == "jsonl" else [text]
    for chunk in chunks:
        if chunk.strip():
            try:
                yield json.loads(chunk)
            except ValueError:
                continue


def _harvest_bytes(name: str, data: bytes, redactor: Redactor) -> None:
    kind = _kind(name, data)
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                _harvest_bytes(info.filename, archive.read(info), redactor)
    elif kind in ("json", "jsonl"):
        for doc in _json_docs(kind, data):
            harvest(doc, redactor)


def _scrub_json_text(kind: str, data: bytes, redactor: Redactor) -> bytes:
    text = data.decode("utf-8", errors="surrogateescape")
    if kind == "json":
        try:
            doc = json.loads(text)
        except ValueError:
            return redactor.redact_bytes(data)
        return _dump(scrub(doc, redactor)).encode("utf-8", "surrogateescape")
    lines = []
    for line in text.split("\n"):
        try:
            doc = json.loads(line) if line.strip() else None
        except ValueError:
            doc = None
        lines.append(redactor.redact(line) if doc is None else _dump(scrub(doc, redactor)))
    # No byte-level pass over the result: the JSON pass saw every string, key and number, and a byte
    # pass could mask a bare number or literal and break the line the trace viewer must parse.
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _dump(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def scrub_bytes(name: str, data: bytes, redactor: Redactor) -> bytes:
    """``data`` (the content of a file called ``name``) with every secret masked, structure kept."""
    kind = _kind(name, data)
    if kind == "zip":
        return _scrub_zip_bytes(data, redactor)
    if kind in ("json", "jsonl"):
        return _scrub_json_text(kind, data, redactor)
    return redactor.redact_bytes(data)


def _scrub_zip_bytes(data: bytes, redactor: Redactor) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            clean = scrub_bytes(info.filename, source.read(info), redactor)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
            target.writestr(copy, clean)
    return out.getvalue()


def _rewrite(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- public scrubbers -------------------------------------------------------------------------------------
def scrub_file(path: str | os.PathLike[str], redactor: Redactor) -> None:
    """Scrub one file in place, by kind (zip, HAR/JSON, JSON lines, anything else as bytes)."""
    target = Path(path)
    data = target.read_bytes()
    _harvest_bytes(target.name, data, redactor)
    _rewrite(target, scrub_bytes(target.name, data, redactor))


def scrub_zip(path: str | os.PathLike[str], redactor: Redactor) -> None:
    """Scrub every member of a zip in place (a Playwright trace: see the module docstring)."""
    target = Path(path)
    data = target.read_bytes()
    if data[:4] != _ZIP_MAGIC:
        raise ValueError(f"{target}: not a zip file")
    _harvest_bytes(target.name, data, redactor)
    _rewrite(target, _scrub_zip_bytes(data, redactor))


def scrub_har(path: str | os.PathLike[str], redactor: Redactor) -> None:
    """Scrub a HAR in place (a ``.zip`` HAR with attached bodies is scrubbed member by member)."""
    target = Path(path)
    data = target.read_bytes()
    if data[:4] == _ZIP_MAGIC:
        scrub_zip(target, redactor)
        return
    try:
        json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{target}: not a HAR (invalid JSON: {exc})") from None
    _harvest_bytes("x.har", data, redactor)
    _rewrite(target, _scrub_json_text("json", data, redactor))


# -- the scanner ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A secret found: where (``file`` or ``archive.zip!member``), in which form, which one (an index
    into ``sorted(redactor.values)``, never the value), at which byte offset (-1 inside JSON strings)."""

    path: str
    form: Form
    secret: int
    offset: int

    def __str__(self) -> str:
        return f"{self.path}: secret #{self.secret} ({self.form}) at {self.offset}"


class _Scanner:
    def __init__(self, redactor: Redactor) -> None:
        self.variants: dict[str, tuple[Form, int]] = {}
        for index, value in enumerate(sorted(redactor.values)):
            texts, b64 = secret_variants(value)
            for variant in sorted(texts, key=len):
                form: Form = "plain" if variant == value else "url-encoded" if "%" in variant else "json-escaped"
                self.variants.setdefault(variant, (form, index))
            for variant in b64:
                self.variants.setdefault(variant, ("base64", index))
        every = sorted(self.variants, key=len, reverse=True)
        # Long variants (a 1 MB secret) by substring search: compiling them into the pattern takes minutes.
        self.long = [v for v in every if len(v) > LONG_VARIANT]
        alternatives = [v for v in every if len(v) <= LONG_VARIANT] or ["(?!x)x"]
        self.bytes_pattern = re.compile(b"|".join(re.escape(v.encode()) for v in alternatives))
        self.text_pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def _long_findings(self, name: str, data: bytes) -> Iterator[Finding]:
        for variant in self.long:
            raw = variant.encode()
            at = data.find(raw)
            while at >= 0:
                form, index = self.variants[variant]
                yield Finding(name, form, index, at)
                at = data.find(raw, at + len(raw))

    def scan(self, name: str, data: bytes) -> Iterator[Finding]:
        kind = _kind(name, data)
        if kind == "zip":
            try:
                archive = zipfile.ZipFile(io.BytesIO(data))
            except zipfile.BadZipFile:
                kind = "bytes"
            else:
                with archive:
                    for info in archive.infolist():
                        yield from self.scan(f"{name}!{info.filename}", archive.read(info))
                return
        yield from self._long_findings(name, data)
        for match in self.bytes_pattern.finditer(data):
            form, index = self.variants[match.group(0).decode()]
            yield Finding(name, form, index, match.start())
        if kind in ("json", "jsonl") or data.lstrip()[:1] in (b"{", b"["):
            seen: set[int] = set()
            for doc in _json_docs("jsonl" if kind == "jsonl" else "json", data):
                for text in _strings(doc):
                    hits = [self.variants[v] for v in self.long if v in text]
                    hits += [self.variants[m.group(0)] for m in self.text_pattern.finditer(text)]
                    for _, index in hits:
                        if index not in seen:
                            seen.add(index)
                            yield Finding(name, "inside-json", index, -1)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def find_secrets(path_or_dir: str | os.PathLike[str], redactor: Redactor) -> list[Finding]:
    """Every occurrence of every registered secret in a file or under a folder (zips opened)."""
    if not redactor.values:
        return []
    root = Path(path_or_dir)
    if not root.exists():
        raise FileNotFoundError(f"find_secrets: {root} does not exist")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    scanner = _Scanner(redactor)
    return [finding for file in files for finding in scanner.scan(str(file), file.read_bytes())]
