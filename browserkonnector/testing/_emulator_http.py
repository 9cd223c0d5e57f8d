"""Wire helpers of the stack emulator: the stack's error bodies, JSON-API file resources, the request log
and fault injection. See :mod:`browserkonnector.testing._emulator` for what the emulator is (and is not).
"""

from __future__ import annotations

import fnmatch
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive

from browserkonnector.store._base import FileDoc
from browserkonnector.store._errors import NoIndex, NotFound, StoreError, Unprocessable

__all__ = [
    "METADATA_TTL",
    "Fault",
    "FaultSet",
    "LoggedRequest",
    "MetadataIds",
    "abort_transport",
    "couch_error",
    "fault_response",
    "file_resource",
    "is_upload",
    "json_response",
    "jsonapi_error",
    "split_raw_path",
]

JSONAPI = "application/vnd.api+json"
_COUCH_ERROR = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "request_entity_too_large",
    422: "unprocessable_entity",
}
_NOT_FOUND_REASONS = frozenset({"missing", "deleted", "wrong_doctype"})


def split_raw_path(raw_path: bytes) -> list[str]:
    """The decoded segments of the *raw* path: ``/data/x/io.cozy.konnectors%2Fslug`` keeps its id whole
    (uvicorn's decoded ``path`` would have split it on the ``%2F``)."""
    text = raw_path.decode("latin-1").split("?", 1)[0]
    return [unquote(part) for part in text.split("/")[1:]]


def json_response(
    data: Any, status: int = 200, *, jsonapi: bool = False, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        data, status_code=status, headers=dict(headers or {}), media_type=JSONAPI if jsonapi else "application/json"
    )


def couch_error(exc: StoreError) -> Response:
    """A ``/data`` error as the stack re-emits CouchDB's: ``{"ok": false, "status": "409", "error",
    "reason"}`` with the status as a *string* (``couchdb.Error.JSON``), ``no_index`` included."""
    status = exc.status if 400 <= exc.status < 600 else 500
    if isinstance(exc, NoIndex):
        # unoptimalError (pkg/couchdb) for a selector no index serves; CouchDB's own no_usable_index for
        # a sort; both rendered by couchdbStyleErrorHandler with couchdb.Error.JSON().
        why = (
            "No index exists for this sort, try indexing by the sort fields."
            if exc.reason == "no_usable_index"
            else "no matching index found, create an index"
        )
        return json_response({"ok": False, "status": "400", "error": exc.reason or "no_index", "reason": why}, 400)
    reason: str = exc.message
    if isinstance(exc, NotFound):
        reason = exc.reason if exc.reason in _NOT_FOUND_REASONS else "missing"
    elif exc.status == 409:
        reason = "Document update conflict."
    body = {
        "ok": False,
        "status": str(status),
        "error": _COUCH_ERROR.get(status, "internal_server_error"),
        "reason": reason,
    }
    return json_response(body, status)


def jsonapi_error(
    status: int, detail: str, *, code: str | None = None, source: Mapping[str, Any] | None = None
) -> Response:
    """A ``/files`` error: ``{"errors": [{"status": "409", "title": "Conflict", "detail": ...}]}``
    (``code``, e.g. ``no_index``, when the error has a machine name)."""
    error: dict[str, Any] = {"status": str(status), "title": HTTPStatus(status).phrase, "detail": detail}
    if code:
        error["code"] = code
    if source:
        error["source"] = dict(source)
    return json_response({"errors": [error]}, status, jsonapi=True)


def file_resource(doc: FileDoc) -> dict[str, Any]:
    """A file or directory as the stack's JSON-API resource; ``size`` is a *string*, as the stack's Go
    struct serialises it (``json:"size,string"``)."""
    attributes = doc.to_doc()
    for key in ("_id", "_rev", "referenced_by"):
        attributes.pop(key, None)
    attributes["size"] = str(doc.size) if doc.size is not None else None
    if doc.is_dir:
        attributes.pop("size", None)
    resource: dict[str, Any] = {
        "type": "io.cozy.files",
        "id": doc.id,
        "meta": {"rev": doc.rev},
        "attributes": attributes,
        "relationships": {
            "parent": {
                "links": {"related": f"/files/{doc.dir_id}"},
                "data": {"type": "io.cozy.files", "id": doc.dir_id},
            }
            if doc.dir_id
            else {},
            "referenced_by": {"data": [r.to_json() for r in doc.referenced_by]},
        },
        "links": {"self": f"/files/{doc.id}"},
    }
    return resource


@dataclass
class LoggedRequest:
    """One request as the emulator saw it. ``headers`` are kept verbatim, ``Authorization`` included: this
    is a test tool, and protocol tests assert on them. ``json`` is the parsed body of a JSON request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body_size: int = 0
    status: int | None = None
    timestamp: float = field(default_factory=time.time)
    json: Any = None
    dropped: bool = False
    fault: str | None = None
    #: seconds from reading the request to handing the answer to the server (not the time on the wire)
    duration: float | None = None
    #: set while a ``drop`` fault is armed on this request: cut the connection after that many bytes
    drop_after: int | None = field(default=None, repr=False)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


Predicate = Callable[[LoggedRequest], bool]


@dataclass
class Fault:
    """An injected failure: answer ``status`` (with ``body``), or ``drop`` the connection after reading
    ``after_bytes`` of the request body, for the next ``times`` requests that match."""

    match: Predicate
    label: str
    times: int
    status: int = 503
    body: Any = None
    drop: bool = False
    after_bytes: int = 0
    hits: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.hits


def _matcher(pattern: str | Predicate) -> tuple[Predicate, str]:
    """``"POST /files/*"`` (method and path glob), ``"/data/*/_find"`` (path glob, any method), or a
    predicate over the :class:`LoggedRequest`."""
    if callable(pattern):
        return pattern, getattr(pattern, "__name__", "predicate")
    text = pattern.strip()
    if " " in text:
        method, glob = text.split(" ", 1)
        return (lambda r: r.method == method.upper() and fnmatch.fnmatchcase(r.path, glob.strip())), text
    return (lambda r: fnmatch.fnmatchcase(r.path, text)), text


class FaultSet:
    """Thread-safe: faults are armed from the test's thread and consumed by the server's."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, pattern: str | Predicate, **kwargs: Any) -> Fault:
        match, label = _matcher(pattern)
        fault = Fault(match=match, label=label, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, request: LoggedRequest) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.match(request):
                    fault.hits += 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


def fault_response(fault: Fault, is_files: bool) -> Response:
    if fault.body is not None:
        body = fault.body if isinstance(fault.body, str | bytes) else json.dumps(fault.body)
        return Response(body, status_code=fault.status, media_type="application/json")
    phrase = HTTPStatus(fault.status).phrase
    if is_files:
        return jsonapi_error(fault.status, f"injected fault: {phrase}")
    return json_response({"error": phrase.lower().replace(" ", "_"), "reason": "injected fault"}, fault.status)


METADATA_TTL = 600.0  # seconds: an upload metadata id "is valid 10 min"


class MetadataIds:
    """``POST /files/upload/metadata`` objects, by secret id, valid 10 minutes (clock injectable)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def put(self, attributes: dict[str, Any]) -> str:
        meta_id = secrets.token_hex(16)
        with self._lock:
            self._items[meta_id] = (self._clock() + METADATA_TTL, dict(attributes))
        return meta_id

    def take(self, meta_id: str | None) -> dict[str, Any] | None:
        if not meta_id:
            return None
        with self._lock:
            found = self._items.get(meta_id)
        if found is None or found[0] < self._clock():
            raise Unprocessable(f"invalid or expired MetadataID {meta_id}", reason="metadata_id")
        return dict(found[1])


def is_upload(request: Request, parts: list[str]) -> bool:
    if not parts or parts[0] != "files" or len(parts) != 2 or parts[1] in ("_find", "upload", "metadata"):
        return False
    return (request.method == "POST" and request.query_params.get("Type") == "file") or request.method == "PUT"


def abort_transport(receive: Receive) -> None:
    """Cut the TCP connection under this request (uvicorn keeps its transport on the ``receive`` method's
    owner): the client sees its upload fail mid-body, with no answer."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("dropping a connection needs uvicorn's h11 server (no transport found)")
    transport.abort()


_READ_ROUTES = frozenset({"_find", "_all_docs", "_normal_docs", "_index", "_design_docs", "_design"})


def permission_refusal(
    permissions: Mapping[str, Any] | None, method: str, parts: list[str], accept: str
) -> Response | None:
    """403 when the token's permissions (a manifest's ``permissions``) do not cover the request, as the
    stack's ``middlewares.AllowWholeType`` / ``Allow`` refuse it; None when they do (or are not set).

    The verb is the HTTP method's, except for the reading routes sent as POST (``_find``, ``_all_docs``,
    ``_index``), which the stack checks as ``GET``. ``/data/:doctype/:id/relationships/references`` is
    allowed by the doctype or by ``io.cozy.files`` (``ListReferencesHandler``). Bodies: ``/data`` renders
    the ``echo.HTTPError`` through ``couchdbStyleErrorHandler`` (``{"error": "code=403,
    message=Forbidden"}``), ``/files`` through ``HTMLErrorHandler`` (``{"error": "Forbidden"}`` when the
    client accepts JSON, else the text).
    """
    if permissions is None or not parts or parts[0] not in ("data", "files"):
        return None
    verb = "GET" if method == "HEAD" or (len(parts) > 1 and parts[-1] in _READ_ROUTES) else method
    if parts[0] == "files":
        wanted = ["io.cozy.files"]
    elif len(parts) > 1 and parts[1] == "_all_doctypes":
        wanted = ["io.cozy.doctypes"]
    elif len(parts) > 3 and parts[3:5] == ["relationships", "references"]:
        wanted = [parts[1], "io.cozy.files"]
    else:
        wanted = parts[1:2]
    for rule in permissions.values():
        if not isinstance(rule, Mapping):
            continue
        verbs = [str(v).upper() for v in rule.get("verbs") or ["ALL"]]
        if rule.get("type") in wanted and ("ALL" in verbs or verb in verbs):
            return None
    if parts[0] == "data":
        return json_response({"error": "code=403, message=Forbidden"}, 403)
    if "application/json" in accept:
        return json_response({"error": "Forbidden"}, 403)
    return Response("Forbidden", status_code=403, media_type="text/plain")
