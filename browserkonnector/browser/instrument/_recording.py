"""The recording of a run's network, on disk: a HAR 1.2 file other tools read, plus a small manifest.

A recording folder holds::

    recording.har        HAR 1.2: every exchange of both network paths, in the order they started
    bodies/<sha1>.<ext>  bodies too big or too binary for the HAR (PDFs...), named by content
    recording.json       format version, when, which connector, origins seen, field *names*, notes,
                         matching rules, outcome
    recording-diff.txt   what the last re-record changed (see :mod:`._recording_diff`)

The HAR follows the spec; what it adds uses the spec's ``_`` prefix: ``_source`` (``browser`` or
``http``: which path made the request), ``_resourceType``, ``_error`` (a request that failed without an
answer), and ``content._file`` / ``postData._file`` for bodies kept outside, the name Playwright's own
HAR writer uses in its ``attach`` mode, so ``route_from_har`` can read the file too. Output is
deterministic (sorted keys, headers sorted by name, bodies named by their SHA-1) so that a re-record
diff shows what changed and nothing else. Nothing here scrubs secrets: :class:`Recording.save` takes the
redactor that turns them into placeholders, and :mod:`._record` checks the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from browserkonnector._redact import Redactor
from browserkonnector.browser.instrument._matching import MatchRules, RequestData, origin_of

__all__ = [
    "BODIES_DIR",
    "DIFF_NAME",
    "FORMAT",
    "FORMAT_VERSION",
    "HAR_NAME",
    "META_NAME",
    "Exchange",
    "Recording",
    "RecordingError",
]

FORMAT = "browserkonnector-recording"
FORMAT_VERSION = 1
HAR_NAME = "recording.har"
META_NAME = "recording.json"
DIFF_NAME = "recording-diff.txt"
BODIES_DIR = "bodies"
#: Text bodies up to this size stay inside the HAR (readable in a diff); larger ones go to ``bodies/``.
INLINE_MAX = 16 * 1024
_TEXT_TYPES = ("text/", "json", "javascript", "xml", "x-www-form-urlencoded", "svg")
_EXTENSIONS = {
    "pdf": "pdf",
    "json": "json",
    "html": "html",
    "javascript": "js",
    "css": "css",
    "png": "png",
    "jpeg": "jpg",
    "gif": "gif",
    "svg": "svg",
    "xml": "xml",
    "woff2": "woff2",
    "plain": "txt",
}


class RecordingError(ValueError):
    """A recording folder that cannot be read; the message names the file and the entry at fault."""


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, whichever path (``source``) made it."""

    source: str  # "browser" | "http"
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    status: int
    status_text: str
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    started: str = ""  # ISO 8601, UTC
    time_ms: float = 0.0
    resource_type: str | None = None
    error: str | None = None  # the request failed without an answer (status 0)

    @property
    def request(self) -> RequestData:
        return RequestData(self.method, self.url, self.request_headers, self.request_body)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == lowered), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def scrubbed(self, redactor: Redactor) -> Exchange:
        """This exchange with every secret the redactor knows turned into its placeholder."""
        return replace(
            self,
            url=redactor.placeholder(self.url),
            request_headers=tuple((n, redactor.placeholder(v)) for n, v in self.request_headers),
            request_body=None if self.request_body is None else redactor.placeholder_bytes(self.request_body),
            response_headers=tuple((n, redactor.placeholder(v)) for n, v in self.response_headers),
            response_body=redactor.placeholder_bytes(self.response_body),
            error=None if self.error is None else redactor.placeholder(self.error),
        )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_text(content_type: str, data: bytes) -> bool:
    if not any(marker in content_type for marker in _TEXT_TYPES) and content_type:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _extension(content_type: str) -> str:
    for marker, ext in _EXTENSIONS.items():
        if marker in content_type:
            return ext
    return "bin"


def _headers_json(headers: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in sorted(headers, key=lambda h: h[0].lower())]


@dataclass
class _BodyWriter:
    """Puts a body inline (small text) or in ``bodies/`` (the rest), remembering which files it wrote."""

    folder: Path
    written: set[str] = field(default_factory=set)

    def content(self, data: bytes, content_type: str) -> dict[str, Any]:
        if _is_text(content_type, data) and len(data) <= INLINE_MAX:
            return {"text": data.decode("utf-8")} if data else {}
        name = f"{hashlib.sha1(data).hexdigest()}.{_extension(content_type)}"
        target = self.folder / BODIES_DIR / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, data)
        self.written.add(name)
        return {"_file": f"{BODIES_DIR}/{name}"}


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a recording is meant to be committed
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _our_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("browserkonnector")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


def _dump(doc: Any) -> bytes:
    return (json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _entry(exchange: Exchange, bodies: _BodyWriter) -> dict[str, Any]:
    request_type = next((v for k, v in exchange.request_headers if k.lower() == "content-type"), "")
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": exchange.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers_json(exchange.request_headers),
        "queryString": [
            {"name": n, "value": v} for n, v in parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(exchange.request_body or b""),
    }
    if exchange.request_body is not None:
        request["postData"] = {"mimeType": request_type, **bodies.content(exchange.request_body, request_type.lower())}
    content = {
        "size": len(exchange.response_body),
        "mimeType": exchange.header("content-type") or "",
        **bodies.content(exchange.response_body, exchange.content_type),
    }
    response = {
        "status": exchange.status,
        "statusText": exchange.status_text,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers_json(exchange.response_headers),
        "content": content,
        "redirectURL": exchange.header("location") or "",
        "headersSize": -1,
        "bodySize": len(exchange.response_body),
    }
    entry: dict[str, Any] = {
        "startedDateTime": exchange.started or now_iso(),
        "time": round(exchange.time_ms, 1),
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": round(exchange.time_ms, 1), "receive": 0},
        "_source": exchange.source,
    }
    if exchange.resource_type:
        entry["_resourceType"] = exchange.resource_type
    if exchange.error:
        entry["_error"] = exchange.error
    return entry


def _read_body(folder: Path, holder: dict[str, Any], where: str) -> bytes | None:
    if "_file" in holder:
        path = folder / str(holder["_file"])
        if not path.is_file():
            raise RecordingError(f"{where}: body file {holder['_file']} is missing")
        return path.read_bytes()
    if "text" not in holder:
        return None
    text = str(holder["text"])
    if holder.get("encoding") == "base64":
        import base64

        return base64.b64decode(text)
    return text.encode("utf-8")


def _pairs(items: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list):
        raise RecordingError(f"{where}: expected a list of {{name, value}}")
    return tuple((str(h["name"]), str(h["value"])) for h in items)


def _exchange(folder: Path, entry: dict[str, Any], where: str) -> Exchange:
    try:
        request, response = entry["request"], entry["response"]
        post = request.get("postData")
        return Exchange(
            source=str(entry.get("_source", "browser")),
            method=str(request["method"]),
            url=str(request["url"]),
            request_headers=_pairs(request.get("headers", []), f"{where}.request.headers"),
            request_body=None if post is None else (_read_body(folder, post, f"{where}.request.postData") or b""),
            status=int(response["status"]),
            status_text=str(response.get("statusText", "")),
            response_headers=_pairs(response.get("headers", []), f"{where}.response.headers"),
            response_body=_read_body(folder, response.get("content", {}), f"{where}.response.content") or b"",
            started=str(entry.get("startedDateTime", "")),
            time_ms=float(entry.get("time", 0) or 0),
            resource_type=entry.get("_resourceType"),
            error=entry.get("_error"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, RecordingError):
            raise
        raise RecordingError(f"{where}: malformed entry ({type(exc).__name__}: {exc})") from None


@dataclass
class Recording:
    """A recording in memory: its exchanges in order, and its manifest (``recording.json``)."""

    exchanges: list[Exchange] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rules(self) -> MatchRules:
        return MatchRules.from_json(self.meta.get("matching"), where=f"{META_NAME}: matching")

    @property
    def origins(self) -> list[str]:
        return sorted({origin_of(e.url) for e in self.exchanges if e.url.startswith(("http://", "https://"))})

    @property
    def notes(self) -> dict[str, Any]:
        notes = self.meta.get("notes")
        return dict(notes) if isinstance(notes, dict) else {}

    @classmethod
    def exists(cls, folder: Path) -> bool:
        return (folder / HAR_NAME).is_file()

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> Recording:
        """Read a recording folder; a missing or malformed file raises :class:`RecordingError` naming it."""
        root = Path(folder)
        har_path, meta_path = root / HAR_NAME, root / META_NAME
        if not har_path.is_file():
            raise RecordingError(f"{har_path}: no recording here (record one with --record {root})")
        try:
            har = json.loads(har_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RecordingError(f"{har_path}: not JSON ({exc})") from None
        entries = har.get("log", {}).get("entries") if isinstance(har, dict) else None
        if not isinstance(entries, list):
            raise RecordingError(f"{har_path}: not a HAR (no log.entries list)")
        meta: dict[str, Any] = {}
        if meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise RecordingError(f"{meta_path}: not JSON ({exc})") from None
            if not isinstance(meta, dict):
                raise RecordingError(f"{meta_path}: expected a JSON object")
            if meta.get("version", FORMAT_VERSION) > FORMAT_VERSION:
                raise RecordingError(
                    f"{meta_path}: format version {meta['version']} is newer than this "
                    f"browserkonnector reads ({FORMAT_VERSION})"
                )
        exchanges = [_exchange(root, e, f"{har_path}: entries[{i}]") for i, e in enumerate(entries)]
        recording = cls(exchanges, meta)
        recording.rules  # noqa: B018 - validate the matching rules now, naming the file
        return recording

    def save(self, folder: str | os.PathLike[str], redactor: Redactor | None = None) -> None:
        """Write the folder: bodies first, then the HAR and the manifest (each atomically), then drop
        body files no entry uses any more. With ``redactor``, secrets become placeholders first."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        exchanges = [e.scrubbed(redactor) for e in self.exchanges] if redactor is not None else self.exchanges
        bodies = _BodyWriter(root)
        entries = [_entry(e, bodies) for e in exchanges]
        har = {
            "log": {
                "version": "1.2",
                "creator": {"name": "browserkonnector", "version": _our_version()},
                "pages": [],
                "entries": entries,
            }
        }
        _atomic_write(root / HAR_NAME, _dump(har))
        meta = {
            **self.meta,
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "origins": self.origins,
            "exchanges": {
                "total": len(exchanges),
                "browser": sum(e.source == "browser" for e in exchanges),
                "http": sum(e.source == "http" for e in exchanges),
            },
        }
        meta["matching"] = self.rules.to_json()
        if redactor is not None:
            meta = json.loads(redactor.placeholder(json.dumps(meta)))
        _atomic_write(root / META_NAME, _dump(meta))
        stale = root / BODIES_DIR
        if stale.is_dir():
            for path in stale.iterdir():
                if path.is_file() and path.name not in bodies.written:
                    path.unlink()
