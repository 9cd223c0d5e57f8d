"""Documents of a LocalStore: the stack's ``/data`` rules over the SQLite tables of ``_sqlite``.

The rules reproduced (CouchDB's, as the stack's /data API exposes them): revisions ``N-<md5 of the body>``; a write
needs the current ``_rev`` and a stale or missing one is a ``Conflict``; ``create`` with an ``_id`` creates under that
id (``Conflict`` if it exists); a deleted document leaves a tombstone, and creating the same id again continues its
revision count (CouchDB); ``_type`` is stripped on write and added on ``get``; other ``_``-prefixed fields are refused
(``BadRequest``); ``io.cozy.files`` is read-only here (the stack answers 403 "reserved doctype unwritable": files
change through the files API); ``io.cozy.accounts`` get their ``cozyMetadata`` from the store, like the stack does.

All functions are synchronous and run inside the caller's transaction (see ``Database.write``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from browserkonnector.store._base import FILES_DOCTYPE, BulkResult, Doc
from browserkonnector.store._errors import BadRequest, Conflict, Forbidden, NotFound
from browserkonnector.store._sqlite import Database, dumps

__all__ = ["Prepared", "get_doc", "get_many", "make_rev", "prepare", "write_prepared"]

ACCOUNTS_DOCTYPE = "io.cozy.accounts"
_ALLOWED_SPECIAL = ("_id", "_rev", "_deleted")
Mode = Literal["create", "update", "delete", "auto"]
#: Called on a write of ``io.cozy.accounts`` to stamp cozyMetadata: (body, previous body or None) → body.
Stamp = Callable[[dict[str, Any], dict[str, Any] | None], dict[str, Any]]


def make_rev(generation: int, body: Mapping[str, Any], deleted: bool = False) -> str:
    digest = hashlib.md5(
        json.dumps([deleted, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    return f"{generation}-{digest}"


def _generation(rev: str) -> int:
    head, _, _ = rev.partition("-")
    return int(head) if head.isdigit() else 0


def new_id() -> str:
    """CouchDB's default: 32 lowercase hex characters."""
    return uuid.uuid4().hex


@dataclass
class Prepared:
    """A validated incoming document: what the write will do, before any database access."""

    doc_id: str | None
    rev: str | None
    deleted: bool
    body: dict[str, Any]


def prepare(doctype: str, doc: Mapping[str, Any], mode: Mode) -> Prepared:
    """Validate a document for a write; the message names the field at fault."""
    if not isinstance(doc, Mapping):
        raise BadRequest(f"a {doctype} document must be a JSON object, got {type(doc).__name__}")
    if doctype == FILES_DOCTYPE:
        raise Forbidden(f"reserved doctype {FILES_DOCTYPE} unwritable: use the files API", reason="reserved_doctype")
    body: dict[str, Any] = {}
    for key, value in doc.items():
        if not isinstance(key, str):
            raise BadRequest(f"field names must be strings, got {key!r}")
        if key.startswith("_") and key not in _ALLOWED_SPECIAL:
            if key == "_type":
                continue  # the stack strips it
            raise BadRequest(
                f"field {key!r} is not allowed: fields starting with '_' are reserved", reason="doc_validation"
            )
        if key not in _ALLOWED_SPECIAL:
            body[key] = value
    try:
        dumps(body)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"document is not JSON-serialisable: {exc}") from exc
    doc_id, rev = doc.get("_id"), doc.get("_rev")
    deleted = bool(doc.get("_deleted", False))
    for name, value in (("_id", doc_id), ("_rev", rev)):
        if value is not None and (not isinstance(value, str) or not value):
            raise BadRequest(f"{name} must be a non-empty string, got {value!r}")
    if doc_id is not None and doc_id.startswith("_"):
        raise BadRequest(f"_id {doc_id!r} may not start with '_' (reserved for design and local docs)")
    if mode == "create" and rev is not None:
        raise BadRequest("create takes no _rev (use update to change an existing document)", reason="defined_rev")
    if mode == "update" and (doc_id is None or rev is None):
        missing = "_id" if doc_id is None else "_rev"
        raise BadRequest(f"update needs both _id and _rev; {missing} is missing")
    if deleted and (doc_id is None or rev is None):
        raise BadRequest("a document with _deleted: true needs _id and _rev")
    return Prepared(doc_id, rev, deleted or mode == "delete", body)


def write_prepared(
    db: Database, conn: sqlite3.Connection, doctype: str, p: Prepared, stamp: Stamp | None = None
) -> tuple[str, str, dict[str, Any]]:
    """Apply one prepared write in the open transaction; ``(id, new rev, stored body)``.

    Raises ``Conflict`` (stale or missing ``_rev``, id taken) or ``NotFound`` (delete of nothing).
    """
    tbl = db.table(doctype, create=True)
    doc_id = p.doc_id or new_id()
    row = conn.execute(f'SELECT rev, deleted, body FROM "{tbl}" WHERE id = ?', (doc_id,)).fetchone()
    if p.deleted:
        if row is None or row[1]:
            raise NotFound(f"{doctype}/{doc_id} not found", reason="deleted" if row else "missing")
        if p.rev != row[0]:
            raise Conflict("Document update conflict.", reason="conflict")
        rev = make_rev(_generation(row[0]) + 1, {}, deleted=True)
        conn.execute(f'UPDATE "{tbl}" SET rev = ?, deleted = 1, body = ? WHERE id = ?', (rev, "{}", doc_id))
        return doc_id, rev, {}
    body = p.body
    if row is None:
        if p.rev is not None:
            raise Conflict("Document update conflict.", reason="conflict")
        generation = 1
    elif row[1]:  # a tombstone: create again (no _rev), or update from the tombstone's rev
        if p.rev is not None and p.rev != row[0]:
            raise Conflict("Document update conflict.", reason="conflict")
        generation = _generation(row[0]) + 1
    else:
        if p.rev is None or p.rev != row[0]:
            raise Conflict("Document update conflict.", reason="conflict")
        generation = _generation(row[0]) + 1
    if stamp is not None:
        previous = json.loads(row[2]) if row is not None and not row[1] else None
        body = stamp(body, previous)
    rev = make_rev(generation, body)
    text = dumps(body)
    if row is None:
        conn.execute(f'INSERT INTO "{tbl}" (id, rev, deleted, body) VALUES (?, ?, 0, ?)', (doc_id, rev, text))
    else:
        conn.execute(f'UPDATE "{tbl}" SET rev = ?, deleted = 0, body = ? WHERE id = ?', (rev, text, doc_id))
    return doc_id, rev, body


def bulk(db: Database, doctype: str, docs: list[Mapping[str, Any]], stamp: Stamp | None = None) -> list[BulkResult]:
    """``_bulk_docs``: one transaction, one result per document; a conflict fails only its document."""
    prepared = [prepare(doctype, d, "auto") for d in docs]
    results: list[BulkResult] = []
    with db.write() as conn:
        for p in prepared:
            try:
                doc_id, rev, _ = write_prepared(db, conn, doctype, p, stamp)
            except Conflict as exc:
                results.append(BulkResult(p.doc_id or "", False, error="conflict", reason=exc.message))
            except NotFound as exc:
                results.append(BulkResult(p.doc_id or "", False, error="not_found", reason=exc.message))
            else:
                results.append(BulkResult(doc_id, True, rev=rev))
    return results


def get_doc(db: Database, doctype: str, doc_id: str) -> Doc:
    with db.read() as conn:
        tbl = db.table(doctype)
        if tbl is None:
            raise NotFound(f"{doctype}/{doc_id} not found: no document of this doctype", reason="wrong_doctype")
        row = conn.execute(f'SELECT rev, deleted, body FROM "{tbl}" WHERE id = ?', (doc_id,)).fetchone()
    if row is None or row[1]:
        raise NotFound(f"{doctype}/{doc_id} not found", reason="deleted" if row else "missing")
    return {"_id": doc_id, "_rev": row[0], **json.loads(row[2]), "_type": doctype}


def get_many(db: Database, doctype: str, ids: list[str]) -> list[Doc | None]:
    """Documents in the order of ``ids`` (``None`` where absent or deleted), read in chunks."""
    found: dict[str, Doc] = {}
    with db.read() as conn:
        tbl = db.table(doctype)
        if tbl is None:
            return [None] * len(ids)
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for doc_id, rev, body in conn.execute(
                f'SELECT id, rev, body FROM "{tbl}" WHERE deleted = 0 AND id IN ({marks})', chunk
            ):
                found[doc_id] = {"_id": doc_id, "_rev": rev, **json.loads(body)}
    return [dict(found[i]) if i in found else None for i in ids]
