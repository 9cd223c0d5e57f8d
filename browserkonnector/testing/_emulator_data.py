"""The ``/data`` routes of the stack emulator (``web/data`` in cozy-stack): CouchDB-like, not JSON-API.

``io.cozy.accounts`` documents are stored **as given, in clear**: the real stack encrypts
``auth.credentials_encrypted`` and decrypts it for konnector tokens; the emulator does neither, so never
point it at real credentials.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from browserkonnector.store._base import Store
from browserkonnector.store._errors import BadRequest, Forbidden, NotFound, StoreError
from browserkonnector.testing._emulator_http import couch_error, file_resource, json_response

if TYPE_CHECKING:
    from browserkonnector.testing._emulator import StackEmulator

__all__ = ["handle_data"]

#: Doctypes the stack serves read-only through ``/data`` (writes are 403 "reserved doctype X unwritable").
READ_ONLY = frozenset(
    {
        "io.cozy.files",
        "io.cozy.jobs",
        "io.cozy.triggers",
        "io.cozy.apps",
        "io.cozy.konnectors",
        "io.cozy.permissions",
        "io.cozy.sessions",
        "io.cozy.oauth.clients",
        "io.cozy.sharings",
    }
)
_NO_INDEX_WARNING = "no matching index found"


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}", reason="bad_request") from exc


def _check_writable(doctype: str) -> None:
    if doctype in READ_ONLY:
        raise Forbidden(f"reserved doctype {doctype} unwritable", reason="forbidden")


async def handle_data(emu: StackEmulator, request: Request, parts: list[str]) -> Response:
    """``parts`` are the decoded path segments after ``/data``."""
    try:
        return await _route(emu, request, parts)
    except StoreError as exc:
        return couch_error(exc)


async def _exists(store: Store, doctype: str) -> bool:
    return doctype in await store.doctypes()


async def _route(emu: StackEmulator, request: Request, parts: list[str]) -> Response:
    store, method = await emu.open_store(), request.method
    if parts == ["_all_doctypes"] and method == "GET":
        return json_response(await store.doctypes())
    if not parts or not parts[0]:
        raise BadRequest("missing doctype", reason="bad_request")
    doctype, rest = parts[0], parts[1:]
    if rest in ([], [""]):
        if method == "POST":
            return await _create(store, doctype, await _json_body(request))
        if method == "GET":
            if not await _exists(store, doctype):
                raise NotFound("Database does not exist.", reason="wrong_doctype")
            return json_response({"db_name": doctype, "doc_count": sum([1 async for _ in store.all_docs(doctype)])})
        raise BadRequest(f"{method} /data/{doctype}/ is not emulated", reason="bad_request")
    name = rest[0]
    if name == "_all_docs":
        return await _all_docs(store, doctype, request)
    if name == "_normal_docs" and method == "GET":
        return await _normal_docs(store, doctype, request)
    if name == "_design_docs" and method == "GET" and len(rest) == 1:
        return await _design_docs(store, doctype, request)
    if name == "_design" and method == "GET" and len(rest) == 2:
        return await _design_doc(store, doctype, rest[1])
    if name == "_index" and method == "POST":
        return await _index(emu, store, doctype, await _json_body(request))
    if name == "_find" and method == "POST":
        return await _find(emu, store, doctype, await _json_body(request))
    if name == "_bulk_docs" and method == "POST":
        _check_writable(doctype)
        body = await _json_body(request)
        results = await store.bulk_save(doctype, list(body.get("docs") or []))
        rows = [
            {"ok": True, "id": r.id, "rev": r.rev}
            if r.ok
            else {"id": r.id, "error": r.error or "conflict", "reason": r.reason or "Document update conflict."}
            for r in results
        ]
        return json_response(rows, 201)
    if len(rest) >= 3 and rest[1:3] == ["relationships", "references"] and method == "GET":
        return await _references(store, doctype, name, request)
    if len(rest) != 1:
        raise NotFound(f"no route for /data/{doctype}/{'/'.join(rest)}", reason="missing")
    return await _one(store, doctype, name, request)


async def _create(store: Store, doctype: str, body: Any) -> Response:
    _check_writable(doctype)
    if not isinstance(body, dict):
        raise BadRequest("the document must be a JSON object", reason="bad_request")
    if "_id" in body:
        return json_response({"error": "defined_id", "reason": "Cannot create a document with _id"}, 400)
    body.pop("_type", None)
    doc = await store.create(doctype, body)
    return json_response({"ok": True, "id": doc["_id"], "rev": doc["_rev"], "type": doctype, "data": doc}, 201)


async def _one(store: Store, doctype: str, doc_id: str, request: Request) -> Response:
    method = request.method
    if method == "GET":
        return json_response(await store.get(doctype, doc_id))
    _check_writable(doctype)
    if method == "PUT":
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise BadRequest("the document must be a JSON object", reason="bad_request")
        body.pop("_type", None)
        if "_id" in body and body["_id"] != doc_id:
            raise BadRequest("_id in the body differs from the id in the URL", reason="bad_request")
        has_id, has_rev = "_id" in body, "_rev" in body
        if has_rev and has_id:
            doc = await store.update(doctype, body)
        elif not has_rev and not has_id:
            doc = await store.create(doctype, {**body, "_id": doc_id})
        else:
            raise BadRequest("give both _id and _rev (update) or neither (create with this id)", reason="bad_request")
        return json_response({"ok": True, "id": doc["_id"], "rev": doc["_rev"], "type": doctype, "data": doc})
    if method == "DELETE":
        rev, if_match = request.query_params.get("rev"), request.headers.get("if-match")
        if rev and if_match and rev != if_match:
            raise BadRequest("rev and If-Match differ", reason="bad_request")
        if not (rev or if_match):
            raise BadRequest("delete needs the document's rev (?rev= or If-Match)", reason="bad_request")
        await store.delete(doctype, doc_id, str(rev or if_match))
        return json_response({"ok": True, "id": doc_id, "rev": rev or if_match, "type": doctype, "deleted": True})
    raise BadRequest(f"{method} is not allowed on a document", reason="bad_request")


async def _all_docs(store: Store, doctype: str, request: Request) -> Response:
    if not await _exists(store, doctype):
        raise NotFound("Database does not exist.", reason="wrong_doctype")
    include = request.query_params.get("include_docs") == "true"
    if request.method == "POST":
        keys = [str(k) for k in ((await _json_body(request)).get("keys") or [])]
        docs = await store.get_many(doctype, keys)
        rows: list[dict[str, Any]] = []
        for key, doc in zip(keys, docs, strict=True):
            if doc is None:
                rows.append({"key": key, "error": "not_found"})
            else:
                rows.append({"id": key, "key": key, "value": {"rev": doc["_rev"]}, **({"doc": doc} if include else {})})
    else:
        rows = [
            {"id": d["_id"], "key": d["_id"], "value": {"rev": d["_rev"]}, **({"doc": d} if include else {})}
            async for d in store.all_docs(doctype)
        ]
    return json_response({"total_rows": len(rows), "offset": 0, "rows": rows})


async def _normal_docs(store: Store, doctype: str, request: Request) -> Response:
    if not await _exists(store, doctype):
        raise NotFound("Database does not exist.", reason="wrong_doctype")
    limit = int(request.query_params.get("limit") or 100)
    limit = 100 if limit <= 0 or limit > 1000 else limit
    skip = int(request.query_params.get("skip") or 0)
    bookmark = request.query_params.get("bookmark")
    after = base64.urlsafe_b64decode(bookmark.encode()).decode() if bookmark else None
    docs = sorted([d async for d in store.all_docs(doctype)], key=lambda d: str(d["_id"]))
    total = len(docs)
    if after is not None:
        docs = [d for d in docs if str(d["_id"]) > after]
    page = docs[skip : skip + limit]
    mark = base64.urlsafe_b64encode(str(page[-1]["_id"]).encode()).decode() if page else ""
    return json_response({"rows": page, "total_rows": total, "bookmark": mark})


async def _index(emu: StackEmulator, store: Store, doctype: str, body: Any) -> Response:
    index = body.get("index") if isinstance(body, dict) else None
    if not isinstance(index, dict) or not isinstance(index.get("fields"), list) or not index["fields"]:
        raise BadRequest("index.fields must be a non-empty list", reason="bad_request")
    fields = index["fields"]
    names = [_sort_name(f) for f in fields]
    name = str(body.get("ddoc") or body.get("name") or "").removeprefix("_design/") or None
    key = (doctype, name or ",".join(names))
    result = "exists" if key in emu.indexes_seen else "created"
    doc_id = await store.define_index(
        doctype, names, name=name, partial_filter=index.get("partial_filter_selector") or None
    )
    emu.indexes_seen.add(key)
    return json_response({"result": result, "id": doc_id, "name": doc_id.removeprefix("_design/")})


def _design(index: Any) -> dict[str, Any]:
    """A Mango index as CouchDB 3 stores it: a ``language: query`` design doc whose one view holds the
    fields (``{"field": "asc"}``) and, in ``options.def``, the definition as it was given."""
    definition: dict[str, Any] = {"fields": list(index.fields)}
    view_map: dict[str, Any] = {"fields": {f: "asc" for f in index.fields}}
    if index.partial:
        definition["partial_filter_selector"] = view_map["partial_filter_selector"] = index.partial
    rev = "1-" + hashlib.md5(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return {
        "_id": f"_design/{index.name}",
        "_rev": rev,
        "language": "query",
        "views": {index.name: {"map": view_map, "reduce": "_count", "options": {"def": definition}}},
    }


async def _design_docs(store: Store, doctype: str, request: Request) -> Response:
    """``getDesignDocs`` (web/data/data.go) proxies CouchDB's ``_design_docs``: the doctype's Mango
    indexes, ``include_docs`` adding each design doc; 404 when the database does not exist yet."""
    if not await _exists(store, doctype):  # proxied: CouchDB's own body
        return json_response({"error": "not_found", "reason": "Database does not exist."}, 404)
    designs = [_design(index) for index in _indexes(store, doctype)]
    with_docs = request.query_params.get("include_docs") == "true"
    rows = [
        {"id": d["_id"], "key": d["_id"], "value": {"rev": d["_rev"]}, **({"doc": d} if with_docs else {})}
        for d in sorted(designs, key=lambda d: str(d["_id"]))
    ]
    return json_response({"total_rows": len(rows), "offset": 0, "rows": rows})


async def _design_doc(store: Store, doctype: str, name: str) -> Response:
    """``getDesignDoc``: one index's design doc (``GET /data/:doctype/_design/:ddoc``)."""
    for index in _indexes(store, doctype):
        if index.name == name:
            return json_response(_design(index))
    raise NotFound("missing", reason="missing")


def _indexes(store: Store, doctype: str) -> list[Any]:
    database = getattr(store, "db", None)
    return list(database.indexes(doctype)) if database is not None else []


def _sort_name(field: Any) -> str:
    return str(field if not isinstance(field, dict) else next(iter(field)))


async def _find(emu: StackEmulator, store: Store, doctype: str, body: Any) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("selector"), dict):
        raise BadRequest("_find needs a JSON body with a 'selector' object", reason="bad_request")
    selector, sort = body["selector"], body.get("sort")
    result = await (await emu.find_store(selector, sort)).find(
        doctype,
        selector,
        sort=sort,
        fields=body.get("fields"),
        limit=body.get("limit"),
        skip=int(body.get("skip") or 0),
        bookmark=body.get("bookmark") or None,
        use_index=body.get("use_index"),
    )
    answer: dict[str, Any] = {
        "docs": result.docs,
        "limit": result.limit,
        "next": result.next,
        "bookmark": result.bookmark,
    }
    if result.warning and _NO_INDEX_WARNING not in result.warning.lower():
        answer["warning"] = result.warning
    return json_response(answer)


async def _references(store: Store, doctype: str, doc_id: str, request: Request) -> Response:
    files = await store.referenced_files(doctype, doc_id)
    limit = min(int(request.query_params.get("page[limit]") or 100), 1000)
    start = int(request.query_params.get("page[cursor]") or request.query_params.get("page[skip]") or 0)
    page = files[start : start + limit]
    answer: dict[str, Any] = {
        "data": [{"type": "io.cozy.files", "id": f.id} for f in page],
        "meta": {"count": len(files)},
    }
    if request.query_params.get("include") == "files":
        answer["included"] = [file_resource(f) for f in page]
    if start + limit < len(files):
        answer["links"] = {
            "next": f"/data/{quote(doctype, safe='')}/{quote(doc_id, safe='')}"
            "/relationships/references?include=files"
            f"&page[limit]={limit}&page[cursor]={start + limit}"
        }
    return json_response(answer, jsonapi=True)
