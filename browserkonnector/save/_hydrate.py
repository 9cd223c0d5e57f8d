"""``hydrate_and_filter``: keep only what is not saved yet (or should be updated), through an index.

konnector-libs downloads the **whole doctype** (``_all_docs``) on every call to find duplicates. Here
only the stored documents whose dedup keys match the incoming ones are read: the most selective key gets
an index (``store.define_index(doctype, [key])``: a Mango index on the stack, a SQL expression index in
the LocalStore) and one ``_find`` per batch of 500 asks for ``{key: {"$in": values}}``. That selector is
a superset; the exact key of each returned document is then compared in Python, so a stored document
matches exactly when the JS library would match it:

- keys are lodash paths (``items[0].code`` as well as ``items.0.code``; the query uses the dotted form),
  values are joined with ``####`` after ``String()`` (``12``, ``12.0`` and ``"12"`` agree, so the ``$in``
  lists each value's number and string forms);
- a key named ``date`` is compared at second precision (JS ``new Date(x).toString()``); its ``$in``
  lists the usual spellings of that second (:func:`~browserkonnector.save._util.date_variants`) and its
  epoch milliseconds; ``null`` is the epoch, a missing date ``Invalid Date``. A stored date written with
  another UTC offset (``2024-01-15T10:00:00+02:00``) is not among them, so it is not found (the JS
  library, reading the whole doctype, finds it): both libraries store ``toISOString()`` spellings (UTC,
  ``Z``), and listing every offset would multiply the query by ~100.

Only documents whose key is among the incoming keys are kept in memory, so memory does not grow with
the size of the doctype. A key that cannot be listed for every incoming document (a missing, ``null``
or empty value: JS joins them all as ``""``; an object) is not used for the query; when no key can, the
batch reads what the selector selects, else the whole doctype, as the JS library always does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

from loguru import logger
from pydantic import BaseModel

from browserkonnector.save._util import date_variants, get_path, js_string, maybe_await, parse_datetime, second_key
from browserkonnector.store._base import Doc, Store
from browserkonnector.store._errors import NotFound

__all__ = ["find_existing", "hydrate_and_filter", "key_of", "mango_field"]

log = logger.bind(namespace="hydrateAndFilter")

#: Incoming documents per ``_find``: keeps selectors (and the stack's request bodies) bounded.
BATCH = 500
_SCALARS = (str, int, float, bool)
_MISSING = object()
_BRACKETS = re.compile(r"\[\s*[\"']?([^\]\"']*)[\"']?\s*\]")


def key_of(doc: Any, keys: Sequence[str]) -> str:
    """The JS ``createHash``: values at ``keys`` joined by ``####`` (``date`` at second precision).

    A missing value joins as ``""`` (so does ``null``); a missing ``date`` is JS's ``Invalid Date``, but
    a ``null`` one is ``new Date(null)``: the epoch.
    """
    parts = []
    for k in keys:
        value = get_path(doc, k, _MISSING)
        if k == "date":
            parts.append(second_key(0 if value is None else None if value is _MISSING else value))
        else:
            parts.append(js_string(None if value is _MISSING else value))
    return "####".join(parts)


def mango_field(key: str) -> str:
    """A lodash path as the Mango field it names: ``items[0].code`` → ``items.0.code``,
    ``a["b"]`` → ``a.b`` (the query languages of the stack and of the store know the dotted form only)."""
    return ".".join(part for part in _BRACKETS.sub(r".\1", key).split(".") if part)


def _in_values(key: str, value: Any) -> list[Any] | None:
    """The stored values whose JS key equals ``value``'s, for an ``$in``; None when they cannot be
    listed (missing, ``null``, ``""``: JS joins them all as ``""``; objects, lists, NaN)."""
    if key == "date":
        if value is None:
            return None
        variants: list[Any] = date_variants(value)
        parsed = parse_datetime(value)
        if parsed is not None:
            variants.append(int(parsed.timestamp() * 1000))
        return variants or None
    if not isinstance(value, _SCALARS) or value == "" or (isinstance(value, float) and value != value):
        return None
    text = js_string(value)
    values: list[Any] = [value, text]
    if isinstance(value, str):
        if value in ("true", "false"):
            values.append(value == "true")
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is not None and js_string(number) == value:
            values.append(int(number) if number.is_integer() else number)
    return values


def _key_selector(docs: Sequence[Any], keys: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """``{key: {"$in": [...]}}`` on the most selective key whose incoming values can all be listed.

    One key only, with its own one-field index: an ``$in`` on several indexed fields makes SQLite (and
    CouchDB) walk the cross product of the lists (measured 15x slower on 100,000 bills), while the
    other keys are compared exactly in Python anyway. The most selective key is the one with the most
    distinct incoming values (for bills: ``date``).
    """
    best: tuple[int, str, list[Any]] | None = None
    for key in keys:
        values: dict[tuple[str, Any], None] = {}
        for doc in docs:
            listed = _in_values(key, get_path(doc, key, None))
            if listed is None:
                values = {}
                break
            values.update(dict.fromkeys((type(v).__name__, v) for v in listed))
        if values and (best is None or len(values) > best[0]):
            best = (len(values), key, [v for _, v in sorted(values, key=lambda tv: (tv[0], tv[1]))])
    if best is None:
        return {}, []
    field = mango_field(best[1])
    return {field: {"$in": best[2]}}, [field]


async def find_existing(
    store: Store,
    doctype: str,
    docs: Sequence[Any],
    keys: Sequence[str],
    *,
    index: str | None = None,
    selector: Mapping[str, Any] | None = None,
    doc_keys: Sequence[str] | None = None,
) -> dict[str, Doc]:
    """Stored documents matching the incoming ``docs`` on ``keys``, by key (:func:`key_of`).

    When several stored documents share a key, the last one read wins, as in the JS library.
    ``doc_keys`` are the incoming documents' keys when the caller already computed them.
    """
    wanted = set(doc_keys) if doc_keys is not None else {key_of(d, keys) for d in docs}
    found: dict[str, Doc] = {}
    if not docs:
        return found
    if list(keys) == ["_id"] and selector is None:
        ids = [str(d["_id"]) for d in docs if isinstance(get_path(d, "_id"), str)]
        for start in range(0, len(ids), BATCH):
            for stored in await store.get_many(doctype, ids[start : start + BATCH]):
                if stored is not None:
                    found[key_of(stored, keys)] = stored
        return found
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        key_sel, fields = _key_selector(batch, keys)
        if not fields:
            log.warning(f"no dedup key of {list(keys)} can be queried through an index; reading {doctype}")
        use_index = index
        if use_index is None and fields:
            use_index = await store.define_index(doctype, fields)
        # No listable key: the selector alone, else the whole doctype (as the JS library always reads it).
        # Never {"$and": [{}, selector]}: an empty clause is not "anything" everywhere.
        query: dict[str, Any] = (
            {"$and": [key_sel, dict(selector)]} if key_sel and selector else key_sel or dict(selector or {})
        )
        try:
            stream = store.find_all(doctype, query, use_index=use_index) if query else store.all_docs(doctype)
            async for stored in stream:
                key = key_of(stored, keys)
                if key in wanted:
                    found[key] = stored
        except NotFound:  # the doctype does not exist yet: nothing is saved
            return found
    return found


def _as_doc(entry: Any) -> MutableMapping[str, Any]:
    if isinstance(entry, MutableMapping):
        return entry
    if isinstance(entry, BaseModel):
        return entry.model_dump(by_alias=True, exclude_none=True)
    raise TypeError(f"hydrate_and_filter takes dicts or pydantic models, got {type(entry).__name__}")


def _hook(entry: Any, names: tuple[str, str]) -> tuple[Callable[..., Any], bool] | None:
    """An entry-level hook and whether it is a method (bound: it gets no ``entry`` argument)."""
    plain = type(entry) is dict  # no methods to look for on a plain dict (the common, hot case)
    for name in names:
        if isinstance(entry, Mapping) and callable(entry.get(name)):
            return entry[name], False
        if not plain and callable(getattr(entry, name, None)):
            return getattr(entry, name), True
    return None


async def hydrate_and_filter(
    documents: Sequence[Any],
    doctype: str,
    *,
    store: Store,
    keys: Sequence[str] = ("_id",),
    index: str | None = None,
    selector: Mapping[str, Any] | None = None,
    should_save: Callable[[Any], Any] | None = None,
    should_update: Callable[[Any, Doc], Any] | None = None,
) -> list[Any]:
    """JS ``hydrateAndFilter``: the documents to save (new ones, and existing ones to update).

    A document matching a stored one gets its ``_id``, ``_rev`` and, if it has none, its
    ``cozyMetadata`` (dicts are hydrated in place, as the JS library mutates its entries; a pydantic
    model is turned into its camelCase dict first). Then existing ones pass through
    ``should_update(entry, stored)`` (default: False) and new ones through ``should_save(entry)``
    (default: True); a hook on the entry itself (``shouldSave``/``should_save`` key or method) beats
    the option; hooks may be coroutines. Documents matching the same stored one collapse to the first.

    ``index`` is an index id to use instead of defining one on ``keys``; ``selector`` narrows the
    query further (it is AND-ed with the key selector, instead of replacing the whole-doctype read).
    """
    if not doctype:
        raise ValueError("Doctype is mandatory to filter the connector data.")
    docs = [_as_doc(d) for d in documents]
    log.info(f"{len(docs)} Number of items before hydrateAndFilter")
    doc_keys = [key_of(d, keys) for d in docs]
    existing = await find_existing(store, doctype, docs, keys, index=index, selector=selector, doc_keys=doc_keys)
    kept: list[Any] = []
    seen_ids: set[str] = set()
    for doc, doc_key in zip(docs, doc_keys, strict=True):
        stored = existing.get(doc_key)
        if stored is not None:
            doc["_id"], doc["_rev"] = stored["_id"], stored["_rev"]
            if not doc.get("cozyMetadata") and stored.get("cozyMetadata"):
                doc["cozyMetadata"] = stored["cozyMetadata"]
            found = _hook(doc, ("should_update", "shouldUpdate"))
            if found is not None:
                hook, is_method = found
                keep = await maybe_await(hook(stored) if is_method else hook(doc, stored))
            else:
                keep = await maybe_await(should_update(doc, stored)) if should_update else False
            if not keep or stored["_id"] in seen_ids:
                continue
            seen_ids.add(stored["_id"])
        else:
            found = _hook(doc, ("should_save", "shouldSave"))
            if found is not None:
                hook, is_method = found
                keep = await maybe_await(hook() if is_method else hook(doc))
            else:
                keep = await maybe_await(should_save(doc)) if should_save else True
            if not keep:
                continue
        kept.append(doc)
    log.info(f"{len(kept)} Number of items after hydrateAndFilter")
    return kept
