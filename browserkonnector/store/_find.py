"""``find`` for a LocalStore: SQL narrows (``_pushdown``), Python decides (``mango``), the stack's rules
shape the page.

- ``limit`` absent or over 1000 becomes 100 (the stack resets it, it does not clamp); ``next`` is
  ``len(docs) >= limit``; ``skip`` applies after the bookmark.
- **Order**: without ``sort``, by ``_id`` (what an ``_all_docs`` scan gives; CouchDB orders by the key of
  the index it picked, which no client may rely on). With ``sort``, by the sort fields in collation
  order, ties by ``_id``; like a CouchDB index, a document lacking one of the sort fields is left out.
- **Bookmark**: opaque base64 of the last row's sort values and ``_id`` (keyset paging): the next page
  starts strictly after it, so a page costs the same whatever its depth and documents written meanwhile
  do not shift pages. Without ``sort`` the ``_id`` bound is pushed to SQL.
- **Indexes**: an index is *usable* when its fields are all required by the selector (CouchDB's rule, see
  :func:`.mango.required_fields`) and cover the sort; a partial index only when named by ``use_index``.
  By default a query no index serves still runs (scan) with CouchDB's warning; with ``strict`` it raises
  :class:`NoIndex` as the stack does (``no_index``, or ``no_usable_index`` for a sort).
- **Memory**: candidate rows stream from SQLite; a page keeps at most ``skip + limit`` documents (a heap
  when sorting), whatever the doctype's size.
"""

from __future__ import annotations

import base64
import heapq
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from browserkonnector.store._base import Doc, FindResult
from browserkonnector.store._errors import BadRequest, NoIndex
from browserkonnector.store._mango import (
    _BAD_PATH,
    _MISSING,
    collate_key,
    get_field,
    match,
    normalize,
    parse_field,
    parse_sort,
    required_fields,
)
from browserkonnector.store._pushdown import conjuncts, push_down
from browserkonnector.store._sqlite import Database, IndexDef

__all__ = ["find", "project"]

NO_INDEX_WARNING = "No matching index found, create an index to optimize query time."


def _limit(limit: int | None) -> int:
    if limit is None or limit > 1000:
        return 100
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise BadRequest(f"limit must be a positive integer, got {limit!r}", reason="invalid_limit")
    return limit


def _encode_bookmark(values: list[Any], doc_id: str) -> str:
    raw = json.dumps({"k": values, "id": doc_id}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_bookmark(bookmark: str, n_sort: int) -> tuple[list[Any], str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(bookmark + "=" * (-len(bookmark) % 4)))
        values, doc_id = data["k"], data["id"]
        if not isinstance(values, list) or len(values) != n_sort or not isinstance(doc_id, str):
            raise ValueError("bookmark of another query")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"invalid bookmark {bookmark[:40]!r}", reason="invalid_bookmark") from exc
    return values, doc_id


def _index_name(use_index: str | Sequence[str] | None) -> str | None:
    if use_index is None:
        return None
    if isinstance(use_index, str):
        return use_index.removeprefix("_design/")
    parts = list(use_index)
    return parts[-1].removeprefix("_design/") if parts else None


def _usable(indexes: list[IndexDef], needed: set[str], sort_fields: list[str], wanted: str | None) -> list[IndexDef]:
    return [
        ix
        for ix in indexes
        if set(ix.fields) <= needed and set(sort_fields) <= set(ix.fields) and (ix.partial is None or ix.name == wanted)
    ]


def find(
    db: Database,
    doctype: str,
    selector: Mapping[str, Any],
    *,
    sort: Sequence[Mapping[str, str] | str] | None = None,
    fields: Sequence[str] | None = None,
    limit: int | None = None,
    skip: int = 0,
    bookmark: str | None = None,
    use_index: str | Sequence[str] | None = None,
    strict: bool = False,
) -> FindResult:
    norm = normalize(selector)
    sort_fields, desc = parse_sort(sort)
    page_size = _limit(limit)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise BadRequest(f"skip must be a non-negative integer, got {skip!r}", reason="invalid_skip")
    after = _decode_bookmark(bookmark, len(sort_fields)) if bookmark else None
    with db.read() as conn:
        tbl = db.table(doctype)
        indexes = db.indexes(doctype) if tbl else []
        wanted = _index_name(use_index)
        usable = _usable(indexes, required_fields(norm) | set(sort_fields), sort_fields, wanted)
        warning = None
        if wanted and not any(ix.name == wanted for ix in usable):
            warning = f"_design/{wanted} was not used because it does not contain a valid index for this query."
        if not usable:
            if strict:
                reason = "no_usable_index" if sort_fields else "no_index"
                raise NoIndex("no matching index found, create an index", reason=reason)
            warning = warning or NO_INDEX_WARNING
        if tbl is None:
            return FindResult(docs=[], next=False, bookmark="", limit=page_size, warning=warning)
        pushed = push_down(norm)
        extra: list[str] = []
        selector_terms = conjuncts(norm)
        for ix in usable:  # name a partial index's filter so SQLite can pick that index
            if ix.partial_sql and ix.partial and all(t in selector_terms for t in conjuncts(normalize(ix.partial))):
                extra.append(ix.partial_sql)
        where, params = pushed.where(tbl, extra)
        if after is not None and not sort_fields:
            where += " AND id > ?"
            params.append(after[1])
        sql = f'SELECT id, rev, body FROM "{tbl}" WHERE {where}'
        if not sort_fields:
            sql += " ORDER BY id"
        rows = conn.execute(sql, params)
        if sort_fields:
            docs = _sorted_page(rows, norm, sort_fields, desc, after, skip + page_size)
        else:
            docs = _first(_matching(rows, norm), skip + page_size)
    docs = docs[skip:]
    if docs:
        last = docs[-1]
        mark = _encode_bookmark([get_field(last, f) for f in sort_fields], last["_id"])
    else:
        mark = ""
    if fields:
        docs = [project(d, fields) for d in docs]
    return FindResult(docs=docs, next=len(docs) >= page_size, bookmark=mark, limit=page_size, warning=warning)


def _matching(rows: Iterator[tuple[str, str, str]], norm: dict[str, Any]) -> Iterator[Doc]:
    for doc_id, rev, body in rows:
        doc = {"_id": doc_id, "_rev": rev, **json.loads(body)}
        if match(norm, doc):
            yield doc


def _first(docs: Iterator[Doc], n: int) -> list[Doc]:
    out: list[Doc] = []
    for doc in docs:
        out.append(doc)
        if len(out) >= n:
            break
    return out


def _sorted_page(
    rows: Iterator[tuple[str, str, str]],
    norm: dict[str, Any],
    sort_fields: list[str],
    desc: bool,
    after: tuple[list[Any], str] | None,
    n: int,
) -> list[Doc]:
    bound = None
    if after is not None:
        bound = (tuple(collate_key(v) for v in after[0]), after[1])
    keyed: Iterator[tuple[tuple[Any, ...], str, Doc]] = (
        (key, doc["_id"], doc) for doc in _matching(rows, norm) if (key := _sort_key(doc, sort_fields)) is not None
    )
    if bound is not None:
        keyed = (k for k in keyed if ((k[0], k[1]) < bound if desc else (k[0], k[1]) > bound))
    pick = heapq.nlargest if desc else heapq.nsmallest
    return [doc for _, _, doc in pick(n, keyed, key=lambda k: (k[0], k[1]))]


def _sort_key(doc: Doc, sort_fields: list[str]) -> tuple[Any, ...] | None:
    values = []
    for name in sort_fields:
        value = get_field(doc, name)
        if value is _MISSING or value is _BAD_PATH:
            return None
        values.append(collate_key(value))
    return tuple(values)


def project(doc: Doc, fields: Sequence[str]) -> Doc:
    """``fields`` projection: only the named (dotted) fields, nested as in the document, plus ``_id`` and
    ``_rev`` (cozy-stack-client always asks for them, and the contract keeps them)."""
    out: Doc = {"_id": doc["_id"], "_rev": doc["_rev"]}
    for name in fields:
        value = get_field(doc, name)
        if value is _MISSING or value is _BAD_PATH:
            continue
        target = out
        parts = parse_field(name)
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out
