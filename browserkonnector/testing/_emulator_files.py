"""The ``/files`` routes of the stack emulator (``web/files`` in cozy-stack): JSON-API, streamed uploads.

An upload is streamed into the LocalStore chunk by chunk (never held whole), checked like the stack
checks it: ``Content-Length`` (or ``Size``) against the bytes received and ``Content-MD5`` against their
digest (412 on a mismatch), the quota before the first byte (413). If the body stops short — the client
vanished, or a ``drop`` fault cut the connection — the error is raised *inside* the stream the LocalStore
is consuming, so the store discards its temporary file: a dropped upload leaves no file behind.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from browserkonnector.store._base import FILES_DOCTYPE, TRASH_DIR_ID, FileDoc, Reference
from browserkonnector.store._errors import (
    BadRequest,
    Conflict,
    InvalidName,
    NoIndex,
    NotFound,
    PreconditionFailed,
    StoreError,
    Unprocessable,
)
from browserkonnector.store._jsonapi import in_trash
from browserkonnector.testing._emulator_http import LoggedRequest, file_resource, json_response, jsonapi_error

if TYPE_CHECKING:
    from browserkonnector.testing._emulator import StackEmulator

__all__ = ["Dropped", "handle_files"]

_DIR_PAGE = 30  # the stack's default page size for a directory's contents


class Dropped(Exception):
    """The connection was cut on purpose: the emulator must not answer."""


async def handle_files(emu: StackEmulator, request: Request, parts: list[str], entry: LoggedRequest) -> Response:
    """``parts`` are the decoded path segments after ``/files``."""
    try:
        return await _route(emu, request, parts, entry)
    except StoreError as exc:
        return _stack_error(exc)


#: Our errors as the stack's ``wrapVfsError`` (web/files/files.go) renders the VFS errors behind them:
#: (status, JSON-API title, detail — the Go error's text —, ``source.parameter``).
_VFS_ERRORS: dict[tuple[type[StoreError], str], tuple[int, str, str, str | None]] = {
    (PreconditionFailed, "md5_mismatch"): (412, "Precondition Failed", "Invalid hash", "Content-MD5"),
    (PreconditionFailed, "length_mismatch"): (
        412,
        "Precondition Failed",
        "Content length does not match",
        "Content-Length",
    ),
    (Unprocessable, "bad_md5"): (422, "Invalid Parameter", "Given Content-MD5 is invalid", "Content-MD5"),
    (Unprocessable, "metadata_id"): (422, "Invalid Parameter", "Invalid or expired MetadataID", "MetadataID"),
    (Conflict, "conflict"): (409, "Conflict", "file already exists", None),
    (NotFound, "no_parent"): (404, "Not Found", "Parent directory with given DirID does not exist", None),
    (BadRequest, "in_trash"): (400, "Bad Request", "File or directory is already in the trash", None),
}


def _stack_error(exc: StoreError) -> Response:
    if isinstance(exc, NoIndex):
        # web/errors ErrorHandler turns a couchdb.Error into {status, title: its Name, detail: its
        # Reason}: cozy-stack-client recognises a missing index by "no_index" in that body.
        return json_response(
            {
                "errors": [
                    {
                        "status": "400",
                        "title": exc.reason or "no_index",
                        "detail": "no matching index found, create an index",
                    }
                ]
            },
            400,
            jsonapi=True,
        )
    parameter: str | None
    if isinstance(exc, InvalidName):
        status, title, detail, parameter = (
            422,
            "Invalid Parameter",
            "Invalid filename: empty or contains an illegal character",
            "name",
        )
    else:
        known = next((v for (kind, why), v in _VFS_ERRORS.items() if isinstance(exc, kind) and exc.reason == why), None)
        if known is None:
            return jsonapi_error(exc.status if 400 <= exc.status < 600 else 500, exc.message)
        status, title, detail, parameter = known
    error: dict[str, Any] = {"status": str(status), "title": title, "detail": detail}
    if parameter:
        error["source"] = {"parameter": parameter}
    return json_response({"errors": [error]}, status, jsonapi=True)


def _check_md5_header(request: Request) -> None:
    """``parseMD5Hash``: 22 to 24 characters of standard base64 holding 16 bytes, else 422."""
    value = request.headers.get("content-md5")
    if value is None:
        return
    try:
        valid = 22 <= len(value) <= 24 and len(base64.b64decode(value, validate=True)) == 16
    except ValueError:
        valid = False
    if not valid:
        raise Unprocessable("Given Content-MD5 is invalid", reason="bad_md5")


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}", reason="bad_request") from exc


async def _route(emu: StackEmulator, request: Request, parts: list[str], entry: LoggedRequest) -> Response:
    store, method = await emu.open_store(), request.method
    head = parts[0] if parts else ""
    if head == "upload" and parts[1:] == ["metadata"] and method == "POST":
        body = await _json(request)
        attributes = ((body.get("data") or {}).get("attributes")) if isinstance(body, dict) else None
        if not isinstance(attributes, dict):
            raise Unprocessable("the metadata must be data.attributes, an object", reason="unprocessable")
        meta_id = emu.metadata.put(attributes)
        return json_response(
            {"data": {"type": "io.cozy.files.metadata", "id": meta_id, "attributes": attributes}}, 201, jsonapi=True
        )
    if head == "metadata" and len(parts) == 1 and method == "GET":
        path = request.query_params.get("Path")
        if not path:
            raise BadRequest("the Path parameter is missing", reason="bad_request")
        return await _stat_response(emu, await store.stat_path(path), request)
    if head == "download" and len(parts) == 2 and method == "GET":
        return await _download(emu, parts[1])
    if head == "_find" and method == "POST":
        return await _find(emu, await _json(request))
    if head == "trash" and len(parts) == 2 and method == "DELETE":
        doc = await store.stat(parts[1])
        if not in_trash(doc):
            raise BadRequest("the file is not in the trash", reason="bad_request")
        await store.destroy(parts[1])
        return Response(status_code=204)
    if len(parts) == 3 and parts[1:] == ["relationships", "referenced_by"] and method in ("POST", "DELETE"):
        body = await _json(request)
        refs = [Reference(str(r["type"]), str(r["id"])) for r in (body.get("data") or [])]
        op = store.add_referenced_by if method == "POST" else store.remove_referenced_by
        doc = await op(parts[0], refs)
        return json_response(
            {
                "meta": {"rev": doc.rev, "count": len(doc.referenced_by)},
                "data": [r.to_json() for r in doc.referenced_by],
            },
            jsonapi=True,
        )
    if len(parts) > 1:
        raise NotFound(f"no route for /files/{'/'.join(parts)}", reason="missing")
    file_id = head
    if method == "POST":
        return await _create(emu, request, file_id or "io.cozy.files.root-dir", entry)
    if not file_id:
        raise NotFound("no route for /files/", reason="missing")
    if method == "GET":
        return await _stat_response(emu, await store.stat(file_id), request)
    if method == "PUT":
        return await _overwrite(emu, request, file_id, entry)
    if method == "PATCH":
        return await _patch(emu, request, file_id)
    if method == "DELETE":
        doc = await store.stat(file_id)
        _check_if_match(request, doc)
        if in_trash(doc):
            raise BadRequest("File or directory is already in the trash", reason="in_trash")
        return json_response({"data": file_resource(await store.trash(file_id))}, jsonapi=True)
    raise BadRequest(f"{method} is not allowed here", reason="bad_request")


def _check_if_match(request: Request, doc: FileDoc) -> None:
    wanted = request.headers.get("if-match")
    if wanted and wanted != doc.rev:
        raise PreconditionFailed(f"If-Match {wanted} is not the current revision", reason="precondition_failed")


async def _stat_response(emu: StackEmulator, doc: FileDoc, request: Request) -> Response:
    answer: dict[str, Any] = {"data": file_resource(doc)}
    if doc.is_dir:
        children = sorted([c async for c in (await emu.open_store()).list_dir(doc.id)], key=lambda c: c.id)
        limit = min(max(int(request.query_params.get("page[limit]") or _DIR_PAGE), 1), 1000)
        cursor = request.query_params.get("page[cursor]")
        if cursor:
            children = [c for c in children if c.id > cursor]
        page = children[:limit]
        answer["data"]["relationships"]["contents"] = {"data": [{"type": FILES_DOCTYPE, "id": c.id} for c in page]}
        answer["included"] = [file_resource(c) for c in page]
        if len(children) > limit:
            answer["links"] = {
                "next": f"/files/{quote(doc.id, safe='')}?page[cursor]={quote(page[-1].id)}&page[limit]={limit}"
            }
        answer["meta"] = {"count": len(children)}
    return json_response(answer, jsonapi=True)


def _expected_length(request: Request) -> int | None:
    """``FileDocFromReq``: the size is the Content-Length; only without one (a chunked upload) does the
    ``Size`` parameter count; with neither the size is unknown and not checked."""
    length, size = request.headers.get("content-length"), request.query_params.get("Size")
    value = length if length is not None else size
    if not value:
        return None
    if not value.isdigit():
        raise Unprocessable(
            f"invalid {'Content-Length' if length is not None else 'Size'} {value!r}", reason="unprocessable"
        )
    return int(value)


class _Body:
    """The request body as chunks, checked against ``expected``. A ``drop`` fault cuts the connection
    mid-stream and raises inside the consumer (the LocalStore), as a vanished client would.
    :meth:`drain` reads what is left when the route fails early, so the client gets the answer instead
    of a connection reset while it is still sending."""

    def __init__(self, emu: StackEmulator, request: Request, entry: LoggedRequest) -> None:
        self.emu, self.request, self.entry = emu, request, entry
        self.expected: int | None = 0
        self.started = self.finished = False

    async def chunks(self) -> AsyncIterator[bytes]:
        self.started = True
        received, drop_at = 0, self.entry.drop_after
        try:
            async for chunk in self.request.stream():
                if not chunk:
                    continue
                if drop_at is not None and drop_at >= 0 and received + len(chunk) >= drop_at:
                    self.entry.dropped = self.finished = True
                    self.emu.abort_connection(self.request)
                    raise Dropped("connection dropped by an injected fault")
                received += len(chunk)
                self.entry.body_size = received
                if self.expected is not None and received > self.expected:
                    raise PreconditionFailed(f"more than the {self.expected} bytes announced", reason="length_mismatch")
                yield chunk
        except ClientDisconnect as exc:
            self.finished = True
            raise Dropped("the client disconnected during the upload") from exc
        self.finished = True
        if self.expected is not None and received != self.expected:
            raise PreconditionFailed(
                f"received {received} bytes, {self.expected} were announced", reason="length_mismatch"
            )

    async def drain(self) -> None:
        if self.finished:
            return
        if not self.started:
            async for _ in self.request.stream():
                pass
        else:  # Starlette's stream was left mid-way: pull the rest from the server directly
            while True:
                message = await self.request.receive()
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
        self.finished = True


def _mime(request: Request) -> str | None:
    value = request.headers.get("content-type")
    return value if value and not value.startswith("application/octet-stream") else None


async def _create(emu: StackEmulator, request: Request, dir_id: str, entry: LoggedRequest) -> Response:
    store, query = await emu.open_store(), request.query_params
    kind, name = query.get("Type"), query.get("Name")
    if kind not in ("file", "directory"):
        raise Unprocessable(f"invalid Type {kind!r}: 'file' or 'directory'", reason="unprocessable")
    if name is None:
        raise InvalidName("the Name parameter is missing", reason="invalid_name")
    if kind == "directory":
        await _parent(store, dir_id)
        doc = await store.mkdir(dir_id, name)
        return json_response(
            {"data": file_resource(doc)}, 201, jsonapi=True, headers={"Location": f"{emu.url}/files/{doc.id}"}
        )
    body = _Body(emu, request, entry)
    try:
        body.expected = _expected_length(request)
        _check_md5_header(request)
        metadata = emu.metadata.take(query.get("MetadataID"))
        await emu.check_quota(body.expected or 0)
        await _parent(store, dir_id)
        doc = await store.upload(
            dir_id,
            name,
            body.chunks(),
            mime=_mime(request),
            md5=request.headers.get("content-md5"),
            metadata=metadata,
            source_account=query.get("SourceAccount"),
            source_account_identifier=query.get("SourceAccountIdentifier"),
            created_at=query.get("CreatedAt"),
            tags=[t for t in (query.get("Tags") or "").split(",") if t] or None,
        )
    except StoreError:
        await body.drain()
        raise
    return json_response(
        {"data": file_resource(doc)}, 201, jsonapi=True, headers={"Location": f"{emu.url}/files/{doc.id}"}
    )


async def _parent(store: Any, dir_id: str) -> None:
    """``vfs.ErrParentDoesNotExist`` (404) when the target folder is missing or not a folder."""
    try:
        parent = await store.stat(dir_id)
    except NotFound:
        parent = None
    if parent is None or not parent.is_dir:
        raise NotFound(f"folder {dir_id!r} not found", reason="no_parent")


async def _overwrite(emu: StackEmulator, request: Request, file_id: str, entry: LoggedRequest) -> Response:
    store, query = await emu.open_store(), request.query_params
    body = _Body(emu, request, entry)
    try:
        body.expected = _expected_length(request)
        _check_md5_header(request)
        current = await store.stat(file_id)
        if current.is_dir:
            raise Unprocessable("a directory cannot be overwritten", reason="unprocessable")
        metadata = emu.metadata.take(query.get("MetadataID"))
        await emu.check_quota((body.expected or 0) - (current.size or 0))
        doc = await store.overwrite(
            file_id,
            body.chunks(),
            mime=_mime(request),
            md5=request.headers.get("content-md5"),
            metadata=metadata,
            if_match=request.headers.get("if-match"),
            source_account=query.get("SourceAccount"),
            source_account_identifier=query.get("SourceAccountIdentifier"),
        )
    except StoreError:
        await body.drain()
        raise
    return json_response({"data": file_resource(doc)}, jsonapi=True)


async def _patch(emu: StackEmulator, request: Request, file_id: str) -> Response:
    store = await emu.open_store()
    body = await _json(request)
    attributes = ((body.get("data") or {}).get("attributes")) if isinstance(body, dict) else None
    if not isinstance(attributes, dict):
        raise Unprocessable("PATCH needs data.attributes", reason="unprocessable")
    current = await store.stat(file_id)
    _check_if_match(request, current)
    if attributes.get("permanent_delete"):
        if not in_trash(current):
            await store.trash(file_id)
        await store.destroy(file_id)
        return Response(status_code=204)
    if attributes.get("move_to_trash"):
        return json_response({"data": file_resource(await store.trash(file_id))}, jsonapi=True)
    if attributes.get("dir_id") == TRASH_DIR_ID:
        raise BadRequest("use move_to_trash to trash a file", reason="bad_request")
    doc = await store.update_file(
        file_id,
        name=attributes.get("name"),
        dir_id=attributes.get("dir_id"),
        metadata=attributes.get("metadata"),
        tags=attributes.get("tags"),
        if_match=request.headers.get("if-match"),
    )
    return json_response({"data": file_resource(doc)}, jsonapi=True)


async def _download(emu: StackEmulator, file_id: str) -> Response:
    store = await emu.open_store()
    doc = await store.stat(file_id)
    if doc.is_dir:
        raise BadRequest("a directory has no content to download", reason="bad_request")
    headers = {"Content-Disposition": f'inline; filename="{quote(doc.name)}"', "Content-Length": str(doc.size or 0)}
    return StreamingResponse(
        store.iter_download(file_id), media_type=doc.mime or "application/octet-stream", headers=headers
    )


async def _find(emu: StackEmulator, body: Any) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("selector"), dict):
        raise BadRequest("_find needs a JSON body with a 'selector' object", reason="bad_request")
    selector, sort = body["selector"], body.get("sort")
    files, page = await (await emu.find_store(selector, sort)).find_files(
        selector,
        sort=sort,
        limit=body.get("limit"),
        skip=int(body.get("skip") or 0),
        bookmark=body.get("bookmark") or None,
        use_index=body.get("use_index"),
    )
    answer: dict[str, Any] = {
        "data": [file_resource(f) for f in files],
        "meta": {"count": (2**31 - 1) if page.next else int(body.get("skip") or 0) + len(files)},
    }
    if page.next and page.bookmark:
        answer["links"] = {"next": f"/files/_find?page[cursor]={quote(page.bookmark, safe='')}"}
    return json_response(answer, jsonapi=True)
