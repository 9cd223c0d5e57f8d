"""Mango queries against the stack, the way cozy-stack-client runs them.

The stack refuses a ``_find`` that no index serves (``400 no_index``; an uncovered sort is
``no_usable_index``). cozy-stack-client's answer, copied here: name the index after the fields the query
uses (:func:`~browserkonnector.store._base.index_name`: ``by_<sort fields>_and_<selector fields>``), always
send ``use_index: "_design/<name>"``, and on ``no_index`` / ``no_usable_index`` create that index and
run the query once more. The same names on both backends mean the same ``use_index`` works on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loguru import logger

from browserkonnector.store._base import index_name
from browserkonnector.store._errors import NoIndex
from browserkonnector.store._stack_http import StackHTTP, seg

__all__ = ["Query", "define_index", "find_body", "index_fields", "run_find"]

#: Selectors on ``_id`` alone are served by CouchDB's built-in ``_all_docs`` index: no use_index.
_BUILTIN = frozenset({"_id"})
#: CouchDB's idiom for "every document" with an index: every ``_id`` collates after null.
EVERYTHING: dict[str, Any] = {"_id": {"$gt": None}}


def _sort_field(item: Mapping[str, str] | str) -> str:
    return item if isinstance(item, str) else next(iter(item))


def _selector_fields(selector: Mapping[str, Any], prefix: str = "") -> list[str]:
    fields: list[str] = []
    for key, value in selector.items():
        if key == "$and" and isinstance(value, list):
            for part in value:
                if isinstance(part, Mapping):
                    fields += _selector_fields(part, prefix)
        elif key.startswith("$"):
            continue  # $or / $nor / $not cannot be served by one index's prefix
        elif isinstance(value, Mapping) and value and not any(k.startswith("$") for k in value):
            fields += _selector_fields(value, f"{prefix}{key}.")
        else:
            fields.append(f"{prefix}{key}")
    return fields


def index_fields(selector: Mapping[str, Any], sort: Sequence[Mapping[str, str] | str] | None) -> list[str]:
    """The fields an index must hold for this query: sort fields first (CouchDB wants the sort to be a
    prefix of the index), then the selector's fields, each once (cozy-client's ``getIndexFields``)."""
    ordered: list[str] = []
    for name in [_sort_field(s) for s in (sort or [])] + _selector_fields(selector):
        if name not in ordered:
            ordered.append(name)
    return ordered


@dataclass(frozen=True)
class Query:
    """A ``_find`` body and the index it names: its fields and, for ``$exists: false``, its partial filter."""

    body: dict[str, Any]
    fields: list[str]
    partial: dict[str, Any] | None = None


def _missing_conditions(selector: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level ``{"field": {"$exists": false}}`` conditions: no index on ``field`` holds the documents
    that lack it, so CouchDB serves them only through a *partial* index whose filter is the condition."""
    return {
        k: v
        for k, v in selector.items()
        if not k.startswith("$") and isinstance(v, Mapping) and dict(v) == {"$exists": False}
    }


def find_body(
    selector: Mapping[str, Any],
    *,
    sort: Sequence[Mapping[str, str] | str] | None,
    fields: Sequence[str] | None,
    limit: int | None,
    skip: int,
    bookmark: str | None,
    use_index: str | None,
) -> Query:
    """The ``_find`` body and the index it names (no index for an ``_id``-only query).

    ``$exists: false`` conditions go to a partial index filter (CouchDB's documented way, which
    cozy-stack-client does not take: it fails with "Index unusable for query"); when nothing else is left
    to index, the index is on ``_id`` and the selector gains ``_id > null`` so CouchDB may pick it.
    """
    selector = dict(selector) or dict(EVERYTHING)
    partial = _missing_conditions(selector) or None
    wanted = index_fields({k: v for k, v in selector.items() if not partial or k not in partial}, sort)
    if partial and not wanted:
        wanted = ["_id"]
        selector.setdefault("_id", {"$gt": None})
    body: dict[str, Any] = {"selector": selector}
    if use_index:
        body["use_index"] = use_index if use_index.startswith("_design/") else f"_design/{use_index}"
    elif wanted and (partial or not set(wanted) <= _BUILTIN):
        body["use_index"] = f"_design/{index_name(wanted, partial)}"
    else:
        wanted = []
    if sort:
        body["sort"] = list(sort)
    if fields:
        body["fields"] = list(dict.fromkeys([*fields, "_id", "_rev"]))
    if limit is not None:
        body["limit"] = limit
    if skip:
        body["skip"] = skip
    if bookmark:
        body["bookmark"] = bookmark
    return Query(body, wanted, partial)


async def define_index(
    http: StackHTTP,
    doctype: str,
    fields: Sequence[str],
    *,
    name: str | None = None,
    partial_filter: Mapping[str, Any] | None = None,
) -> str:
    """``POST /data/:doctype/_index``; returns the design doc id (``_design/<name>``)."""
    if not fields:
        raise ValueError("define_index needs at least one field")
    name = name or index_name(fields, partial_filter)
    name = name.removeprefix("_design/")
    index: dict[str, Any] = {"fields": list(fields)}
    if partial_filter:
        index["partial_filter_selector"] = dict(partial_filter)
    answer = await http.json(
        "POST", f"/data/{seg(doctype)}/_index", json_body={"index": index, "ddoc": name, "name": name}, retry="all"
    )
    return str(answer.get("id") or f"_design/{name}")


async def run_find(http: StackHTTP, doctype: str, path: str, query: Query) -> Any:
    """POST a ``_find`` (``/data/:doctype/_find`` or ``/files/_find``); on ``no_index`` create the index
    the body names and retry once. ``_find`` only reads, so it is retried like a GET."""
    try:
        return await http.json("POST", path, json_body=query.body, retry="all")
    except NoIndex:
        use_index = query.body.get("use_index")
        fields = query.fields or index_fields(query.body["selector"], query.body.get("sort"))
        if not use_index or not fields:
            raise
        logger.info("creating the missing index {} on {} and retrying the query", use_index, doctype)
        await define_index(http, doctype, fields, name=str(use_index), partial_filter=query.partial)
        return await http.json("POST", path, json_body=query.body, retry="all")
